"""Dispute rules: the due date, what a late answer owes, which answers a dispute takes, and
which stored versions an answer deletes."""

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbureau.disputes.rules import (
    ANSWER_DAYS,
    COMPENSATION_PER_DAY_MINOR,
    answer_problem,
    carries_compensation,
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
    assert days_late(DUE, answered, on) == late
    owed = compensation(DUE, answered, on)
    assert (owed.days_late, owed.amount_minor, owed.currency) == (
        late, late * COMPENSATION_PER_DAY_MINOR, "INR",
    )  # fmt: skip


def test_the_rbi_rate_is_rs_100_a_day():
    assert compensation(DUE, DUE + timedelta(days=7), DUE).amount_minor == 700_00


def test_the_stored_due_date_counts():
    # the due date stored with the dispute decides, not the opening date plus 30 days
    assert days_late(DUE + timedelta(days=10), None, DUE + timedelta(days=12)) == 2


@given(days, st.one_of(st.none(), days), days, st.integers(0, 400))
def test_an_answer_fixes_what_is_owed(due, answered, on, wait):
    late = days_late(due, answered, on)
    assert late >= 0
    later = days_late(due, answered, on + timedelta(days=wait))
    if answered is not None:
        # once answered, the day asked about changes nothing
        assert later == late
        assert (late == 0) == (answered <= due)
    else:
        # open: each day asked about later adds at most a day
        assert late <= later <= late + wait
        assert (late == 0) == (on <= due)


@given(days, st.integers(0, 2000), st.integers(0, 2000))
def test_answering_later_never_owes_less(due, a, b):
    early, later = sorted((a, b))
    on = due + timedelta(days=3000)
    owed_early = compensation(due, due + timedelta(days=early - 30), on).amount_minor
    owed_later = compensation(due, due + timedelta(days=later - 30), on).amount_minor
    assert owed_early <= owed_later
    assert owed_later - owed_early <= (later - early) * 100_00


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
        ("a form's\r\nline ends", None),
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


@pytest.mark.parametrize(
    ("dispute_id", "group_id", "carries"),
    [
        ("d1", None, True),  # one record's dispute is its own complaint
        ("d1", "d1", True),  # an account's first dispute carries the group's
        ("d2", "d1", False),  # the rest of the account's do not
    ],
)
def test_an_accounts_disputes_owe_compensation_once(dispute_id, group_id, carries):
    assert carries_compensation(dispute_id, group_id) is carries


@given(members=st.integers(min_value=1, max_value=60), late=st.integers(min_value=0, max_value=400))
def test_an_accounts_group_owes_what_one_dispute_owes(members, late):
    """However many months an account has, a late answer to it owes what a late answer to a
    single record's dispute owes."""
    from openbureau.disputes.model import dispute_public  # noqa: PLC0415

    answered_on = DUE + timedelta(days=late)
    answered = datetime(answered_on.year, answered_on.month, answered_on.day, 12, tzinfo=UTC)
    rows = [
        {
            "dispute_id": f"d{i}", "subject_id": "S1", "furnisher_id": "f", "record_id": f"r{i}",
            "record_type": "credit_account", "reason": "not mine", "opened_at": answered,
            "due_on": DUE, "status": "answered", "outcome": "verified", "note": "ok",
            "answered_at": answered, "group_id": "d0", "account_id": "A-1",
        }
        for i in range(members)
    ]  # fmt: skip
    owed = sum(dispute_public(r, answered_on).compensation.amount_minor for r in rows)
    assert owed == compensation(DUE, answered_on, answered_on).amount_minor
    assert owed == late * COMPENSATION_PER_DAY_MINOR
