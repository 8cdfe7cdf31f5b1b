"""The pipeline benchmark: synth, ingest, resolve, score at N persons, stage by stage.

Each stage runs as its own process; its peak memory is that of its process tree (workers
included), sampled from /proc.
Writes bench/out/pipeline-<persons>.json and rewrites the pipeline section of BENCHMARKS.md.

    uv run python bench/run.py [--persons 1000000] [--orgs 100000] [--no-write]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
BEGIN = "<!-- pipeline:begin -->"
END = "<!-- pipeline:end -->"
#: Stages run after the end-to-end total is taken (scores are published without them).
OUTSIDE_TOTAL = {"serving runs"}


def _tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            statm = (entry / "statm").read_text().split()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
        rss[int(entry.name)] = int(statm[1]) * page
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        total += rss.get(p, 0)
        stack.extend(children.get(p, []))
    return total


def run_stage(name: str, argv: list[str], env: dict[str, str]) -> dict:
    """Run one stage; return wall seconds and the peak resident memory of its process tree
    (worker processes included), sampled every 0.2 s."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.2):
            peak[0] = max(peak[0], _tree_rss(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout = proc.stdout.read() if proc.stdout else b""
    _, status, usage = os.wait4(proc.pid, 0)
    stop.set()
    sampler.join()
    seconds = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"stage {name} failed with exit {code}: {' '.join(argv)}")
    peak_gib = max(peak[0], usage.ru_maxrss * 1024) / 2**30
    print(f"{name:<10} {seconds:8.1f} s  peak {peak_gib:6.2f} GiB", flush=True)
    return {
        "stage": name,
        "seconds": round(seconds, 2),
        "peak_rss_gib": round(peak_gib, 3),
        "stdout_tail": stdout.decode(errors="replace")[-2000:],
    }


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, Python {platform.python_version()}"


def count_rows(home: Path) -> dict[str, int]:
    import duckdb

    files = [str(p) for p in (home / "lake" / "records").glob("furnisher=*/*.parquet")]
    con = duckdb.connect()
    records = con.execute("SELECT count(*) FROM read_parquet($f)", {"f": files}).fetchone()[0]
    subjects = con.execute(
        "SELECT count(DISTINCT subject_id) FROM read_parquet($l)",
        {"l": str(home / "lake" / "links" / "links.parquet")},
    ).fetchone()[0]
    return {"records": int(records), "subjects": int(subjects)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--persons", type=int, default=1_000_000)
    ap.add_argument("--orgs", type=int, default=None, help="default: persons / 10")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--format", default="parquet", choices=["csv", "parquet", "jsonl"])
    ap.add_argument("--no-write", action="store_true", help="do not touch BENCHMARKS.md")
    args = ap.parse_args()
    orgs = args.orgs if args.orgs is not None else args.persons // 10

    work = OUT / f"pipeline-{args.persons}"
    shutil.rmtree(work, ignore_errors=True)
    home, synth = work / "home", work / "synth"
    env = {**os.environ, "OPENBUREAU_HOME": str(home)}
    ob = [sys.executable, "-m", "openbureau.cli"]
    stages = []
    total_start = time.perf_counter()
    stages.append(
        run_stage(
            "synth",
            ob + ["synth", "--persons", str(args.persons), "--orgs", str(orgs),
                  "--seed", str(args.seed), "--out", str(synth), "--format", args.format],
            env,
        )
    )  # fmt: skip
    with open(synth / "furnishers.csv", newline="") as fh:
        furnishers = list(csv.DictReader(fh))
    for f in furnishers:
        subprocess.run(
            ob + ["furnisher", "add", f["furnisher_id"], "--kind", f["kind"], "--name", f["name"]],
            env=env, check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    ingest_argv = [sys.executable, str(ROOT / "bench" / "ingest_all.py"), str(synth)]
    stages.append(run_stage("ingest", ingest_argv, env))
    stages.append(run_stage("resolve", ob + ["resolve"], env))
    from openbureau.demo import month_end

    last_month = max(p.stem for p in (synth / "files").glob("*/*.*"))  # files are YYYY-MM.ext
    as_of = month_end(datetime.strptime(last_month, "%Y-%m").date())
    stages.append(run_stage("score", ob + ["score", "--as-of", as_of.isoformat()], env))
    total = time.perf_counter() - total_start
    print(f"end to end {total:.1f} s (synth, ingest, resolve, score)", flush=True)
    # the serving runs for reports: timed apart, outside the end-to-end total (scores are
    # published without them; reports read every file until they are there)
    stages.append(run_stage("serving runs", ob + ["compact"], env))
    counts = count_rows(home)
    result = {
        "command": f"uv run python bench/run.py --persons {args.persons} --orgs {orgs}",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "persons": args.persons,
        "orgs": orgs,
        "format": args.format,
        **counts,
        "stages": stages,
        "total_seconds": round(total, 1),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"pipeline-{args.persons}.json").write_text(json.dumps(result, indent=2))
    print(f"total {total:.1f} s; {counts['records']:,} records, {counts['subjects']:,} subjects")
    if not args.no_write:
        write_benchmarks(result)


def write_benchmarks(result: dict) -> None:
    rows = [
        "| stage | seconds | records/s | peak memory (GiB) |",
        "|---|---:|---:|---:|",
    ]
    after = []  # stages timed apart, outside the end-to-end total
    for s in result["stages"]:
        rate = result["records"] / s["seconds"] if s["seconds"] else 0
        line = f"| {s['stage']} | {s['seconds']:.1f} | {rate:,.0f} | {s['peak_rss_gib']:.2f} |"
        (after if s["stage"] in OUTSIDE_TOTAL else rows).append(line)
    rows.append(f"| **end to end** (the stages above, and the set-up between them) | "
                f"**{result['total_seconds']:.1f}** | | |")  # fmt: skip
    rows.extend(line.replace("| serving runs |", "| serving runs (after, for reports) |")
                for line in after)  # fmt: skip
    block = "\n".join(
        [
            BEGIN,
            f"Command: `{result['command']}` ({result['format']} furnisher files)  ",
            f"Machine: {result['machine']}  ",
            f"Run: {result['when']}; {result['persons']:,} persons + {result['orgs']:,} "
            f"organisations; {result['records']:,} records in the lake; "
            f"{result['subjects']:,} subjects after resolve.",
            "",
            *rows,
            END,
        ]
    )
    replace_section(BEGIN, END, block, heading="Pipeline")


def replace_section(begin: str, end: str, block: str, heading: str) -> None:
    """Put `block` (which starts with `begin` and ends with `end`) into BENCHMARKS.md in place
    of the old one, or at the end under `heading` the first time."""
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n\n"
    if begin in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + f"\n\n## {heading}\n\n" + block + "\n"
    path.write_text(text)


if __name__ == "__main__":
    main()
