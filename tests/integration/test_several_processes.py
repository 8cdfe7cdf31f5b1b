"""Several API processes against one PostgreSQL ledger keep one intact audit chain: three
uvicorn processes serve concurrent reads (each read of a file appends an entry), then
`openbureau audit verify` checks the chain and the count of entries."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine, func, select

from keys import bearer, issue_key
from openbureau.bootstrap import build_bureau
from openbureau.storage.ledger import audit_log
from report_fixture import DEFAULTER, GOOD, ORG, THIN, UNSCORED, build_report_fixture

PROCESSES = 3
REQUESTS = 600
CONNECTIONS = 24
OPENBUREAU = str(Path(sys.executable).with_name("openbureau"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(home: Path, env: dict[str, str], log: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [OPENBUREAU, "serve", "--port", str(port), "--home", str(home)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    return proc, f"http://127.0.0.1:{port}"


def _wait_until_up(servers: list[tuple[subprocess.Popen, str]], logs: list[Path]) -> None:
    deadline = time.monotonic() + 90
    for (proc, base), log in zip(servers, logs, strict=True):
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, f"server exited:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"server not up in 90 s:\n{log.read_text()}"
            time.sleep(0.2)


# (path, appends an audit entry when it answers 200): score and report reads of files are
# audited; a subject without a score (404) and an unknown one are not.
READS = [
    *(f"/v1/subjects/{s}/score" for s in (GOOD, THIN, DEFAULTER, ORG)),
    *(f"/v1/subjects/{s}/report" for s in (GOOD, ORG)),
    f"/v1/subjects/{UNSCORED}/score",
    "/v1/subjects/S999999/score",
]


async def _hammer(bases: list[str], key: str) -> list[tuple[str, int]]:
    queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    for i in range(REQUESTS):
        queue.put_nowait((bases[i % len(bases)], READS[i % len(READS)]))
    answers: list[tuple[str, int]] = []

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            base, path = queue.get_nowait()
            r = await client.get(base + path)
            answers.append((base, r.status_code))

    limits = httpx.Limits(max_connections=CONNECTIONS)
    async with httpx.AsyncClient(limits=limits, timeout=60, headers=bearer(key)) as client:
        await asyncio.gather(*(worker(client) for _ in range(CONNECTIONS)))
    return answers


def _entry_count(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(audit_log)).scalar_one()
    engine.dispose()
    return count


def test_three_processes_on_one_postgresql_keep_one_intact_chain(tmp_path, postgres_ledger_url):
    home = tmp_path / "home"
    settings = build_report_fixture(home, postgres_ledger_url).settings
    key = issue_key(build_bureau(settings).ledger, "ops-procs", "operator", "operator")
    before = _entry_count(postgres_ledger_url)
    env = {
        **os.environ,
        "OPENBUREAU_LEDGER_URL": postgres_ledger_url,
        "OPENBUREAU_ENVIRONMENT": "test",
        # one test client is one address: rate limiting would turn the load into 429s
        "OPENBUREAU_RATE_LIMIT_PER_SECOND": "0",
    }
    logs = [tmp_path / f"server-{i}.log" for i in range(PROCESSES)]
    servers = [_start(home, env, log) for log in logs]
    try:
        _wait_until_up(servers, logs)
        answers = asyncio.run(_hammer([base for _, base in servers], key))
    finally:
        for proc, _ in servers:
            proc.terminate()
        for proc, _ in servers:
            proc.wait(timeout=30)

    assert len(answers) == REQUESTS
    assert {code for _, code in answers} == {200, 404}, "every read answered, no error"
    audited = sum(code == 200 for _, code in answers)
    per_server = {base: sum(code == 200 for b, code in answers if b == base) for _, base in servers}
    assert all(n > 100 for n in per_server.values()), per_server

    env.pop("OPENBUREAU_RATE_LIMIT_PER_SECOND")
    verify = subprocess.run(
        [OPENBUREAU, "audit", "verify", "--home", str(home)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    checked = re.search(
        r"audit chain intact: (\d+) entries checked", " ".join(verify.stdout.split())
    )
    assert checked, verify.stdout
    assert int(checked.group(1)) == before + audited == _entry_count(postgres_ledger_url)
