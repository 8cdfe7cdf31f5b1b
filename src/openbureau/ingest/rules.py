"""Pure ingest rules: file formats, header and licence checks, the row checks derived from the
catalogue, national-id checks, receipts. No files, no database, no clock."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from openbureau.catalogue import identifiers
from openbureau.catalogue.model import (
    COMMON_COLUMNS,
    IDENTITY_COLUMNS,
    RECORD_TYPES,
    SUBJECT_KINDS,
    FieldKind,
    all_input_columns,
)
from openbureau.catalogue.rules import IDENTIFIER_LIKE, check_columns, column_label

#: File extension -> format name stored on the batch.
FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
}

#: Columns every file must have (a row may still leave them empty: rule `required`).
REQUIRED_COLUMNS: tuple[str, ...] = tuple(
    f.name for f in COMMON_COLUMNS + IDENTITY_COLUMNS if f.required
)

#: Every row-level rule a quarantine line can name (each is documented in docs/formats.md).
ROW_RULES: tuple[str, ...] = (
    "required",
    "code",
    "not_in_record_type",
    "date",
    "month",
    "integer",
    "minimum",
    "bool",
    "currency",
    "country",
    "national_id_scheme",
    "national_id",
    "name",
    "date_of_birth",
    "duplicate_in_file",
    "version_conflict",
)

_FURNISHER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass
class Receipt:
    """What the bureau tells a furnisher about one file. rows_total = rows_accepted +
    rows_rejected + rows_duplicate; rejected_by_rule counts quarantine lines per rule."""

    batch_id: str
    furnisher_id: str
    file_name: str
    file_format: str
    checksum: str
    status: str  # "accepted" | "rejected" | "already_ingested"
    rows_total: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    rows_duplicate: int = 0
    rejected_by_rule: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    lake_path: str | None = None
    quarantine_path: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


class FileRejected(Exception):
    """The whole file was refused; `receipt.error` says why (its status is "rejected")."""

    def __init__(self, receipt: Receipt) -> None:
        super().__init__(receipt.error)
        self.receipt = receipt


class FurnisherError(ValueError):
    """A furnisher registration that cannot be accepted (bad id or kind, or a conflict)."""


def detect_format(file_name: str) -> str | None:
    """The format of a file from its extension (case-insensitive), or None if unsupported."""
    return FORMATS.get(Path(file_name).suffix.lower())


def unsupported_format_message(file_name: str) -> str:
    suffix = Path(file_name).suffix or "(no extension)"
    known = ", ".join(FORMATS)
    return f"unsupported file format: {suffix} (use one of {known})"


def furnisher_id_problem(furnisher_id: str) -> str | None:
    """Why a furnisher id cannot be used (it names a lake folder), or None."""
    if not _FURNISHER_ID.fullmatch(furnisher_id):
        return (
            f"invalid furnisher id {furnisher_id!r}: use 1-64 letters, digits, '.', '_' "
            "or '-', starting with a letter or digit"
        )
    return None


#: The one problem of a header naming no catalogue field (its names are likely data).
NOT_A_HEADER = "no header: no column name is a catalogue field (is the first line a header row?)"


def header_problems(columns: list[str]) -> list[str]:
    """File-level problems of a header: prohibited columns first, then unknown ones, then
    repeated names, then missing required columns. Empty when the header is acceptable.

    A header naming no catalogue field at all is most likely a CSV file's first data row:
    that is said alone, as listing its "names" would quote the data (a national id)."""
    known = all_input_columns()
    if columns and not any(col in known for col in columns):
        return [NOT_A_HEADER]
    found = check_columns(columns)
    out = [p.message for p in found if p.rule == "prohibited"]
    out += [p.message for p in found if p.rule != "prohibited"]
    seen: set[str] = set()
    for position, col in enumerate(columns, 1):
        if col in seen:
            out.append(f"repeated column: {column_label(col, position)}")
        seen.add(col)
    out += [f"missing required column: {c}" for c in REQUIRED_COLUMNS if c not in columns]
    return out


def licence_problems(furnisher_id: str, kind: str, record_types: Iterable[str]) -> list[str]:
    """One message per known record type in the file that this furnisher's kind may not send.
    Unknown record types are left to the row-level `code` rule."""
    return [
        f"furnisher {furnisher_id} ({kind}) is not licensed to furnish {name}"
        for name in sorted(set(record_types))
        if name in RECORD_TYPES and kind not in RECORD_TYPES[name].furnisher_kinds
    ]


@dataclass(frozen=True)
class ColumnSpec:
    """How one input column is checked. `owners` is None for common and identity columns
    (every record type has them), else the record types the field belongs to."""

    name: str
    kind: FieldKind
    codes: tuple[str, ...] = ()
    minimum: int | None = None
    required_always: bool = False
    required_in: tuple[str, ...] = ()
    owners: tuple[str, ...] | None = None


@lru_cache(maxsize=1)
def column_specs() -> tuple[ColumnSpec, ...]:
    """Every input column, in catalogue order: common, identity, then record-type fields.

    A field shared by several record types must have one kind, code list and minimum (a unit
    test holds the catalogue to it); only whether it is required differs by type."""
    specs: list[ColumnSpec] = []
    for f in COMMON_COLUMNS + IDENTITY_COLUMNS:
        codes = tuple(RECORD_TYPES) if f.name == "record_type" else f.codes
        specs.append(ColumnSpec(f.name, f.kind, codes, f.minimum, required_always=f.required))
    by_name: dict[str, list] = {}
    for rt in RECORD_TYPES.values():
        for f in rt.fields:
            by_name.setdefault(f.name, []).append((rt.name, f))
    for name, owned in by_name.items():
        first = owned[0][1]
        specs.append(
            ColumnSpec(
                name,
                first.kind,
                first.codes,
                first.minimum,
                required_in=tuple(rt for rt, f in owned if f.required),
                owners=tuple(rt for rt, _ in owned),
            )
        )
    return tuple(specs)


@dataclass(frozen=True)
class RowCheck:
    """One row-level check: rows where `test` holds for `column` get a quarantine line.

    `test` names a predicate the SQL builder knows; `arg` is its argument. In `message`,
    the placeholder {record_type} is replaced by the row's record type."""

    column: str
    rule: str
    test: str
    message: str
    arg: tuple[str, ...] | int | None = None


_FORMAT_TESTS: dict[str, tuple[str, str]] = {
    "date": ("bad_date", "not a date (YYYY-MM-DD)"),
    "month": ("bad_month", "not a month (YYYY-MM)"),
    "int": ("bad_integer", "not an integer"),
    "money": ("bad_integer", "not an integer amount in minor units"),
    "bool": ("bad_bool", "not true or false"),
    "currency": ("bad_currency", "not an ISO 4217 currency code (3 upper-case letters)"),
}
_RULE_OF_KIND = {"int": "integer", "money": "integer"}


def row_checks() -> tuple[RowCheck, ...]:
    """The vectorisable row checks, derived from the catalogue. National-id checksums and
    repeated records need joins and are handled by the service."""
    checks: list[RowCheck] = []
    for s in column_specs():
        if s.required_always:
            checks.append(RowCheck(s.name, "required", "missing", f"{s.name} is required"))
        for rt in s.required_in:
            checks.append(
                RowCheck(s.name, "required", "missing_for", f"{s.name} is required for {rt}", (rt,))
            )
        if s.owners is not None and len(s.owners) < len(RECORD_TYPES):
            # arg: the record types that must leave this column empty
            checks.append(
                RowCheck(
                    s.name,
                    "not_in_record_type",
                    "outside",
                    f"{s.name} is not a field of {{record_type}}",
                    tuple(rt for rt in RECORD_TYPES if rt not in s.owners),
                )
            )
        if s.codes:
            checks.append(
                RowCheck(s.name, "code", "not_in", f"not one of: {', '.join(s.codes)}", s.codes)
            )
        if s.kind in _FORMAT_TESTS:
            test, message = _FORMAT_TESTS[s.kind]
            checks.append(RowCheck(s.name, _RULE_OF_KIND.get(s.kind, s.kind), test, message))
        if s.minimum is not None:
            checks.append(
                RowCheck(s.name, "minimum", "below", f"must be at least {s.minimum}", s.minimum)
            )
        if s.name == "country":
            checks.append(
                RowCheck(s.name, "country", "bad_country", "not an ISO 3166-1 alpha-2 code")
            )
    for code, scheme in identifiers.SCHEMES.items():
        for other in SUBJECT_KINDS:
            if other != scheme.subject_kind:
                checks.append(
                    RowCheck(
                        "national_id_scheme",
                        "national_id_scheme",
                        "scheme_for_other_kind",
                        f"{code} identifies a {scheme.subject_kind}, not a {other}",
                        (code, other),
                    )
                )
    checks += [
        RowCheck(
            "national_id_scheme",
            "national_id_scheme",
            "missing_scheme",
            "national_id_scheme is required when national_id is given",
        ),
        RowCheck(
            "given_name", "name", "person_unnamed", "a person needs given_name or family_name"
        ),
        RowCheck("org_name", "name", "org_unnamed", "an organisation needs org_name"),
        RowCheck(
            "date_of_birth",
            "date_of_birth",
            "born_after_report",
            "date_of_birth is after reported_on",
        ),
    ]
    return tuple(checks)


#: The columns of a problem line, as the ingest database's `problems` table holds them.
PROBLEM_SCHEMA = pa.schema(
    [
        ("row_number", pa.int64()),
        ("column", pa.string()),
        ("rule", pa.string()),
        ("message", pa.string()),
        ("value", pa.string()),
        ("check_order", pa.int32()),
    ]
)


def problem_lines(results: pa.Table, checks: Sequence[RowCheck], orders: Sequence[int]) -> pa.Table:
    """One problem line per failed check, from `results` as `sql.check_results_select` gives
    them for `checks` (a boolean column `__check_{i}` per check); `orders[i]` is check i's
    place in `row_checks()`. The value is the column as sent, never for `national_id`; a
    message's {record_type} becomes the row's record type."""
    parts = []
    for i, check in enumerate(checks):
        # only the columns a line needs, before filtering: a copy of every column per check
        # cost several times the rest on a file whose every row fails
        needed = ["_row", "record_type", f"__check_{i}"]
        if check.column not in needed and check.column != "national_id":
            needed.append(check.column)
        failed = results.select(needed).filter(results.column(f"__check_{i}"))
        n = failed.num_rows
        if not n:
            continue
        if "{record_type}" in check.message:
            before, after = check.message.split("{record_type}", 1)
            message = pc.binary_join_element_wise(
                before, failed.column("record_type").cast(pa.string()), after, ""
            )
        else:
            message = pa.repeat(check.message, n)
        if check.column == "national_id":
            value = pa.nulls(n, pa.string())
        else:
            value = failed.column(check.column).cast(pa.string())
        parts.append(
            pa.table(
                [
                    failed.column("_row").cast(pa.int64()),
                    pa.repeat(check.column, n),
                    pa.repeat(check.rule, n),
                    message,
                    value,
                    pa.repeat(orders[i], n).cast(pa.int32()),
                ],
                schema=PROBLEM_SCHEMA,
            )
        )
    if not parts:
        return PROBLEM_SCHEMA.empty_table()
    return pa.concat_tables(parts).combine_chunks()


@dataclass(frozen=True)
class NationalIdCheck:
    """The outcome of checking one (scheme, value): `compact` is None when invalid."""

    compact: str | None
    masked: str
    message: str | None


def check_national_id(scheme: str, value: str) -> NationalIdCheck:
    """Validate with the scheme's checksum and format rules (catalogue.identifiers)."""
    try:
        compact = identifiers.compact(scheme, value)
    except identifiers.InvalidIdentifier as exc:
        return NationalIdCheck(None, mask_invalid(scheme, value), str(exc))
    return NationalIdCheck(compact, identifiers.mask(scheme, compact), None)


def check_national_ids(pairs: list[tuple[str, str]]) -> list[NationalIdCheck]:
    """check_national_id over many pairs."""
    return [check_national_id(scheme, value) for scheme, value in pairs]


def check_and_token(
    pairs: list[tuple[str, str]], key: bytes
) -> list[tuple[NationalIdCheck, str | None]]:
    """Each pair's check and, when valid, its keyed token (the work of one worker process)."""
    out = []
    for scheme, value in pairs:
        found = check_national_id(scheme, value)
        out.append(
            (found, identifiers.token(key, scheme, found.compact) if found.compact else None)
        )
    return out


def mask_invalid(scheme: str, value: str) -> str:
    """A display form for an id that failed validation: at most its last two characters
    (none for a short value), so a mistyped number cannot be read back from quarantine."""
    raw = re.sub(r"\s+", "", value)
    if len(raw) >= 10:
        return "*" * (len(raw) - 2) + raw[-2:]
    return "*" * len(raw)


def nested_values_message(columns: list[str]) -> str:
    """File-level refusal of objects, lists or maps as values."""
    return (
        "nested values are not accepted: "
        + ", ".join(columns)
        + " (each field takes one plain value; see docs/formats.md)"
    )


def byte_values_message(columns: list[str]) -> str:
    """File-level refusal of columns holding bytes instead of text."""
    return (
        "values that are bytes, not text, are not accepted: "
        + ", ".join(columns)
        + " (send each field as UTF-8 text; see docs/formats.md)"
    )


def blank_header_message() -> str:
    """File-level refusal of a CSV whose first line is blank."""
    return "no header: the first line is blank (it must name the columns)"


def new_batch_id(now: datetime, suffix: str) -> str:
    """Sortable by time received: `b` + UTC timestamp to the microsecond + `-` + suffix."""
    now = now.astimezone(UTC)
    return f"b{now.year:04d}{now:%m%dT%H%M%S%f}-{suffix}"


#: Engine messages known to carry no data from the file.
_SAFE_READER_LINES = tuple(
    re.compile(p)
    for p in (
        r"CSV Error on Line: \d+",
        r"Expected Number of Columns: \d+ Found: \d+",
        r"Value with unterminated quote found\.",
        r"Invalid unicode \(byte sequence mismatch\) detected\.[^'\"]*",
    )
)


def _scrub(line: str) -> str:
    line = re.sub(r' in file "[^"]*"', "", line)
    line = re.sub(r"(but got [A-Z]+):.*$", r"\1", line)
    line = re.sub(r"'[^']*'|\"[^\"]*\"", "…", line)
    # any long token with a digit could be an identifier
    return IDENTIFIER_LIKE.sub(lambda m: m[0] if len(m[0]) < 6 else "…", line)


def reader_error_message(file_format: str, detail: str) -> str:
    """A one-line, data-free message for a file the reader could not parse.

    The engine's message can quote the offending line (which may span lines and carry a
    national id): the quoted line is skipped up to the next known reason, and any other text
    loses quoted strings and long tokens with digits."""
    keep: list[str] = []
    skipping = False
    for raw in detail.splitlines():
        line = re.sub(r"^[A-Za-z ]+Error: ", "", raw.strip())
        if line.startswith("Possible"):
            break
        if line.startswith("Original Line"):
            skipping = True
        elif any(p.fullmatch(line) for p in _SAFE_READER_LINES):
            skipping = False
            keep.append(line)
        elif line and not skipping:
            keep.append(_scrub(line))
    text = ": ".join(keep)[:500] or "could not be read"
    return f"unreadable {file_format} file (truncated or malformed?): {text}"


def empty_file_message() -> str:
    return "empty file: no data rows"
