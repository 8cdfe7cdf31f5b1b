"""The name book: every name a synthetic person can have, with its spelling variants and
misspellings as integer tables, so that noise is applied to whole columns by indexing."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pyarrow as pa

from openbureau.synth import vocab
from openbureau.synth.rules import romanise_given, typo_variants

#: misspellings kept per name
TYPOS_PER_NAME = 4
#: spelling variants kept per name (romanisations, transliterations)
ALTS_PER_NAME = 3


@dataclass(frozen=True)
class NameBook:
    names: np.ndarray  # object array of str: every base name, variant and misspelling
    arrow: pa.Array  # the same names as an Arrow string array
    typos: np.ndarray  # (n_names, TYPOS_PER_NAME) indices of misspellings of each name
    alts: np.ndarray  # (n_names, ALTS_PER_NAME) indices of spelling variants (self-padded)
    alt_count: np.ndarray  # how many real variants each name has
    #: base-name indices per pool: "cn_family", "cn_given_f", "cn_given_m", "in_family", ...
    pools: dict[str, np.ndarray]
    #: sampling weights per pool (sum to 1)
    weights: dict[str, np.ndarray]


def _cn_given(syllables: tuple[str, ...]) -> list[tuple[str, tuple[str, ...]]]:
    """Given names with their syllables: every single syllable and every ordered pair."""
    out = [(s, (s,)) for s in syllables]
    out += [(a + b.lower(), (a, b)) for a in syllables for b in syllables if a != b]
    return out


@cache
def name_book() -> NameBook:
    """The one name book (built on first use, then reused)."""
    index: dict[str, int] = {}
    names: list[str] = []

    def intern(name: str) -> int:
        if name not in index:
            index[name] = len(names)
            names.append(name)
        return index[name]

    alt_of: dict[int, list[int]] = {}
    pools: dict[str, list[int]] = {}
    weights: dict[str, list[float]] = {}

    def add(pool: str, name: str, weight: float, alts: tuple[str, ...]) -> None:
        i = intern(name)
        pools.setdefault(pool, []).append(i)
        weights.setdefault(pool, []).append(weight)
        alt_of[i] = [intern(a) for a in alts if a != name][:ALTS_PER_NAME]

    for name, w in vocab.CN_FAMILY:
        add("cn_family", name, w, vocab.CN_ROMANISATIONS.get(name, ()))
    for pool, syllables in (
        ("cn_given_f", vocab.CN_GIVEN_FEMALE),
        ("cn_given_m", vocab.CN_GIVEN_MALE),
    ):
        for name, syl in _cn_given(syllables):
            if len(syl) == 1:
                alts = vocab.CN_ROMANISATIONS.get(name, ())
                weight = 0.5
            else:
                spaced = " ".join(syl)
                hyphen = syl[0] + "-" + syl[1].lower()
                alts = (romanise_given(syl, vocab.CN_ROMANISATIONS), spaced, hyphen)
                weight = 1.0 / len(syllables)
            add(pool, name, weight, alts)
    for name, w in vocab.IN_FAMILY:
        add("in_family", name, w, vocab.IN_SPELLINGS.get(name, ()))
    for pool, given in (("in_given_f", vocab.IN_GIVEN_FEMALE), ("in_given_m", vocab.IN_GIVEN_MALE)):
        for name in given:
            add(pool, name, 1.0, vocab.IN_SPELLINGS.get(name, ()))

    # misspellings of every base name and every variant
    spelled = list(names)
    typo_idx = np.zeros((len(spelled), TYPOS_PER_NAME), dtype=np.int64)
    for i, name in enumerate(spelled):
        typo_idx[i] = [intern(v) for v in typo_variants(name, TYPOS_PER_NAME, "name")]
    n = len(names)
    typos = np.zeros((n, TYPOS_PER_NAME), dtype=np.int64)
    typos[: len(spelled)] = typo_idx
    typos[len(spelled) :] = np.arange(len(spelled), n)[:, None]  # a typo of a typo: itself
    alts = np.repeat(np.arange(n)[:, None], ALTS_PER_NAME, axis=1)
    alt_count = np.zeros(n, dtype=np.int64)
    for i, lst in alt_of.items():
        alt_count[i] = len(lst)
        alts[i, : len(lst)] = lst
    return NameBook(
        names=np.array(names, dtype=object),
        arrow=pa.array(names, pa.string()),
        typos=typos,
        alts=alts,
        alt_count=alt_count,
        pools={k: np.array(v, dtype=np.int64) for k, v in pools.items()},
        weights={k: np.array(v) / np.sum(v) for k, v in weights.items()},
    )


def full_names(book: NameBook, given: np.ndarray, family: np.ndarray, chinese: np.ndarray):
    """Display names "Family Given" (China) or "Given Family" (India), as an object array."""
    g = book.names[given]
    f = book.names[family]
    first = np.where(chinese, f, g)
    second = np.where(chinese, g, f)
    return np.char.add(np.char.add(first.astype(str), " "), second.astype(str)).astype(object)
