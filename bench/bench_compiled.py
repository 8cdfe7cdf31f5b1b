"""Compiled scoring against optbinning's own `Scorecard.score()`, side by side in one run.

    uv run python bench/bench_compiled.py [--rows 1000000] [--runs 3] [--no-write]

Fits one scorecard (8 numeric and 4 categorical characteristics, missing values) on 20,000
synthetic rows, then scores the same `--rows` rows both ways, each `--runs` times, alternating,
and reports the medians of wall time and of CPU time (this process, all threads):

- optbinning: `Scorecard.score(frame)` on a pandas DataFrame (numpy array of totals), with the
  categorical columns as text and again as pandas `category`; the faster of the two is the
  baseline every ratio is taken against;
- compiled: the card as an Ibis CASE expression (`scoring.jobs.score_expression`) on an
  in-process DuckDB, totals fetched back into numpy. Every compiled line but the last builds the
  expression and compiles it to SQL inside the timed call (a few hundredths of a second of
  Python whatever the row count), because one call of `score_population` or `score_file` pays
  that too:
  - from the DataFrame as a memtable (what `score_file` did until 2026-11-27: Ibis copies the
    frame to Arrow on each call);
  - from the same DataFrame read in place (a DuckDB view over it, registered once);
  - the same with the categorical columns dictionary-encoded (`categories_encoded`: pandas
    `category`, read by DuckDB as ENUM), which is what `model score` does;
  - on a DuckDB table holding the same rows, which is how population scoring runs it (on the
    features query): the input transfer is paid once, before, as the features are computed;
    and the same table with the categorical columns as ENUM;
  - the same with every characteristic's points and missing flags (what the reasons need);
  - the SQL compiled once before timing and only run (what a service scoring batch after batch
    with one model would pay), on the text table and on the ENUM one.

Why both clocks: optbinning uses one core and DuckDB two, and other work on a shared machine
takes cores from DuckDB, so the wall ratio moves with the load; the CPU ratio (work done per
row) does not. Before timing, it checks that every compiled line gives optbinning's totals (to
1e-9) on every row. Writes the result into the compiled-scoring section of BENCHMARKS.md."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from datetime import date
from pathlib import Path

import ibis
import numpy as np
import pandas as pd

from openbureau.scoring.development import DATA_BINNING
from openbureau.scoring.jobs import categories_encoded, score_expression
from openbureau.scoring.model import fit_characteristics
from openbureau.scoring.rules import Scaling

sys.path.insert(0, str(Path(__file__).parent))
from run import machine, replace_section  # noqa: E402

BEGIN, END = "<!-- compiled:begin -->", "<!-- compiled:end -->"
DESCRIBE = {
    "optbinning": "optbinning `Scorecard.score()` on the DataFrame",
    "optbinning, categories": "optbinning `Scorecard.score()` on the DataFrame, categorical "
    "columns as pandas `category`",
    "memtable": "compiled, from the DataFrame as an Ibis memtable (copied to Arrow per call)",
    "in place": "compiled, from the DataFrame read in place (DuckDB view)",
    "in place, categories": "compiled, from the DataFrame read in place, categorical columns as "
    "pandas `category` (DuckDB reads them as ENUM): what `model score` does",
    "in engine": "compiled, on a DuckDB table holding the same rows (population scoring)",
    "in engine, categories": "compiled, on a DuckDB table holding the same rows, categorical "
    "columns as ENUM",
    "detail": "compiled, on the DuckDB table, with points and missing flags per characteristic "
    "(what the reasons need)",
    "prepared": "compiled, on the DuckDB table, SQL compiled once before timing",
    "prepared, categories": "compiled, on the DuckDB table with categorical columns as ENUM, "
    "SQL compiled once before timing",
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


def _totals(con, card, table, detail: bool = False) -> np.ndarray:
    """Totals of the compiled card over an Ibis `table`, expression built and compiled here."""
    expr = score_expression(card, table, [], detail=detail)
    return con.to_pyarrow(expr).column("total_points").to_numpy()


def _timed(runs: dict[str, Callable[[], object]], n: int) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) seconds of each run, the runs alternating `n` times."""
    wall: dict[str, list[float]] = {k: [] for k in runs}
    cpu: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(n):
        for label, run in runs.items():
            w, c = time.perf_counter(), time.process_time()
            run()
            wall[label].append(time.perf_counter() - w)
            cpu[label].append(time.process_time() - c)
    for k in runs:
        print(f"{k}: wall {[round(x, 3) for x in wall[k]]}, cpu {[round(x, 3) for x in cpu[k]]}")
    return {k: (statistics.median(wall[k]), statistics.median(cpu[k])) for k in runs}


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
    con.con.register("frame_view", frame)
    view = con.table("frame_view")
    coded = categories_encoded(frame, card)
    con.con.register("coded_view", coded)
    coded_view = con.table("coded_view")
    # Created in SQL from the view, so that the categorical columns stay ENUM (Ibis's
    # create_table would write them as text).
    con.con.execute("CREATE TABLE coded AS SELECT * FROM coded_view")
    coded_table = con.table("coded")
    coded_sql = str(
        ibis.to_sql(score_expression(card, coded_table, [], detail=False), dialect="duckdb")
    )
    sql = str(ibis.to_sql(score_expression(card, table, [], detail=False), dialect="duckdb"))

    runs: dict[str, Callable[[], np.ndarray]] = {
        "optbinning": lambda: sc.score(frame),
        "optbinning, categories": lambda: sc.score(coded),
        "memtable": lambda: _totals(con, card, ibis.memtable(frame)),
        "in place": lambda: _totals(con, card, view),
        "in place, categories": lambda: _totals(con, card, coded_view),
        "in engine": lambda: _totals(con, card, table),
        "in engine, categories": lambda: _totals(con, card, coded_table),
        "detail": lambda: _totals(con, card, table, detail=True),
        "prepared": lambda: con.con.sql(sql).to_arrow_table().column(0).to_numpy(),
        "prepared, categories": lambda: (
            con.con.sql(coded_sql).to_arrow_table().column(0).to_numpy()
        ),
    }
    theirs = runs["optbinning"]()
    diff = max(float(np.max(np.abs(theirs - run()))) for run in list(runs.values())[1:])
    if diff > 1e-9:
        raise SystemExit(f"compiled and optbinning scores differ by up to {diff}")

    med = _timed(runs, args.runs)
    # The baseline is optbinning on whichever frame it scores faster in this run.
    base = min(("optbinning", "optbinning, categories"), key=lambda k: med[k][0])
    ratio = {k: (med[base][0] / w, med[base][1] / c) for k, (w, c) in med.items()}
    print(", ".join(f"{k} {w:.1f}x wall {c:.1f}x cpu" for k, (w, c) in ratio.items()))
    if args.no_write:
        return
    n_chars = len(card.characteristics)
    n_cat = sum(c.is_categorical for c in card.characteristics)
    best = max(w for k, (w, _) in ratio.items() if not k.startswith("optbinning"))
    block = "\n".join(
        [
            BEGIN,
            f"Command: `uv run python bench/bench_compiled.py --rows {args.rows} "
            f"--runs {args.runs}`  ",
            f"Machine: {machine()}; run {date.today()}, median of {args.runs} runs each, "
            f"alternating; load average {load:.1f} when the run started (other work was "
            "running on the machine).",
            "",
            f"{args.rows:,} rows, a card of {n_chars} characteristics ({n_cat} categorical), "
            "about 5% missing values per column and 0.1% unseen categories; every compiled "
            f"line gives optbinning's totals to {max(diff, 1e-16):.0e}. CPU is this process's "
            "CPU time over all its threads (DuckDB uses 2, optbinning 1).",
            "",
            "| scorer | wall s | CPU s | rows/s (wall) | vs optbinning (wall) | (CPU) |",
            "|---|---:|---:|---:|---:|---:|",
            *(
                f"| {DESCRIBE[k]} | {w:.3f} | {c:.3f} | {args.rows / w:,.0f} | "
                f"{ratio[k][0]:.1f}x | {ratio[k][1]:.1f}x |"
                for k, (w, c) in med.items()
            ),
            "",
            f"Baseline: {DESCRIBE[base]} (the faster of the two optbinning lines in this run).",
            "",
            f"Target 20x (wall): {'met' if best >= 20 else 'not met'}; population scoring's "
            f"way (on the DuckDB table) {ratio['in engine'][0]:.1f}x, `model score`'s way "
            f"{ratio['in place, categories'][0]:.1f}x, best line {best:.1f}x.",
            END,
        ]
    )
    replace_section(BEGIN, END, block, heading="Compiled scoring (target: 20x optbinning)")


if __name__ == "__main__":
    main()
