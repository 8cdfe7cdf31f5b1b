"""Ingest many furnishers' files at once, one worker process per furnisher at a time.

A furnisher's own files go in order in one worker (each batch is checked against that
furnisher's earlier batches; a file of the same furnisher sent meanwhile by the API or the
command line waits on its lock, storage/lake.py); different furnishers never touch the same
lake folder nor wait on each other's lock, and the ledger takes their receipts concurrently
(SQLite WAL with a busy timeout, or PostgreSQL)."""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from openbureau.config import Settings
from openbureau.progress import Progress, no_progress


@dataclass(frozen=True)
class FurnisherFiles:
    furnisher_id: str
    paths: tuple[Path, ...]


def _ingest_furnisher(settings: Settings, job: FurnisherFiles) -> list[dict]:
    from openbureau.bootstrap import build_bureau
    from openbureau.ingest.service import FileRejected, ingest_file

    bureau = build_bureau(settings)
    receipts = []
    for path in job.paths:
        try:
            receipts.append(ingest_file(bureau, path, job.furnisher_id).to_dict())
        except FileRejected as exc:
            receipts.append(exc.receipt.to_dict())
    return receipts


def ingest_many(
    settings: Settings,
    jobs: Sequence[FurnisherFiles],
    *,
    workers: int = 2,
    progress: Progress | None = None,
) -> list[dict]:
    """Ingest every job's files; returns all receipts (as dicts), rejected ones included.

    The largest furnishers start first so the workers finish together."""
    report = progress or no_progress
    total = sum(len(j.paths) for j in jobs)
    ordered = sorted(jobs, key=lambda j: -sum(p.stat().st_size for p in j.paths))
    receipts: list[dict] = []
    done = 0
    report("ingest", 0, total)
    if workers <= 1:
        for job in ordered:
            receipts.extend(_ingest_furnisher(settings, job))
            done += len(job.paths)
            report("ingest", done, total)
        return receipts
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {pool.submit(_ingest_furnisher, settings, job): job for job in ordered}
        for future in as_completed(futures):
            receipts.extend(future.result())
            done += len(futures[future].paths)
            report("ingest", done, total)
    return receipts
