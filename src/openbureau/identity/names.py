"""Name canonicalisation for matching: romanisation and transliteration variants folded to one
form, so "Hsiao-ming Chang" and "Zhang Xiaoming", or "Sreenivas" and "Srinivas", compare equal
at the matcher's "canonical name" level. Pure data and functions.

The forms here are public conventions: Wade-Giles and Cantonese romanisations of Mandarin
syllables, and the common spelling variation of Indian names written in Latin script (aspirated
"th" for "t", long vowels doubled, "sh" before "r", "x" for "ksh"). A canonical match is weaker
evidence than an exact one; the model learns how much weaker."""

from __future__ import annotations

import re

#: Older romanisations of Mandarin syllables (Wade-Giles, postal, Cantonese) -> pinyin.
#: Some older spellings are also pinyin syllables of other names ("Chang" is both Zhang in
#: Wade-Giles and the pinyin surname Chang): folding them costs a little specificity, which the
#: model prices in, because the canonical level is learnt apart from the exact one.
ROMANISATION_TO_PINYIN: dict[str, str] = {
    "hsu": "xu",
    "hsiao": "xiao",
    "hsieh": "xie",
    "hsiang": "xiang",
    "hsin": "xin",
    "hsueh": "xue",
    "hsiu": "xiu",
    "hsia": "xia",
    "hsing": "xing",
    "hsien": "xian",
    "hsiung": "xiong",
    "hwang": "huang",
    "wong": "huang",
    "lee": "li",
    "lau": "liu",
    "woo": "wu",
    "ng": "wu",
    "kuo": "guo",
    "kwok": "guo",
    "tsai": "cai",
    "choi": "cai",
    "chien": "qian",
    "lim": "lin",
    "yeung": "yang",
    "tsao": "cao",
    "tsui": "cui",
    "teng": "deng",
    "tung": "dong",
    "chiu": "qiu",
    "sung": "song",
    "fung": "feng",
    "ho": "he",
    "chih": "zhi",
    "chun": "jun",
    "chiang": "jiang",
    "ching": "jing",
    "chieh": "jie",
    "chuan": "juan",
    "tzu": "zi",
    "tse": "xie",
    "kang": "gang",
    "po": "bo",
    "chia": "jia",
    "kao": "gao",
    "chou": "zhou",
    "chao": "zhao",
    "cheung": "zhang",
    "leung": "liang",
    "tsang": "zeng",
    "yip": "ye",
    "kwan": "guan",
    "chu": "zhu",
    "chang": "zhang",
    "tan": "dan",
    "tsou": "zou",
    "tsen": "cen",
    "yeh": "ye",
    "kung": "gong",
    "chuang": "zhuang",
    "chung": "zhong",
    "pai": "bai",
    "tai": "dai",
    "tien": "tian",
    "ting": "ding",
    "tu": "du",
    "pei": "bei",
    "kuan": "guan",
    "kuang": "guang",
}

#: Former or alternative names of cities, folded -> the current official name, folded.
CITY_ALIASES: dict[str, str] = {
    "calcutta": "kolkata",
    "bombay": "mumbai",
    "madras": "chennai",
    "bangalore": "bengaluru",
    "trivandrum": "thiruvananthapuram",
    "poona": "pune",
    "baroda": "vadodara",
    "benares": "varanasi",
    "cawnpore": "kanpur",
    "simla": "shimla",
    "gurgaon": "gurugram",
    "mysore": "mysuru",
    "mangalore": "mangaluru",
    "cochin": "kochi",
    "pondicherry": "puducherry",
    "peking": "beijing",
    "canton": "guangzhou",
    "nanking": "nanjing",
    "tientsin": "tianjin",
    "amoy": "xiamen",
    "chungking": "chongqing",
    "hangchow": "hangzhou",
    "soochow": "suzhou",
    "tsingtao": "qingdao",
    "sian": "xian",
    "mukden": "shenyang",
    "chengtu": "chengdu",
}

_DOUBLE = re.compile(r"(.)\1+")
#: Indian Latin-script spelling variation, applied in order to one lower-case word.
_INDIC_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), r)
    for p, r in (
        (r"x", "ksh"),
        (r"^shr", "sr"),
        (r"(?<=[kgcjtdpb])h", ""),  # aspirates: th -> t, kh -> k, bh -> b ...
        (r"sh", "s"),
        (r"ph", "f"),
        (r"q", "k"),
        (r"z", "s"),
        (r"w", "v"),
        (r"ee", "i"),
        (r"oo", "u"),
        (r"ou", "u"),
        (r"y$", "i"),
        (r"ay$", "ai"),
    )
)


def canonical_word(word: str, country: str | None) -> str:
    """One folded (lower-case, unaccented) name word in its canonical spelling."""
    if country == "CN":
        return ROMANISATION_TO_PINYIN.get(word, word)
    if country == "IN":
        for pattern, replacement in _INDIC_RULES:
            word = pattern.sub(replacement, word)
        return _DOUBLE.sub(r"\1", word)
    return word


def canonical_part(folded: str, country: str | None) -> str:
    """A folded name field (given or family) canonicalised word by word and joined without
    spaces, so the syllables of "hsiao ming" and "xiaoming" give the same "xiaoming"."""
    return "".join(canonical_word(w, country) for w in folded.split())
