"""Pure catalogue rules: column acceptance and retention end dates."""

from __future__ import annotations

import re
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


#: A token of six characters or more with a digit in it could be an identifier (a national
#: id, an account or a phone number): a message never quotes one.
IDENTIFIER_LIKE = re.compile(r"[\w*-]*\d[\w*-]*")
#: What a column name looks like: a letter, then letters, digits, spaces, `_`, `.` or `-`.
_NAME_LIKE = re.compile(r"[A-Za-z][A-Za-z0-9_ .-]{0,63}")


def column_label(name: str, position: int) -> str:
    """How a message names a header's column: by its name when that looks like a column
    name, else by its 1-based position. A file without a header row, or a JSON key that is a
    value, puts data where names go, and a message is stored, printed and returned."""
    looks_like_a_name = _NAME_LIKE.fullmatch(name.strip()) is not None
    if looks_like_a_name and all(len(m[0]) < 6 for m in IDENTIFIER_LIKE.finditer(name)):
        return name
    return f"column {position} (name not shown: it looks like data)"


def check_columns(columns: list[str]) -> list[ColumnProblem]:
    """File-level check of a header: every column must be in the catalogue. Messages never
    quote a name that looks like data (`column_label`).

    A known column is never flagged, even if one of its words resembles a prohibited one."""
    known = all_input_columns()
    problems: list[ColumnProblem] = []
    for position, col in enumerate(columns, 1):
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
            label = column_label(col, position)
            problems.append(ColumnProblem(col, "unknown", f"unknown field: {label}"))
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
