"""Load: the bureau's read endpoint against a bare FastAPI JSON endpoint, both served by
uvicorn the same way, driven from a second process on 127.0.0.1 over keep-alive
connections; then a soak that watches the bureau process's memory.

    uv run python bench/bench_load.py [--connections 32] [--seconds 10] [--rounds 3]
        [--soak-seconds 300] [--subjects 20000] [--ledger-url URL]
        [--method GET] [--path '/v1/subjects/{subject}/score'] [--body JSON]
        [--role operator|inquirer] [--header 'Name: value' ...] [--write]

`{subject}` in --path and --body is replaced by a random scored subject on each request.
Seeding the ledger also registers a party and issues it an API key of `--role` (default:
inquirer for /v1/inquiries, operator otherwise); every request carries it as
`Authorization: Bearer` unless a --header gives its own Authorization, where `{key}` stands
for the issued key. So inquiries are measured with e.g.
`--method POST --path /v1/inquiries
--body '{"subject_id": "{subject}", "purpose": "credit_application"}'`.
`--ledger-url` must name an empty database or schema (the run seeds it); `--workers N` runs
both servers in N processes. Targets: bureau throughput >= 50% of the bare endpoint's,
p99 <= 25 ms, no errors, flat memory over the soak."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from run import machine, replace_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OPENBUREAU = str(Path(sys.executable).with_name("openbureau"))
AS_OF = date(2025, 12, 31)


def subject_id(i: int) -> str:
    return f"S{i:07d}"


#: The party given the benchmark's key, per role: (party id, party kind).
PARTIES = {"operator": ("bench-ops", "operator"), "inquirer": ("bench-lender", "lender")}


def seed_ledger(settings, n: int) -> dict[str, str]:
    """`n` subjects, each with one published score and four reasons (no lake needed), and for
    each role of PARTIES a party holding a key of it; returns the keys by role."""
    from sqlalchemy import insert  # noqa: PLC0415 - only the orchestrator needs these

    from openbureau.access.service import add_party, create_key  # noqa: PLC0415
    from openbureau.bootstrap import build_bureau  # noqa: PLC0415
    from openbureau.storage.ledger import models, scores, subjects  # noqa: PLC0415

    bureau = build_bureau(settings)
    now = datetime.now(UTC)
    reasons = [
        {"code": f"C0{k}", "text": f"Reason {k}.", "pillar": "commercial", "points_lost": 9.5}
        for k in range(1, 5)
    ]
    with bureau.ledger.begin() as conn:
        conn.execute(
            insert(models),
            [
                {
                    "model_version": "bench",
                    "created_at": now,
                    "train_as_of": AS_OF,
                    "artefact_path": "models/bench",
                    "metrics": {},
                    "champion": True,
                }
            ],
        )
        for start in range(0, n, 10_000):
            ids = [subject_id(i) for i in range(start, min(n, start + 10_000))]
            conn.execute(
                insert(subjects),
                [
                    {"subject_id": s, "subject_kind": "person", "display_name": s,
                     "created_at": now}
                    for s in ids
                ],
            )  # fmt: skip
            conn.execute(
                insert(scores),
                [
                    {"subject_id": s, "as_of": AS_OF, "model_version": "bench",
                     "scorable": True, "score": 600 + i % 300, "pillar_commercial": 70.0,
                     "reasons": reasons, "published_at": now}
                    for i, s in enumerate(ids)
                ],
            )  # fmt: skip
    keys = {}
    for role, (party, kind) in PARTIES.items():
        add_party(bureau.ledger, party, kind, f"{party} (benchmark)", actor="bench", now=now)
        keys[role] = create_key(bureau.ledger, party, role, actor="bench", now=now).text
    bureau.ledger.dispose()
    return keys


def existing_home(settings, role: str) -> tuple[list[str], str]:
    """The scored subjects of an existing bureau, and a new key of `role` for the benchmark's
    party of that role (registered if the bureau does not have it yet)."""
    from sqlalchemy import select  # noqa: PLC0415

    from openbureau.access.service import add_party, create_key  # noqa: PLC0415
    from openbureau.bootstrap import build_bureau  # noqa: PLC0415
    from openbureau.storage.ledger import parties, scores  # noqa: PLC0415

    bureau = build_bureau(settings)
    now = datetime.now(UTC)
    party, kind = PARTIES[role]
    with bureau.ledger.connect() as conn:
        ids = sorted(set(conn.execute(select(scores.c.subject_id)).scalars()))
        known = conn.execute(select(parties.c.party_id).where(parties.c.party_id == party)).first()
    if not known:
        add_party(bureau.ledger, party, kind, f"{party} (benchmark)", actor="bench", now=now)
    key = create_key(bureau.ledger, party, role, actor="bench", now=now).text
    bureau.ledger.dispose()
    if not ids:
        raise SystemExit(f"{settings.home} has no scored subjects: run the pipeline first")
    return ids, key


def with_key(headers: list[str], key: str) -> list[str]:
    """The request headers with `{key}` filled in, plus the key as a bearer token unless an
    Authorization header is given."""
    filled = [h.replace("{key}", key) for h in headers]
    if not any(h.lower().startswith("authorization:") for h in filled):
        filled.append(f"Authorization: Bearer {key}")
    return filled


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)


def wait_up(proc: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"server did not start:\n{log.read_text()}")
        time.sleep(0.3)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def load(url: str, args, seconds: float, subjects: int | None) -> dict:
    """Run the load generator in a process of its own and return its figures."""
    spec = {
        "url": url,
        "connections": args.connections,
        "seconds": seconds,
        "method": args.method if subjects else "GET",
        "path": args.path if subjects else "/bare",
        "body": args.body if subjects else None,
        "headers": args.header if subjects else [],
        "subjects": args.subject_ids if subjects else ["-"],
    }
    out = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("loadgen.py"))],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def slope_mib_per_min(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of RSS over time, MiB per minute."""
    ts = [t for t, _ in samples]
    ms = [m for _, m in samples]
    t_mean, m_mean = statistics.fmean(ts), statistics.fmean(ms)
    var = sum((t - t_mean) ** 2 for t in ts)
    cov = sum((t - t_mean) * (m - m_mean) for t, m in samples)
    return 60 * cov / var if var else 0.0


def soak(url: str, args, pid: int) -> dict:
    """Load the bureau for --soak-seconds while sampling its RSS every few seconds."""
    spec_proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("loadgen.py"))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    spec = {
        "url": url,
        "connections": args.connections,
        "seconds": args.soak_seconds,
        "method": args.method,
        "path": args.path,
        "body": args.body,
        "headers": args.header,
        "subjects": args.subject_ids,
    }
    assert spec_proc.stdin is not None
    spec_proc.stdin.write(json.dumps(spec))
    spec_proc.stdin.close()
    t0 = time.monotonic()
    samples = []
    while spec_proc.poll() is None:
        samples.append((time.monotonic() - t0, rss_mib(pid)))
        time.sleep(min(5.0, max(0.5, args.soak_seconds / 60)))
    assert spec_proc.stdout is not None
    result = json.loads(spec_proc.stdout.read())
    # the first tenth is warm-up (caches, pools, the allocator's arenas filling)
    steady = [s for s in samples if s[0] >= args.soak_seconds / 10]
    result["rss"] = {
        "start_mib": steady[0][1],
        "end_mib": samples[-1][1],
        "peak_mib": max(m for _, m in samples),
        "slope_mib_per_min": slope_mib_per_min(steady),
        "samples": len(samples),
        # the series at its quarters, to tell a plateau from a climb
        "quarters_mib": [
            samples[min(len(samples) - 1, len(samples) * q // 4)][1] for q in (1, 2, 3, 4)
        ],
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10, help="per measured round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--soak-seconds", type=float, default=300)
    parser.add_argument("--subjects", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=1, help="server processes, both apps")
    parser.add_argument("--ledger-url", default=None, help="default: SQLite in a temp home")
    parser.add_argument(
        "--home",
        type=Path,
        default=None,
        help="an existing bureau home (e.g. `openbureau demo --no-serve --home DIR`) to serve "
        "instead of a seeded ledger: its scored subjects, with their records in its lake",
    )
    parser.add_argument("--method", default="GET")
    parser.add_argument("--path", default="/v1/subjects/{subject}/score")
    parser.add_argument("--body", default=None)
    parser.add_argument("--header", action="append", default=[], help="{key}: the API key")
    parser.add_argument(
        "--role", choices=sorted(PARTIES), help="the key's role (default: by --path)"
    )
    parser.add_argument("--write", action="store_true", help="write BENCHMARKS.md's Load")
    parser.add_argument(
        "--section", default="load", help="the marked block of BENCHMARKS.md --write replaces"
    )
    args = parser.parse_args()

    from openbureau.config import Settings  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as tmp:
        role = args.role or ("inquirer" if args.path.startswith("/v1/inquiries") else "operator")
        if args.home:
            home = args.home
            settings = Settings(home=home, ledger_url=args.ledger_url, environment="test")
            args.subject_ids, key = existing_home(settings, role)
            args.subjects = len(args.subject_ids)
        else:
            home = Path(tmp) / "home"
            settings = Settings(home=home, ledger_url=args.ledger_url, environment="test")
            args.subject_ids = [subject_id(i) for i in range(args.subjects)]
            key = seed_ledger(settings, args.subjects)[role]
        args.header = with_key(args.header, key)
        env = {
            **os.environ,
            "OPENBUREAU_ENVIRONMENT": "test",
            # one load generator is one client address: limits stay on (their cost is
            # measured) but far above what it can send
            "OPENBUREAU_RATE_LIMIT_PER_SECOND": "1000000",
            "OPENBUREAU_RATE_LIMIT_BURST": "1000000",
        }
        if args.ledger_url:
            env["OPENBUREAU_LEDGER_URL"] = args.ledger_url
        ports = free_port(), free_port()
        bureau_url, bare_url = (f"http://127.0.0.1:{p}" for p in ports)
        logs = Path(tmp) / "bureau.log", Path(tmp) / "bare.log"
        bureau = start(
            [OPENBUREAU, "serve", "--port", str(ports[0]), "--home", str(home)]
            + ["--workers", str(args.workers)],
            env,
            logs[0],
        )
        bare = start(
            [sys.executable, str(Path(__file__).with_name("bare_app.py"))]
            + [str(ports[1]), str(args.workers)],
            env,
            logs[1],
        )
        try:
            wait_up(bureau, f"{bureau_url}/healthz", logs[0])
            wait_up(bare, f"{bare_url}/bare", logs[1])
            load(bureau_url, args, 3, args.subjects)  # warm-up both
            load(bare_url, args, 3, None)
            rounds = []
            for r in range(args.rounds):
                b = load(bare_url, args, args.seconds, None)
                o = load(bureau_url, args, args.seconds, args.subjects)
                rounds.append({"bare": b, "bureau": o})
                print(
                    f"round {r + 1}: bare {b['rps']:,.0f}/s p99 {b['p99_ms']:.1f} ms; "
                    f"bureau {o['rps']:,.0f}/s p50 {o['p50_ms']:.1f} ms "
                    f"p99 {o['p99_ms']:.1f} ms errors {o['errors']}",
                    flush=True,
                )
            soaked = soak(bureau_url, args, bureau.pid) if args.soak_seconds > 0 else None
        finally:
            for proc in (bureau, bare):
                proc.terminate()
                proc.wait(timeout=30)
    summary = summarise(rounds, soaked, args)
    print(json.dumps(summary, indent=2))
    if args.write:
        write_benchmarks(summary, args)


def summarise(rounds: list[dict], soaked: dict | None, args) -> dict:
    med = statistics.median
    bare = med(r["bare"]["rps"] for r in rounds)
    ours = med(r["bureau"]["rps"] for r in rounds)
    return {
        "bare_rps": bare,
        "bureau_rps": ours,
        "ratio": med(r["bureau"]["rps"] / r["bare"]["rps"] for r in rounds),
        "bare_p99_ms": med(r["bare"]["p99_ms"] for r in rounds),
        "p50_ms": med(r["bureau"]["p50_ms"] for r in rounds),
        "p99_ms": med(r["bureau"]["p99_ms"] for r in rounds),
        "errors": sum(r["bureau"]["errors"] + r["bare"]["errors"] for r in rounds),
        "requests": sum(r["bureau"]["requests"] for r in rounds),
        "soak": soaked,
    }


def write_benchmarks(s: dict, args) -> None:
    soak_rows = []
    if s["soak"]:
        k = s["soak"]
        rss = k["rss"]
        soak_rows = [
            f"| soak ({args.soak_seconds:.0f} s): throughput, p50 / p99 | {k['rps']:,.0f} req/s, "
            f"{k['p50_ms']:.1f} / {k['p99_ms']:.1f} ms | |",
            f"| soak: errors | {k['errors']} of {k['requests']:,} | 0 |",
            f"| soak: bureau process RSS, start -> end (peak) | {rss['start_mib']:.1f} -> "
            f"{rss['end_mib']:.1f} MiB ({rss['peak_mib']:.1f}) | flat |",
            f"| soak: RSS at 1/4, 1/2, 3/4, end | "
            f"{' / '.join(f'{m:.1f}' for m in rss['quarters_mib'])} MiB | flat |",
            f"| soak: RSS slope (least squares, after the first tenth) | "
            f"{rss['slope_mib_per_min']:+.2f} MiB/min | ~0 |",
        ]
    begin, end = f"<!-- {args.section}:begin -->", f"<!-- {args.section}:end -->"
    cmd = shlex.join(a for a in sys.argv[1:] if a != "--write")
    if args.home:  # a temporary folder means nothing to a reader
        cmd = cmd.replace(shlex.quote(str(args.home)), "DEMO_HOME")
    role = args.role or ("inquirer" if args.path.startswith("/v1/inquiries") else "operator")
    each = (
        "each inquiry recorded with its notice to the subject and its audit entry in one "
        "transaction"
        if args.path.startswith("/v1/inquiries")
        else "every read appending an audit entry"
    )
    block = "\n".join(
        [
            begin,
            f"Command: `uv run python bench/bench_load.py {cmd}`  ",
            f"Machine: {machine()}; run {date.today().isoformat()}; load generator and "
            "servers share the machine's cores.",
            "",
            f"{args.method} `{args.path}` with an {role} API key on {args.workers} uvicorn "
            "process(es) (uvloop, httptools, access log on, hardening on) over a "
            f"{'PostgreSQL' if args.ledger_url else 'SQLite'} ledger of {args.subjects:,} "
            + (
                "scored subjects (the demo's bureau: each answer built from the subject's "
                "records in the lake, through its serving runs)"
                if args.home
                else "scored subjects (seeded: no records in the lake)"
            )
            + f", {each}; against a bare FastAPI "
            f"`async` JSON endpoint served the same way; {args.connections} keep-alive "
            f"connections; medians of {args.rounds} alternating rounds of "
            f"{args.seconds:.0f} s.",
            "",
            "| measurement | result | target |",
            "|---|---:|---:|",
            f"| bare FastAPI endpoint | {s['bare_rps']:,.0f} req/s (p99 "
            f"{s['bare_p99_ms']:.1f} ms) | |",
            f"| bureau endpoint | {s['bureau_rps']:,.0f} req/s | |",
            f"| bureau / bare | {100 * s['ratio']:.0f}% | >= 50% |",
            f"| bureau p50 / p99 latency | {s['p50_ms']:.1f} / {s['p99_ms']:.1f} ms "
            "| p99 <= 25 ms |",
            f"| errors (measured rounds) | {s['errors']} of {s['requests']:,} | 0 |",
            *soak_rows,
            end,
        ]
    )
    replace_section(begin, end, block, heading="Load (API throughput, latency, memory)")


if __name__ == "__main__":
    main()
