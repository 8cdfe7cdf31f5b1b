"""Purge: delete from the lake every record whose retention has ended.

Reports and scores already leave such records out (they are neither shown nor used once
expired); the purge removes them from storage too, so that nothing negative is kept for ever
(SCOPE.md: "No permanent punishment"; storage limitation in GDPR art. 5(1)(e) and PIPL
art. 19). A record is purged when the newest version its furnisher sent has expired: all its
versions go together, so no older version can resurface.

Order of work, so that an interruption loses nothing and hides nothing: the audit entry and
the run row are committed first (what is about to be deleted, by record type), then each
affected records file is rewritten without the expired rows (atomically: a temporary file,
then a rename; a few files at once, one thread each), or removed when nothing in it is left.
The serving runs (copies of the records for fast reports, storage/serving.py) are deleted
before the first file changes and rebuilt at the end. Then the identities that no record
carries any more are erased from the identity state and the ledger (identity/erasure.py:
names, birth dates, keys, the scores of a subject left with nothing). A purge that stops
half way is finished by running it again, which finds only what is still there.
"""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
from sqlalchemy import insert

from openbureau.audit import service as audit
from openbureau.disputes.service import withdrawn_records
from openbureau.identity import erasure
from openbureau.lists import service as lists
from openbureau.progress import Progress, no_progress
from openbureau.retention.rules import expiry_sql
from openbureau.storage import serving
from openbureau.storage.lake import record_schema
from openbureau.storage.ledger import runs

#: The purpose the audit chain records for a purge.
PURPOSE = "retention"
#: Which stored row is a record's newest version: the order `reports.rules.latest_versions`
#: chooses by (the highest version, a missing one counting as 1, then the latest report,
#: then the latest batch), so that a purge and a report never disagree on it, even between
#: two rows of one version. A struct compares field by field.
NEWEST_ORDER = "(coalesce(version, 1), reported_on, batch_id)"

log = logging.getLogger(__name__)


@dataclass
class PurgeSummary:
    as_of: date
    dry_run: bool
    records: int = 0  # (furnisher, record_id) pairs purged, every version of each
    rows: int = 0  # stored rows removed (versions included), expired or disputed away
    records_by_type: dict[str, int] = field(default_factory=dict)
    # records a dispute's answer deleted (disputes/rules.py), and their stored rows removed,
    # not counting records that expired as well (those are in `records`)
    disputed_records: int = 0
    disputed_rows: int = 0
    files_rewritten: int = 0
    files_removed: int = 0
    serving: dict | None = None  # the serving runs rebuilt afterwards (storage/serving.py)
    identities: dict | None = None  # identities no record carries any more, erased
    # list entries taken off because the record they rest on left the file (lists/)
    list_entries_removed: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict:
        out = asdict(self)
        out["as_of"] = self.as_of.isoformat()
        return out


def purge(
    bureau,
    as_of: date,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    today: date | None = None,
) -> PurgeSummary:
    """Delete every record whose newest version's retention ended on or before `as_of`
    (all versions of it). With `dry_run`, count what would go and change nothing. A date
    after `today` (default: the calendar's) is refused unless it is a dry run: it would
    delete records still within their retention, for good."""
    today = today or date.today()
    if as_of > today and not dry_run:
        raise ValueError(
            f"--as-of {as_of.isoformat()} is after today ({today.isoformat()}): a purge "
            "deletes for good, so it only runs up to today (a --dry-run may look ahead)"
        )
    progress = progress or no_progress
    started = time.perf_counter()
    summary = PurgeSummary(as_of=as_of, dry_run=dry_run)
    lake = bureau.lake
    losing: set[str] | None = set()  # the files of list entries losing their record
    with lake.maintenance_lock() if not dry_run else nullcontext():
        files = lake.record_files()
        con = duckdb.connect()
        try:
            # with no deletions to remove, the queries are the plain retention ones
            withdrawn = WITHDRAWN if _register_withdrawn(con, bureau, as_of) else ""
            affected = _find_expired(con, files, as_of, summary, withdrawn) if files else []
            if dry_run:
                counts = erasure.lake_counts(con, files, without="expired", withdrawn=withdrawn)
                found = erasure.erase_unfurnished(bureau, counts=counts, dry_run=True)
                summary.identities = found.to_dict()
            elif affected:
                _record(bureau, summary, [name for name, _ in affected])
                # the files whose list entries rest on a record going now, noted before any
                # goes: the check after the purge reads those (a stop leaves them noted)
                losing = _files_losing_evidence(bureau, con, withdrawn)
                with lake.identity_lock():
                    lists.note_pending(lake, losing)
                _rewrite(bureau, con, affected, summary, progress, withdrawn)
        finally:
            con.close()
        if not dry_run:
            # also finishes the erasure of a purge that stopped before it
            summary.identities = erasure.erase_unfurnished(bureau).to_dict()
    if not dry_run and summary.rows:
        summary.serving = serving.compact(
            lake, full=True, progress=progress, memory_limit=bureau.settings.memory_limit
        ).to_dict()
    if not dry_run:  # list entries resting on purged records go with them
        with lake.identity_lock():
            if losing is None or losing:  # again: a resolve's check meanwhile may have
                lists.note_pending(lake, losing)  # read them before the records went
            summary.list_entries_removed = len(lists.reconcile_quietly(bureau, pending_only=True))
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


def _files_losing_evidence(bureau, con, withdrawn: str) -> set[str] | None:
    """The files (surviving subject ids) of the open list entries resting on a record this
    purge removes: expired, or (`withdrawn` naming the table) a version a dispute deleted;
    None (every file) if they cannot be found."""
    going = "SELECT furnisher_id, record_id FROM expired"
    if withdrawn:
        going += f" UNION ALL SELECT furnisher_id, record_id FROM {withdrawn}"
    try:
        return lists.files_citing(bureau, con, going)
    except Exception:  # noqa: BLE001 - list bookkeeping never stops a purge
        log.warning("list entries' files not found: every one will be checked", exc_info=True)
        return None


#: The table of versions a dispute's answer deleted: (furnisher_id, record_id, withdrawn_on).
WITHDRAWN = "withdrawn"
#: A lake row `r` that a dispute's answer deleted (a version reported by the answer's day).
_WITHDRAWN_ROW = (
    f"EXISTS (SELECT 1 FROM {WITHDRAWN} w WHERE w.furnisher_id = r.furnisher_id "
    "AND w.record_id = r.record_id AND r.reported_on <= w.withdrawn_on)"
)


def _register_withdrawn(con, bureau, as_of: date) -> int:
    """Table `withdrawn`: what disputes answered by `as_of` deleted (disputes/service.py);
    the purge removes those versions from storage with the expired records. Returns how many
    records it names."""
    found = [(f, r, on) for f, r, on in withdrawn_records(bureau.ledger) if on <= as_of]
    table = pa.table(
        {
            "furnisher_id": pa.array([f for f, _, _ in found], pa.string()),
            "record_id": pa.array([r for _, r, _ in found], pa.string()),
            "withdrawn_on": pa.array([on for _, _, on in found], pa.date32()),
        }
    )
    con.register("withdrawn_rows", table)
    con.execute(f"CREATE TABLE {WITHDRAWN} AS SELECT * FROM withdrawn_rows")
    con.unregister("withdrawn_rows")
    return len(found)


def _find_expired(
    con, files: list[Path], as_of: date, summary: PurgeSummary, withdrawn: str
) -> list:
    """Fill table `expired` (furnisher_id, record_id, record_type) and the summary's counts;
    return [(file name, rows to remove)] of the files holding any of it, or (when
    `withdrawn` names the table) any version a dispute deleted."""
    paths = [str(p) for p in files]
    con.execute(
        f"""
        CREATE TABLE expired AS
        WITH r AS (
            SELECT furnisher_id, record_id, record_type, {expiry_sql()} AS ends,
                   {NEWEST_ORDER} AS newest_order
            FROM read_parquet(?::VARCHAR[], union_by_name = true)
        ), newest AS (
            SELECT furnisher_id, record_id, arg_max(ends, newest_order) AS ends,
                   arg_max(record_type, newest_order) AS record_type
            FROM r GROUP BY furnisher_id, record_id
        )
        SELECT furnisher_id, record_id, record_type FROM newest WHERE ends <= ?
        """,
        [paths, as_of],
    )
    by_type = con.execute(
        "SELECT record_type, count(*) FROM expired GROUP BY ALL ORDER BY 1"
    ).fetchall()
    summary.records_by_type = {t: int(n) for t, n in by_type}
    summary.records = sum(summary.records_by_type.values())
    if withdrawn:
        _count_withdrawn(con, paths, summary)
    also = f"OR {_WITHDRAWN_ROW}" if withdrawn else ""
    affected = con.execute(
        f"""
        SELECT r.filename, count(*)
        FROM read_parquet(?::VARCHAR[], filename = true, union_by_name = true) r
        WHERE EXISTS (SELECT 1 FROM expired e
                      WHERE e.furnisher_id = r.furnisher_id AND e.record_id = r.record_id)
           {also}
        GROUP BY ALL ORDER BY 1
        """,
        [paths],
    ).fetchall()
    summary.rows = sum(int(n) for _, n in affected)
    return affected


def _count_withdrawn(con, paths: list[str], summary: PurgeSummary) -> None:
    """The records a dispute deleted and their stored rows, bar records expired as well."""
    disputed = con.execute(
        f"""
        SELECT count(DISTINCT (r.furnisher_id, r.record_id)), count(*)
        FROM read_parquet(?::VARCHAR[], union_by_name = true) r
        WHERE {_WITHDRAWN_ROW} AND NOT EXISTS (
            SELECT 1 FROM expired e
            WHERE e.furnisher_id = r.furnisher_id AND e.record_id = r.record_id)
        """,
        [paths],
    ).fetchone()
    summary.disputed_records, summary.disputed_rows = int(disputed[0]), int(disputed[1])


def _rewrite(
    bureau, con, affected: list, summary: PurgeSummary, progress: Progress, withdrawn: str
) -> None:
    """Rewrite each affected file without its expired rows, or remove it when none is left."""
    lake = bureau.lake
    # the serving runs copy every record: they go before any file changes, so no copy of a
    # purged record is left behind (rebuilt by the caller, after the lock)
    serving.drop(lake)
    schema = record_schema()

    def rewrite(name: str) -> bool:
        """Rewrite one file without its expired rows (True), or remove it (False)."""
        with con.cursor() as cur:  # one per thread; `expired` is the database's
            kept = cur.sql(
                f"""
                SELECT * FROM read_parquet(?) r ANTI JOIN expired e
                  ON r.furnisher_id = e.furnisher_id AND r.record_id = e.record_id
                {f"WHERE NOT {_WITHDRAWN_ROW}" if withdrawn else ""}
                """,
                params=[name],
            ).to_arrow_table()
        path = Path(name)
        if kept.num_rows == 0:
            path.unlink()
            return False
        lake.write_table_atomic(_as_stored(kept, schema), path)
        return True

    # files are independent: a few at once (DuckDB and the Parquet writer work outside the
    # GIL); each is still replaced atomically
    workers = max(1, min(len(affected), bureau.settings.threads or os.cpu_count() or 1))
    progress("purge files", 0, len(affected))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for done, rewritten in enumerate(pool.map(rewrite, [n for n, _ in affected]), 1):
            if rewritten:
                summary.files_rewritten += 1
            else:
                summary.files_removed += 1
            progress("purge files", done, len(affected))


def _as_stored(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """`table` with exactly the lake's record schema (its columns, order and types); a file
    written before the catalogue gained a column comes back with that column empty."""
    columns = [
        table.column(f.name).cast(f.type)
        if f.name in table.column_names
        else pa.nulls(table.num_rows, f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def _record(bureau, summary: PurgeSummary, files: list[str]) -> None:
    """The run row and the audit entry, committed before anything is deleted."""
    now = datetime.now(UTC)
    root = bureau.lake.root
    details = {
        "as_of": summary.as_of.isoformat(),
        "records": summary.records,
        "rows": summary.rows,
        "records_by_type": summary.records_by_type,
        "disputed_records": summary.disputed_records,
        "disputed_rows": summary.disputed_rows,
        "files": [str(Path(f).relative_to(root)) for f in files],
    }
    with bureau.ledger.begin() as conn:
        conn.execute(
            insert(runs).values(stage="purge", started_at=now, finished_at=now, details=details)
        )
        audit.append(
            conn,
            actor=audit.LOCAL_OPERATOR,
            action="lake.purged",
            purpose=PURPOSE,
            payload=details,
            occurred_at=now,
        )
