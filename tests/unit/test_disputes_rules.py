"""Dispute rules: the due date, what a late answer owes, which answers a dispute takes, and
which stored versions an answer deletes."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbureau.disputes.rules import (
    ANSWER_DAYS,
    COMPENSATION_PER_DAY_MINOR,
    answer_problem,
    compensation,
    days_late,
    due_on,
    text_problem,
    withdrawn,
)

OPENED = date(2026, 1, 10)
DUE = date(2026, 2, 9)
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1))


def test_the_furnisher_has_thirty_days():
    assert ANSWER_DAYS == 30
    assert due_on(OPENED) == DUE
    assert due_on(date(2024, 2, 15)) == date(2024, 3, 16)  # a leap February counts its 29th


@pytest.mark.parametrize(
    ("answered", "on", "late"),
    [
        (date(2026, 1, 11), date(2026, 6, 1), 0),  # answered at once: nothing owed, ever
        (DUE, date(2026, 6, 1), 0),  # on the due day itself: on time
        (DUE + timedelta(days=1), date(2026, 6, 1), 1),
        (date(2026, 3, 11), date(2026, 6, 1), 30),
        (None, date(2026, 1, 20), 0),  # open, not yet due
        (None, DUE, 0),
        (None, date(2026, 2, 19), 10),  # open and 10 days past due: owed so far
        (None, date(2025, 12, 1), 0),  # asked about a day before it was opened
    ],
)
def test_days_late(answered, on, late):
    assert days_late(OPENED, answered, on) == late
    owed = compensation(OPENED, answered, on)
    assert (owed.days_late, owed.amount_minor, owed.currency) == (
        late, late * COMPENSATION_PER_DAY_MINOR, "INR",
    )  # fmt: skip


def test_the_rbi_rate_is_rs_100_a_day():
    assert compensation(OPENED, DUE + timedelta(days=7), DUE).amount_minor == 700_00


@given(days, days, days)
def test_late_days_are_never_negative_and_stop_at_the_answer(opened, answered, on):
    late = days_late(opened, answered, on)
    assert late >= 0
    # once answered, the day asked about changes nothing
    assert late == days_late(opened, answered, on + timedelta(days=400))
    assert (late == 0) == (answered <= due_on(opened))


@given(days, st.integers(0, 2000), st.integers(0, 2000))
def test_an_open_dispute_owes_more_the_longer_it_waits(opened, a, b):
    early, later = sorted((a, b))
    owed_early = days_late(opened, None, opened + timedelta(days=early))
    owed_later = days_late(opened, None, opened + timedelta(days=later))
    assert owed_early <= owed_later
    assert owed_later - owed_early <= later - early


@pytest.mark.parametrize(
    ("status", "outcome", "problem"),
    [
        ("open", "verified", None),
        ("open", "corrected", None),
        ("open", "unverifiable", None),
        ("open", "deleted", "unknown outcome 'deleted'"),
        ("answered", "verified", "already answered"),
    ],
)
def test_answer_problem(status, outcome, problem):
    found = answer_problem(status, outcome)
    assert (found is None) if problem is None else (problem in found)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("The balance was paid in March.", None),
        ("two lines\nand a\ttab", None),
        ("", "empty"),
        ("   \n ", "empty"),
        ("x" * 1001, "at most 1000"),
        ("bell\x07", "control characters"),
    ],
)
def test_text_problem(text, problem):
    found = text_problem("the reason", text)
    assert (found is None) if problem is None else (problem in found)


ANSWERED = date(2026, 2, 1)


@pytest.mark.parametrize(
    ("outcome", "answered", "reported", "gone"),
    [
        ("unverifiable", ANSWERED, date(2025, 5, 1), True),
        ("unverifiable", ANSWERED, ANSWERED, True),  # reported the same day: deleted too
        ("unverifiable", ANSWERED, date(2026, 2, 2), False),  # furnished again afterwards
        ("verified", ANSWERED, date(2025, 5, 1), False),
        ("corrected", ANSWERED, date(2025, 5, 1), False),
        (None, None, date(2025, 5, 1), False),  # still open: shown, under dispute
    ],
)
def test_withdrawn(outcome, answered, reported, gone):
    assert withdrawn(outcome, answered, reported) is gone
