"""Ingest throughput on a synthetic credit_account file (CSV, then the same rows as Parquet).

    uv run python bench/bench_ingest.py --rows 5000000 --ids 500000

Rows are 12 monthly statuses per account; accounts belong to `--ids` persons with valid
CN-RIC numbers; 0.1% of rows carry a negative balance (quarantined)."""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from stdnum.cn import ric

from openbureau.bootstrap import build_bureau
from openbureau.config import Settings
from openbureau.ingest.service import add_furnisher, forget_national_ids, ingest_file

REGIONS = ("110101", "110105", "310101")
GIVEN = ("Wei", "Fang", "Min", "Jing", "Lei", "Yan", "Hui", "Tao")
FAMILY = ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang")


def _rics(n: int, rng: np.random.Generator) -> tuple[list[str], list[str]]:
    """n distinct valid CN-RIC numbers and the birth dates they encode."""
    days = rng.integers(0, 365 * 50, n)
    born = (np.datetime64("1955-01-01") + days).astype(str)
    ids, dobs = [], []
    for i in range(n):
        body = f"{REGIONS[i % len(REGIONS)]}{born[i].replace('-', '')}{i % 1000:03d}"
        ids.append(body + ric.calc_check_digit(body + "0"))
        dobs.append(born[i])
    return ids, dobs


def make_table(rows: int, n_ids: int, seed: int = 7) -> pa.Table:
    rng = np.random.default_rng(seed)
    ids, dobs = _rics(n_ids, rng)
    i = np.arange(rows)
    account = i // 12
    month = i % 12 + 1
    who = pa.array(account % n_ids)
    balance = rng.integers(0, 5_000_000, rows)
    balance[rng.random(rows) < 0.001] = -1

    def text(values) -> pa.Array:
        return pc.cast(pa.array(values), pa.string())

    months = pc.binary_join_element_wise("2025", pc.utf8_lpad(text(month), 2, "0"), "-")
    dpd = rng.choice([0, 0, 0, 0, 30, 60], rows)
    return pa.table(
        {
            "record_type": pa.array(["credit_account"] * rows),
            "record_id": pc.binary_join_element_wise("acc", text(account), text(month), "-"),
            "reported_on": pc.binary_join_element_wise(months, "28", "-"),
            "version": pa.array(["1"] * rows),
            "subject_kind": pa.array(["person"] * rows),
            "given_name": pa.array(GIVEN).take(pa.array(account % len(GIVEN))),
            "family_name": pa.array(FAMILY).take(pa.array(account % 7)),
            "date_of_birth": pa.array(dobs).take(who),
            "national_id_scheme": pa.array(["CN-RIC"] * rows),
            "national_id": pa.array(ids).take(who),
            "city": pa.array(["Beijing"] * rows),
            "country": pa.array(["CN"] * rows),
            "account_id": pc.binary_join_element_wise("acc", text(account), ""),
            "account_type": pa.array(["personal_loan", "credit_card"]).take(pa.array(account % 2)),
            "date_opened": pa.array(["2019-06-01"] * rows),
            "credit_limit": text(np.full(rows, 10_000_000)),
            "balance": text(balance),
            "days_past_due": text(dpd),
            "account_status": pa.array(np.where(dpd > 0, "delinquent", "current")),
            "reporting_month": months,
            "currency": pa.array(["CNY"] * rows),
        }
    )


def _run(bureau, path: Path, furnisher: str) -> None:
    add_furnisher(bureau, furnisher, "bank", furnisher)
    forget_national_ids()  # every run checks its ids from cold
    load = os.getloadavg()[0]
    t, cpu = time.perf_counter(), _cpu()
    r = ingest_file(bureau, path, furnisher)
    s, cpu = time.perf_counter() - t, _cpu() - cpu
    print(
        f"{path.suffix[1:]:8} {r.rows_total:>10,} rows in {s:6.2f}s = {r.rows_total / s:>10,.0f}"
        f" rows/s  (cpu {cpu:.1f}s incl. id workers; load before {load:.1f};"
        f" accepted {r.rows_accepted:,}, quarantined {r.rows_rejected:,},"
        f" file {path.stat().st_size / 1e6:,.0f} MB)"
    )


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the id workers)."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--ids", type=int, default=500_000)
    ap.add_argument("--dir", type=Path, default=None)
    args = ap.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    work.mkdir(parents=True, exist_ok=True)
    csv_path, pq_path = work / "accounts.csv", work / "accounts.parquet"
    if not csv_path.exists():
        table = make_table(args.rows, args.ids)
        pacsv.write_csv(table, csv_path, pacsv.WriteOptions(quoting_style="none"))
        pq.write_table(table, pq_path)
    bureau = build_bureau(Settings(home=work / f"home-{time.time_ns()}", environment="test"))
    _run(bureau, csv_path, "bank-csv")
    _run(bureau, pq_path, "bank-parquet")


if __name__ == "__main__":
    main()
