"""Use cases: `resolve` (link the lake's identities to subjects) and `export_links`."""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
from sqlalchemy import insert, select, update

from openbureau.audit import service as audit
from openbureau.identity import jobs, linking
from openbureau.progress import Progress, no_progress
from openbureau.storage.lake import LINKS_SCHEMA
from openbureau.storage.ledger import runs, subject_keys, subjects

_CHUNK = 50_000


@dataclass(frozen=True)
class ResolveSummary:
    variants: int
    subjects: int
    new_subjects: int
    merged_subjects: int
    links_by_method: dict[str, int]
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


def _display_names(v: pd.DataFrame) -> pd.DataFrame:
    """Per subject: its kind, the name its most-recorded variant carries, and a masked ID."""
    person = v["subject_kind"] == "person"
    org_name = v["org_name"].fillna("").astype(str)
    full = v["given_name"].fillna("").astype(str) + " " + v["family_name"].fillna("").astype(str)
    named = v.assign(display_name=org_name.where(~person, full.str.strip()))
    named = named.sort_values(["subject_id", "n_records"], ascending=[True, False])
    first = named.drop_duplicates("subject_id")[["subject_id", "subject_kind", "display_name"]]
    masked = named.dropna(subset=["national_id_masked"]).drop_duplicates("subject_id")
    return first.merge(
        masked[["subject_id", "national_id_masked"]], on="subject_id", how="left"
    ).reset_index(drop=True)


def resolve(bureau, *, progress: Progress | None = None) -> ResolveSummary:
    """Link every identity variant in the lake to a subject and publish the result.

    Subject ids, once issued, are kept: a key seen before maps to the same id, and when new
    evidence joins two existing subjects the one tied to the cluster's own key survives and
    the other becomes a redirect (`merged_into`)."""
    progress = progress or no_progress
    started = time.perf_counter()
    started_at = datetime.now(UTC)
    files = [str(p) for p in bureau.lake.record_files()]
    if not files:
        raise FileNotFoundError(
            f"the lake at {bureau.lake.root} holds no records: run ingest first"
        )
    progress("resolve: read identities", 0, 4)
    con = duckdb.connect()
    try:
        variants = con.execute(jobs.identity_variants_sql("$files"), {"files": files}).df()
    finally:
        con.close()
    progress("resolve: cluster", 1, 4)
    clustered = linking.cluster_variants(variants)
    keys = linking.cluster_keys(clustered)
    with bureau.ledger.connect() as conn:
        existing = pd.DataFrame(
            conn.execute(select(subject_keys.c.key, subject_keys.c.subject_id)).all(),
            columns=["key", "subject_id"],
        )
    assigned, merges = linking.assign_subjects(keys, existing, bureau.settings.token_key_bytes)
    clustered = clustered.merge(assigned[["cluster_key", "subject_id"]], on="cluster_key")
    progress("resolve: publish", 2, 4)

    links = pa.Table.from_pandas(
        clustered[["identity_key", "subject_id", "match_probability", "method"]],
        schema=LINKS_SCHEMA,
        preserve_index=False,
    )
    path = bureau.lake.links_path
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(f".links.staged-{os.getpid()}.parquet")
    bureau.lake.write_table_atomic(links, staged)
    try:
        _publish(bureau, clustered, keys, assigned, existing, merges, started_at)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    os.replace(staged, path)
    progress("resolve: done", 4, 4)
    summary = ResolveSummary(
        variants=len(clustered),
        subjects=int(assigned["subject_id"].nunique()),
        new_subjects=int(assigned["new"].sum()),
        merged_subjects=len(merges),
        links_by_method={k: int(n) for k, n in clustered["method"].value_counts().items()},
        seconds=round(time.perf_counter() - started, 3),
    )
    return summary


def _publish(bureau, clustered, keys, assigned, existing, merges, started_at) -> None:
    now = datetime.now(UTC)
    names = _display_names(clustered)
    new_ids = set(assigned.loc[assigned["new"], "subject_id"])
    new_rows = names[names["subject_id"].isin(new_ids)]
    key_rows = keys.merge(assigned[["cluster_key", "subject_id"]], on="cluster_key")[
        ["key", "subject_id"]
    ]
    known = set(existing["key"])
    fresh_keys = key_rows[~key_rows["key"].isin(known)]
    with bureau.ledger.begin() as conn:
        records = [
            {
                "subject_id": r.subject_id,
                "subject_kind": r.subject_kind,
                "display_name": r.display_name or "(no name)",
                "national_id_masked": r.national_id_masked,
                "created_at": now,
                "merged_into": None,
            }
            for r in new_rows.itertuples(index=False)
        ]
        for i in range(0, len(records), _CHUNK):
            conn.execute(insert(subjects), records[i : i + _CHUNK])
        kr = fresh_keys.to_dict("records")
        for i in range(0, len(kr), _CHUNK):
            conn.execute(insert(subject_keys), kr[i : i + _CHUNK])
        for old, survivor in merges.itertuples(index=False):
            conn.execute(
                update(subjects).where(subjects.c.subject_id == old).values(merged_into=survivor)
            )
            conn.execute(
                update(subject_keys)
                .where(subject_keys.c.subject_id == old)
                .values(subject_id=survivor)
            )
            audit.append(
                conn,
                actor=audit.LOCAL_OPERATOR,
                action="subject.merged",
                subject_id=str(old),
                purpose="identity-resolution",
                payload={"merged_into": str(survivor)},
                occurred_at=now,
            )
        details = {
            "subjects": int(assigned["subject_id"].nunique()),
            "new_subjects": len(new_ids),
            "merges": len(merges),
        }
        conn.execute(
            insert(runs).values(
                stage="resolve", started_at=started_at, finished_at=now, details=details
            )
        )
        audit.append(
            conn,
            actor=audit.LOCAL_OPERATOR,
            action="resolve.published",
            purpose="identity-resolution",
            payload={**details, "keys_added": len(fresh_keys)},
            occurred_at=now,
        )


def export_links(bureau, out: Path) -> int:
    """Write record-level links as CSV (furnisher_id, record_id, subject_id, match_probability,
    method); returns the number of rows."""
    files = [str(p) for p in bureau.lake.record_files()]
    if not bureau.lake.links_path.exists():
        raise FileNotFoundError("no identity links yet: run resolve first")
    out.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        rel = con.sql(
            jobs.export_links_sql("$files", "$links"),
            params={"files": files, "links": str(bureau.lake.links_path)},
        ).to_arrow_table()
    finally:
        con.close()
    import pyarrow.csv as pacsv  # noqa: PLC0415

    pacsv.write_csv(rel, out)
    return rel.num_rows
