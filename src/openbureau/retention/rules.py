"""When a stored record's retention ends, as one SQL expression over lake rows.

Pure: builds text from the catalogue, runs nothing. The expression gives, for every row of
the lake, what `reports.rules.record_expires_on` gives for one record (a test holds the two
equal): the first day on which the record may no longer be shown or used, that is its
type's clock (the `retention_from` field, else `reported_on`) plus its type's months
(administrative penalties by severity), a month past the end of a shorter month landing on
that month's last day.
"""

from __future__ import annotations

from openbureau.catalogue.model import RECORD_TYPES
from openbureau.catalogue.rules import PENALTY_RETENTION_MONTHS


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def expiry_sql() -> str:
    """DuckDB SQL over a lake row: the DATE its retention ends (NULL for a record type the
    catalogue does not know, which ingest never stores)."""
    branches = []
    for name, rt in RECORD_TYPES.items():
        start = (
            f"coalesce({_quote(rt.retention_from)}, reported_on)"
            if rt.retention_from
            else "reported_on"
        )
        months = str(rt.retention_months)
        if name == "administrative_penalty":
            by_severity = " ".join(
                f"WHEN '{severity}' THEN {n}" for severity, n in PENALTY_RETENTION_MONTHS.items()
            )
            months = f"CASE severity {by_severity} ELSE {rt.retention_months} END"
        branches.append(f"WHEN '{name}' THEN CAST({start} + to_months({months}) AS DATE)")
    return f"CASE record_type {' '.join(branches)} END"
