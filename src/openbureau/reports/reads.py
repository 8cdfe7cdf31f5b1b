"""Reads for one subject's report: ledger rows (SQLAlchemy Core) and lake rows (DuckDB).

Every query is parameterised; only the rows of the subject are read from the lake."""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb
import pyarrow.parquet as pq
from sqlalchemy import Connection, bindparam, or_, select

from openbureau.storage.lake import Lake
from openbureau.storage.ledger import furnishers, inquiries, models, parties, scores, subjects

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
_FILE_IDS = select(subjects.c.subject_id).where(
    or_(
        subjects.c.merged_into == bindparam("survivor"),
        subjects.c.subject_id == bindparam("survivor"),
    )
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
    """The surviving id of `subject_id` and every id merged straight into it: what was
    recorded under an old id (inquiries, consents) still belongs to the file."""
    survivor = surviving_subject(conn, subject_id)
    return list(conn.execute(_FILE_IDS, {"survivor": survivor}).scalars())


def inquiry_rows(conn: Connection, subject_id: str) -> list[dict[str, Any]]:
    """Every inquiry into the subject's file, newest first, with the party's name and kind."""
    ids = subject_and_merged_ids(conn, subject_id)
    return [dict(r._mapping) for r in conn.execute(_INQUIRIES, {"ids": ids})]


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


def latest_score_row(conn: Connection, subject_id: str, as_of: date | None) -> dict | None:
    """The newest score on or before `as_of` (any date if None); on one date the champion
    model's score first, then the latest published."""
    if as_of is None:
        row = conn.execute(_LATEST_SCORE, {"subject_id": subject_id}).first()
    else:
        row = conn.execute(_LATEST_SCORE_BY, {"subject_id": subject_id, "as_of": as_of}).first()
    return dict(row._mapping) if row else None


def subject_identity_keys(lake: Lake, subject_id: str) -> list[str]:
    if not lake.links_path.exists():
        return []
    table = pq.read_table(
        lake.links_path, columns=["identity_key"], filters=[("subject_id", "=", subject_id)]
    )
    return sorted(set(table.column("identity_key").to_pylist()))


# The latest version of a record is chosen among *all* its versions known on as_of, whoever
# they are linked to: a correction that moves a record to another identity removes it here.
_RECORDS_SQL = """
WITH recs AS (
    SELECT * EXCLUDE (national_id_token)
    FROM read_parquet($files, union_by_name = true)
    WHERE reported_on <= $as_of
),
mine AS (
    SELECT DISTINCT furnisher_id, record_id FROM recs
    WHERE identity_key IN (SELECT unnest($keys))
),
latest AS (
    SELECT recs.* FROM recs JOIN mine USING (furnisher_id, record_id)
    QUALIFY row_number() OVER (
        PARTITION BY recs.furnisher_id, recs.record_id
        ORDER BY coalesce(recs.version, 1) DESC, recs.reported_on DESC, recs.batch_id DESC
    ) = 1
)
SELECT * FROM latest
WHERE identity_key IN (SELECT unnest($keys))
ORDER BY reported_on DESC, furnisher_id, record_type, record_id
"""


def subject_records(lake: Lake, keys: list[str], as_of: date) -> list[dict[str, Any]]:
    """The latest version, as known on `as_of`, of every record linked to one of `keys`.
    The national-id token column is never read."""
    files = [str(p) for p in lake.record_files()]
    if not files or not keys:
        return []
    # An in-memory DuckDB used as a query engine over the lake's files; it holds no state.
    with duckdb.connect() as con:
        cur = con.execute(_RECORDS_SQL, {"files": files, "keys": keys, "as_of": as_of})
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
