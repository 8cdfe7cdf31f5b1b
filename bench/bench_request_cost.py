"""CPU per request of the bureau's read path and of an inquiry, layer by layer, in one
process without a network (the ASGI app driven directly, one request at a time, with the
API keys bench_load.py seeds): where bench_load.py's gap to the bare endpoint comes from.

    uv run python bench/bench_request_cost.py [--requests 3000] [--subjects 5000]"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import anyio.to_thread

sys.path.insert(0, str(Path(__file__).parent))
from bare_app import build as build_bare  # noqa: E402
from bench_load import seed_ledger, subject_id  # noqa: E402
from openbureau.access.service import authenticate  # noqa: E402
from openbureau.api.app import create_app  # noqa: E402
from openbureau.api.deps import Reader  # noqa: E402
from openbureau.bootstrap import build_bureau  # noqa: E402
from openbureau.config import Settings  # noqa: E402
from openbureau.inquiries.service import make_inquiry  # noqa: E402
from openbureau.reports.service import build_report, get_score  # noqa: E402


def _scope(path: str, key: str, body: bytes) -> dict:
    headers = [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {key}".encode())]
    if body:
        headers += [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST" if body else "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }


async def _requests(app, requests: list[tuple[str, bytes]], n: int, key: str = "") -> float:
    """CPU per request over `requests` (path, body; a body makes a JSON POST); fails unless
    every answer is 200, so an error path is never what gets timed."""
    statuses = []
    body = b""

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    for path, body in requests[:50]:  # warm-up
        await app(_scope(path, key, body), receive, send)
    start = time.process_time()
    for i in range(n):
        path, body = requests[i % len(requests)]
        await app(_scope(path, key, body), receive, send)
    spent = (time.process_time() - start) / n * 1e6
    if set(statuses) != {200}:
        raise SystemExit(f"answers other than 200: {sorted(set(statuses))}")
    return spent


def _calls(fn, n: int) -> float:
    for _ in range(50):
        fn()
    start = time.process_time()
    for _ in range(n):
        fn()
    return (time.process_time() - start) / n * 1e6


async def _hops(n: int) -> float:
    start = time.process_time()
    for _ in range(n):
        await anyio.to_thread.run_sync(int)
    return (time.process_time() - start) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--subjects", type=int, default=5000)
    args = parser.parse_args()
    n = args.requests
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(home=Path(tmp) / "home", environment="test", rate_limit_per_second=1e9)
        keys = seed_ledger(settings, args.subjects)
        bureau = build_bureau(settings)
        ids = [subject_id(i) for i in range(args.subjects)]
        reads = [(f"/v1/subjects/{s}/score", b"") for s in ids[::7]]
        inquiries = [
            (
                "/v1/inquiries",
                json.dumps({"subject_id": s, "purpose": "credit_application"}).encode(),
            )
            for s in ids[::7]
        ]
        reader = Reader(bureau, "bench", "bench")
        lender = authenticate(bureau.ledger, keys["inquirer"])
        as_of = date.today()
        rows = [
            ("bare FastAPI endpoint (async, no dependencies)", asyncio.run(
                _requests(build_bare(), [("/bare", b"")], n))),
            ("bureau GET /v1/subjects/{id}/score, whole request", asyncio.run(
                _requests(create_app(settings), reads, n, keys["operator"]))),
            ("  of which: one worker-thread hop (anyio)", asyncio.run(_hops(n))),
            ("  (a key lookup, only on a key-cache miss: authenticate)", _calls(
                lambda: authenticate(bureau.ledger, keys["operator"]), n)),
            ("  of which: the score read (get_score)", _calls(
                lambda: get_score(bureau, random.choice(ids), as_of), n)),
            ("  of which: the audit append (one read, own transaction)", _calls(
                lambda: reader.record("score.read", [random.choice(ids)], as_of=as_of), n)),
            ("bureau POST /v1/inquiries (credit_application), whole request", asyncio.run(
                _requests(create_app(settings), inquiries, n // 3, keys["inquirer"]))),
            ("  of which: make_inquiry (report, inquiry, notice, audit)", _calls(
                lambda: make_inquiry(bureau, lender, "credit_application",
                                     subject_id=random.choice(ids), as_of=as_of,
                                     now=datetime.now(UTC)), n // 3)),
            ("  of which: the answer's report (build_report, holder_view=False)", _calls(
                lambda: build_report(bureau, random.choice(ids), as_of, holder_view=False),
                n // 3)),
            ("  (the holder's full report, for comparison: build_report)", _calls(
                lambda: build_report(bureau, random.choice(ids), as_of), n // 3)),
        ]  # fmt: skip
    for label, micros in rows:
        print(f"{label:60s} {micros:7.0f} us CPU")


if __name__ == "__main__":
    main()
