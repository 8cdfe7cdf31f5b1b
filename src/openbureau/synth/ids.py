"""Valid, unique national identifiers for a whole population at once: China resident ID
(RIC, with birth place and date), China USCC, India PAN and Aadhaar."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa

from openbureau.synth.rules import (
    USCC_ALPHABET,
    ascii_rows,
    gb11714_check,
    ric_check,
    uscc_check,
    verhoeff_check,
)


def _unique(draw: Callable[[int], np.ndarray], n: int) -> np.ndarray:
    """`n` integer keys from `draw`, redrawing repeats until all are distinct."""
    keys = draw(n)
    for _ in range(100):
        _, first = np.unique(keys, return_index=True)
        dup = np.ones(n, dtype=bool)
        dup[first] = False
        if not dup.any():
            return keys
        keys[dup] = draw(int(dup.sum()))
    raise RuntimeError("could not draw distinct identifiers; the key space is too small")


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """(n, width) decimal digits of non-negative integers, most significant first."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (np.asarray(values, dtype=np.int64)[:, None] // powers) % 10


def _to_arrow(rows: np.ndarray, mask: np.ndarray) -> pa.Array:
    """Byte strings placed at the positions of `mask`, null elsewhere."""
    out = np.full(len(mask), None, dtype=object)
    out[mask] = rows.astype(str) if len(rows) else rows
    return pa.array(out, pa.string())


def ric_numbers(
    rng: np.random.Generator, area: np.ndarray, dob: np.ndarray, sex: np.ndarray, mask: np.ndarray
) -> pa.Array:
    """Resident ID numbers for the subjects in `mask`: birth-place area code, birth date,
    a sequence number whose parity gives the sex (odd male), and the check character."""
    idx = np.flatnonzero(mask)
    d = dob[idx]
    year = d.astype("datetime64[Y]").astype(np.int64) + 1970
    month = d.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day = (d - d.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    ymd = year * 10_000 + month * 100 + day
    base = area[idx].astype(np.int64) * 10**11 + ymd * 1000
    male = sex[idx].astype(np.int64)
    keys = _ric_keys(base, male, rng)
    digits = _digits(keys, 17)
    codes = np.c_[digits + ord("0"), ric_check(digits)]
    return _to_arrow(ascii_rows(codes), mask)


def _ric_keys(base: np.ndarray, male: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`base` plus sequence numbers of the right parity, every key distinct."""
    n = len(base)
    keys = base + rng.integers(0, 500, n) * 2 + male
    for _ in range(100):
        _, first = np.unique(keys, return_index=True)
        dup = np.ones(n, dtype=bool)
        dup[first] = False
        if not dup.any():
            return keys
        keys[dup] = base[dup] + rng.integers(0, 500, int(dup.sum())) * 2 + male[dup]
    raise RuntimeError("too many people share a birth place and date")


def pan_numbers(rng: np.random.Generator, initial: np.ndarray, mask: np.ndarray) -> pa.Array:
    """PANs for the subjects in `mask`: three letters, holder type P (individual), the
    family name's initial (ASCII codes in `initial`), a serial 0001-9999 and a letter."""
    idx = np.flatnonzero(mask)
    k = len(idx)
    keys = _unique(lambda m: rng.integers(0, 26**3 * 9999, m), k)
    letters, serial = np.divmod(keys, 9999)
    lead = np.c_[letters // 676, (letters // 26) % 26, letters % 26] + ord("A")
    codes = np.c_[
        lead,
        np.full(k, ord("P")),
        initial[idx],
        _digits(serial + 1, 4) + ord("0"),
        rng.integers(0, 26, k) + ord("A"),
    ]
    return _to_arrow(ascii_rows(codes), mask)


def aadhaar_numbers(rng: np.random.Generator, mask: np.ndarray) -> pa.Array:
    """Aadhaar numbers for the subjects in `mask`: 12 digits, the first 2-9, the last a
    Verhoeff check digit, never a palindrome."""
    k = int(mask.sum())

    def draw(m: int) -> np.ndarray:
        return rng.integers(2 * 10**10, 10**11, m)

    keys = _unique(draw, k)
    for _ in range(100):
        digits = _digits(keys, 11)
        full = np.c_[digits, verhoeff_check(digits)]
        pal = (full == full[:, ::-1]).all(axis=1)
        if not pal.any():
            break
        keys[pal] = draw(int(pal.sum()))
    return _to_arrow(ascii_rows(full + ord("0")), mask)


def uscc_numbers(
    rng: np.random.Generator, area: np.ndarray, public: np.ndarray, mask: np.ndarray
) -> pa.Array:
    """USCCs for the organisations in `mask`: registration authority and kind ('91' a
    company, '11' a public body), area code, GB 11714 organisation code, check character."""
    idx = np.flatnonzero(mask)
    k = len(idx)
    org = _unique(lambda m: rng.integers(0, 10**8, m), k)
    org_digits = _digits(org, 8)
    head = np.where(public[idx], 1, 9)
    codes = np.c_[
        head, np.ones(k, np.int64), _digits(area[idx], 6), org_digits, gb11714_check(org_digits)
    ]
    codes = np.c_[codes, uscc_check(codes)]
    alphabet = np.frombuffer(USCC_ALPHABET.encode(), dtype=np.uint8)
    return _to_arrow(ascii_rows(alphabet[codes]), mask)
