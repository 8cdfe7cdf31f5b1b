"""Pure rules of the synthetic population: month arithmetic, counter-based randomness,
identifier check digits and identity noise. numpy and the standard library only.

Check-digit functions work on whole columns at once (one row per identifier) and agree with
python-stdnum (tested)."""

from __future__ import annotations

import hashlib
import random
from datetime import date

import numpy as np

# --- months ------------------------------------------------------------------------------


def month_index(d: date) -> int:
    """Months since 0000-01 (so consecutive months differ by one)."""
    return d.year * 12 + d.month - 1


def month_from_index(i: int) -> date:
    """The first day of month number `i` (inverse of `month_index`)."""
    y, m = divmod(i, 12)
    return date(y, m + 1, 1)


def window_months(end_month: date, months: int) -> list[date]:
    """The first days of the `months` months ending with `end_month`'s month, oldest first."""
    if months < 1:
        raise ValueError("months must be at least 1")
    last = month_index(end_month)
    return [month_from_index(i) for i in range(last - months + 1, last + 1)]


def days_in_month(d: date) -> int:
    nxt = month_from_index(month_index(d) + 1)
    return (nxt - date(d.year, d.month, 1)).days


# --- randomness keyed by (seed, furnisher, subject, slot) --------------------------------

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on a uint64 array (wrapping arithmetic)."""
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    return x ^ (x >> np.uint64(31))


def hash_uniform(seed: int, a: np.ndarray, b: np.ndarray, slot: int) -> np.ndarray:
    """Uniform [0, 1) floats that depend only on (seed, a[i], b[i], slot).

    The same furnisher and subject always draw the same numbers, whatever else is generated,
    which keeps a furnisher's view of a subject consistent across months and files."""
    a64 = np.asarray(a).astype(np.uint64)
    b64 = np.asarray(b).astype(np.uint64)
    with np.errstate(over="ignore"):
        h = _mix(np.full(a64.shape, (seed * 1_000_003 + slot) & 0xFFFFFFFFFFFFFFFF, np.uint64))
        h = _mix(h ^ (a64 * _GOLDEN))
        h = _mix(h ^ (b64 + _GOLDEN))
    return (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


# --- identifier check digits -------------------------------------------------------------

#: GB 11643 weights 2^(17-i) mod 11 of the 17 leading digits of a resident ID
_RIC_WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)], dtype=np.int64)
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = np.array(
    [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28], dtype=np.int64
)
_GB11714_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
# Multiplication and permutation tables of the dihedral group D5 (Verhoeff 1969).
_VERHOEFF_D = np.array(
    [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
        [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
        [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
        [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
        [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
        [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
        [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
        [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    ]
)
_VERHOEFF_P = np.array(
    [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
        [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
        [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
        [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
        [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
        [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
        [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
    ]
)
_VERHOEFF_INV = np.array([0, 4, 3, 2, 1, 5, 6, 7, 8, 9])


def ric_check(digits: np.ndarray) -> np.ndarray:
    """Check characters ('0'-'9' or 'X', as ASCII codes) of resident IDs.

    `digits` is an (n, 17) integer array of the leading digits."""
    s = (np.asarray(digits, dtype=np.int64) * _RIC_WEIGHTS).sum(axis=1)
    c = (12 - s % 11) % 11
    return np.where(c == 10, ord("X"), ord("0") + c).astype(np.uint8)


def uscc_check(codes: np.ndarray) -> np.ndarray:
    """Check-character indices (into USCC_ALPHABET) of Unified Social Credit Codes.

    `codes` is an (n, 17) array of alphabet indices of the leading characters."""
    s = (np.asarray(codes, dtype=np.int64) * _USCC_WEIGHTS).sum(axis=1)
    return ((31 - s % 31) % 31).astype(np.int64)


def gb11714_check(digits: np.ndarray) -> np.ndarray:
    """Check-character indices (0-9, or 33 for 'X' in USCC_ALPHABET) of 8-digit
    organisation codes (GB 11714), the 9th-17th characters of a USCC."""
    s = (np.asarray(digits, dtype=np.int64) * _GB11714_WEIGHTS).sum(axis=1)
    c = (11 - s % 11) % 11
    return np.where(c == 10, USCC_ALPHABET.index("X"), c).astype(np.int64)


def verhoeff_check(digits: np.ndarray) -> np.ndarray:
    """Verhoeff check digits of (n, k) digit arrays (the number without its check digit)."""
    d = np.asarray(digits, dtype=np.int64)
    c = np.zeros(d.shape[0], dtype=np.int64)
    k = d.shape[1]
    for pos in range(k - 1, -1, -1):
        # from the rightmost digit (position 1; the check digit will take position 0)
        c = _VERHOEFF_D[c, _VERHOEFF_P[(k - pos) % 8, d[:, pos]]]
    return _VERHOEFF_INV[c]


def ascii_rows(codes: np.ndarray) -> np.ndarray:
    """An (n, k) array of ASCII codes as n byte strings of length k."""
    mat = np.ascontiguousarray(np.asarray(codes, dtype=np.uint8))
    return mat.view(f"S{mat.shape[1]}").ravel()


def corrupt_last_char(last: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """A different last character for each identifier, so that the number fails its check.

    `last` holds ASCII codes of the current last characters; digits move by 1-9 (`shift`
    taken modulo 9), letters become '7' (a PAN's last character must be a letter)."""
    last = np.asarray(last, dtype=np.int64)
    is_digit = (last >= ord("0")) & (last <= ord("9"))
    moved = ord("0") + (last - ord("0") + 1 + np.asarray(shift) % 9) % 10
    return np.where(is_digit, moved, ord("7")).astype(np.uint8)


# --- identity noise ----------------------------------------------------------------------

_KEYBOARD = {
    "a": "qwsz",
    "b": "vghn",
    "c": "xdfv",
    "d": "serfcx",
    "e": "wsdr",
    "f": "drtgvc",
    "g": "ftyhbv",
    "h": "gyujnb",
    "i": "ujko",
    "j": "huikmn",
    "k": "jiolm",
    "l": "kop",
    "m": "njk",
    "n": "bhjm",
    "o": "iklp",
    "p": "ol",
    "q": "wa",
    "r": "edft",
    "s": "awedxz",
    "t": "rfgy",
    "u": "yhji",
    "v": "cfgb",
    "w": "qase",
    "x": "zsdc",
    "y": "tghu",
    "z": "asx",
}


def typo(word: str, rng: random.Random) -> str:
    """One keying error: a character dropped, two neighbours swapped, a character replaced by
    a keyboard neighbour, or a character doubled. The first character is kept (people and
    clerks rarely get it wrong); words of one character come back unchanged."""
    if len(word) < 2:
        return word
    i = rng.randrange(1, len(word))
    op = rng.randrange(4)
    if op == 0 and len(word) > 2:
        return word[:i] + word[i + 1 :]
    if op == 1 and i < len(word) - 1 and word[i] != word[i + 1]:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    ch = word[i]
    near = _KEYBOARD.get(ch.lower())
    if op == 2 and near:
        sub = near[rng.randrange(len(near))]
        return word[:i] + (sub.upper() if ch.isupper() else sub) + word[i + 1 :]
    return word[:i] + ch + word[i:]


def typo_variants(word: str, k: int, salt: str = "") -> tuple[str, ...]:
    """`k` misspellings of `word`, each differing from it, the same on every run."""
    seed = int.from_bytes(hashlib.blake2b(f"{salt}|{word}".encode(), digest_size=8).digest())
    rng = random.Random(seed)
    out: list[str] = []
    for _ in range(20 * k):
        if len(out) == k:
            break
        v = typo(word, rng)
        if v != word and v not in out:
            out.append(v)
    while len(out) < k:  # too short a word to misspell k different ways
        out.append(out[-1] if out else word)
    return tuple(out)


def romanise_given(syllables: tuple[str, ...], table: dict[str, tuple[str, ...]]) -> str:
    """A Chinese given name in the older romanisation: syllables mapped by `table` and joined
    with a hyphen, second syllable lower case ("Xiao", "Ming" -> "Hsiao-ming")."""
    parts = [table.get(s, (s,))[0] for s in syllables]
    return "-".join([parts[0]] + [p.lower() for p in parts[1:]])


def swap_day_month(month: np.ndarray, day: np.ndarray, swap: np.ndarray):
    """(month, day) with the two exchanged where `swap` is set and the swap gives another
    valid date (day 1-12 and different from the month)."""
    month = np.asarray(month)
    day = np.asarray(day)
    ok = np.asarray(swap) & (day <= 12) & (day != month)
    return np.where(ok, day, month), np.where(ok, month, day), ok
