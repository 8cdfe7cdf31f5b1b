"""Reads for one subject's report: ledger rows (SQLAlchemy Core) and lake rows (DuckDB).

Every query is parameterised; only the rows of the subject are read from the lake."""

from __future__ import annotations

import json
from datetime import date
from functools import lru_cache
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, bindparam, or_, select

from openbureau.inquiries.rules import REFUSED_ACTION
from openbureau.reports.rules import latest_versions
from openbureau.storage import serving
from openbureau.storage.lake import Lake, lake_query, record_schema
from openbureau.storage.ledger import (
    audit_log,
    disputes,
    furnishers,
    inquiries,
    models,
    parties,
    scores,
    subjects,
)
from openbureau.storage.lookup import read_matching

#: Hops followed through `subjects.merged_into` before giving up (guards against a cycle).
MAX_MERGE_HOPS = 16


# The per-request reads are built once with bound parameters: building a statement costs
# several times what running it on an indexed key does (measured: bench/bench_load.py).
_SUBJECT = select(subjects).where(subjects.c.subject_id == bindparam("subject_id"))
_LATEST_SCORE = (
    select(scores, models.c.champion)
    .select_from(scores.outerjoin(models, models.c.model_version == scores.c.model_version))
    .where(scores.c.subject_id == bindparam("subject_id"))
    .order_by(
        scores.c.as_of.desc(),
        models.c.champion.is_(True).desc(),
        scores.c.published_at.desc(),
    )
    .limit(1)
)
_LATEST_SCORE_BY = _LATEST_SCORE.where(scores.c.as_of <= bindparam("as_of"))
_MERGED_INTO = select(subjects.c.subject_id).where(
    subjects.c.merged_into.in_(bindparam("ids", expanding=True))
)
_INQUIRIES = (
    select(
        inquiries.c.inquiry_id,
        inquiries.c.occurred_at,
        inquiries.c.party_id,
        parties.c.name.label("party_name"),
        parties.c.kind.label("party_kind"),
        inquiries.c.purpose,
        inquiries.c.hard,
    )  # fmt: skip
    .join(parties, parties.c.party_id == inquiries.c.party_id)
    .where(inquiries.c.subject_id.in_(bindparam("ids", expanding=True)))
    .order_by(inquiries.c.occurred_at.desc(), inquiries.c.inquiry_id)
)
_FURNISHERS = select(furnishers.c.furnisher_id, furnishers.c.name, furnishers.c.kind)
#: Values bound in one IN list at most (SQLite and PostgreSQL both take far more).
_IN_PART = 900
# a record's disputes that matter to a report: open ones, and answers that deleted it
_RECORD_DISPUTES = (
    select(
        disputes.c.dispute_id,
        disputes.c.furnisher_id,
        disputes.c.record_id,
        disputes.c.status,
        disputes.c.outcome,
        disputes.c.opened_at,
        disputes.c.due_on,
        disputes.c.answered_at,
    )
    .where(disputes.c.record_id.in_(bindparam("record_ids", expanding=True)))
    .where(or_(disputes.c.status == "open", disputes.c.outcome == "unverifiable"))
    .order_by(disputes.c.opened_at, disputes.c.dispute_id)
)


def subject_row(conn: Connection, subject_id: str) -> dict[str, Any] | None:
    row = conn.execute(_SUBJECT, {"subject_id": subject_id}).first()
    return dict(row._mapping) if row else None


def surviving_subject(conn: Connection, subject_id: str) -> str:
    """The subject a merged id now points to, following chains of merges."""
    current = subject_id
    for _ in range(MAX_MERGE_HOPS):
        row = subject_row(conn, current)
        if row is None or not row["merged_into"]:
            return current
        current = row["merged_into"]
    raise RuntimeError(f"merge chain from {subject_id!r} is longer than {MAX_MERGE_HOPS}")


def subject_and_merged_ids(conn: Connection, subject_id: str) -> list[str]:
    """The surviving id of `subject_id` and every id merged into it, straight or through a
    chain of merges (an id merged into one merged since keeps pointing at the middle one):
    what was recorded under an old id (inquiries, consents) still belongs to the file."""
    survivor = surviving_subject(conn, subject_id)
    found, frontier = [survivor], [survivor]
    for _ in range(MAX_MERGE_HOPS):
        frontier = [
            s
            for i in range(0, len(frontier), _IN_PART)
            for s in conn.execute(_MERGED_INTO, {"ids": frontier[i : i + _IN_PART]}).scalars()
        ]
        if not frontier:
            return found
        found += frontier
    raise RuntimeError(f"a merge chain into {survivor!r} is longer than {MAX_MERGE_HOPS}")


def inquiry_rows(conn: Connection, subject_id: str) -> list[dict[str, Any]]:
    """Every inquiry into the subject's file, newest first, with the party's name and kind."""
    ids = subject_and_merged_ids(conn, subject_id)
    return [dict(r._mapping) for r in conn.execute(_INQUIRIES, {"ids": ids})]


def refused_rows(conn: Connection, subject_id: str) -> list[dict[str, Any]]:
    """Every refused attempt to look at the subject's file (inquiries/service.py
    `record_refusal`), newest first: when, and the audit entry's account of who and why."""
    ids = subject_and_merged_ids(conn, subject_id)
    query = (
        select(audit_log.c.occurred_at, audit_log.c.payload)
        .where(audit_log.c.subject_id.in_(ids), audit_log.c.action == REFUSED_ACTION)
        .order_by(audit_log.c.seq.desc())
    )
    return [{"occurred_at": r.occurred_at, **json.loads(r.payload)} for r in conn.execute(query)]


def live_subject_rows(conn: Connection, limit: int) -> list[dict[str, Any]]:
    """Up to `limit` subjects that were not merged away, by id."""
    query = (
        select(subjects.c.subject_id, subjects.c.subject_kind)
        .where(subjects.c.merged_into.is_(None))
        .order_by(subjects.c.subject_id)
        .limit(limit)
    )
    return [dict(r._mapping) for r in conn.execute(query)]


def furnisher_rows(conn: Connection) -> dict[str, dict[str, Any]]:
    rows = conn.execute(_FURNISHERS)
    return {r.furnisher_id: dict(r._mapping) for r in rows}


def record_disputes(
    conn: Connection, keys: set[tuple[str, str]]
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """The open disputes and deleting answers of the records `keys` ((furnisher_id,
    record_id) pairs), oldest first, by record."""
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    record_ids = sorted({r for _, r in keys})
    # in parts: a large firm's file holds more records than a statement may take parameters
    for start in range(0, len(record_ids), _IN_PART):
        part = record_ids[start : start + _IN_PART]
        for row in conn.execute(_RECORD_DISPUTES, {"record_ids": part}):
            key = (row.furnisher_id, row.record_id)
            if key in keys:
                found.setdefault(key, []).append(dict(row._mapping))
    return found


def latest_score_row(conn: Connection, subject_id: str, as_of: date | None) -> dict | None:
    """The newest score on or before `as_of` (any date if None); on one date the champion
    model's score first, then the latest published."""
    if as_of is None:
        row = conn.execute(_LATEST_SCORE, {"subject_id": subject_id}).first()
    else:
        row = conn.execute(_LATEST_SCORE_BY, {"subject_id": subject_id, "as_of": as_of}).first()
    return dict(row._mapping) if row else None


def subject_identity_keys(lake: Lake, subject_id: str) -> list[str]:
    """The identity keys linked to `subject_id` (the links file is sorted by subject, so
    this reads one row group of it)."""
    if not lake.links_path.exists():
        return []
    table = read_matching(
        lake.links_path, "subject_id", [subject_id], ["subject_id", "identity_key"]
    )
    return sorted(set(table.column("identity_key").to_pylist()))


# The rows a report chooses from: every version, reported by as_of, of every record with a
# version linked to one of the keys (reports/rules.py: latest_versions then chooses).
# NOT MATERIALIZED: DuckDB would otherwise materialise a CTE named twice, i.e. copy every
# row of the lake into memory for one report (on the million-person lake: 106 s and 19.8 GiB
# a report, against 2.0-2.5 s and 0.8 GiB streamed; bench notes in BENCHMARKS.md).
_TOUCHED_SQL = """
WITH recs AS NOT MATERIALIZED (
    SELECT * EXCLUDE (national_id_token)
    FROM read_parquet($files, union_by_name = true, hive_partitioning = false)
    WHERE reported_on <= $as_of
)
SELECT recs.* FROM recs
SEMI JOIN (SELECT furnisher_id, record_id FROM recs WHERE identity_key IN (SELECT unnest($keys)))
    mine USING (furnisher_id, record_id)
"""


def subject_records(lake: Lake, keys: list[str], as_of: date) -> list[dict[str, Any]]:
    """The latest version, as known on `as_of`, of every record linked to one of `keys`
    (`rules.latest_versions`). The national-id token column is never read.

    The rows come from the lake's serving runs when they are up to date (a few row groups,
    storage/serving.py), else from every record file."""
    if not keys:
        return []
    candidates = serving.candidate_rows(lake, keys)
    if candidates is None:
        files = [str(p) for p in lake.record_files()]
        if not files:
            return []
        # the process's in-memory DuckDB as a query engine over the lake's files
        with lake_query() as con:
            candidates = con.sql(
                _TOUCHED_SQL, params={"files": files, "keys": keys, "as_of": as_of}
            ).to_arrow_table()
    table = _as_lake_rows(candidates)
    # rows reported after as_of are dropped here too (latest_versions would skip them), so
    # that only what counts is turned into Python values
    table = table.filter(pc.less_equal(table["reported_on"], pa.scalar(as_of, pa.date32())))
    return latest_versions(table.to_pylist(), keys, as_of)


@lru_cache(maxsize=1)
def _report_schema() -> pa.Schema:
    """The lake's schema bar the national-id token (built once: every report uses it)."""
    return pa.schema([f for f in record_schema() if f.name != "national_id_token"])


def _as_lake_rows(table: pa.Table) -> pa.Table:
    """`table` with every column of the lake's schema (bar the national-id token), in its
    order and types: a column no row read has is there, empty, as a full read would have it."""
    schema = _report_schema()
    columns = [
        table.column(f.name).cast(f.type) if f.name in table.column_names
        else pa.nulls(table.num_rows, f.type)
        for f in schema
    ]  # fmt: skip
    return pa.Table.from_arrays(columns, schema=schema)
