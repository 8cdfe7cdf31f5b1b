"""Reports on a real lake: one subject's report (what an inquiry answers from, and the
holder's full report) read through the lake's serving runs against reading every record
file, side by side on the same subjects, in one process.

    uv run python bench/bench_reports.py [--home HOME] [--subjects 60] [--write]

Without --home it builds the demo's bureau (20,000 persons, 2,000 organisations) in a
temporary folder first. For each subject drawn, the two ways alternate (runs, then every
file, then runs...), so a noisy machine slows both alike; the figures are medians and 95th
percentiles of wall time per report. It also times a full compaction of the lake."""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from run import machine, replace_section  # noqa: E402

OPENBUREAU = str(Path(sys.executable).with_name("openbureau"))


def _p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.95 * len(values)) - 1)]


def measure(home: Path, n: int, seed: int) -> dict:
    from sqlalchemy import select  # noqa: PLC0415

    from openbureau.bootstrap import build_bureau  # noqa: PLC0415
    from openbureau.config import Settings  # noqa: PLC0415
    from openbureau.reports.service import build_report  # noqa: PLC0415
    from openbureau.storage import serving  # noqa: PLC0415
    from openbureau.storage.ledger import scores  # noqa: PLC0415

    bureau = build_bureau(Settings(home=home))
    lake = bureau.lake
    started = time.perf_counter()
    compacted = serving.compact(lake, full=True)
    compact_seconds = time.perf_counter() - started
    with bureau.ledger.connect() as conn:
        rows = conn.execute(select(scores.c.subject_id, scores.c.as_of)).all()
    picked = random.Random(seed).sample(rows, min(n, len(rows)))
    manifest = serving.manifest_path(lake)
    aside = manifest.with_name("manifest.json.aside")

    def runs_off() -> None:
        manifest.rename(aside)

    def runs_on() -> None:
        aside.rename(manifest)

    ways = {"runs": (lambda: None, lambda: None), "files": (runs_off, runs_on)}
    times: dict[tuple[str, str], list[float]] = {}
    records = []
    for subject, as_of in picked:
        # warm the caches of both ways once (footers, DuckDB), outside the timing
        for kind, holder in (("inquiry", False), ("holder", True)):
            for way, (before, after) in ways.items():
                before()
                try:
                    t = time.perf_counter()
                    report = build_report(bureau, subject, as_of, holder_view=holder)
                    times.setdefault((kind, way), []).append(time.perf_counter() - t)
                finally:
                    after()
            records.append(len(report.records))
    out = {
        "persons_subjects": len(rows),
        "record_files": len(lake.record_files()),
        "compact_seconds": compact_seconds,
        "compact_rows": compacted.rows,
        "subjects": len(picked),
        "records_per_report_median": statistics.median(records),
    }
    for (kind, way), values in times.items():
        ms = [v * 1000 for v in values[1:]]  # the first of each is a cold start
        out[f"{kind}_{way}_median_ms"] = statistics.median(ms)
        out[f"{kind}_{way}_p95_ms"] = _p95(ms)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--subjects", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--write", action="store_true", help="write BENCHMARKS.md's section")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = args.home
        if home is None:
            home = Path(tmp) / "home"
            print("building the demo bureau ...", flush=True)
            subprocess.run(
                [OPENBUREAU, "demo", "--no-serve", "--home", str(home)],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        result = measure(home, args.subjects, args.seed)
    for key, value in result.items():
        print(f"{key:32s} {value:,.2f}" if isinstance(value, float) else f"{key:32s} {value:,}")
    if args.write:
        write(result, args)


def write(r: dict, args) -> None:
    begin, end = "<!-- reports:begin -->", "<!-- reports:end -->"
    speed = r["inquiry_files_median_ms"] / r["inquiry_runs_median_ms"]
    block = "\n".join(
        [
            begin,
            "Command: `uv run python bench/bench_reports.py"
            + (f" --subjects {args.subjects}" if args.subjects != 60 else "")
            + "`  ",
            f"Machine: {machine()}; run {date.today().isoformat()}.",
            "",
            f"The demo's bureau ({r['persons_subjects']:,} scored subjects, "
            f"{r['record_files']:,} record files, {r['compact_rows']:,} rows in the serving "
            f"runs); {r['subjects']} subjects drawn at random, each report built both ways in "
            f"turn (median {r['records_per_report_median']:.0f} records a report); wall time "
            "per report, first report of each way left out (cold).",
            "",
            "| report | serving runs: median / p95 | every file: median / p95 |",
            "|---|---:|---:|",
            f"| what an inquiry answers from (`holder_view=False`) | "
            f"{r['inquiry_runs_median_ms']:.1f} / {r['inquiry_runs_p95_ms']:.1f} ms | "
            f"{r['inquiry_files_median_ms']:.0f} / {r['inquiry_files_p95_ms']:.0f} ms |",
            f"| the holder's full report (who looked, what would raise the score) | "
            f"{r['holder_runs_median_ms']:.1f} / {r['holder_runs_p95_ms']:.1f} ms | "
            f"{r['holder_files_median_ms']:.0f} / {r['holder_files_p95_ms']:.0f} ms |",
            f"| full compaction of the lake (`openbureau compact --full`) | "
            f"{r['compact_seconds']:.1f} s | |",
            "",
            f"An inquiry's report: {speed:.0f}x faster through the runs.",
            end,
        ]
    )
    replace_section(begin, end, block, heading="Reports on a real lake")


if __name__ == "__main__":
    main()
