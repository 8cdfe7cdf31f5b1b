"""Time the demo's pipeline part (synth, ingest, resolve, score) as `make demo` runs it.

    uv run python bench/demo_timing.py [--runs 3]

Runs the demo in-process on a fresh home each time, prints each run's stage seconds and
writes the median run into the demo section of BENCHMARKS.md."""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console

from openbureau.config import Settings
from openbureau.demo import run_demo

sys.path.insert(0, str(Path(__file__).parent))
from run import machine, replace_section  # noqa: E402

BEGIN, END = "<!-- demo:begin -->", "<!-- demo:end -->"


@contextmanager
def no_bars():
    yield lambda label, done, total: None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    runs = []
    for i in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            result = run_demo(
                Settings(home=Path(tmp) / "home"),
                persons=20_000, orgs=2_000, seed=1, console=Console(quiet=True), bars=no_bars,
            )  # fmt: skip
        total = sum(result.seconds.values())
        runs.append((total, result.seconds))
        print(f"run {i + 1}: " + ", ".join(f"{k} {v:.1f}" for k, v in result.seconds.items())
              + f"; total {total:.1f} s")  # fmt: skip
    median_total = statistics.median(t for t, _ in runs)
    _, stages = min(runs, key=lambda r: abs(r[0] - median_total))
    rows = ["| stage | seconds |", "|---|---:|"]
    rows += [f"| {k} | {v:.1f} |" for k, v in stages.items()]
    rows.append(f"| **pipeline (median of {args.runs})** | **{median_total:.1f}** |")
    block = "\n".join([
        BEGIN,
        "Command: `uv run python bench/demo_timing.py --runs "
        f"{args.runs}` (the demo's 20,000 persons + 2,000 organisations, in one process, "
        "ingest on 2 worker processes)  ",
        f"Machine: {machine()}  ",
        f"All runs (s): {', '.join(f'{t:.1f}' for t, _ in runs)}",
        "",
        *rows,
        END,
    ])  # fmt: skip
    replace_section(BEGIN, END, block, heading="Demo pipeline (target: 60 s or less)")


if __name__ == "__main__":
    main()
