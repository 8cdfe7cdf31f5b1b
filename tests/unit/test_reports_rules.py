"""Report rules: the 36-month grid, retention and status of records, money."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbureau.reports.rules import (
    GRID_MONTHS,
    MonthlyStatus,
    dpd_bucket,
    dpd_grid,
    format_money,
    format_month,
    grid_months,
    is_visible,
    latest_versions,
    record_expires_on,
    record_status,
    summarise_invoices,
    worst_bucket,
)


@pytest.mark.parametrize(
    ("dpd", "status", "bucket"),
    [
        (0, "current", "dpd_0"),
        (1, "delinquent", "dpd_1_29"),
        (29, "delinquent", "dpd_1_29"),
        (30, "delinquent", "dpd_30"),
        (59, "delinquent", "dpd_30"),
        (60, "delinquent", "dpd_60"),
        (90, "delinquent", "dpd_90"),
        (119, "delinquent", "dpd_90"),
        (120, "delinquent", "dpd_120"),
        (400, "delinquent", "dpd_120"),
        (45, "hardship", "hardship"),  # a hardship arrangement is not a delinquency
        (0, "closed", "closed"),
        (180, "written_off", "written_off"),
        (90, "settled", "settled"),
        (None, None, "no_data"),
    ],
)
def test_dpd_bucket(dpd, status, bucket):
    assert dpd_bucket(dpd, status) == bucket


def _row(month, dpd=0, status="current", reported_on=None, version=1):
    return MonthlyStatus(month, dpd, status, reported_on or date(month.year + 1, 1, 1), version)


def test_grid_marks_months_without_report_and_labels_cells():
    as_of = date(2025, 12, 31)
    rows = [
        _row(date(2025, 12, 1), 0, reported_on=date(2025, 12, 31)),
        _row(date(2025, 10, 1), 45, "delinquent", reported_on=date(2025, 11, 5)),
        _row(date(2025, 9, 1), 15, "hardship", reported_on=date(2025, 10, 5)),
        _row(date(2023, 1, 1), 150, "delinquent", reported_on=date(2023, 2, 5)),
    ]
    grid = dpd_grid(rows, as_of)
    by_month = {c.month: c for c in grid}
    assert (by_month[date(2025, 12, 1)].bucket, by_month[date(2025, 12, 1)].label) == ("dpd_0", "0")
    assert by_month[date(2025, 11, 1)].bucket == "no_data"
    assert by_month[date(2025, 11, 1)].days_past_due is None
    assert (by_month[date(2025, 10, 1)].bucket, by_month[date(2025, 10, 1)].label) == (
        "dpd_30",
        "45",
    )
    assert (by_month[date(2025, 9, 1)].bucket, by_month[date(2025, 9, 1)].label) == (
        "hardship",
        "HS",
    )
    assert (grid[0].month, grid[0].label) == (date(2023, 1, 1), "120+")
    assert worst_bucket(grid) == "dpd_120"


def test_grid_ignores_reports_made_after_as_of_and_keeps_the_latest_per_month():
    as_of = date(2025, 6, 15)
    may = date(2025, 5, 1)
    rows = [
        _row(may, 35, "delinquent", reported_on=date(2025, 6, 5)),
        _row(may, 0, "current", reported_on=date(2025, 6, 10), version=2),
        _row(may, 90, "delinquent", reported_on=date(2025, 6, 20), version=3),  # after as_of
        _row(date(2025, 7, 1), 0, reported_on=date(2025, 6, 1)),  # month after as_of
    ]
    grid = dpd_grid(rows, as_of)
    assert grid[-2].month == may and grid[-2].bucket == "dpd_0"
    assert grid[-1].month == date(2025, 6, 1) and grid[-1].bucket == "no_data"


def test_worst_bucket_does_not_count_hardship_or_closed_as_delinquent():
    rows = [
        _row(date(2025, 1, 1), 40, "hardship", reported_on=date(2025, 2, 5)),
        _row(date(2025, 2, 1), 0, "current", reported_on=date(2025, 2, 28)),
    ]
    assert worst_bucket(dpd_grid(rows, date(2025, 2, 28))) == "dpd_0"
    rows[1] = _row(date(2025, 2, 1), 0, "closed", reported_on=date(2025, 2, 28))
    assert worst_bucket(dpd_grid(rows, date(2025, 2, 28))) == "hardship"
    assert worst_bucket([]) == "no_data"


months = st.dates(min_value=date(1990, 1, 1), max_value=date(2060, 12, 31))


@given(
    as_of=months,
    rows=st.lists(
        st.builds(
            MonthlyStatus,
            month=months.map(lambda d: d.replace(day=1)),
            days_past_due=st.one_of(st.none(), st.integers(0, 2000)),
            account_status=st.sampled_from(
                [None, "current", "delinquent", "closed", "written_off", "settled", "hardship"]
            ),
            reported_on=months,
            version=st.integers(1, 5),
        ),
        max_size=60,
    ),
)
def test_grid_always_has_36_consecutive_months_ending_at_as_of(as_of, rows):
    grid = dpd_grid(rows, as_of)
    assert len(grid) == GRID_MONTHS
    assert grid[-1].month == as_of.replace(day=1)
    assert [c.month for c in grid] == grid_months(as_of)
    assert len({c.month for c in grid}) == GRID_MONTHS
    for earlier, later in zip(grid, grid[1:], strict=False):
        assert (later.month.year * 12 + later.month.month) - (
            earlier.month.year * 12 + earlier.month.month
        ) == 1


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (123_456, "CNY", "CNY 1,234.56"),
        (1_200_000, "INR", "INR 12,000.00"),
        (5, "usd", "USD 0.05"),
        (0, "CNY", "CNY 0.00"),
        (-150, "EUR", "EUR -1.50"),
        (1_000_000, "JPY", "JPY 1,000,000"),
        (1_234_567, "KWD", "KWD 1,234.567"),
        (1_234, None, "12.34"),
    ],
)
def test_format_money(amount, currency, text):
    assert format_money(amount, currency) == text


def test_format_month_is_locale_free():
    assert format_month(date(2024, 3, 1)) == "Mar 2024"


@pytest.mark.parametrize(
    ("record_type", "values", "expires"),
    [
        ("credit_account", {"reporting_month": date(2020, 5, 1)}, date(2027, 5, 1)),
        ("court_judgment", {"judgment_date": date(2024, 9, 10)}, date(2031, 9, 10)),
        ("bankruptcy", {"filed_date": date(2015, 1, 31)}, date(2025, 1, 31)),
        (
            "administrative_penalty",
            {"penalty_date": date(2025, 4, 8), "severity": "minor"},
            date(2025, 7, 8),
        ),
        (
            "administrative_penalty",
            {"penalty_date": date(2025, 4, 8), "severity": "general"},
            date(2026, 4, 8),
        ),
        (
            "administrative_penalty",
            {"penalty_date": date(2025, 4, 8), "severity": "serious"},
            date(2028, 4, 8),
        ),
        ("profile", {}, date(2031, 1, 10)),  # from reported_on
    ],
)
def test_record_expiry_follows_the_catalogue(record_type, values, expires):
    row = {"reported_on": date(2021, 1, 10), **values}
    assert record_expires_on(record_type, row) == expires


def test_visibility_needs_reported_by_as_of_and_not_expired():
    row = {"reported_on": date(2024, 2, 3), "penalty_date": date(2024, 2, 1), "severity": "minor"}
    assert not is_visible("administrative_penalty", row, date(2024, 2, 2))  # not yet reported
    assert is_visible("administrative_penalty", row, date(2024, 4, 30))
    assert not is_visible("administrative_penalty", row, date(2024, 5, 1))  # expired


@pytest.mark.parametrize(
    ("record_type", "values", "status"),
    [
        ("court_judgment", {"date_satisfied": None}, "Unpaid"),
        ("court_judgment", {"date_satisfied": date(2025, 3, 1)}, "Paid on 2025-03-01"),
        ("court_judgment", {"date_satisfied": date(2026, 3, 1)}, "Unpaid"),  # after as_of
        (
            "judgment_default_finding",
            {"finding_date": date(2025, 1, 20), "term_months": 24},
            "In force until 2027-01-20",
        ),
        (
            "judgment_default_finding",
            {"finding_date": date(2023, 1, 20), "term_months": 24},
            "Term ended on 2025-01-20",
        ),
        (
            "judgment_default_finding",
            {
                "finding_date": date(2025, 1, 20),
                "term_months": 24,
                "date_removed": date(2025, 6, 1),
            },
            "Removed on 2025-06-01",
        ),
        ("bankruptcy", {"discharged_date": None}, "Open"),
        ("bankruptcy", {"discharged_date": date(2025, 2, 1)}, "Discharged on 2025-02-01"),
        ("administrative_penalty", {"severity": "general"}, "Final decision, general severity"),
        ("tax_compliance", {}, None),
    ],
)
def test_record_status(record_type, values, status):
    assert record_status(record_type, values, date(2025, 12, 31)) == status


def test_summarise_invoices_counts_on_as_of():
    as_of = date(2025, 6, 30)
    rows = [
        {
            "due_date": date(2025, 1, 20),
            "paid_date": date(2025, 1, 18),
            "amount": 100,
            "currency": "CNY",
        },
        {
            "due_date": date(2025, 2, 20),
            "paid_date": date(2025, 3, 1),
            "amount": 100,
            "currency": "CNY",
        },
        {"due_date": date(2025, 3, 20), "paid_date": None, "amount": 250, "currency": "CNY"},
        {
            "due_date": date(2025, 4, 20),
            "paid_date": date(2025, 7, 1),
            "amount": 300,
            "currency": "CNY",
        },  # paid after as_of: still overdue on as_of
        {"due_date": date(2025, 7, 20), "paid_date": None, "amount": 100, "currency": "CNY"},
    ]
    s = summarise_invoices(rows, as_of)
    assert (s.count, s.paid_on_time, s.paid_late, s.overdue, s.not_yet_due) == (5, 1, 1, 2, 1)
    assert s.overdue_by_currency == {"CNY": 550}


def _v(record, key, version, day, batch="b1", row=None, furnisher="f1"):
    return {
        "furnisher_id": furnisher, "record_id": record, "identity_key": key,
        "version": version, "reported_on": date(2025, 1, day), "batch_id": batch,
        "row_number": row if row is not None else day, "record_type": "credit_account",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("rows", "keys", "as_of_day", "want"),
    [
        # the highest version wins, whatever the order given
        ([_v("a", "k", 2, 5), _v("a", "k", 1, 3)], ["k"], 31, [("a", 2)]),
        # not yet reported on as_of: the earlier version
        ([_v("a", "k", 1, 3), _v("a", "k", 2, 5)], ["k"], 4, [("a", 1)]),
        # a missing version counts as 1: a version 2 beats it; on a tie the later report
        ([_v("a", "k", None, 3), _v("a", "k", 2, 2, row=9)], ["k"], 31, [("a", 2)]),
        ([_v("a", "k", None, 3), _v("a", "k", 1, 4, batch="b2")], ["k"], 31, [("a", 1)]),
        # moved to another identity by its latest version: out of this file, into that one
        ([_v("a", "k", 1, 3), _v("a", "j", 2, 5)], ["k"], 31, []),
        ([_v("a", "k", 1, 3), _v("a", "j", 2, 5)], ["j"], 31, [("a", 2)]),
        # ... but before it moved, still here
        ([_v("a", "k", 1, 3), _v("a", "j", 2, 5)], ["k"], 4, [("a", 1)]),
        # the same id from two furnishers is two records; the same row twice counts once
        ([_v("a", "k", 1, 3), _v("a", "k", 1, 4, furnisher="f2"), _v("a", "k", 1, 3)],
         ["k"], 31, [("a", 1), ("a", 1)]),
        ([], ["k"], 31, []),
    ],
)  # fmt: skip
def test_latest_versions(rows, keys, as_of_day, want):
    got = latest_versions(rows, keys, date(2025, 1, as_of_day))
    assert [(r["record_id"], r["version"]) for r in got] == want
    assert [r["reported_on"] for r in got] == sorted((r["reported_on"] for r in got), reverse=True)
