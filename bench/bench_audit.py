"""Audit-chain throughput on a SQLite ledger: appends per second, each in its own transaction
(as a report read or a batch receipt is), from one thread and from several at once; then
appends inside one transaction (as a resolve run logs its merges); then verification.

    uv run python bench/bench_audit.py [--appends 2000] [--threads 4] [--verify 200000]"""

from __future__ import annotations

import argparse
import resource
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from openbureau.audit import service as audit
from openbureau.bootstrap import build_bureau
from openbureau.config import Settings


def _read_entry(conn, i: int) -> None:
    audit.append(
        conn,
        actor=audit.ANONYMOUS_LOCAL,
        action="report.read",
        subject_id=f"S{i:015d}",
        purpose=audit.VIEW_PURPOSE,
        payload={"as_of": "2025-12-31", "channel": "api"},
        occurred_at=datetime.now(UTC),
    )


def _one_per_transaction(engine, start: int, n: int) -> None:
    for i in range(start, start + n):
        with engine.begin() as conn:
            _read_entry(conn, i)


def _rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f}/s ({n:,} in {seconds:.2f} s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=2000, help="appends per measurement")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--verify", type=int, default=200_000, help="entries to verify")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        bureau = build_bureau(Settings(home=Path(tmp) / "home", environment="test"))
        engine = bureau.ledger

        t = time.perf_counter()
        _one_per_transaction(engine, 0, args.appends)
        single = time.perf_counter() - t
        print(f"one thread, one transaction per append: {_rate(args.appends, single)}")

        per_thread = args.appends // args.threads
        workers = [
            threading.Thread(
                target=_one_per_transaction,
                args=(engine, args.appends + w * per_thread, per_thread),
            )
            for w in range(args.threads)
        ]
        t = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        threaded = time.perf_counter() - t
        print(
            f"{args.threads} threads, one transaction per append: "
            f"{_rate(per_thread * args.threads, threaded)}"
        )

        done = args.appends + per_thread * args.threads
        remaining = max(args.verify - done, 0)
        t = time.perf_counter()
        with engine.begin() as conn:
            for i in range(remaining):
                _read_entry(conn, done + i)
        batched = time.perf_counter() - t
        if remaining:
            print(f"one transaction, many appends: {_rate(remaining, batched)}")

        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t = time.perf_counter()
        result = audit.verify(engine)
        seconds = time.perf_counter() - t
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        assert result.ok, result
        print(
            f"verify: {_rate(result.checked, seconds)}; peak RSS grew "
            f"{(rss_after - rss_before) / 1024:.1f} MiB (to {rss_after / 1024:.0f} MiB)"
        )


if __name__ == "__main__":
    main()
