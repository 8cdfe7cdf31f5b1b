"""The quarantine lines of a batch's row checks (ingest.service._fill_problems) against an
oracle that runs every check on its own over the whole file.

The service first finds the rows failing any check, then tests only those check by check,
only for the checks that can fail on the file's columns, and builds the lines in Arrow
(rules.problem_lines). The oracle takes none of those short cuts: every check in
`row_checks()`, one query each, over every row, messages built in Python."""

from __future__ import annotations

from unittest.mock import patch

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from openbureau.catalogue.identifiers import SCHEMES
from openbureau.catalogue.model import RECORD_TYPES, SUBJECT_KINDS
from openbureau.ingest import service, sql
from openbureau.ingest.rules import (
    PROBLEM_SCHEMA,
    RowCheck,
    column_specs,
    problem_lines,
    row_checks,
)
from openbureau.ingest.service import _fill_problems

SPECS = {s.name: s for s in column_specs()}

#: Values that pass and values that fail, per kind of column (as a CSV would carry them).
BY_KIND: dict[str, list[str | None]] = {
    "string": ["x", "Zhang Wei", None],
    # two good dates, so that a birth after the report (a check of two columns) can fail
    "date": [
        "2024-01-05",
        "1990-01-01",
        "2030-01-01",
        "2024-1-5",
        "2024-02-30",
        "05/01/2024",
        None,
    ],
    "month": ["2024-01", "2024-1", "2024-13", None],
    "int": ["12", "-3", "1.5", "x", "0", None],
    "money": ["120000", "-1", "12.50", None],
    "currency": ["CNY", "cny", "RMB1", None],
    "bool": ["true", "FALSE", "yes", None],
}


def _values(name: str) -> list[str | None]:
    spec = SPECS[name]
    if name == "record_type":
        return [*RECORD_TYPES, "no_such_type", None]
    if name == "national_id_scheme":
        return [*SCHEMES, "XX-NONE", None]
    if name == "subject_kind":
        return [*SUBJECT_KINDS, "robot", None]
    if name == "country":
        return ["CN", "IN", "china", None]
    if spec.codes:
        return [spec.codes[0], spec.codes[-1], "not-a-code", None]
    return BY_KIND[spec.kind]


COLUMNS = ["record_type", *(s.name for s in column_specs() if s.name != "record_type")]


@st.composite
def files(draw):
    """A file's columns (record_type always) and rows drawn from passing and failing values."""
    extra = draw(st.lists(st.sampled_from(COLUMNS[1:]), unique=True, max_size=14))
    present = ["record_type", *extra]
    n = draw(st.integers(min_value=1, max_value=8))
    pools = {c: ["1101", None] if c == "national_id" else _values(c) for c in present}
    rows = [{c: draw(st.sampled_from(pools[c])) for c in present} for _ in range(n)]
    return present, rows


def _source(present, rows) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    columns = {c: pa.array([r[c] for r in rows], pa.string()) for c in present}
    columns["_row"] = pa.array(range(1, len(rows) + 1), pa.int64())
    con.register("src_rows", pa.table(columns))
    con.execute(sql.complete_view("src", "src_rows", present, column_specs()))
    return con


def _oracle(con) -> list[tuple]:
    lines = []
    for order, check in enumerate(row_checks()):
        p = sql.Params()
        rows = con.execute(
            f"SELECT _row, record_type, CAST({sql.quote(check.column)} AS VARCHAR) FROM src "
            f"WHERE {sql._predicate(check, p)}",
            p.values,
        ).fetchall()
        for row, record_type, value in rows:
            message = check.message
            if "{record_type}" in message:
                message = (
                    None if record_type is None else message.replace("{record_type}", record_type)
                )
            shown = None if check.column == "national_id" else value
            lines.append((row, check.column, check.rule, message, shown, order))
    return sorted(lines, key=repr)


def _service(con, present) -> list[tuple]:
    types = [r[0] for r in con.execute("SELECT DISTINCT record_type FROM src").fetchall()]
    _fill_problems(con, row_checks(), present, [t for t in types if t is not None])
    return sorted(con.execute("SELECT * FROM problems").fetchall(), key=repr)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files(), st.sampled_from([service.PROBLEM_ROWS_AT_ONCE, 1, 3]))
# checks that read columns besides their own, each on a file with just those columns
@example(
    (
        ["record_type", "date_of_birth", "reported_on"],
        [
            {
                "record_type": "credit_account",
                "date_of_birth": "2030-01-01",
                "reported_on": "1990-01-01",
            }
        ],
    ),
    1,
)
@example(
    (["record_type", "national_id"], [{"record_type": "credit_account", "national_id": "1101"}]), 1
)
@example(
    (
        ["record_type", "subject_kind"],
        [
            {"record_type": "tax_compliance", "subject_kind": "person"},
            {"record_type": "bankruptcy", "subject_kind": "organisation"},
        ],
    ),
    1,
)
@example(
    (
        ["record_type", "national_id_scheme", "subject_kind"],
        [
            {
                "record_type": "social_insurance",
                "national_id_scheme": "CN-RIC",
                "subject_kind": "organisation",
            }
        ],
    ),
    1,
)
def test_problem_lines_equal_every_check_run_alone(file, at_once):
    """Whatever the columns, record types and values, and however many failing rows are
    turned into lines at a time."""
    present, rows = file
    con = _source(present, rows)
    try:
        with patch.object(service, "PROBLEM_ROWS_AT_ONCE", at_once):
            assert _service(con, present) == _oracle(con)
        # the failing rows' table is gone: nothing of the file is kept past the step
        assert "failing" not in {r[2] for r in con.execute("SHOW ALL TABLES").fetchall()}
    finally:
        con.close()


def _clean_row(record_type: str) -> dict[str, str]:
    """A row of `record_type` that passes every check: each required column with the first
    (passing) value of its kind."""
    row = {"record_type": record_type, "subject_kind": "person", "country": "CN",
           "national_id_scheme": "CN-RIC", "national_id": "11010519491231002X",
           "given_name": "Wei", "family_name": "Zhang"}  # fmt: skip
    for spec in column_specs():
        if spec.name not in row and (spec.required_always or record_type in spec.required_in):
            row[spec.name] = _values(spec.name)[0]
    return row


def test_a_clean_file_gets_an_empty_problems_table():
    row = _clean_row("credit_account")
    con = _source(list(row), [row])
    assert _service(con, list(row)) == []
    # the table has the columns the quarantine writer reads, whatever was found
    names = [r[0] for r in con.execute("DESCRIBE problems").fetchall()]
    assert names == PROBLEM_SCHEMA.names


def test_a_failing_row_gets_a_line_per_failed_check_and_its_neighbour_none():
    good = _clean_row("credit_account")
    bad = {**good, "date_opened": "2024-1-5", "currency": "cny"}
    con = _source(list(good), [good, bad])
    lines = _service(con, list(good))
    assert [(row, column, rule, value) for row, column, rule, _, value, _ in lines] == [
        (2, "currency", "currency", "cny"),
        (2, "date_opened", "date", "2024-1-5"),
    ]
    assert lines == _oracle(con)


def test_a_national_id_without_its_scheme_is_one_line_on_the_scheme():
    row = {**_clean_row("credit_account"), "national_id_scheme": None}
    con = _source(list(row), [row])
    lines = _service(con, list(row))
    assert [(column, rule, value) for _, column, rule, _, value, _ in lines] == [
        ("national_id_scheme", "national_id_scheme", None)
    ]
    assert lines == _oracle(con)


def test_a_line_on_the_national_id_never_carries_its_value():
    check = RowCheck("national_id", "required", "missing", "national_id is required")
    results = pa.table(
        {
            "_row": pa.array([3], pa.int64()),
            "record_type": pa.array(["credit_account"], pa.string()),
            "national_id": pa.array(["11010519491231002X"], pa.string()),
            "__check_0": pa.array([True]),
        }
    )
    (line,) = problem_lines(results, [check], [0]).to_pylist()
    assert line["value"] is None
    assert "11010519491231002X" not in repr(line)
    # and the service never selects the column for the lines
    query, _ = sql.check_results_select("failing", [check])
    assert '"national_id"' not in query.split("FROM")[0].split("coalesce")[0]


@pytest.mark.parametrize(
    ("record_type", "message"),
    [("credit_account", "x is not a field of credit_account"), (None, None)],
)
def test_a_record_type_in_a_message_is_the_rows_own(record_type, message):
    check = next(c for c in row_checks() if "{record_type}" in c.message)
    check = type(check)("x", check.rule, check.test, "x is not a field of {record_type}", check.arg)
    results = pa.table(
        {
            "_row": pa.array([7], pa.int64()),
            "record_type": pa.array([record_type], pa.string()),
            "x": pa.array(["v"], pa.string()),
            "__check_0": pa.array([True]),
        }
    )
    lines = problem_lines(results, [check], [42]).to_pylist()
    assert lines == [
        {"row_number": 7, "column": "x", "rule": check.rule, "message": message, "value": "v",
         "check_order": 42}
    ]  # fmt: skip


def test_no_failed_check_gives_no_line():
    check = row_checks()[0]
    results = pa.table(
        {
            "_row": pa.array([1, 2], pa.int64()),
            "record_type": pa.array(["a", "b"], pa.string()),
            check.column: pa.array(["v", "w"], pa.string()),
            "__check_0": pa.array([False, False]),
        }
    )
    assert problem_lines(results, [check], [0]).num_rows == 0


@pytest.mark.parametrize("check", row_checks(), ids=lambda c: f"{c.column}-{c.test}")
def test_the_failing_rows_carry_every_column_a_check_reads(check):
    """The failing rows' table holds only `columns_read`: each check's SQL must find all it
    reads there (a column missing would be a binder error on the first failing file)."""
    con = duckdb.connect()
    columns = sql.columns_read([check])
    typed = ", ".join(f"{sql.quote(c)} {'BIGINT' if c == '_row' else 'VARCHAR'}" for c in columns)
    con.execute(f"CREATE TABLE failing ({typed})")
    p = sql.Params()
    con.execute(f"SELECT count(*) FROM failing WHERE {sql._predicate(check, p)}", p.values)
    query, params = sql.check_results_select("failing", [check])
    assert con.execute(query, params).fetchall() == []
