"""SQL builders for ingest (DuckDB dialect). They return (sql, params) and never run anything.

Values always travel as parameters; identifiers come from the catalogue and are quoted."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from openbureau.ingest.rules import ColumnSpec, RowCheck
from openbureau.storage.lake import IDENTITY_KEY_COLUMNS

Query = tuple[str, list]

INTEGER_RE = "-?[0-9]{1,18}"
CURRENCY_RE = "[A-Z]{3}"
COUNTRY_RE = "[A-Z]{2}"


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def normalise_select(source: str, source_types: dict[str, str], specs: Sequence[ColumnSpec]) -> str:
    """The catalogue columns the file has, as text with empty as NULL, from the `source`
    FROM-clause (a table function call). Values are not trimmed: they are taken as sent.

    Typed sources (Parquet, JSON) are turned into the text a CSV would carry, so one set of
    checks serves every format; a DATE in a month column becomes YYYY-MM on the 1st."""
    cols = []
    for s in specs:
        q = quote(s.name)
        typ = source_types.get(s.name)
        if typ is None:
            continue
        if typ == "VARCHAR":
            expr = f"NULLIF({q}, '')"
        elif s.kind == "month" and typ == "DATE":
            expr = (
                f"CASE WHEN day({q}) = 1 THEN strftime({q}, '%Y-%m') ELSE CAST({q} AS VARCHAR) END"
            )
        else:
            expr = f"CAST({q} AS VARCHAR)"
        cols.append(f"{expr} AS {q}")
    return f"SELECT {', '.join(cols)} FROM {source}"


def complete_view(
    name: str, table: str, present: Sequence[str], specs: Sequence[ColumnSpec]
) -> str:
    """A view `name` over `table` with every catalogue column: those the file lacks are NULL."""
    missing = [f"CAST(NULL AS VARCHAR) AS {quote(s.name)}" for s in specs if s.name not in present]
    extra = "".join(", " + m for m in missing)
    return f"CREATE VIEW {quote(name)} AS SELECT *{extra} FROM {quote(table)}"


class Params:
    """Named parameters for one statement: `add(value)` returns its `$name` placeholder."""

    def __init__(self) -> None:
        self.values: dict[str, object] = {}

    def add(self, value: object) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"${name}"


def _predicate(check: RowCheck, p: Params) -> str:
    """SQL that is true on the rows failing `check` (NULL counts as passing)."""
    v = quote(check.column)
    test, arg = check.test, check.arg
    if test == "missing":
        return f"{v} IS NULL"
    if test == "missing_for":
        return f"record_type = {p.add(arg[0])} AND {v} IS NULL"
    if test == "outside":  # arg: the record types that must leave the column empty
        return f"{v} IS NOT NULL AND list_contains({p.add(list(arg))}::VARCHAR[], record_type)"
    if test == "not_in":
        return f"NOT list_contains({p.add(list(arg))}::VARCHAR[], {v})"
    # A date or month must print back exactly as sent: DuckDB's cast alone also takes
    # 2024-1-5, 2024/01/05 and a trailing time.
    if test == "bad_date":
        return f"length({v}) <> 10 OR CAST(try_cast({v} AS DATE) AS VARCHAR) IS DISTINCT FROM {v}"
    if test == "bad_month":
        return (
            f"length({v}) <> 7 OR "
            f"CAST(try_cast({v} || '-01' AS DATE) AS VARCHAR) IS DISTINCT FROM {v} || '-01'"
        )
    if test == "bad_integer":
        return f"NOT regexp_full_match({v}, {p.add(INTEGER_RE)})"
    if test == "below":
        return f"try_cast({v} AS BIGINT) < {p.add(arg)}"
    if test == "bad_bool":
        return f"lower({v}) NOT IN ('true', 'false')"
    if test == "bad_currency":
        return f"NOT regexp_full_match({v}, {p.add(CURRENCY_RE)})"
    if test == "bad_country":
        return f"NOT regexp_full_match({v}, {p.add(COUNTRY_RE)})"
    if test == "missing_scheme":
        return "national_id IS NOT NULL AND national_id_scheme IS NULL"
    if test == "scheme_for_other_kind":
        return f"national_id_scheme = {p.add(arg[0])} AND subject_kind = {p.add(arg[1])}"
    if test == "person_unnamed":
        return "subject_kind = 'person' AND given_name IS NULL AND family_name IS NULL"
    if test == "org_unnamed":
        return "subject_kind = 'organisation' AND org_name IS NULL"
    if test == "born_after_report":
        return "try_cast(date_of_birth AS DATE) > try_cast(reported_on AS DATE)"
    raise ValueError(f"no SQL for row test {test!r}")


#: Columns a test reads that must be in the file for it to ever fail (default: its column).
#: `missing` tests fail precisely when the column is absent.
_NEEDS = {
    "missing": (),
    "missing_for": (),
    "missing_scheme": ("national_id",),
    "scheme_for_other_kind": ("national_id_scheme", "subject_kind"),
    "person_unnamed": ("subject_kind",),
    "org_unnamed": ("subject_kind",),
    "born_after_report": ("date_of_birth", "reported_on"),
}


#: Columns a test's SQL (`_predicate`) reads besides the check's own column.
_ALSO_READS = {
    "missing_for": ("record_type",),
    "outside": ("record_type",),
    "missing_scheme": ("national_id",),
    "scheme_for_other_kind": ("subject_kind",),
    "person_unnamed": ("subject_kind", "given_name", "family_name"),
    "org_unnamed": ("subject_kind", "org_name"),
    "born_after_report": ("date_of_birth", "reported_on"),
}


def columns_read(checks: Sequence[RowCheck]) -> list[str]:
    """`_row`, `record_type` and every column the checks' SQL reads, in catalogue order."""
    read = {"_row", "record_type"}
    for c in checks:
        read.add(c.column)
        read.update(_ALSO_READS.get(c.test, ()))
    return ["_row", "record_type", *sorted(read - {"_row", "record_type"})]


def applicable_checks(
    checks: Sequence[RowCheck], present: Collection[str], record_types: Collection[str]
) -> list[RowCheck]:
    """The checks that can fail on a file with these columns and these record types: the
    others read only NULLs, or hold only for a record type no row has (a row without a
    record type fails none of those either). Every check costs planning time, whether or not
    a row reaches it."""
    kept = []
    for c in checks:
        if not all(col in present for col in _NEEDS.get(c.test, (c.column,))):
            continue
        if c.test == "missing_for" and c.arg[0] not in record_types:
            continue
        if c.test == "outside" and not any(rt in record_types for rt in c.arg):
            continue
        kept.append(c)
    return kept


def _where(checks: Sequence[RowCheck], p: Params) -> str:
    """True on rows failing any check. Checks that depend on the record type are grouped
    under one CASE on record_type, so a row pays only for its own type's checks."""
    generic: list[str] = []
    by_type: dict[str, list[str]] = {}
    for c in checks:
        v = quote(c.column)
        if c.test == "missing_for":
            by_type.setdefault(c.arg[0], []).append(f"{v} IS NULL")
        elif c.test == "outside":
            for rt in c.arg:
                by_type.setdefault(rt, []).append(f"{v} IS NOT NULL")
        else:
            generic.append(f"({_predicate(c, p)})")
    if by_type:
        whens = " ".join(
            f"WHEN {p.add(rt)} THEN ({' OR '.join(preds)})" for rt, preds in by_type.items()
        )
        generic.append(f"(CASE record_type {whens} ELSE false END)")
    return " OR ".join(generic) or "false"


def failing_rows_select(
    source: str, checks: Sequence[RowCheck], present: Collection[str], record_types: Collection[str]
) -> tuple[str, dict]:
    """The rows of `source` failing any check (most rows fail none), with the columns the
    checks read (`columns_read`): all a check-by-check test of them needs."""
    p = Params()
    kept = applicable_checks(checks, present, record_types)
    where = _where(kept, p)
    columns = ", ".join(quote(c) for c in columns_read(kept))
    return f"SELECT {columns} FROM {quote(source)} WHERE {where}", p.values


def has_repeats_select(source: str) -> str:
    """True when some (record_id, version) appears more than once in `source`."""
    return f"""
    SELECT count(*) > count(DISTINCT (record_id, coalesce(try_cast(version AS BIGINT), 1)))
    FROM {quote(source)} WHERE record_id IS NOT NULL
    """


def check_results_select(source: str, checks: Sequence[RowCheck]) -> tuple[str, dict]:
    """For each row of `source`: `_row`, `record_type`, the value of each check's own column
    (the one its problem line shows), and one boolean per check in order (`__check_0`, ...),
    true where the row fails it (a check whose test is NULL passes).

    Run over the few failing rows only: a boolean per check costs far less to plan than a
    list of problem structs built and unnested in SQL, which cost more than the rest of
    validating a small file (BENCHMARKS.md, Demo pipeline). A check on the raw
    `national_id` would echo it, so that column is never selected."""
    p = Params()
    columns = ["_row", "record_type"]
    columns += sorted({c.column for c in checks} - {"record_type", "national_id"})
    flags = [
        f"coalesce({_predicate(c, p)}, false) AS {quote(f'__check_{i}')}"
        for i, c in enumerate(checks)
    ]
    select = ", ".join([*(quote(c) for c in columns), *flags])
    return f"SELECT {select} FROM {quote(source)}", p.values


def repeats_select(source: str, columns: Sequence[str]) -> str:
    """Rows whose (record_id, version) already appeared earlier in the file, with that first row
    and whether every column equals it (`same`: an exact repeat, not a conflict)."""
    same = " AND ".join(f"a.{quote(c)} IS NOT DISTINCT FROM b.{quote(c)}" for c in columns)
    return f"""
    WITH k AS (
        SELECT _row, record_id, coalesce(try_cast(version AS BIGINT), 1) AS ver
        FROM {quote(source)} WHERE record_id IS NOT NULL
    ), g AS (
        SELECT record_id, ver, min(_row) AS first_row FROM k
        GROUP BY record_id, ver HAVING count(*) > 1
    ), r AS (
        SELECT k._row, g.first_row FROM k JOIN g USING (record_id, ver) WHERE k._row > g.first_row
    )
    SELECT r._row, r.first_row, a.record_id, ({same}) AS same
    FROM r JOIN {quote(source)} a ON a._row = r._row JOIN {quote(source)} b ON b._row = r.first_row
    """


def lake_duplicates_select(source: str) -> str:
    """Rows whose (record_id, version) is already in the given lake files (one parameter: the
    list of file paths). A semi join ignores repeats on its right side, so the lake's keys are
    not made distinct first: that aggregation cost ~40% of the query (BENCHMARKS.md), and the
    query runs for every file, over all the furnisher's earlier files."""
    return f"""
    SELECT s._row FROM {quote(source)} s
    SEMI JOIN read_parquet(?::VARCHAR[]) k
      ON s.record_id = k.record_id AND coalesce(try_cast(s.version AS BIGINT), 1) = k.version
    """


#: Stored columns a re-sent record is not compared on: lineage (where it came from), when it
#: was reported (a file regenerated later re-reports the same record), and what is derived
#: from other columns (the mask and the identity key follow the national id).
NOT_COMPARED = frozenset(
    {
        "furnisher_id",
        "batch_id",
        "row_number",
        "reported_on",
        "national_id_masked",
        "identity_key",
    }
)


def lake_conflicts_select(stored: str, columns: Sequence[str], present: Collection[str]) -> str:
    """Problem lines (as `problems` holds them) for the rows of `stored` (the stored form of the
    rows whose (record_id, version) is already in the lake, `records_select`'s output) whose
    values differ from the lake's row of that key. Parameters: `stored`'s own, then the list
    of lake files, then the check order. `columns` are the lake's columns; a column the file
    lacks states nothing and is not compared (an empty cell in a column it has is compared).
    The message names the earlier batch and the columns that differ (`national_id` for its
    token)."""
    differs = []
    for c in columns:
        shown = "national_id" if c == "national_id_token" else c
        if c in NOT_COMPARED or shown not in present:
            continue
        differs.append(f"CASE WHEN n.{quote(c)} IS DISTINCT FROM k.{quote(c)} THEN '{shown}' END")
    if not differs:
        differs.append("NULL")
    return f"""
    WITH n AS ({stored}),
    d AS (
        SELECT n.row_number, n.record_id, n.version, k.batch_id,
               list_filter([{", ".join(differs)}], lambda x: x IS NOT NULL) AS differ
        FROM n JOIN read_parquet(?::VARCHAR[], union_by_name = true) k
          ON n.record_id = k.record_id AND n.version = k.version
    )
    SELECT row_number, 'record_id', 'version_conflict',
           'record_id ' || record_id || ' version ' || version || ' is already in the lake '
           || '(batch ' || batch_id || ') with other values in ' || array_to_string(differ, ', ')
           || '; send a change as a higher version',
           record_id, ?
    FROM d WHERE len(differ) > 0
    """


def _typed(spec_kind: str, q: str) -> str:
    if spec_kind == "date":
        return f"CAST({q} AS DATE)"
    if spec_kind == "month":
        return f"CAST({q} || '-01' AS DATE)"
    if spec_kind in ("int", "money"):
        return f"CAST({q} AS BIGINT)"
    if spec_kind == "bool":
        return f"lower({q}) = 'true'"
    return q


def identity_key_expr(exprs: dict[str, str]) -> str:
    """md5 hex of the stored identity columns joined by '|', NULL as '' (CONTRACTS.md);
    `exprs` maps a column of IDENTITY_KEY_COLUMNS to its SQL (default: the quoted name)."""
    parts = [
        f"coalesce(CAST({exprs.get(c, quote(c))} AS VARCHAR), '')" for c in IDENTITY_KEY_COLUMNS
    ]
    return f"md5(concat_ws('|', {', '.join(parts)}))"


def records_select(
    source: str,
    ids: str,
    excluded: str,
    specs: Sequence[ColumnSpec],
    present: Collection[str],
    furnisher_id: str,
    batch_id: str,
) -> Query:
    """The stored form of the rows of `source` not in `excluded` (row order not kept): lineage,
    the `present` catalogue columns typed, version (default 1), national id replaced by token
    and mask from `ids`, identity_key. Columns the file lacks are left to the caller (all
    NULL: cheaper as Arrow arrays than through the engine)."""
    typed: dict[str, str] = {
        "furnisher_id": "?::VARCHAR",
        "batch_id": "?::VARCHAR",
        "row_number": "s._row",
        "version": "coalesce(CAST(s.version AS BIGINT), 1)",
        "national_id_token": "i.token",
        "national_id_masked": "i.masked",
    }
    for spec in specs:
        if spec.name in present and spec.name not in typed and spec.name != "national_id":
            typed[spec.name] = _typed(spec.kind, f"s.{quote(spec.name)}")
    # identity columns hash as sent: a valid date's text is already its ISO form
    key_sources = {c: f"s.{quote(c)}" for c in IDENTITY_KEY_COLUMNS}
    key_sources["national_id_token"] = "i.token"
    typed["identity_key"] = identity_key_expr(key_sources)
    select = ", ".join(f"{expr} AS {quote(name)}" for name, expr in typed.items())
    sql = f"""
    SELECT {select}
    FROM {quote(source)} s
    LEFT JOIN {quote(ids)} i ON s.national_id_scheme = i.scheme AND s.national_id = i.raw
    WHERE s._row NOT IN (SELECT _row FROM {quote(excluded)})
    """
    return sql, [furnisher_id, batch_id]
