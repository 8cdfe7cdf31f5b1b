"""Compiled scoring against optbinning's own `Scorecard.score()`, side by side in one run.

    uv run python bench/bench_compiled.py [--rows 1000000] [--runs 3] [--no-write]

Fits one scorecard (8 numeric and 4 categorical characteristics, missing values) on 20,000
synthetic rows, then scores the same `--rows` rows held in a pandas DataFrame both ways, each
`--runs` times, alternating, and reports the medians:

- optbinning: `Scorecard.score(frame)` (numpy array of totals);
- compiled: the card as an Ibis CASE expression (`scoring.jobs.score_expression`) run on an
  in-process DuckDB over the same DataFrame, totals fetched back into numpy; also with every
  characteristic's points and missing flags (what the reasons are ranked from).

Before timing, it checks that both give the same totals (to 1e-9) on every row. Writes the
result into the compiled-scoring section of BENCHMARKS.md."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from datetime import date
from pathlib import Path

import ibis
import numpy as np
import pandas as pd

from openbureau.scoring.development import DATA_BINNING
from openbureau.scoring.jobs import score_expression
from openbureau.scoring.model import fit_characteristics
from openbureau.scoring.rules import Scaling

sys.path.insert(0, str(Path(__file__).parent))
from run import machine, replace_section  # noqa: E402

BEGIN, END = "<!-- compiled:begin -->", "<!-- compiled:end -->"
DESCRIBE = {
    "optbinning": "optbinning `Scorecard.score()` on the DataFrame",
    "compiled": "compiled Ibis on DuckDB, from the DataFrame (memtable), totals",
    "compiled, in engine": "compiled, on a DuckDB table holding the same rows, totals",
    "compiled+detail": "compiled from the DataFrame, with points and missing flags per "
    "characteristic (what the reasons need)",
}
NUMERIC = [f"n{i}" for i in range(8)]
CATEGORICAL = {f"c{i}": [f"k{j}" for j in range(3 + 2 * i)] for i in range(4)}


def synthetic(n: int, seed: int, unseen: float = 0.0) -> tuple[pd.DataFrame, np.ndarray]:
    """Columns whose relation to a bad outcome is monotone (numeric) or by level (categorical),
    about 5% missing in each, and a share `unseen` of categories never seen in training."""
    rng = np.random.default_rng(seed)
    data: dict[str, np.ndarray] = {}
    logit = np.full(n, -1.5)
    for i, name in enumerate(NUMERIC):
        x = rng.gamma(2.0, 10.0 * (i + 1), n)
        logit += (0.3 if i % 2 else -0.3) * (x - x.mean()) / x.std()
        x[rng.random(n) < 0.05] = np.nan
        data[name] = x
    for name, levels in CATEGORICAL.items():
        effect = rng.normal(0, 0.5, len(levels))
        idx = rng.integers(0, len(levels), n)
        logit += effect[idx]
        values = np.array(levels, dtype=object)[idx]
        values[rng.random(n) < 0.05] = None
        values[rng.random(n) < unseen] = "never-seen"
        data[name] = values
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame(data), y


def _compiled(con, card, source, detail: bool = False) -> np.ndarray:
    """Totals of the compiled card over `source`: a DataFrame (handed to DuckDB as a memtable
    each time) or a table already in the engine."""
    table = ibis.memtable(source) if isinstance(source, pd.DataFrame) else source
    expr = score_expression(card, table, [], detail=detail)
    return con.to_pyarrow(expr).column("total_points").to_numpy()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")  # optbinning's pandas deprecation warnings
    load = os.getloadavg()[0]

    train, y = synthetic(20_000, seed=1)
    specs = {n: {"monotonic_trend": "auto_asc_desc"} for n in NUMERIC}
    specs.update({c: {"dtype": "categorical"} for c in CATEGORICAL})
    fitted = fit_characteristics(
        train, y, specs, scaling=Scaling(), kind="data", binning=DATA_BINNING
    )
    card, sc = fitted.card, fitted.scorecard
    frame, _ = synthetic(args.rows, seed=2, unseen=0.001)
    frame = frame[card.features]
    con = ibis.duckdb.connect()
    table = con.create_table("features", frame)

    theirs = sc.score(frame)
    diff = 0.0
    for source in (frame, table):
        diff = max(diff, float(np.max(np.abs(theirs - _compiled(con, card, source)))))
    if diff > 1e-9:
        raise SystemExit(f"compiled and optbinning scores differ by up to {diff}")

    runs = {
        "optbinning": lambda: sc.score(frame),
        "compiled": lambda: _compiled(con, card, frame),
        "compiled, in engine": lambda: _compiled(con, card, table),
        "compiled+detail": lambda: _compiled(con, card, frame, detail=True),
    }
    timings: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(args.runs):
        for label, run in runs.items():
            t = time.perf_counter()
            run()
            timings[label].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in timings.items()}
    for k, v in timings.items():
        print(f"{k}: median {med[k]:.3f} s of {[round(x, 3) for x in v]}")
    ratio = {k: med["optbinning"] / v for k, v in med.items()}
    print(", ".join(f"{k} {r:.1f}x" for k, r in ratio.items()))
    if args.no_write:
        return
    n_chars = len(card.characteristics)
    n_cat = sum(c.is_categorical for c in card.characteristics)
    block = "\n".join(
        [
            BEGIN,
            f"Command: `uv run python bench/bench_compiled.py --rows {args.rows} "
            f"--runs {args.runs}`  ",
            f"Machine: {machine()}; run {date.today()}, median of {args.runs} runs each, "
            "alternating.",
            "",
            f"{args.rows:,} rows in a pandas DataFrame, a card of {n_chars} characteristics "
            f"({n_cat} categorical), about 5% missing values per column and 0.1% unseen "
            f"categories; totals equal to optbinning's to {max(diff, 1e-16):.0e}.",
            "",
            "| scorer | seconds (median) | rows/s | vs optbinning |",
            "|---|---:|---:|---:|",
            *(
                f"| {DESCRIBE[k]} | {med[k]:.3f} | {args.rows / med[k]:,.0f} | {ratio[k]:.1f}x |"
                for k in runs
            ),
            "",
            f"Target 20x from the DataFrame: {'met' if ratio['compiled'] >= 20 else 'not met'} "
            f"({ratio['compiled']:.1f}x). Load average when the run started: {load:.1f} on "
            f"{os.cpu_count()} cores (other work on the machine slows both sides).",
            END,
        ]
    )
    replace_section(BEGIN, END, block, heading="Compiled scoring (target: 20x optbinning)")


if __name__ == "__main__":
    main()
