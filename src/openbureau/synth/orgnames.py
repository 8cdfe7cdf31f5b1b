"""Organisation names: composed from parts (city, trade name, line of business, legal form)
so that furnishers can vary the spelling of the legal form or mistype the trade name by
indexing, without string work per row."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from openbureau.synth import vocab
from openbureau.synth.rules import typo_variants

CN, IN = 0, 1
TYPOS = 3


@dataclass(frozen=True)
class OrgWords:
    words: np.ndarray  # object array; index 0 is the empty word
    typos: np.ndarray  # (n, TYPOS) indices of misspellings
    variants: np.ndarray  # (n, 4) indices of other spellings (self-padded)
    variant_count: np.ndarray
    cn_trade: np.ndarray  # word indices per pool
    cn_trade_zh: np.ndarray
    cn_industry: np.ndarray
    cn_industry_zh: np.ndarray
    in_trade: np.ndarray
    in_industry: np.ndarray
    cn_form: int
    cn_form_zh: int
    in_forms: np.ndarray
    cn_public: np.ndarray
    cn_public_zh: np.ndarray
    in_public: np.ndarray


@cache
def org_words() -> OrgWords:
    words: list[str] = [""]
    index: dict[str, int] = {"": 0}
    variants: dict[int, list[int]] = {}

    def intern(w: str) -> int:
        if w not in index:
            index[w] = len(words)
            words.append(w)
        return index[w]

    def forms(table: tuple[tuple[str, tuple[str, ...]], ...]) -> list[int]:
        out = []
        for canonical, spellings in table:
            i = intern(canonical)
            variants[i] = [intern(s) for s in spellings]
            out.append(i)
        return out

    cn_trade = [intern(en) for en, _ in vocab.CN_TRADE]
    cn_trade_zh = [intern(zh) for _, zh in vocab.CN_TRADE]
    cn_industry = [intern(en) for en, _ in vocab.CN_INDUSTRY]
    cn_industry_zh = [intern(zh) for _, zh in vocab.CN_INDUSTRY]
    in_trade = [intern(w) for w in vocab.IN_TRADE]
    in_industry = [intern(w) for w in vocab.IN_INDUSTRY]
    cn_form = forms(vocab.CN_FORMS)[0]
    cn_form_zh = forms(vocab.CN_FORMS_ZH)[0]
    in_forms = forms(vocab.IN_FORMS)
    cn_public = [intern(w) for w in vocab.CN_PUBLIC]
    cn_public_zh = [intern(w) for w in vocab.CN_PUBLIC_ZH]
    in_public = [intern(w) for w in vocab.IN_PUBLIC]
    n = len(words)
    typos = np.repeat(np.arange(n)[:, None], TYPOS, axis=1)
    for i in cn_trade + in_trade + cn_industry + in_industry:
        typos[i] = [intern(v) for v in typo_variants(words[i], TYPOS, "org")]
    n = len(words)
    typos = np.r_[typos, np.repeat(np.arange(len(typos), n)[:, None], TYPOS, axis=1)]
    var = np.repeat(np.arange(n)[:, None], 4, axis=1)
    count = np.zeros(n, np.int64)
    for i, lst in variants.items():
        var[i, : len(lst)] = lst
        count[i] = len(lst)
    a = np.array
    return OrgWords(
        words=a(words, dtype=object),
        typos=typos,
        variants=var,
        variant_count=count,
        cn_trade=a(cn_trade),
        cn_trade_zh=a(cn_trade_zh),
        cn_industry=a(cn_industry),
        cn_industry_zh=a(cn_industry_zh),
        in_trade=a(in_trade),
        in_industry=a(in_industry),
        cn_form=cn_form,
        cn_form_zh=cn_form_zh,
        in_forms=a(in_forms),
        cn_public=a(cn_public),
        cn_public_zh=a(cn_public_zh),
        in_public=a(in_public),
    )


def compose_org_names(
    rng: np.random.Generator, city: np.ndarray, city_zh: np.ndarray, country: np.ndarray
) -> dict[str, np.ndarray]:
    """Parts of each organisation's registered name. `city`, `city_zh`: the seat's city names.

    Returns word indices "trade", "industry", "form" (0 = none), flags "public" and "zh",
    and "city" (object array, the city word as written in the name, or None)."""
    w = org_words()
    n = len(country)
    is_cn = country == CN
    public = rng.random(n) < 0.05
    zh = is_cn & (rng.random(n) < 0.25)

    def pick(pool: np.ndarray) -> np.ndarray:
        return rng.integers(0, len(pool), n)

    t_cn, i_cn, t_in, i_in = (
        pick(w.cn_trade),
        pick(w.cn_industry),
        pick(w.in_trade),
        pick(w.in_industry),
    )
    trade = np.where(is_cn, np.where(zh, w.cn_trade_zh[t_cn], w.cn_trade[t_cn]), w.in_trade[t_in])
    industry = np.where(
        is_cn, np.where(zh, w.cn_industry_zh[i_cn], w.cn_industry[i_cn]), w.in_industry[i_in]
    )
    form = np.where(
        is_cn,
        np.where(zh, w.cn_form_zh, w.cn_form),
        w.in_forms[rng.choice(len(w.in_forms), size=n, p=[0.7, 0.2, 0.1])],
    )
    dept = pick(w.cn_public)
    dept_in = pick(w.in_public)
    public_word = np.where(
        is_cn, np.where(zh, w.cn_public_zh[dept], w.cn_public[dept]), w.in_public[dept_in]
    )
    trade = np.where(public, 0, trade)
    industry = np.where(public, public_word, industry)
    form = np.where(public, 0, form)
    # Chinese companies and all public bodies carry their city; Indian companies do not
    city_word = np.where(zh, city_zh, city).astype(object)
    city_word = np.where(is_cn | public, city_word, None)
    return {
        "trade": trade,
        "industry": industry,
        "form": form,
        "public": public,
        "zh": zh,
        "city": city_word,
    }


def render_org_names(
    parts: dict[str, np.ndarray], trade: np.ndarray | None = None, form: np.ndarray | None = None
) -> pa.Array:
    """Names from parts; `trade` and `form` override the registered words (for variants)."""
    w = org_words()
    trade = parts["trade"] if trade is None else trade
    form = parts["form"] if form is None else form

    def words(idx: np.ndarray) -> pa.Array:
        out = w.words[idx]
        return pa.array(np.where(idx == 0, None, out), pa.string())

    sep = pa.array(np.where(parts["zh"], "", " "))
    city = pa.array(parts["city"], pa.string())
    return pc.binary_join_element_wise(
        city, words(trade), words(parts["industry"]), words(form), sep, null_handling="skip"
    )


def vary_org_names(
    parts: dict[str, np.ndarray],
    u_form: np.ndarray,
    u_typo: np.ndarray,
    p_form: float,
    p_typo: np.ndarray | float,
) -> pa.Array:
    """A furnisher's spelling of each name: another spelling of the legal form with
    probability `p_form`, a mistyped trade name with probability `p_typo` (u_*: uniforms)."""
    w = org_words()
    form = parts["form"]
    count = w.variant_count[form]
    k = np.minimum((u_form / max(p_form, 1e-12) * np.maximum(count, 1)).astype(np.int64), 3)
    form = np.where((u_form < p_form) & (count > 0), w.variants[form, k], form)
    trade = parts["trade"]
    j = np.minimum((u_typo / np.maximum(p_typo, 1e-12) * TYPOS).astype(np.int64), TYPOS - 1)
    trade = np.where((u_typo < p_typo) & ~parts["zh"], w.typos[trade, j], trade)
    return render_org_names(parts, trade=trade, form=form)
