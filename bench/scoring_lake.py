"""Benchmark features and scoring alone on a large synthetic lake written straight to Parquet
(no synth files, no ingest, no resolve): N subjects, about 40 records each.

    uv run python bench/scoring_lake.py --subjects 1000000 --home /tmp/ob-bench [--regenerate]

Prints seconds for writing the lake, `build_features` at one date, and `score_population`.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import insert

from openbureau.bootstrap import build_bureau
from openbureau.config import Settings
from openbureau.features.jobs import build_features
from openbureau.scoring.service import score_population
from openbureau.storage.lake import LINKS_SCHEMA, read_links, read_records, record_schema
from openbureau.storage.ledger import subjects

FIRST = np.datetime64("2020-01")
MONTHS = 60
BANKS = 8


def _days(months: np.ndarray) -> np.ndarray:
    """First day of each month index (0 = FIRST) as days since the epoch (date32)."""
    return (FIRST + months.astype("timedelta64[M]")).astype("datetime64[D]").astype(np.int32)


def _table(n: int, columns: dict[str, pa.Array]) -> pa.Table:
    schema = record_schema()
    arrays = [columns.get(f.name, pa.nulls(n, f.type)).cast(f.type) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def _credit(rng, n_subj: int, risk: np.ndarray):
    n_acc = 1 + np.minimum(rng.poisson(0.6, n_subj), 3)
    owner = np.repeat(np.arange(n_subj), n_acc)
    a = len(owner)
    start = rng.integers(12, MONTHS, a)
    limit = rng.choice([50_000, 100_000, 300_000, 1_000_000], a)
    revolving = rng.random(a) < 0.6
    r = risk[owner]
    dpd = np.zeros(a, dtype=np.int64)
    out = {k: [] for k in ("acc", "month", "dpd")}
    for m in range(MONTHS):
        active = start <= m
        roll = rng.random(a)
        worse = (dpd > 0) & (roll < 0.35 + r)
        new = (dpd == 0) & (roll < r * 0.25)
        dpd = np.where(worse, np.minimum(dpd + 30, 180), np.where(new, 30, 0))
        idx = np.flatnonzero(active)
        out["acc"].append(idx)
        out["month"].append(np.full(len(idx), m))
        out["dpd"].append(dpd[idx])
    acc = np.concatenate(out["acc"])
    month = np.concatenate(out["month"])
    d = np.concatenate(out["dpd"])
    status = np.where(d >= 180, "written_off", np.where(d > 0, "delinquent", "current"))
    util = np.minimum(1.0, r[acc] * 2 + rng.random(len(acc)) * 0.3)
    cols = {
        "record_type": pa.array(np.full(len(acc), "credit_account")),
        "record_id": pc.cast(pa.array(np.arange(len(acc))), pa.string()),
        "reported_on": pa.array(_days(month + 1) + 4, pa.int32()),
        "version": pa.array(np.ones(len(acc), dtype=np.int64)),
        "account_id": pc.cast(pa.array(acc), pa.string()),
        "account_type": pa.array(np.where(revolving[acc], "credit_card", "personal_loan")),
        "date_opened": pa.array(_days(start[acc]) + 9, pa.int32()),
        "credit_limit": pa.array(limit[acc]),
        "balance": pa.array((limit[acc] * util).astype(np.int64)),
        "days_past_due": pa.array(d),
        "account_status": pa.array(status),
        "reporting_month": pa.array(_days(month), pa.int32()),
        "currency": pa.array(np.full(len(acc), "CNY")),
    }
    return owner[acc], acc, cols


def _public(rng, n_subj: int, risk: np.ndarray, kind: str, share: float, extra):
    who = np.flatnonzero(rng.random(n_subj) < share * (1 + 4 * risk))
    m = rng.integers(0, MONTHS, len(who))
    cols = {
        "record_type": pa.array(np.full(len(who), kind)),
        "record_id": pc.cast(pa.array(np.arange(len(who))), pa.string()),
        "reported_on": pa.array(_days(m) + 20, pa.int32()),
        "version": pa.array(np.ones(len(who), dtype=np.int64)),
        **extra(len(who), m),
    }
    return who, np.arange(len(who)), cols


def write_lake(bureau, n_subj: int, seed: int = 1) -> int:
    rng = np.random.default_rng(seed)
    risk = rng.beta(1.2, 8, n_subj)
    kinds = np.where(rng.random(n_subj) < 0.9, "person", "organisation")
    n_keys = 1 + (rng.random(n_subj) < 0.2)
    key_owner = np.repeat(np.arange(n_subj), n_keys)
    keys = pa.array([f"{i:032x}" for i in range(len(key_owner))])
    first_key = np.concatenate([[0], np.cumsum(n_keys)[:-1]])
    sid = pa.array([f"S{i:09d}" for i in range(n_subj)])
    parts = [("bank", *_credit(rng, n_subj, risk))]
    parts.append(("utility", *_invoices(rng, n_subj, risk)))
    parts.append(
        (
            "court",
            *_public(
                rng,
                n_subj,
                risk,
                "court_judgment",
                0.02,
                lambda k, m: {
                    "court": pa.array(np.full(k, "Court")),
                    "case_number": pa.array(np.full(k, "C1")),
                    "judgment_date": pa.array(_days(m) + 3, pa.int32()),
                    "amount": pa.array(np.full(k, 500_000)),
                    "currency": pa.array(np.full(k, "CNY")),
                    "date_satisfied": pa.array(
                        _days(m) + 200, pa.int32(), mask=rng.random(k) < 0.5
                    ),
                },
            ),
        )
    )
    parts.append(
        (
            "regulator",
            *_public(
                rng,
                n_subj,
                risk,
                "administrative_penalty",
                0.03,
                lambda k, m: {
                    "authority": pa.array(np.full(k, "Authority")),
                    "violation_category": pa.array(np.full(k, "tax")),
                    "severity": pa.array(rng.choice(["minor", "general", "serious"], k)),
                    "penalty_date": pa.array(_days(m) + 3, pa.int32()),
                },
            ),
        )
    )
    total = 0
    for p, (fkind, owner, unit, cols) in enumerate(parts):
        # one furnisher and one identity variant per account (per record for the others)
        n_units = int(unit.max()) + 1 if len(unit) else 0
        second = (rng.random(n_units) < 0.3)[unit]
        which = first_key[owner] + second * (n_keys[owner] - 1)
        cols["identity_key"] = keys.take(pa.array(which))
        cols["subject_kind"] = pa.array(kinds[owner])
        furn = rng.integers(0, BANKS if fkind == "bank" else 2, n_units)[unit]
        for f in np.unique(furn):
            sel = pa.array(np.flatnonzero(furn == f))
            sub = {k: v.take(sel) for k, v in cols.items()}
            sub["furnisher_id"] = pa.array(np.full(len(sel), f"{fkind}-{f}"))
            table = _table(len(sel), sub)
            bureau.lake.write_table_atomic(
                table, bureau.lake.batch_path(f"{fkind}-{f}", f"bench-{p}")
            )
            total += len(sel)
    links = pa.Table.from_arrays(
        [
            keys,
            sid.take(pa.array(key_owner)),
            pa.array(np.ones(len(key_owner))),
            pa.array(np.full(len(key_owner), "bench")),
        ],
        schema=LINKS_SCHEMA,
    )
    bureau.lake.write_table_atomic(links, bureau.lake.links_path)
    now = datetime.now(UTC)
    with bureau.ledger.begin() as conn:
        rows = [
            {"subject_id": s, "subject_kind": k, "display_name": s, "created_at": now}
            for s, k in zip(sid.to_pylist(), kinds.tolist(), strict=True)
        ]
        for i in range(0, len(rows), 50_000):
            conn.execute(insert(subjects), rows[i : i + 50_000])
    return total


def _invoices(rng, n_subj: int, risk: np.ndarray):
    who = np.flatnonzero(rng.random(n_subj) < 0.3)
    per = 12
    owner = np.repeat(who, per)
    m = np.tile(np.arange(MONTHS - per, MONTHS), len(who))
    late = rng.random(len(owner)) < risk[owner] * 2
    due = _days(m) + 19
    cols = {
        "record_type": pa.array(np.full(len(owner), "invoice_payment")),
        "record_id": pc.cast(pa.array(np.arange(len(owner))), pa.string()),
        "reported_on": pa.array(due + 40, pa.int32()),
        "version": pa.array(np.ones(len(owner), dtype=np.int64)),
        "invoice_kind": pa.array(np.full(len(owner), "electricity")),
        "due_date": pa.array(due, pa.int32()),
        "paid_date": pa.array(due + np.where(late, 35, 0), pa.int32()),
        "amount": pa.array(np.full(len(owner), 2_000)),
        "currency": pa.array(np.full(len(owner), "CNY")),
    }
    return owner, np.arange(len(owner)), cols


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subjects", type=int, default=100_000)
    parser.add_argument("--home", type=Path, default=Path("/tmp/ob-bench-scoring"))
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args()
    bureau = build_bureau(Settings(home=args.home, environment="test"))
    if args.regenerate or not bureau.lake.has_records():
        t = time.perf_counter()
        n = write_lake(bureau, args.subjects)
        print(f"lake: {n:,} records in {time.perf_counter() - t:.1f} s", flush=True)
    as_of = date(2024, 12, 31)
    con = bureau.batch_engine()
    t = time.perf_counter()
    frame = con.execute(
        build_features(read_records(con, bureau.lake), read_links(con, bureau.lake), as_of)
    )
    print(f"build_features: {len(frame):,} subjects in {time.perf_counter() - t:.1f} s", flush=True)
    t = time.perf_counter()
    summary = score_population(bureau, as_of)
    print(f"score_population: {time.perf_counter() - t:.1f} s; {summary}")


if __name__ == "__main__":
    main()
