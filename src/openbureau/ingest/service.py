"""Ingest use cases: register a furnisher; ingest one file into the lake.

A file is refused whole (FileRejected, receipt stored) when it cannot be read or breaks a
file-level rule; otherwise its good rows become one Parquet file in the lake, its bad rows go
to the batch's quarantine file, and one `batches` row records the receipt."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import secrets
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from sqlalchemy import insert, select

from openbureau.audit import service as audit
from openbureau.catalogue.model import FURNISHER_KINDS
from openbureau.disputes import service as disputes
from openbureau.ingest import nationalids, sql
from openbureau.ingest.readers import ReadError, byte_columns, load, nested_columns, read_header
from openbureau.ingest.rules import (
    FileRejected,
    FurnisherError,
    Receipt,
    RowCheck,
    blank_header_message,
    byte_values_message,
    column_specs,
    detect_format,
    empty_file_message,
    furnisher_id_problem,
    header_problems,
    licence_problems,
    nested_values_message,
    new_batch_id,
    problem_lines,
    row_checks,
    unsupported_format_message,
)
from openbureau.lists import service as lists
from openbureau.lists.rules import PAID_BY
from openbureau.progress import Progress, no_progress
from openbureau.storage.lake import record_schema
from openbureau.storage.ledger import batches, furnishers

log = logging.getLogger(__name__)

_STEPS = 3  # read, validate, write
#: What the audit chain keeps of a receipt: ids, checksum and counts, never row contents.
_AUDITED_RECEIPT_FIELDS = (
    "batch_id", "furnisher_id", "file_format", "checksum", "rows_total", "rows_accepted",
    "rows_rejected", "rows_duplicate", "rejected_by_rule",
)  # fmt: skip
_ROW_GROUP_ROWS = 1 << 20


class _Refused(Exception):
    """A file-level problem found while reading or validating."""

    def __init__(self, message: str, rows_total: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.rows_total = rows_total


def add_furnisher(bureau, furnisher_id: str, kind: str, name: str) -> None:
    """Register a furnisher. Registering the same one again changes nothing; the same id with
    another kind or name raises FurnisherError, as do a bad id or an unknown kind."""
    problem = furnisher_id_problem(furnisher_id)
    if problem:
        raise FurnisherError(problem)
    if kind not in FURNISHER_KINDS:
        raise FurnisherError(
            f"unknown furnisher kind {kind!r}; known: {', '.join(FURNISHER_KINDS)}"
        )
    if not name.strip():
        raise FurnisherError("a furnisher needs a name")
    with bureau.ledger.begin() as conn:
        row = conn.execute(
            select(furnishers.c.kind, furnishers.c.name).where(
                furnishers.c.furnisher_id == furnisher_id
            )
        ).first()
        if row is None:
            now = datetime.now(UTC)
            conn.execute(
                insert(furnishers).values(
                    furnisher_id=furnisher_id, kind=kind, name=name, created_at=now
                )
            )
            audit.append(
                conn,
                actor=audit.LOCAL_OPERATOR,
                action="furnisher.add",
                purpose="furnisher-licensing",
                payload={"furnisher_id": furnisher_id, "kind": kind, "name": name},
                occurred_at=now,
            )
        elif (row.kind, row.name) != (kind, name):
            raise FurnisherError(
                f"furnisher {furnisher_id} is already registered as {row.kind} {row.name!r}"
            )


def ingest_file(
    bureau, path: Path, furnisher_id: str, *, progress: Progress | None = None
) -> Receipt:
    """Ingest one furnished file and return its receipt.

    Raises FileRejected (receipt stored, except for an unknown furnisher, which the ledger
    cannot name) for a file-level error. The same bytes from the same furnisher, once
    accepted, give status "already_ingested" and change nothing. A furnisher's files are
    ingested one at a time (`Lake.furnisher_lock`), even when sent at once."""
    report = progress or no_progress
    path = Path(path)
    label = f"ingest {path.name}"
    report(label, 0, _STEPS)
    fmt = detect_format(path.name)
    receipt = Receipt(
        batch_id=new_batch_id(datetime.now(UTC), secrets.token_hex(3)),
        furnisher_id=furnisher_id,
        file_name=path.name,
        file_format=fmt or (path.suffix.lstrip(".").lower()[:16] or "unknown"),
        checksum=_sha256(path),
        status="rejected",
    )
    kind = _furnisher_kind(bureau, furnisher_id)
    if kind is None:
        receipt.error = f"unknown furnisher: {furnisher_id} (register it first)"
        raise FileRejected(receipt)
    if fmt is None:
        _reject(bureau, receipt, _Refused(unsupported_format_message(path.name)))
    with bureau.lake.furnisher_lock(furnisher_id):
        _set_aside_orphans(bureau, furnisher_id)
        earlier = _accepted_receipt(bureau, furnisher_id, receipt.checksum)
        if earlier is not None:
            earlier.file_name = path.name
            earlier.status = "already_ingested"
            report(label, _STEPS, _STEPS)
            return earlier
        con = _connect(bureau.settings, receipt.batch_id)
        try:
            try:
                present, types = _load_and_check(con, path, fmt, furnisher_id, kind, receipt)
                report(label, 1, _STEPS)
                _validate(con, bureau, furnisher_id, receipt, present, types)
            except _Refused as refused:
                _reject(bureau, receipt, refused)
            report(label, 2, _STEPS)
            _commit(con, bureau, receipt, present)
        finally:
            _disconnect(con, receipt.batch_id)
    report(label, 3, _STEPS)
    return receipt


def _load_and_check(
    con, path: Path, fmt: str, furnisher_id: str, kind: str, receipt: Receipt
) -> tuple[list[str], list[str]]:
    """Read the file into view `src` (every catalogue column, as text) and return the columns
    the file has and the record types its rows name; raise _Refused on a file-level
    problem."""
    if path.stat().st_size == 0:
        raise _Refused(empty_file_message())
    try:
        header = read_header(con, path, fmt)
        if not header:  # a CSV of some bytes whose first line is blank has no header
            raise _Refused(blank_header_message() if fmt == "csv" else empty_file_message())
        names = [name for name, _ in header]
        problems = header_problems(names)
        if problems:
            raise _Refused("; ".join(problems))
        nested = nested_columns(header)
        if nested:
            raise _Refused(nested_values_message(nested))
        raw = byte_columns(header)
        if raw:
            raise _Refused(byte_values_message(raw))
        table = load(con, path, fmt, header, column_specs())
    except ReadError as exc:
        raise _Refused(str(exc)) from None
    con.register("src_rows", table)
    # every later result carries `_row`, so the engine may reorder freely from here on
    con.execute("SET preserve_insertion_order = false")
    con.execute(sql.complete_view("src", "src_rows", table.column_names, column_specs()))
    receipt.rows_total = table.num_rows
    if receipt.rows_total == 0:
        raise _Refused(empty_file_message())
    rows = con.execute("SELECT DISTINCT record_type FROM src").fetchall()
    types = [r[0] for r in rows if r[0] is not None]
    problems = licence_problems(furnisher_id, kind, types)
    if problems:
        raise _Refused("; ".join(problems), receipt.rows_total)
    return names, types


def _validate(
    con, bureau, furnisher_id: str, receipt: Receipt, present: list[str], record_types: list[str]
) -> None:
    """Fill table `problems` (one line per failed check), `ids` (token and mask per national
    id) and `excluded` (rows not to store), and the receipt's counts."""
    workers = bureau.settings.threads or os.cpu_count() or 1
    checks = row_checks()
    pending = nationalids.start(con, "src", bureau.settings.token_key_bytes, workers)
    try:
        # DuckDB works on the vectorised checks while worker processes check the ids
        _fill_problems(con, checks, present, record_types)
        specs = [s.name for s in column_specs()]
        repeats = sql.repeats_select("src", specs)
        if con.execute(sql.has_repeats_select("src")).fetchone()[0]:
            con.execute(f"CREATE TABLE repeats AS {repeats}")
        else:
            con.execute(
                "CREATE TABLE repeats (_row BIGINT, first_row BIGINT, record_id VARCHAR, "
                "same BOOLEAN)"
            )
        con.execute(
            "INSERT INTO problems SELECT _row, 'record_id', 'duplicate_in_file', "
            "'same record_id and version as row ' || first_row || ', with other values', "
            "record_id, ? FROM repeats WHERE NOT same",
            [len(checks) + 1],
        )
        lake_files = [str(p) for p in bureau.lake.furnisher_files(furnisher_id)]
        if lake_files:
            query = sql.lake_duplicates_select("src")
            con.execute(f"CREATE TABLE lake_dups AS {query}", [lake_files])
        else:
            con.execute("CREATE TABLE lake_dups (_row BIGINT)")
    finally:
        pending.result()  # completes table `ids`
    con.execute(
        "INSERT INTO problems SELECT s._row, 'national_id', 'national_id', i.message, i.masked, ? "
        "FROM src s JOIN ids i ON s.national_id_scheme = i.scheme AND s.national_id = i.raw "
        "WHERE i.message IS NOT NULL",
        [len(checks)],
    )
    if lake_files and con.execute("SELECT count(*) FROM lake_dups").fetchone()[0]:
        _check_resent_values(con, receipt, present, lake_files, len(checks) + 2)
    con.execute(
        "CREATE TABLE excluded AS SELECT row_number AS _row FROM problems "
        "UNION SELECT _row FROM repeats UNION SELECT _row FROM lake_dups"
    )
    rejected = con.execute("SELECT count(DISTINCT row_number) FROM problems").fetchone()[0]
    excluded = con.execute("SELECT count(*) FROM excluded").fetchone()[0]
    receipt.rows_rejected = rejected
    receipt.rows_duplicate = excluded - rejected
    receipt.rows_accepted = receipt.rows_total - excluded
    receipt.rejected_by_rule = dict(
        con.execute("SELECT rule, count(*) FROM problems GROUP BY rule ORDER BY rule").fetchall()
    )


#: Failing rows tested check by check at a time, as a range of row numbers: a file whose
#: every row fails (a malformed date in each) is turned into lines a slice at a time, so
#: the step holds a bounded part of it outside the engine's memory limit.
PROBLEM_ROWS_AT_ONCE = 200_000


def _fill_problems(
    con, checks: tuple[RowCheck, ...], present: list[str], record_types: list[str]
) -> None:
    """Create table `problems` with a line per failed row check. One scan finds the rows
    failing any check; only those are then tested check by check (most batches have none or
    a handful, and planning a test per check over the whole file costs more than the scan)."""
    con.execute(
        'CREATE TABLE problems (row_number BIGINT, "column" VARCHAR, rule VARCHAR, '
        "message VARCHAR, value VARCHAR, check_order INTEGER)"
    )
    query, params = sql.failing_rows_select("src", checks, present, record_types)
    con.execute(f"CREATE OR REPLACE TEMP TABLE failing AS {query}", params)
    try:
        first, last = con.execute("SELECT min(_row), max(_row) FROM failing").fetchall()[0]
        if first is None:
            return
        kept = sql.applicable_checks(checks, present, record_types)
        orders = [checks.index(c) for c in kept]
        query, params = sql.check_results_select("failing", kept)
        for low in range(first, last + 1, PROBLEM_ROWS_AT_ONCE):
            part = con.sql(
                f"SELECT * FROM ({query}) WHERE _row >= $low AND _row < $high",
                params={**params, "low": low, "high": low + PROBLEM_ROWS_AT_ONCE},
            ).to_arrow_table()
            if not part.num_rows:
                continue
            con.register("problem_lines", problem_lines(part, kept, orders))
            try:
                con.execute("INSERT INTO problems SELECT * FROM problem_lines")
            finally:
                con.unregister("problem_lines")
    finally:
        con.execute("DROP TABLE IF EXISTS failing")


def _check_resent_values(
    con, receipt: Receipt, present: list[str], lake_files: list[str], order: int
) -> None:
    """A row whose (record_id, version) is already in the lake is a duplicate only if it says
    what the lake holds; with other values it is a conflict, quarantined with rule
    `version_conflict` (a change must come as a higher version), not silently dropped. Only
    rows that passed every other check are compared (the others are rejected anyway, and
    their values may not convert to the stored types)."""
    con.execute(
        "CREATE TEMP TABLE not_resent AS SELECT _row FROM src WHERE _row NOT IN "
        "(SELECT _row FROM lake_dups) OR _row IN (SELECT row_number FROM problems)"
    )
    stored, params = sql.records_select(
        "src", "ids", "not_resent", column_specs(), present, receipt.furnisher_id,
        receipt.batch_id,
    )  # fmt: skip
    columns = record_schema().names
    query = sql.lake_conflicts_select(stored, columns, present)
    con.execute(f"INSERT INTO problems {query}", [*params, lake_files, order])


def _set_aside_orphans(bureau, furnisher_id: str) -> list[Path]:
    """Move records files that no accepted batch owns (left by a crash between writing the
    file and its ledger row) out of the lake, to `lake/orphaned/`, before they can be read
    or counted as duplicates. They are kept, not deleted, for an operator to inspect.

    Only under the furnisher's lock: a batch committing meanwhile has its file in place a
    moment before its ledger row."""
    files = bureau.lake.furnisher_files(furnisher_id)
    if not files:
        return []
    with bureau.ledger.connect() as conn:
        owned = set(
            conn.execute(
                select(batches.c.batch_id).where(
                    batches.c.furnisher_id == furnisher_id, batches.c.status == "accepted"
                )
            ).scalars()
        )
    moved = []
    for path in files:
        if path.stem not in owned:
            target = bureau.lake.root / "orphaned" / path.parent.name / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
            moved.append(target)
    return moved


def _commit(con, bureau, receipt: Receipt, present: list[str]) -> None:
    """Write quarantine and records files, then the ledger row; undo the files if the ledger
    write fails, so a batch is all there or not at all."""
    lake = bureau.lake
    written: list[Path] = []
    try:
        if receipt.rows_rejected:
            target = lake.quarantine_dir / f"{receipt.batch_id}.csv"
            _write_quarantine(con, target)
            written.append(target)
            receipt.quarantine_path = str(target)
        if receipt.rows_accepted:
            target = lake.batch_path(receipt.furnisher_id, receipt.batch_id)
            _write_records(con, receipt, present, target)
            written.append(target)
            receipt.lake_path = str(target)
        receipt.status = "accepted"
        reinserted = _reinserted(con, bureau, receipt) if receipt.rows_accepted else None
        cleared = _cleared(con, bureau, receipt) if receipt.rows_accepted else []
        _store(bureau, receipt, reinserted, cleared)
    except BaseException:
        for p in written:
            p.unlink(missing_ok=True)
        raise


def _write_records(con, receipt: Receipt, present: list[str], target: Path) -> None:
    """Stream the accepted rows, with exactly the lake's record schema, into `target`.

    Same guarantee as Lake.write_table_atomic (a temporary name, then a rename), but fed one
    row group at a time: a multi-million-row batch is never held whole in memory, and a
    thread encodes one row group while the engine computes the next."""
    schema = record_schema()
    query, params = sql.records_select(
        "src", "ids", "excluded", column_specs(), present, receipt.furnisher_id, receipt.batch_id
    )
    reader = con.sql(query, params=params).to_arrow_reader(1 << 17)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        with (
            pq.ParquetWriter(tmp, schema, compression="zstd") as writer,
            ThreadPoolExecutor(1) as encoder,
        ):
            writing = None
            for group in _row_groups(reader, schema):
                if writing is not None:
                    writing.result()
                writing = encoder.submit(writer.write_table, group)
            if writing is not None:
                writing.result()
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _row_groups(reader: pa.RecordBatchReader, schema: pa.Schema) -> Iterator[pa.Table]:
    pending: list[pa.RecordBatch] = []
    for batch in reader:
        pending.append(batch)
        if sum(b.num_rows for b in pending) >= _ROW_GROUP_ROWS:
            yield _complete(pa.Table.from_batches(pending), schema)
            pending = []
    if pending:
        yield _complete(pa.Table.from_batches(pending), schema)


def _complete(part: pa.Table, schema: pa.Schema) -> pa.Table:
    """`part` in `schema`'s column order and types; columns it lacks are all NULL."""
    columns = [
        part[f.name].cast(f.type) if f.name in part.column_names else pa.nulls(len(part), f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def _write_quarantine(con, target: Path) -> None:
    table = con.sql(
        'SELECT row_number, "column", rule, message, value FROM problems '
        "ORDER BY row_number, check_order"
    ).to_arrow_table()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        pacsv.write_csv(table, tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _reject(bureau, receipt: Receipt, refused: _Refused) -> None:
    """Store the receipt of a refused file, then raise FileRejected."""
    receipt.status = "rejected"
    # the ledger column holds 2000 characters; a header of hundreds of bad columns is longer
    receipt.error = (
        refused.message if len(refused.message) <= 2000 else refused.message[:1997] + "..."
    )
    receipt.rows_total = refused.rows_total
    receipt.rows_accepted = receipt.rows_rejected = receipt.rows_duplicate = 0
    receipt.rejected_by_rule = {}
    _store(bureau, receipt)
    raise FileRejected(receipt)


def _reinserted(con, bureau, receipt: Receipt) -> tuple[list, dict] | None:
    """The accepted records of the batch that a dispute had deleted and that come back with
    a version reported after the answer: [(record_id, newest reported_on)] and what was
    deleted (disputes/service.py), or None (the usual case: one ledger query, no scan)."""
    deleted = disputes.deleted_records_of(bureau.ledger, receipt.furnisher_id)
    if not deleted:
        return None
    gone = pa.table(
        {
            "record_id": pa.array(list(deleted), pa.string()),
            "withdrawn_on": pa.array([d["withdrawn_on"] for d in deleted.values()], pa.date32()),
        }
    )
    con.register("deleted_by_dispute", gone)
    try:
        found = con.execute(
            # try_cast: DuckDB may test the date of a row before leaving out the rejected
            # ones, and a rejected row's date may be no date at all
            "SELECT s.record_id, max(try_cast(s.reported_on AS DATE)) FROM src s "
            "JOIN deleted_by_dispute d USING (record_id) "
            "WHERE s._row NOT IN (SELECT _row FROM excluded) "
            "AND try_cast(s.reported_on AS DATE) > d.withdrawn_on GROUP BY 1 ORDER BY 1"
        ).fetchall()
    finally:
        con.unregister("deleted_by_dispute")
    return (found, deleted) if found else None


def _cleared(con, bureau, receipt: Receipt) -> list[tuple[str, str]]:
    """Open list entries the batch lifts: it carries a version of a record an entry rests
    on, or a judgment of a case one rests on, and the entry's file, read with the batch in
    it, shows the finding lifted or the subject's judgment paid (lists/service.py:
    `entries_to_clear`). Nothing else is decided here: a record whose new version the file
    does not show yet (an identity not linked until the next resolve) waits for that
    resolve's check. [] in the usual case: one ledger query, no scan; and [] if the check
    fails, which never fails the batch (the next check sees the entries again)."""
    cited, cases = lists.open_evidence(bureau.ledger, receipt.furnisher_id)
    if not cited:
        return []
    try:
        con.register("cited_records", pa.table({"v": pa.array(sorted(cited), pa.string())}))
        con.register("cited_cases", pa.table({"v": pa.array(sorted(cases), pa.string())}))
        records = [
            r
            for (r,) in con.execute(
                "SELECT DISTINCT record_id FROM read_parquet(?) "
                "WHERE record_id IN (SELECT v FROM cited_records)",
                [receipt.lake_path],
            ).fetchall()
        ]
        touched: list[str] = []
        for record_type, link in {(t, k) for t, _, k in PAID_BY} if cases else ():
            touched += [
                c
                for (c,) in con.execute(
                    f"SELECT DISTINCT {link} FROM read_parquet(?) WHERE record_type = ? "
                    f"AND {link} IN (SELECT v FROM cited_cases)",
                    [receipt.lake_path, record_type],
                ).fetchall()
            ]
        if not records and not touched:
            return []
        # a day ahead of UTC: a court east of Greenwich reports on its own calendar day
        as_of = datetime.now(UTC).date() + timedelta(days=1)
        return lists.entries_to_clear(
            bureau, as_of, furnisher_id=receipt.furnisher_id, record_ids=records,
            case_numbers=touched, reasons=frozenset({"satisfied"}),
        )  # fmt: skip
    except Exception:  # noqa: BLE001 - list bookkeeping never fails a furnisher's batch
        log.warning("batch %s: list entries not checked", receipt.batch_id, exc_info=True)
        return []
    finally:
        for name in ("cited_records", "cited_cases"):
            with contextlib.suppress(Exception):  # not registered if the check failed first
                con.unregister(name)


def _store(
    bureau,
    receipt: Receipt,
    reinserted: tuple[list, dict] | None = None,
    cleared: list[tuple[str, str]] | None = None,
) -> None:
    row = receipt.to_dict()
    now = datetime.now(UTC)
    with bureau.ledger.begin() as conn:
        conn.execute(insert(batches).values(**row, received_at=now))
        audit.append(
            conn,
            actor=f"furnisher:{receipt.furnisher_id}",
            action=f"batch.{receipt.status}",
            purpose="furnished-data-intake",
            payload={k: row[k] for k in _AUDITED_RECEIPT_FIELDS},
            occurred_at=now,
        )
        if reinserted is not None:
            found, deleted = reinserted
            disputes.record_reinsertions(
                conn, receipt.furnisher_id, receipt.batch_id, found, deleted, now
            )
        if cleared:  # list entries the batch no longer bears out leave in this transaction
            lists.clear_entries(conn, cleared, actor=f"furnisher:{receipt.furnisher_id}", now=now)


def _furnisher_kind(bureau, furnisher_id: str) -> str | None:
    with bureau.ledger.connect() as conn:
        return conn.execute(
            select(furnishers.c.kind).where(furnishers.c.furnisher_id == furnisher_id)
        ).scalar()


def _accepted_receipt(bureau, furnisher_id: str, checksum: str) -> Receipt | None:
    names = [c for c in Receipt.__dataclass_fields__]
    with bureau.ledger.connect() as conn:
        row = conn.execute(
            select(*(batches.c[n] for n in names))
            .where(batches.c.furnisher_id == furnisher_id)
            .where(batches.c.checksum == checksum)
            .where(batches.c.status == "accepted")
            .order_by(batches.c.batch_id)
        ).first()
    return Receipt(**row._asdict()) if row is not None else None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


#: One in-memory DuckDB database per process and engine settings, opened on first use:
#: opening a database costs more than validating a small file. Each batch works in a
#: schema of its own on its own cursor, dropped when the batch ends.
_DATABASES: dict[tuple, duckdb.DuckDBPyConnection] = {}
_OPENING = threading.Lock()


def ingest_database(settings) -> duckdb.DuckDBPyConnection:
    """This process's ingest database for `settings`' engine settings, opened on first use
    (it also holds the national ids the process has checked, ingest/nationalids.py)."""
    config: dict[str, str | int] = {}
    if settings.threads:
        config["threads"] = settings.threads
    if settings.memory_limit:
        config["memory_limit"] = settings.memory_limit
    key = tuple(sorted(config.items()))
    with _OPENING:
        database = _DATABASES.get(key)
        if database is None:
            database = _DATABASES[key] = duckdb.connect(config=config)
    return database


def forget_national_ids() -> None:
    """Forget the national ids every ingest database of this process has checked (a
    benchmark's cold start)."""
    for database in list(_DATABASES.values()):
        with database.cursor() as cur:
            nationalids.forget(cur)


def _connect(settings, batch_id: str) -> duckdb.DuckDBPyConnection:
    con = ingest_database(settings).cursor()
    schema = sql.quote(f"batch_{batch_id}")
    con.execute(f"CREATE SCHEMA {schema}")
    con.execute(f"USE memory.{schema}")
    return con


def _disconnect(con: duckdb.DuckDBPyConnection, batch_id: str) -> None:
    try:
        con.execute("USE memory.main")
        con.execute(f"DROP SCHEMA IF EXISTS {sql.quote(f'batch_{batch_id}')} CASCADE")
    finally:
        con.close()
