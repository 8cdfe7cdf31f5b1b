"""Pure catalogue rules: column acceptance and retention end dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from openbureau.catalogue.model import RECORD_TYPES, all_input_columns
from openbureau.catalogue.prohibited import prohibited_category

#: Administrative penalties expire by severity (State Council credit-repair rules, 2021):
#: minor 3 months, general 1 year, serious 3 years.
PENALTY_RETENTION_MONTHS = {"minor": 3, "general": 12, "serious": 36}


@dataclass(frozen=True)
class ColumnProblem:
    column: str
    rule: str  # "prohibited" | "unknown"
    message: str


def check_columns(columns: list[str]) -> list[ColumnProblem]:
    """File-level check of a header: every column must be in the catalogue.

    A known column is never flagged, even if one of its words resembles a prohibited one."""
    known = all_input_columns()
    problems: list[ColumnProblem] = []
    for col in columns:
        if col in known:
            continue
        category = prohibited_category(col)
        if category is not None:
            problems.append(
                ColumnProblem(
                    col,
                    "prohibited",
                    f"prohibited category: {category} (see docs/scope.md)",
                )
            )
        else:
            problems.append(ColumnProblem(col, "unknown", f"unknown field: {col}"))
    return problems


def add_months(d: date, months: int) -> date:
    """`d` moved by whole months, clamped to the month's last day."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    for day in (d.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def retention_months(record_type: str, severity: str | None = None) -> int:
    """How long a record of this type may be kept and used, in months."""
    if record_type == "administrative_penalty" and severity in PENALTY_RETENTION_MONTHS:
        return PENALTY_RETENTION_MONTHS[severity]
    return RECORD_TYPES[record_type].retention_months


def expires_on(record_type: str, starts: date, severity: str | None = None) -> date:
    """The first day on which the record may no longer be used or shown."""
    return add_months(starts, retention_months(record_type, severity))
