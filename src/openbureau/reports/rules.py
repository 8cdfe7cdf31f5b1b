"""Pure report rules: the 36-month days-past-due grid, record visibility and status, money.

No database, no files, no clock: `as_of` is always a parameter."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from openbureau.catalogue.model import RECORD_TYPES
from openbureau.catalogue.rules import add_months, expires_on

GRID_MONTHS = 36

#: Grid buckets, in the order of the legend. Hardship is its own bucket: a hardship
#: arrangement is not a delinquency, whatever the days past due.
BUCKETS: dict[str, str] = {
    "no_data": "No report for this month",
    "dpd_0": "Paid as agreed (0 days past due)",
    "dpd_1_29": "1 to 29 days past due",
    "dpd_30": "30 to 59 days past due",
    "dpd_60": "60 to 89 days past due",
    "dpd_90": "90 to 119 days past due",
    "dpd_120": "120 or more days past due",
    "hardship": "Hardship arrangement (not a delinquency)",
    "closed": "Closed",
    "settled": "Settled for less than owed",
    "written_off": "Written off",
}

#: Short text shown inside a grid cell for the buckets that are not a day count.
_STATUS_LABELS = {
    "no_data": "–",
    "hardship": "HS",
    "closed": "CL",
    "settled": "ST",
    "written_off": "WO",
}
_STATUS_BUCKETS = ("written_off", "settled", "hardship", "closed")

#: Minor-unit exponents that differ from 2 (ISO 4217).
_EXPONENTS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0,
    "XPF": 0, "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}  # fmt: skip


@dataclass(frozen=True)
class MonthlyStatus:
    """One furnished month of an account."""

    month: date
    days_past_due: int | None
    account_status: str | None
    reported_on: date
    version: int = 1


@dataclass(frozen=True)
class GridCell:
    """One month of the grid. `days_past_due` and `account_status` are None without a report."""

    month: date
    bucket: str
    label: str
    days_past_due: int | None = None
    account_status: str | None = None


def month_start(d: date) -> date:
    return d.replace(day=1)


def grid_months(as_of: date, months: int = GRID_MONTHS) -> list[date]:
    """The first days of the `months` months ending with the month of `as_of`, oldest first."""
    end = month_start(as_of)
    return [add_months(end, -k) for k in range(months - 1, -1, -1)]


def dpd_bucket(days_past_due: int | None, account_status: str | None) -> str:
    """The grid bucket of one month: a terminal or hardship status wins over the day count."""
    if account_status in _STATUS_BUCKETS:
        return account_status
    if days_past_due is None:
        return "no_data"
    for floor, bucket in ((120, "dpd_120"), (90, "dpd_90"), (60, "dpd_60"), (30, "dpd_30")):
        if days_past_due >= floor:
            return bucket
    return "dpd_1_29" if days_past_due >= 1 else "dpd_0"


def cell_label(bucket: str, days_past_due: int | None) -> str:
    if bucket in _STATUS_LABELS:
        return _STATUS_LABELS[bucket]
    if bucket == "dpd_120":
        return "120+"
    return str(days_past_due)


def dpd_grid(
    rows: Iterable[MonthlyStatus], as_of: date, months: int = GRID_MONTHS
) -> list[GridCell]:
    """The account's grid: exactly `months` cells, oldest first, the last one the month of
    `as_of`. A month with several reports shows the one reported last; a month without one
    is "no_data"; reports after `as_of` (month or reporting date) are ignored."""
    window = grid_months(as_of, months)
    chosen: dict[date, MonthlyStatus] = {}
    for row in rows:
        m = month_start(row.month)
        if row.reported_on > as_of or m > window[-1]:
            continue
        current = chosen.get(m)
        if current is None or (row.reported_on, row.version) >= (
            current.reported_on,
            current.version,
        ):
            chosen[m] = row
    cells = []
    for m in window:
        found = chosen.get(m)
        if found is None:
            cells.append(GridCell(m, "no_data", _STATUS_LABELS["no_data"]))
            continue
        bucket = dpd_bucket(found.days_past_due, found.account_status)
        label = cell_label(bucket, found.days_past_due)
        cells.append(GridCell(m, bucket, label, found.days_past_due, found.account_status))
    return cells


def worst_bucket(cells: Iterable[GridCell]) -> str:
    """The most severe bucket in `cells`, hardship and closed counting as not delinquent."""
    order = [
        "no_data",
        "closed",
        "hardship",
        "dpd_0",
        "dpd_1_29",
        "dpd_30",
        "dpd_60",
        "dpd_90",
        "dpd_120",
        "settled",
        "written_off",
    ]
    return max((c.bucket for c in cells), key=order.index, default="no_data")


def latest_versions(
    rows: Iterable[Mapping[str, Any]], keys: Iterable[str], as_of: date
) -> list[dict[str, Any]]:
    """Of the lake rows given, the latest version known on `as_of` of every record linked
    to one of `keys`, newest report first.

    A record is the subject's when any version reported by `as_of` carries one of its keys;
    its latest version is then chosen among *all* its versions reported by then (highest
    `version`, a missing one counting as 1, then the latest report, then the latest batch),
    and kept only if that version still carries one of the keys: a correction that moved
    the record to another identity takes it out of this file. The same row given twice (by
    `batch_id` and `row_number`) counts once."""
    wanted = set(keys)
    seen: set[tuple] = set()
    by_record: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    mine: set[tuple[str, str]] = set()
    for row in rows:
        if row["reported_on"] is None or row["reported_on"] > as_of:
            continue
        row_id = (row["batch_id"], row["row_number"])
        if row_id in seen:
            continue
        seen.add(row_id)
        record = (row["furnisher_id"], row["record_id"])
        by_record.setdefault(record, []).append(row)
        if row["identity_key"] in wanted:
            mine.add(record)
    chosen = []
    for record in mine:
        latest = max(
            by_record[record],
            key=lambda r: (r["version"] if r["version"] is not None else 1, r["reported_on"],
                           r["batch_id"]),
        )  # fmt: skip
        if latest["identity_key"] in wanted:
            chosen.append(dict(latest))
    chosen.sort(key=lambda r: (r["furnisher_id"], r["record_type"], r["record_id"]))
    chosen.sort(key=lambda r: r["reported_on"], reverse=True)
    return chosen


def retention_start(record_type: str, values: Mapping[str, Any]) -> date:
    """The date that starts a record's retention clock (its type's field, else reported_on)."""
    field = RECORD_TYPES[record_type].retention_from
    start = values.get(field) if field else None
    return start if start is not None else values["reported_on"]


def record_expires_on(record_type: str, values: Mapping[str, Any]) -> date:
    """First day on which the record may no longer be shown or used (catalogue retention)."""
    return expires_on(record_type, retention_start(record_type, values), values.get("severity"))


def is_visible(record_type: str, values: Mapping[str, Any], as_of: date) -> bool:
    """A record is shown on `as_of` when it was reported by then and has not yet expired."""
    return values["reported_on"] <= as_of < record_expires_on(record_type, values)


def record_status(record_type: str, values: Mapping[str, Any], as_of: date) -> str | None:
    """A plain-words status of a public record on `as_of` (None for other types)."""
    if record_type == "court_judgment":
        paid = values.get("date_satisfied")
        return f"Paid on {paid.isoformat()}" if paid and paid <= as_of else "Unpaid"
    if record_type == "judgment_default_finding":
        removed = values.get("date_removed")
        if removed and removed <= as_of:
            return f"Removed on {removed.isoformat()}"
        ends = add_months(values["finding_date"], values["term_months"])
        if ends <= as_of:
            return f"Term ended on {ends.isoformat()}"
        return f"In force until {ends.isoformat()}"
    if record_type == "bankruptcy":
        done = values.get("discharged_date")
        return f"Discharged on {done.isoformat()}" if done and done <= as_of else "Open"
    if record_type == "administrative_penalty":
        return f"Final decision, {values.get('severity', 'unknown')} severity"
    return None


def currency_exponent(currency: str) -> int:
    return _EXPONENTS.get(currency.upper(), 2)


def format_money(amount_minor: int, currency: str | None) -> str:
    """`amount_minor` minor units as text, e.g. (123456, "CNY") -> "CNY 1,234.56"."""
    exp = currency_exponent(currency) if currency else 2
    sign = "-" if amount_minor < 0 else ""
    whole, frac = divmod(abs(amount_minor), 10**exp)
    text = f"{whole:,}" + (f".{frac:0{exp}d}" if exp else "")
    return f"{currency.upper()} {sign}{text}" if currency else f"{sign}{text}"


_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_month(d: date) -> str:
    """A month as "Mar 2024" (the same in every locale)."""
    return f"{_MONTH_NAMES[d.month - 1]} {d.year}"


@dataclass(frozen=True)
class InvoiceSummary:
    """Invoices on `as_of`: paid by the due date, paid after it, unpaid and overdue, not yet due.
    `overdue_by_currency` sums the overdue amounts in minor units per currency."""

    count: int
    paid_on_time: int
    paid_late: int
    overdue: int
    not_yet_due: int
    overdue_by_currency: dict[str, int]
    under_dispute: int = 0  # invoices the subject disputes, their furnishers yet to answer


def summarise_invoices(rows: Iterable[Mapping[str, Any]], as_of: date) -> InvoiceSummary:
    """Count invoice records (mappings with due_date, paid_date, amount, currency) on `as_of`;
    a payment dated after `as_of` counts as not yet made."""
    on_time = late = overdue = not_due = 0
    amounts: dict[str, int] = {}
    for row in rows:
        paid, due = row.get("paid_date"), row["due_date"]
        if paid is not None and paid <= as_of:
            if paid <= due:
                on_time += 1
            else:
                late += 1
        elif due < as_of:
            overdue += 1
            cur = row.get("currency") or ""
            amounts[cur] = amounts.get(cur, 0) + (row.get("amount") or 0)
        else:
            not_due += 1
    return InvoiceSummary(
        on_time + late + overdue + not_due, on_time, late, overdue, not_due, amounts
    )
