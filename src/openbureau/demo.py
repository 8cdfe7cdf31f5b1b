"""`openbureau demo`: a fresh bureau end to end on the embedded default (DuckDB + SQLite)."""

from __future__ import annotations

import csv
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb
from sqlalchemy import select

from openbureau.bootstrap import build_bureau
from openbureau.config import Settings

MARKER = ".openbureau-demo"


@dataclass
class DemoResult:
    examples: dict[str, str]
    seconds: dict[str, float] = field(default_factory=dict)
    as_of: date | None = None
    #: A key for the operator console pages, made for the demo; shown once.
    operator_key: str | None = None


def month_end(first_of_month: date) -> date:
    nxt = (first_of_month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return nxt - timedelta(days=1)


def fresh_home(home: Path) -> None:
    """Empty `home` for the demo, refusing to wipe a folder the demo did not create."""
    if home.exists() and any(home.iterdir()):
        if not (home / MARKER).exists():
            raise ValueError(
                f"{home} holds data the demo did not create; "
                "pass --home with an empty or new folder"
            )
        shutil.rmtree(home)
    home.mkdir(parents=True, exist_ok=True)
    (home / MARKER).write_text("created by openbureau demo; `demo` may wipe this folder\n")


def run_demo(
    settings: Settings, *, persons: int, orgs: int, seed: int, console, bars
) -> DemoResult:
    """Synth, ingest, resolve and score into a fresh home; returns three example subjects."""
    from openbureau.identity.service import resolve
    from openbureau.ingest.parallel import FurnisherFiles, ingest_many
    from openbureau.ingest.service import add_furnisher
    from openbureau.scoring.service import score_population
    from openbureau.storage import serving
    from openbureau.synth.service import generate_population

    fresh_home(settings.home)
    bureau = build_bureau(settings)
    seconds: dict[str, float] = {}
    synth_dir = settings.home / "synth"
    with bars() as report:
        t = time.perf_counter()
        summary = generate_population(persons, orgs, seed, synth_dir, progress=report)
        seconds["synth"] = time.perf_counter() - t

        t = time.perf_counter()
        with open(synth_dir / "furnishers.csv", newline="") as fh:
            registered = list(csv.DictReader(fh))
        for row in registered:
            add_furnisher(bureau, row["furnisher_id"], row["kind"], row["name"])
        files = sorted((synth_dir / "files").glob("*/*.*"))
        jobs = [
            FurnisherFiles(row["furnisher_id"],
                           tuple(sorted((synth_dir / "files" / row["furnisher_id"]).glob("*.*"))))
            for row in registered
        ]  # fmt: skip
        receipts = ingest_many(settings, jobs, workers=min(2, os.cpu_count() or 1),
                               progress=report)  # fmt: skip
        failed = [r for r in receipts if r["status"] == "rejected"]
        if failed:
            raise RuntimeError(f"demo file rejected: {failed[0]['error']}")
        accepted = sum(r["rows_accepted"] for r in receipts)
        rejected_rows = sum(r["rows_rejected"] for r in receipts)
        seconds["ingest"] = time.perf_counter() - t

        # the serving runs (for reports) are written alongside resolve and score: DuckDB
        # works outside the GIL, and those stages leave a core idle for part of their time
        compaction = ThreadPoolExecutor(max_workers=1)
        copying = compaction.submit(
            serving.compact,
            bureau.lake,
            workers=min(2, os.cpu_count() or 1),
            memory_limit=bureau.settings.memory_limit,
        )

        t = time.perf_counter()
        resolved = resolve(bureau, progress=report)
        seconds["resolve"] = time.perf_counter() - t

        as_of = month_end(summary.last_month)
        t = time.perf_counter()
        scored = score_population(bureau, as_of, progress=report)
        seconds["score"] = time.perf_counter() - t

        t = time.perf_counter()
        copied = copying.result()
        compaction.shutdown()
        seconds["serving runs (after score)"] = time.perf_counter() - t

    examples = pick_examples(bureau, as_of)
    operator_key = _demo_operator_key(bureau)
    console.print(
        f"ingested {accepted:,} records ({rejected_rows:,} quarantined) from {len(files)} files; "
        f"{resolved.subjects:,} subjects; model {scored.model_version} "
        f"(out-of-time AUC {scored.auc_validate:.3f})"
    )
    console.print(
        "stage seconds: "
        + ", ".join(f"{k} {v:.1f}" for k, v in seconds.items())
        + f"; pipeline total {sum(seconds.values()):.1f} (the serving runs took "
        f"{copied.seconds:.1f} s alongside resolve and score)"
    )
    return DemoResult(examples=examples, seconds=seconds, as_of=as_of, operator_key=operator_key)


def _demo_operator_key(bureau) -> str:
    from datetime import UTC, datetime  # noqa: PLC0415

    from openbureau.access.service import add_party, create_key  # noqa: PLC0415
    from openbureau.audit.service import LOCAL_OPERATOR  # noqa: PLC0415

    now = datetime.now(UTC)
    ledger = bureau.ledger
    add_party(ledger, "demo-operator", "operator", "Demo operator", actor=LOCAL_OPERATOR, now=now)
    return create_key(ledger, "demo-operator", "operator", actor=LOCAL_OPERATOR, now=now).text


def pick_examples(bureau, as_of: date) -> dict[str, str]:
    """A good file, a thin file and a judgment defaulter, from the published scores."""
    from openbureau.storage.ledger import scores, subjects

    out: dict[str, str] = {}
    with bureau.ledger.connect() as conn:
        base = (
            select(scores.c.subject_id)
            .join(subjects, subjects.c.subject_id == scores.c.subject_id)
            .where(scores.c.as_of == as_of, subjects.c.subject_kind == "person")
        )
        good = conn.execute(
            base.where(scores.c.scorable.is_(True)).order_by(scores.c.score.desc()).limit(1)
        ).scalar()
        thin = conn.execute(
            base.where(scores.c.scorable.is_(False)).order_by(scores.c.subject_id).limit(1)
        ).scalar()
    if good:
        out["a good file"] = good
    if thin:
        out["a thin file"] = thin
    defaulter = _a_defaulter(bureau, as_of)
    if defaulter:
        out["a judgment defaulter"] = defaulter
    return out


def _a_defaulter(bureau, as_of: date) -> str | None:
    files = [str(p) for p in bureau.lake.record_files()]
    con = duckdb.connect()
    try:
        row = con.execute(
            """
            SELECT l.subject_id
            FROM read_parquet($files) AS r JOIN read_parquet($links) AS l USING (identity_key)
            WHERE r.record_type = 'judgment_default_finding'
              AND r.finding_date <= $as_of
              AND (r.date_removed IS NULL OR r.date_removed > $as_of)
            GROUP BY l.subject_id ORDER BY count(*) DESC, l.subject_id LIMIT 1
            """,
            {"files": files, "links": str(bureau.lake.links_path), "as_of": as_of},
        ).fetchone()
    finally:
        con.close()
    return row[0] if row else None
