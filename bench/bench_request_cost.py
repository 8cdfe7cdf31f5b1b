"""CPU per request of the bureau's read path, layer by layer, in one process without a
network (the ASGI app driven directly, one request at a time): where bench_load.py's gap
to the bare endpoint comes from.

    uv run python bench/bench_request_cost.py [--requests 3000] [--subjects 5000]"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import anyio.to_thread

sys.path.insert(0, str(Path(__file__).parent))
from bare_app import build as build_bare  # noqa: E402
from bench_load import seed_ledger, subject_id  # noqa: E402
from openbureau.api.app import create_app  # noqa: E402
from openbureau.api.deps import Reader  # noqa: E402
from openbureau.bootstrap import build_bureau  # noqa: E402
from openbureau.config import Settings  # noqa: E402
from openbureau.reports.service import get_score  # noqa: E402


def _scope(path: str) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }


async def _requests(app, paths: list[str], n: int) -> float:
    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        return None

    for path in paths[:50]:  # warm-up
        await app(_scope(path), receive, send)
    start = time.process_time()
    for i in range(n):
        await app(_scope(paths[i % len(paths)]), receive, send)
    return (time.process_time() - start) / n * 1e6


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
        seed_ledger(settings, args.subjects)
        bureau = build_bureau(settings)
        ids = [subject_id(i) for i in range(args.subjects)]
        paths = [f"/v1/subjects/{s}/score" for s in ids[::7]]
        reader = Reader(bureau, "bench", "bench")
        as_of = date.today()
        rows = [
            ("bare FastAPI endpoint (async, no dependencies)", asyncio.run(
                _requests(build_bare(), ["/bare"], n))),
            ("bureau GET /v1/subjects/{id}/score, whole request", asyncio.run(
                _requests(create_app(settings), paths, n))),
            ("  of which: one worker-thread hop (anyio)", asyncio.run(_hops(n))),
            ("  of which: the score read (get_score)", _calls(
                lambda: get_score(bureau, random.choice(ids), as_of), n)),
            ("  of which: the audit append (one read, own transaction)", _calls(
                lambda: reader.record("score.read", [random.choice(ids)], as_of=as_of), n)),
        ]  # fmt: skip
    for label, micros in rows:
        print(f"{label:60s} {micros:7.0f} us CPU")


if __name__ == "__main__":
    main()
