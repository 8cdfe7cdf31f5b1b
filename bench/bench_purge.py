"""Purge's file rewrites, one at a time against several at once, side by side on copies of
an existing bureau (e.g. `openbureau demo --no-serve --home DIR`):

    uv run python bench/bench_purge.py --home DIR [--as-of 2030-01-01] [--rounds 2]

Each round copies the home (without its synthetic source files) twice and purges one copy
with one rewriting thread and the other with `--threads` (default: the machine's cores),
timing the phase that rewrites the files (the purge's own progress reports mark it) and
the whole purge (which also finds what expired, erases the identities no record carries any
more and rebuilds the serving runs). The purge
date may lie in the future: the copies are thrown away."""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from openbureau.bootstrap import build_bureau
from openbureau.config import Settings
from openbureau.retention.service import purge


def _one(home: Path, copy: Path, threads: int, as_of: date) -> dict:
    shutil.copytree(home, copy, ignore=shutil.ignore_patterns("synth", "incoming"))
    bureau = build_bureau(Settings(home=copy, environment="test", threads=threads))
    marks: dict[str, float] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "purge files":
            marks.setdefault("start", time.perf_counter())
            if done == total:
                marks["end"] = time.perf_counter()

    summary = purge(bureau, as_of, progress=progress, today=as_of)
    shutil.rmtree(copy)
    if "end" not in marks:
        raise SystemExit(f"nothing expired by {as_of}: pick a later --as-of")
    return {
        "files": summary.files_rewritten + summary.files_removed,
        "rows": summary.rows,
        "files_s": marks["end"] - marks["start"],
        "total_s": summary.seconds,
        "identities": summary.identities or {},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2030, 1, 1))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    results: dict[int, list[dict]] = {1: [], args.threads: []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for threads in results:
                out = _one(args.home, Path(tmp) / f"copy-{threads}", threads, args.as_of)
                results[threads].append(out)
                ids = out["identities"]
                print(
                    f"round {r + 1}, {threads} thread(s): {out['files']} files, "
                    f"{out['rows']:,} rows: rewrites {out['files_s']:.2f} s, "
                    f"purge {out['total_s']:.2f} s, of which identity erasure "
                    f"{ids.get('seconds', 0):.2f} s ({ids.get('variants_erased', 0):,} variants "
                    f"erased, {ids.get('variants_recounted', 0):,} recounted, "
                    f"{ids.get('subjects_emptied', 0):,} subjects emptied)"
                )
    for threads, runs in results.items():
        rewrites = statistics.median(r["files_s"] for r in runs)
        whole = statistics.median(r["total_s"] for r in runs)
        erase = statistics.median(r["identities"].get("seconds", 0) for r in runs)
        print(
            f"{threads} thread(s): rewrites median {rewrites:.2f} s, purge median {whole:.2f} s, "
            f"identity erasure median {erase:.2f} s"
        )


if __name__ == "__main__":
    main()
