"""One furnisher's monthly files ingested in order, in one process, with the time each step of
a file takes (a synth folder, e.g. `openbureau synth --persons 200000 --orgs 20000 --format
parquet --out DIR`):

    uv run python bench/bench_furnisher.py --synth DIR [--furnisher bank-01] [--threads 1]

Prints the whole ingest's seconds, the median file's, and per step (read and check the
header, validate, the national ids' start and wait, write) the total, the first file's (it
checks every id from cold) and the median. To compare two versions of the code, run it from
each checkout (`PYTHONPATH=OTHER/src uv run python bench/bench_furnisher.py ...`), alternating;
each run uses a fresh home in a temporary folder."""

from __future__ import annotations

import argparse
import csv
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from openbureau.bootstrap import build_bureau
from openbureau.config import Settings
from openbureau.ingest import nationalids, service

STEPS = [
    (service, "_load_and_check", "read and check header"),
    (service, "_validate", "validate (all)"),
    (nationalids, "start", "  national ids: start"),
    (nationalids.PendingIds, "result", "  national ids: wait"),
    (service, "_commit", "write"),
]


def _timed(owner, name: str, label: str, spent: dict[str, list[float]]) -> None:
    inner = getattr(owner, name)

    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            spent[label].append(time.perf_counter() - started)

    setattr(owner, name, timed)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--synth", type=Path, required=True)
    ap.add_argument("--furnisher", default="bank-01")
    ap.add_argument("--threads", type=int, default=1, help="DuckDB threads (and id workers)")
    args = ap.parse_args()
    furnishers = {r["furnisher_id"]: r for r in csv.DictReader(open(args.synth / "furnishers.csv"))}
    if args.furnisher not in furnishers:
        raise SystemExit(f"{args.furnisher} is not in {args.synth / 'furnishers.csv'}")
    files = sorted((args.synth / "files" / args.furnisher).glob("*.*"))
    spent: dict[str, list[float]] = defaultdict(list)
    for owner, name, label in STEPS:
        _timed(owner, name, label, spent)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(home=Path(tmp), environment="test", threads=args.threads)
        bureau = build_bureau(settings)
        row = furnishers[args.furnisher]
        service.add_furnisher(bureau, args.furnisher, row["kind"], row["name"])
        per_file, rows = [], 0
        started = time.perf_counter()
        for path in files:
            t = time.perf_counter()
            rows += service.ingest_file(bureau, path, args.furnisher).rows_total
            per_file.append(time.perf_counter() - t)
        total = time.perf_counter() - started
    print(
        f"{args.furnisher}: {len(files)} files, {rows:,} rows in {total:.2f} s "
        f"({rows / total:,.0f} rows/s); median file {statistics.median(per_file) * 1000:.0f} ms"
    )
    for _, _, label in STEPS:
        times = spent[label]
        print(
            f"  {label:24} {sum(times):6.2f} s; first file {times[0] * 1000:5.0f} ms, "
            f"median {statistics.median(times) * 1000:5.0f} ms"
        )


if __name__ == "__main__":
    main()
