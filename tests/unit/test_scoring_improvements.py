"""What would raise my score: the nearest better bin of each factor, and what it is worth."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openbureau.scoring.rules import (
    SHARE_FEATURES,
    BinMove,
    Characteristic,
    final_score,
    improvement_for,
    what_would_raise,
)

UTIL = Characteristic("utilisation", (0.3, 0.7), (40.0, 10.0, -30.0), missing_points=0.0)
LATE = Characteristic("late30_count_24m", (0.5, 3.5), (40.0, -10.0, -60.0), 0.0)
HISTORY = Characteristic("credit_history_months", (12.0, 36.0), (-20.0, 5.0, 30.0), -40.0)
# not monotone: both neighbours earn more, at the same distance from 3
ACCOUNTS = Characteristic("open_accounts", (2.0, 5.0), (10.0, -5.0, 0.0), 0.0)


@pytest.mark.parametrize(
    ("char", "value", "whole", "expected"),
    [
        (UTIL, 0.9, False, BinMove("down", 0.7, math.nextafter(0.7, -math.inf), 40.0)),
        (UTIL, 0.5, False, BinMove("down", 0.3, math.nextafter(0.3, -math.inf), 30.0)),
        (UTIL, 0.1, False, None),  # already in the best bin
        (UTIL, None, False, None),  # no card: never advised to take on credit
        (UTIL, math.nan, False, None),
        (LATE, 5, True, BinMove("down", 3.5, 3.0, 50.0)),
        (LATE, 2, True, BinMove("down", 0.5, 0.0, 50.0)),
        (LATE, 0, True, None),
        (HISTORY, 10, True, BinMove("up", 12.0, 12.0, 25.0)),
        (HISTORY, 24, True, BinMove("up", 36.0, 36.0, 25.0)),
        (HISTORY, 40, True, None),
        # equal distance both ways: the bigger gain wins
        (ACCOUNTS, 3, True, BinMove("down", 2.0, 1.0, 15.0)),
        (ACCOUNTS, 4, True, BinMove("up", 5.0, 5.0, 5.0)),
    ],
)
def test_nearest_better_bin(char, value, whole, expected):
    assert improvement_for(char, value, whole=whole) == expected


def test_a_bin_without_a_whole_number_is_skipped():
    c = Characteristic("open_accounts", (2.2, 2.7), (0.0, 50.0, 10.0), 0.0)
    assert improvement_for(c, 3, whole=True) is None
    # a share can sit in it
    assert improvement_for(c, 3, whole=False) == BinMove(
        "down", 2.7, math.nextafter(2.7, -math.inf), 40.0
    )


def test_no_target_below_zero():
    c = Characteristic("late30_count_24m", (0.0,), (10.0, 0.0), 0.0)
    assert improvement_for(c, 3, whole=True) is None


def test_ranked_by_gain_with_scores_after_and_sentences():
    values = {"utilisation": 0.9, "late30_count_24m": 2, "credit_history_months": 40}
    base = 500.0
    found = what_would_raise(base, (HISTORY, LATE, UTIL), values)
    assert [(m.feature, m.points_gained) for m in found] == [
        ("late30_count_24m", 50.0),
        ("utilisation", 40.0),
    ]
    total = base + 30.0 - 10.0 - 30.0
    assert [m.score_after for m in found] == [final_score(total + 50), final_score(total + 40)]
    assert found[0].sentence == (
        "Monthly account reports 30 or more days past due in the last 24 months: "
        "2 now; 0 or less would add 50.0 points."
    )
    assert found[1].sentence == (
        "Balance over limit on open credit cards and overdrafts, at their latest month: "
        "90% now; below 70% would add 40.0 points."
    )


def test_rising_sentence_and_small_gains_left_out():
    up = what_would_raise(600.0, (HISTORY,), {"credit_history_months": 14})
    assert up[0].sentence == (
        "Months since the oldest credit account was opened: 14 now; 36 or more would add "
        "25.0 points."
    )
    tiny = Characteristic("late30_count_24m", (0.5,), (0.3, 0.0), 0.0)
    assert what_would_raise(600.0, (tiny,), {"late30_count_24m": 4}) == []


def test_more_credit_is_never_suggested():
    # the data found that a larger balance goes with fewer defaults: still not advice to borrow
    balance = Characteristic("total_balance", (1000.0,), (-30.0, 5.0), 0.0)
    accounts = Characteristic("open_accounts", (0.5, 3.5), (-5.0, 10.0, 0.0), 0.0)
    values = {"total_balance": 0.0, "open_accounts": 5.0}
    found = what_would_raise(600.0, (accounts, balance), values)
    # closing accounts down to 3 is fine; opening one or owing more is not suggested
    assert [(m.feature, m.direction, m.target) for m in found] == [("open_accounts", "down", 3.0)]
    assert what_would_raise(600.0, (accounts,), {"open_accounts": 0.0}) == []


def _characteristic(draw, name: str) -> Characteristic:
    splits = sorted(draw(st.sets(st.integers(-5, 40).map(lambda v: v / 2), min_size=1, max_size=5)))
    pts = draw(
        st.lists(
            st.floats(-80, 80, allow_nan=False), min_size=len(splits) + 1, max_size=len(splits) + 1
        )
    )
    return Characteristic(name, tuple(splits), tuple(pts), draw(st.floats(-80, 80)))


@st.composite
def cards_and_values(draw):
    names = ("credit_history_months", "late30_count_24m", "utilisation")
    chars = tuple(_characteristic(draw, n) for n in names)
    values = {
        n: draw(
            st.one_of(
                st.none(),
                st.floats(0, 25) if n in SHARE_FEATURES else st.integers(0, 25).map(float),
            )
        )
        for n in names
    }
    return draw(st.floats(200, 900)), chars, values


def _total(base, chars, values):
    return base + sum(c.points_for(values.get(c.feature)) for c in chars)


@settings(max_examples=300, deadline=None)
@given(cards_and_values())
def test_applying_a_suggestion_raises_the_score_by_exactly_the_points_claimed(case):
    base, chars, values = case
    before = _total(base, chars, values)
    for move in what_would_raise(base, chars, values):
        after = _total(base, chars, {**values, move.feature: move.target})
        assert after - before == pytest.approx(move.points_gained, abs=1e-9)
        assert move.points_gained > 0
        assert move.score_after == final_score(after) >= final_score(before)
        # the target lies across the bound, on the side the direction says
        if move.direction == "down":
            assert move.target < move.bound <= move.current
        else:
            assert move.current < move.bound <= move.target


@settings(max_examples=300, deadline=None)
@given(cards_and_values())
def test_no_nearer_whole_value_earns_more(case):
    base, chars, values = case
    by_name = {c.feature: c for c in chars}
    for move in what_would_raise(base, chars, values, min_gain=0.0):
        if move.feature in SHARE_FEATURES:
            continue
        c, now = by_name[move.feature], values[move.feature]
        step = -1 if move.direction == "down" else 1
        nearer = range(int(now) + step, int(move.target), step)
        assert all(c.points_for(float(v)) <= c.points_for(now) for v in nearer)
        # nor does any value at the same distance the other way (ties go to the bigger gain)
        other = now - (move.target - now)
        if other >= 0:
            assert c.points_for(other) - c.points_for(now) <= move.points_gained
