"""A scoring run's publication against the audited work that goes on meanwhile: how long the
publication takes, and how long an audited action (a report read's entry, in its own
transaction, as the API commits it) waits while it runs.

Two ways of publishing, alternated in each round on one ledger:

- `before`: the rows written straight into `scores`, then the run's audit entry (the code
  until session 13). On SQLite the ledger's write lock is held from the first row, so every
  audited action waits for the whole upload (and fails after the busy timeout, 10 s); on
  PostgreSQL the run holds its rows while it waits for the chain, against an erasure that
  holds the chain while it waits for the rows (a deadlock).
- `after`: `scoring.service._publish`: the rows staged in a temporary table without a lock,
  then copied in; the chain's lock taken after the copy (a new date) or before the old rows
  go (`--replace`: the same date published again).

    uv run python bench/bench_publish.py [--rows 1000000] [--rounds 2] [--ledger-url URL]"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, insert

from openbureau.audit import service as audit
from openbureau.bootstrap import build_bureau
from openbureau.config import Settings
from openbureau.scoring import service as scoring
from openbureau.storage.ledger import runs, scores, subjects

AS_OF = date(2025, 12, 31)
VERSION = "sc-bench"
_CHUNK = scoring._CHUNK


def _rows(n: int) -> list[dict]:
    now = datetime.now(UTC)
    reasons = [
        {"code": f"R{i}", "text": "a reason of about this length", "points": -10.5}
        for i in range(4)
    ]
    return [
        {
            "subject_id": f"S{i:016d}",
            "as_of": AS_OF,
            "model_version": VERSION,
            "scorable": i % 10 != 0,
            "score": None if i % 10 == 0 else 300 + i % 600,
            "not_scorable_reason": "no records" if i % 10 == 0 else None,
            "pillar_commercial": 0.5,
            "pillar_judicial": 0.25,
            "pillar_societal": None,
            "pillar_government": 0.75,
            "reasons": reasons,
            "published_at": now,
        }
        for i in range(n)
    ]


def _publish_before(bureau, as_of: date, rows: list[dict], run_row: dict) -> None:
    """The publication as it was: rows first, the chain at the end (kept here to compare)."""
    with bureau.ledger.begin() as conn:
        conn.execute(
            delete(scores).where(scores.c.as_of == as_of, scores.c.model_version == VERSION)
        )
        for start in range(0, len(rows), _CHUNK):
            conn.execute(insert(scores), rows[start : start + _CHUNK])
        finished_at = datetime.now(UTC)
        conn.execute(insert(runs), [{**run_row, "finished_at": finished_at}])
        audit.append(
            conn,
            actor=audit.LOCAL_OPERATOR,
            action="scores.published",
            purpose="score-publication",
            payload={**run_row["details"], "rows": len(rows)},
            occurred_at=finished_at,
        )


def _publish_after(bureau, as_of: date, rows: list[dict], run_row: dict) -> None:
    scoring._publish(bureau, as_of, VERSION, rows, run_row, lambda *_: None)


class _Reader(threading.Thread):
    """Appends a report read's entry, each in its own transaction, until told to stop."""

    def __init__(self, engine) -> None:
        super().__init__(daemon=True)
        self.engine = engine
        self.waits: list[float] = []
        self.errors: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        i = 0
        while not self.stop.is_set():
            t = time.perf_counter()
            try:
                with self.engine.begin() as conn:
                    audit.append(
                        conn,
                        actor="bench-reader",
                        action="report.read",
                        subject_id=f"S{i:016d}",
                        purpose="account_review",
                        payload={"channel": "api"},
                        occurred_at=datetime.now(UTC),
                    )
            except Exception as exc:  # noqa: BLE001 - counted and shown
                self.errors.append(type(exc).__name__)
            self.waits.append(time.perf_counter() - t)  # a failed append's wait included
            i += 1
            time.sleep(0.01)


def _measure(bureau, how, rows: list[dict], as_of: date) -> dict:
    for row in rows:
        row["as_of"] = as_of
    run_row = {"stage": "score", "started_at": datetime.now(UTC), "details": {"bench": True}}
    reader = _Reader(bureau.ledger)
    reader.start()
    time.sleep(0.3)  # the reader is appending before the run starts
    t = time.perf_counter()
    how(bureau, as_of, rows, run_row)
    seconds = time.perf_counter() - t
    time.sleep(0.3)
    reader.stop.set()
    reader.join()
    return {
        "seconds": seconds,
        "max_wait": max(reader.waits, default=float("nan")),
        "appends": len(reader.waits) - len(reader.errors),
        "errors": len(reader.errors),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--replace",
        action="store_true",
        help="publish one date again each time (default: a new date each time, a daily run)",
    )
    parser.add_argument(
        "--ledger-url", default=None, help="an empty database (default: SQLite in a temp dir)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(home=Path(tmp) / "home", environment="test")
        if args.ledger_url:
            settings = Settings(
                home=Path(tmp) / "home", environment="test", ledger_url=args.ledger_url
            )
        bureau = build_bureau(settings)
        rows = _rows(args.rows)
        now = datetime.now(UTC)
        with bureau.ledger.begin() as conn:
            for start in range(0, len(rows), 50_000):
                conn.execute(
                    insert(subjects),
                    [
                        {
                            "subject_id": r["subject_id"],
                            "subject_kind": "person",
                            "display_name": "A Person",
                            "created_at": now,
                        }
                        for r in rows[start : start + 50_000]
                    ],
                )
        print(
            f"{args.rows:,} score rows on {bureau.ledger.dialect.name}; "
            f"{platform.processor() or platform.machine()}, {args.rounds} rounds, "
            "a reader appending an audited read every 10 ms meanwhile; "
            + (
                "the same date published again each time"
                if args.replace
                else "a new date each time"
            )
        )
        found: dict[str, list[dict]] = {"before": [], "after": []}
        day = 0
        for r in range(args.rounds):
            for name, how in (("before", _publish_before), ("after", _publish_after)):
                day += 0 if args.replace else 1
                m = _measure(bureau, how, rows, AS_OF + timedelta(days=day))
                found[name].append(m)
                print(
                    f"round {r + 1} {name:6}: publish {m['seconds']:.1f} s; reader: "
                    f"{m['appends']} appends, longest wait {m['max_wait']:.2f} s, "
                    f"{m['errors']} errors"
                )
        for name, ms in found.items():
            print(
                f"median {name:6}: publish {statistics.median(m['seconds'] for m in ms):.1f} s, "
                f"longest wait {statistics.median(m['max_wait'] for m in ms):.2f} s, "
                f"errors {sum(m['errors'] for m in ms)}"
            )


if __name__ == "__main__":
    main()
