"""Pure rules of the synthetic population: months, check digits (against python-stdnum),
counter-based randomness and identity noise."""

from __future__ import annotations

import random
from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import verhoeff
from stdnum.cn import ric, uscc
from stdnum.in_ import aadhaar

from openbureau.synth import rules, vocab

digits17 = st.lists(st.integers(0, 9), min_size=17, max_size=17)


@pytest.mark.parametrize(
    ("end", "months", "first", "last"),
    [
        (date(2026, 10, 1), 48, date(2022, 11, 1), date(2026, 10, 1)),
        (date(2026, 10, 17), 1, date(2026, 10, 1), date(2026, 10, 1)),
        (date(2024, 1, 31), 13, date(2023, 1, 1), date(2024, 1, 1)),
        (date(2024, 3, 1), 3, date(2024, 1, 1), date(2024, 3, 1)),
    ],
)
def test_window_months_ends_with_the_end_month(end, months, first, last):
    window = rules.window_months(end, months)
    assert len(window) == months
    assert (window[0], window[-1]) == (first, last)


def test_window_needs_a_month():
    with pytest.raises(ValueError):
        rules.window_months(date(2026, 1, 1), 0)


@pytest.mark.parametrize(
    ("d", "days"),
    [
        (date(2024, 2, 1), 29),
        (date(2023, 2, 10), 28),
        (date(2024, 12, 5), 31),
        (date(2024, 4, 1), 30),
    ],
)
def test_days_in_month(d, days):
    assert rules.days_in_month(d) == days


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)))
def test_month_index_round_trips(d):
    i = rules.month_index(d)
    assert rules.month_from_index(i) == date(d.year, d.month, 1)
    assert rules.month_from_index(i + 1) > d


@settings(max_examples=200)
@given(digits17)
def test_ric_check_agrees_with_stdnum(ds):
    check = chr(rules.ric_check(np.array([ds]))[0])
    body = "".join(map(str, ds))
    assert ric.calc_check_digit(body + "0") == check


@settings(max_examples=200)
@given(st.lists(st.integers(0, 30), min_size=17, max_size=17))
def test_uscc_check_agrees_with_stdnum(codes):
    body = "".join(rules.USCC_ALPHABET[c] for c in codes)
    check = rules.USCC_ALPHABET[rules.uscc_check(np.array([codes]))[0]]
    assert uscc.calc_check_digit(body) == check


@settings(max_examples=200)
@given(st.lists(st.integers(0, 9), min_size=1, max_size=15))
def test_verhoeff_check_agrees_with_stdnum(ds):
    body = "".join(map(str, ds))
    assert str(rules.verhoeff_check(np.array([ds]))[0]) == verhoeff.calc_check_digit(body)


@pytest.mark.parametrize(
    ("code", "check"),
    [
        ("12345678", "8"),  # 201 % 11 = 3 -> 8
        ("00000000", "0"),
        ("00000011", "5"),  # 6 -> 5
        ("00010000", "1"),  # 10 -> 1
        ("40000000", "X"),  # 12 % 11 = 1 -> 10, written X
    ],
)
def test_gb11714_organisation_code_check(code, check):
    got = rules.gb11714_check(np.array([[int(c) for c in code]]))[0]
    assert rules.USCC_ALPHABET[got] == check


@pytest.mark.parametrize(
    ("number", "module"),
    [("11010519491231002X", ric), ("91110000600037341L", uscc), ("234123412346", aadhaar)],
)
def test_corrupted_last_character_fails_the_check(number, module):
    assert module.is_valid(number)
    for shift in range(9):
        last = rules.corrupt_last_char(np.array([ord(number[-1])]), np.array([shift]))[0]
        broken = number[:-1] + chr(last)
        assert broken != number
        assert not module.is_valid(broken)


def test_corrupting_a_letter_gives_a_digit():
    assert rules.corrupt_last_char(np.array([ord("K")]), np.array([3]))[0] == ord("7")


def test_ascii_rows_makes_byte_strings():
    rows = rules.ascii_rows(np.array([[65, 66], [67, 68]]))
    assert rows.tolist() == [b"AB", b"CD"]


def test_hash_uniform_is_a_function_of_its_keys():
    a = np.array([1, 2, 3, 1])
    b = np.array([7, 7, 7, 7])
    u = rules.hash_uniform(42, a, b, 0)
    assert ((u >= 0) & (u < 1)).all()
    assert u[0] == u[3]
    assert len(set(u[:3])) == 3
    assert (rules.hash_uniform(42, a, b, 0) == u).all()
    assert (rules.hash_uniform(42, a, b, 1) != u).all()
    assert (rules.hash_uniform(43, a, b, 0) != u).all()


def test_hash_uniform_is_roughly_uniform():
    u = rules.hash_uniform(1, np.arange(20_000), np.zeros(20_000), 3)
    counts = np.histogram(u, bins=10, range=(0, 1))[0]
    assert counts.min() > 1_800 and counts.max() < 2_200


@pytest.mark.parametrize("word", ["Zhang", "Mohammed", "Li", "Venkataraman", "Xiao-ming"])
def test_typo_is_one_small_keying_error(word):
    rng = random.Random(0)
    for _ in range(50):
        t = rules.typo(word, rng)
        assert t[0] == word[0]
        assert abs(len(t) - len(word)) <= 1
        assert t != word or len(set(word[1:])) <= 1


def test_typo_leaves_one_letter_alone():
    assert rules.typo("A", random.Random(1)) == "A"


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=4, max_size=12))
def test_typo_variants_are_distinct_misspellings(word):
    word = word.capitalize()
    variants = rules.typo_variants(word, 4, "x")
    assert len(variants) == 4
    assert word not in variants
    assert variants == rules.typo_variants(word, 4, "x")


@pytest.mark.parametrize(
    ("syllables", "expected"),
    [(("Xiao", "Ming"), "Hsiao-ming"), (("Zhi", "Qiang"), "Chih-chiang"), (("Wei",), "Wei")],
)
def test_romanise_given(syllables, expected):
    table = {"Xiao": ("Hsiao",), "Zhi": ("Chih",), "Qiang": ("Chiang",)}
    assert rules.romanise_given(syllables, table) == expected


@pytest.mark.parametrize(
    ("month", "day", "swap", "expected"),
    [
        (5, 3, True, (3, 5, True)),  # 2000-05-03 -> 2000-03-05
        (5, 13, True, (5, 13, False)),  # no 13th month
        (7, 7, True, (7, 7, False)),  # the same date
        (5, 3, False, (5, 3, False)),
        (12, 1, True, (1, 12, True)),
    ],
)
def test_swap_day_month(month, day, swap, expected):
    m, d, ok = rules.swap_day_month(np.array([month]), np.array([day]), np.array([swap]))
    assert (m[0], d[0], bool(ok[0])) == expected


@pytest.mark.parametrize("place", vocab.CN_PLACES, ids=lambda p: p[1] + "-" + p[0])
def test_china_places_are_valid_birth_places_for_every_year(place):
    for year in (1940, 1961, 1987, 2008, 2010):
        body = f"{place[0]}{year}0228123"
        assert ric.validate(body + ric.calc_check_digit(body + "0"))
