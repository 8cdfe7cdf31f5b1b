"""Pure scoring rules: scaling, the not-scorable rule, reason ranking, pillar sub-scores, dates."""

from __future__ import annotations

import math
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbureau.catalogue.rules import add_months
from openbureau.scoring.rules import (
    MAX_REASONS,
    MIN_REASON_LOSS,
    NO_RECORDS_REASON,
    SCORE_MAX,
    SCORE_MIN,
    THIN_FILE_REASON,
    Characteristic,
    Scaling,
    final_score,
    last_month_end,
    model_dates,
    month_end,
    not_scorable_reason,
    pillar_subscore,
    rank_reasons,
)

points = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@pytest.mark.parametrize(
    ("total", "score"),
    [
        (-50.0, 300),
        (299.4, 300),
        (300.0, 300),
        (612.49, 612),
        (612.5, 613),
        (900.0, 900),
        (1e9, 900),
    ],
)
def test_final_score_rounds_and_clips(total, score):
    assert final_score(total) == score


@given(points)
def test_score_always_in_range(total):
    assert SCORE_MIN <= final_score(total) <= SCORE_MAX


@given(points, points)
def test_score_monotone_in_points(a, b):
    lo, hi = sorted((a, b))
    assert final_score(lo) <= final_score(hi)


def test_final_score_refuses_nan():
    with pytest.raises(ValueError):
        final_score(math.nan)


def test_scaling_base_odds_and_pdo():
    s = Scaling(base_score=600, base_odds=30, pdo=50)
    # odds 30:1 good:bad give the base score; doubling the odds adds PDO points
    assert s.score_for_probability(1 / 31) == pytest.approx(600)
    assert s.score_for_probability(1 / 61) == pytest.approx(650)
    # a characteristic that raises the log-odds of bad costs points
    assert s.points(math.log(2)) == pytest.approx(-50)
    assert s.base_points(0.0) == pytest.approx(s.offset)


@given(st.floats(min_value=1e-6, max_value=1 - 1e-6), st.floats(min_value=1e-6, max_value=1e-1))
def test_lower_default_probability_never_scores_lower(p, dp):
    s = Scaling()
    q = max(1e-9, p - dp)
    assert s.score_for_probability(q) >= s.score_for_probability(p)


@pytest.mark.parametrize(
    ("records", "history", "reason"),
    [
        (0, None, NO_RECORDS_REASON),
        (0, 40, NO_RECORDS_REASON),
        (3, None, NO_RECORDS_REASON),
        (1, 0, THIN_FILE_REASON),
        (12, 5, THIN_FILE_REASON),
        (6, 6, None),
        (1, 120, None),
    ],
)
def test_not_scorable_reason(records, history, reason):
    assert not_scorable_reason(records, history) == reason


def test_thin_file_reason_is_plain():
    assert THIN_FILE_REASON == "Fewer than 6 months of history"


CARD = Characteristic("utilisation", (0.3, 0.7), (40.0, 10.0, -30.0), missing_points=0.0)


@pytest.mark.parametrize(
    ("value", "bin_", "points", "lost"),
    [
        (0.0, 0, 40.0, 0.0),
        (0.2999, 0, 40.0, 0.0),
        (0.3, 1, 10.0, 30.0),  # a split starts the next bin
        (0.9, 2, -30.0, 70.0),
        (None, None, 0.0, 40.0),
        (math.nan, None, 0.0, 40.0),
    ],
)
def test_characteristic_bins(value, bin_, points, lost):
    assert CARD.bin_of(value) == bin_
    assert CARD.points_for(value) == points
    assert CARD.points_lost(value) == lost


def test_missing_value_above_every_bin_loses_nothing():
    c = Characteristic("utilisation", (0.5,), (10.0, -10.0), missing_points=25.0)
    assert c.points_lost(None) == 0.0
    assert (c.min_possible, c.max_possible) == (-10.0, 25.0)


def test_characteristic_refuses_inconsistent_bins():
    with pytest.raises(ValueError):
        Characteristic("x", (1.0,), (1.0,), 0.0)
    with pytest.raises(ValueError):
        Characteristic("x", (2.0, 1.0), (1.0, 2.0, 3.0), 0.0)


@pytest.mark.parametrize(
    ("losses", "expected"),
    [
        ({}, []),
        ({"a": 0.0, "b": 0.2}, []),
        ({"a": 5.0, "b": 20.0, "c": 0.0}, [("b", 20.0), ("a", 5.0)]),
        ({"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}, [("e", 5), ("d", 4), ("c", 3), ("b", 2)]),
        ({"z": 7.0, "a": 7.0, "m": 7.0}, [("a", 7.0), ("m", 7.0), ("z", 7.0)]),
    ],
)
def test_rank_reasons_cases(losses, expected):
    assert rank_reasons(losses) == expected


@given(st.dictionaries(st.text(min_size=1, max_size=5), st.floats(0, 1000), max_size=12))
def test_rank_reasons_properties(losses):
    ranked = rank_reasons(losses)
    assert len(ranked) <= MAX_REASONS
    assert all(loss >= MIN_REASON_LOSS for _, loss in ranked)
    assert [loss for _, loss in ranked] == sorted((loss for _, loss in ranked), reverse=True)
    left_out = [loss for name, loss in losses.items() if name not in dict(ranked)]
    if ranked:
        # nothing left out costs more than the smallest reason given
        assert all(loss <= ranked[-1][1] for loss in left_out)
    else:
        assert all(loss < MIN_REASON_LOSS for loss in left_out)


@pytest.mark.parametrize(
    ("pts", "lo", "hi", "has", "expected"),
    [
        ([10, 20], [0, 0], [20, 20], True, 75.0),
        ([0, 0], [0, 0], [20, 20], True, 0.0),
        ([20, 20], [0, 0], [20, 20], True, 100.0),
        ([-5], [-10], [10], True, 25.0),
        ([10], [0], [20], False, None),
        ([0], [0], [0], True, None),
    ],
)
def test_pillar_subscore(pts, lo, hi, has, expected):
    assert pillar_subscore(pts, lo, hi, has) == expected


@pytest.mark.parametrize(
    ("d", "end", "last"),
    [
        (date(2024, 2, 10), date(2024, 2, 29), date(2024, 1, 31)),
        (date(2024, 2, 29), date(2024, 2, 29), date(2024, 2, 29)),
        (date(2023, 12, 1), date(2023, 12, 31), date(2023, 11, 30)),
    ],
)
def test_month_ends(d, end, last):
    assert month_end(d) == end
    assert last_month_end(d) == last


@pytest.mark.parametrize(
    ("as_of", "data_end", "train", "validate"),
    [
        # data up to as_of: validate 12 months back, train 24
        (date(2024, 12, 31), date(2024, 12, 31), date(2022, 12, 31), date(2023, 12, 31)),
        # the last month is not yet reported: everything shifts a month
        (date(2024, 12, 31), date(2024, 11, 30), date(2022, 11, 30), date(2023, 11, 30)),
        # mid-month as_of with data beyond it: the last month end before as_of
        (date(2023, 6, 15), date(2024, 12, 31), date(2022, 5, 31), date(2023, 5, 31)),
    ],
)
def test_model_dates(as_of, data_end, train, validate):
    assert model_dates(as_of, data_end) == (train, validate)


@given(st.dates(date(2000, 1, 1), date(2090, 1, 1)), st.dates(date(2000, 1, 1), date(2090, 1, 1)))
def test_model_dates_out_of_time(as_of, data_end):
    train, validate = model_dates(as_of, data_end)
    assert train < validate <= as_of
    assert month_end(train) == train and month_end(validate) == validate
    # the validation outcome window closes within the data
    assert month_end(add_months(validate.replace(day=1), 12)) <= month_end(data_end)


# The US adverse-action rule: inquiries that lowered the score are always a reason.
@pytest.mark.parametrize(
    ("losses", "expected"),
    [
        # inquiries in the top four: listed in its place, nothing added
        ({"a": 50.0, "inq": 40.0, "b": 5.0}, [("a", 50.0), ("inq", 40.0), ("b", 5.0)]),
        # five bigger losses: inquiries comes fifth, after the four key factors
        (
            {"a": 90.0, "b": 80.0, "c": 70.0, "d": 60.0, "e": 50.0, "inq": 3.0},
            [("a", 90.0), ("b", 80.0), ("c", 70.0), ("d", 60.0), ("inq", 3.0)],
        ),
        # inquiries cost less than half a point: it did not lower the score
        (
            {"a": 90.0, "b": 80.0, "c": 70.0, "d": 60.0, "inq": 0.2},
            [("a", 90.0), ("b", 80.0), ("c", 70.0), ("d", 60.0)],
        ),
        # inquiries cost nothing: never a reason
        ({"a": 9.0, "inq": 0.0}, [("a", 9.0)]),
        # only inquiries cost points
        ({"a": 0.0, "inq": 12.0}, [("inq", 12.0)]),
    ],
)
def test_inquiries_factor_is_added_when_it_lowered_the_score(losses, expected):
    assert rank_reasons(losses, inquiries="inq") == expected


def test_without_an_inquiries_factor_four_reasons_at_most():
    losses = {"a": 90.0, "b": 80.0, "c": 70.0, "d": 60.0, "inq": 3.0}
    assert [n for n, _ in rank_reasons(losses)] == ["a", "b", "c", "d"]


HOUSING = Characteristic("housing", (), (30.0, -5.0), -12.0, (("own", "free"), ("rent",)))


@pytest.mark.parametrize(
    ("value", "bin_", "points", "lost"),
    [
        ("own", 0, 30.0, 0.0),
        ("free", 0, 30.0, 0.0),
        ("rent", 1, -5.0, 35.0),
        (None, None, -12.0, 42.0),
        (float("nan"), None, -12.0, 42.0),
        ("boat", None, -12.0, 42.0),  # never seen in development: the missing bin's points
    ],
)
def test_categorical_bins(value, bin_, points, lost):
    assert HOUSING.bin_of(value) == bin_
    assert HOUSING.points_for(value) == points
    assert HOUSING.points_lost(value) == lost


def test_categorical_characteristic_refuses_inconsistent_bins():
    with pytest.raises(ValueError, match="one points per category bin"):
        Characteristic("x", (), (1.0,), 0.0, (("a",), ("b",)))
    with pytest.raises(ValueError, match="two bins"):
        Characteristic("x", (), (1.0, 2.0), 0.0, (("a",), ("a", "b")))
    with pytest.raises(ValueError, match="no splits"):
        Characteristic("x", (1.0,), (1.0, 2.0), 0.0, (("a",), ("b",)))
