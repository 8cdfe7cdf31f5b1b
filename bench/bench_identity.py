"""Identity resolution benchmark: quality against ground truth, and speed at scale.

Quality: a synthetic population at the default noise and at `--noise high` (pairwise
precision, recall and F1 over records; mixed-file and split rates), and FEBRL4 fed through the
product's own ingest. Speed: a full resolve of `--scale-persons` persons on this machine, then
an incremental batch of 1% more people (a second population, furnished by the same kinds of
furnisher under their own ids) resolved against them.

Writes bench/out/identity.json and the identity section of BENCHMARKS.md.

    uv run python bench/bench_identity.py [--persons 20000] [--scale-persons 1000000]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from openbureau.bootstrap import build_bureau  # noqa: E402
from openbureau.config import Settings  # noqa: E402
from openbureau.identity import quality  # noqa: E402
from openbureau.identity.febrl import febrl_to_profiles  # noqa: E402
from run import OUT, ROOT, machine, replace_section, run_stage  # noqa: E402

BEGIN = "<!-- identity:begin -->"
END = "<!-- identity:end -->"
OB = [sys.executable, "-m", "openbureau.cli"]
FEBRL = ROOT / "tests" / "data" / "febrl4"


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "OPENBUREAU_HOME": str(home)}


def _furnish(synth: Path, env: dict, suffix: str = "") -> None:
    """Register the population's furnishers (under `id + suffix`) and ingest their files."""
    with open(synth / "furnishers.csv", newline="") as fh:
        furnishers = list(csv.DictReader(fh))
    for f in furnishers:
        fid = f["furnisher_id"] + suffix
        subprocess.run(
            OB + ["furnisher", "add", fid, "--kind", f["kind"], "--name", f["name"] + suffix],
            env=env, check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    if not suffix:
        ingest_all = [sys.executable, str(ROOT / "bench" / "ingest_all.py"), str(synth)]
        run_stage("ingest", ingest_all, env)
        return
    for f in furnishers:
        files = sorted((synth / "files" / f["furnisher_id"]).glob("*.*"))
        if files:
            subprocess.run(
                OB + ["ingest", *map(str, files), "--furnisher", f["furnisher_id"] + suffix],
                env=env, check=True, stdout=subprocess.DEVNULL,
            )  # fmt: skip


def _synth(persons: int, orgs: int, seed: int, out: Path, noise: str, env: dict) -> None:
    run_stage(
        "synth",
        OB + ["synth", "--persons", str(persons), "--orgs", str(orgs), "--seed", str(seed),
              "--out", str(out), "--noise", noise, "--format", "parquet"],
        env,
    )  # fmt: skip


def _measure(home: Path, truth: Path) -> dict:
    lake = build_bureau(Settings(home=home)).lake
    return {
        "all": quality.measure(lake, truth).to_dict(),
        "person": quality.measure(lake, truth, "person").to_dict(),
        "organisation": quality.measure(lake, truth, "organisation").to_dict(),
    }


def quality_run(persons: int, orgs: int, noise: str, seed: int) -> dict:
    work = OUT / f"identity-{noise}-{persons}"
    shutil.rmtree(work, ignore_errors=True)
    home, synth = work / "home", work / "synth"
    env = _env(home)
    _synth(persons, orgs, seed, synth, noise, env)
    _furnish(synth, env)
    stage = run_stage("resolve", OB + ["resolve"], env)
    return {"noise": noise, "persons": persons, "orgs": orgs, "resolve": stage,
            **_measure(home, synth / "truth" / "records.parquet")}  # fmt: skip


def febrl_run() -> dict:
    work = OUT / "identity-febrl4"
    shutil.rmtree(work, ignore_errors=True)
    home = work / "home"
    env = _env(home)
    rows = []
    for half in ("a", "b"):
        fid = f"febrl-{half}"
        subprocess.run(OB + ["furnisher", "add", fid, "--kind", "bank", "--name", fid],
                       env=env, check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        path = work / f"febrl4{half}.csv"
        rows += [(fid, r, 1, p) for r, p in febrl_to_profiles(FEBRL / f"dataset4{half}.csv", path)]
        subprocess.run(OB + ["ingest", str(path), "--furnisher", fid], env=env, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
    f, r, v, p = zip(*rows, strict=True)
    truth = work / "truth.parquet"
    pq.write_table(
        pa.table({"furnisher_id": list(f), "record_id": list(r),
                  "version": pa.array(v, pa.int64()), "true_subject_id": list(p)}),
        truth,
    )  # fmt: skip
    stage = run_stage("resolve", OB + ["resolve"], env)
    lake = build_bureau(Settings(home=home)).lake
    return {"resolve": stage, "all": quality.measure(lake, truth).to_dict()}


def scale_run(persons: int, orgs: int, seed: int) -> dict:
    work = OUT / f"identity-scale-{persons}"
    shutil.rmtree(work, ignore_errors=True)
    home, synth, extra = work / "home", work / "synth", work / "synth-extra"
    env = _env(home)
    _synth(persons, orgs, seed, synth, "default", env)
    _furnish(synth, env)
    full = run_stage("resolve-full", OB + ["resolve"], env)
    measured = _measure(home, synth / "truth" / "records.parquet")
    _synth(max(persons // 100, 1), max(orgs // 100, 1), seed + 1, extra, "default", env)
    _furnish(extra, env, suffix="-x")
    incremental = run_stage("resolve-incr", OB + ["resolve"], env)
    again = run_stage("resolve-noop", OB + ["resolve"], env)
    return {"persons": persons, "orgs": orgs, "full": full, "incremental": incremental,
            "up_to_date": again, **measured}  # fmt: skip


def rescale_run(persons: int, orgs: int, seed: int, round_: int, full: bool = True) -> dict:
    """Re-time an existing scale home (from `scale_run`): one more 1% batch incrementally,
    then a full relink. For re-measuring after a change without re-ingesting the world."""
    work = OUT / f"identity-scale-{persons}"
    home, extra = work / "home", work / f"synth-extra-{round_}"
    env = _env(home)
    shutil.rmtree(extra, ignore_errors=True)
    # seeds seed+2, seed+3, ...: scale_run's own extra batch used seed+1
    _synth(max(persons // 100, 1), max(orgs // 100, 1), seed + 1 + round_, extra, "default", env)
    _furnish(extra, env, suffix=f"-x{round_}")
    incremental = run_stage("resolve-incr", OB + ["resolve"], env)
    again = run_stage("resolve-noop", OB + ["resolve"], env)
    full = run_stage("resolve-full", OB + ["resolve", "--full"], env) if full else None
    return {"persons": persons, "orgs": orgs, "full": full, "incremental": incremental,
            "up_to_date": again}  # fmt: skip


def _row(name: str, q: dict) -> str:
    return (
        f"| {name} | {q['records']:,} | {q['subjects']:,} | {q['true_identities']:,} | "
        f"{q['precision']:.5f} | {q['recall']:.5f} | {q['f1']:.5f} | "
        f"{100 * q['mixed_file_rate']:.3f}% | {100 * q['split_rate']:.2f}% |"
    )


def write_benchmarks(result: dict) -> None:
    lines = [
        BEGIN,
        f"Command: `{result['command']}`, {result['when']}.  ",
        f"Machine: {result['machine']}.",
        "",
        "Quality (pairs are pairs of records; mixed = share of subjects holding records of more "
        "than one true identity; split = share of true identities over more than one subject):",
        "",
        "| data | records | subjects | true | precision | recall | F1 | mixed | split |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in result["quality"]:
        tag = f"synthetic, {run['noise']} noise, {run['persons']:,} persons"
        lines.append(_row(tag, run["all"]))
        lines.append(_row(f"... persons only ({run['noise']})", run["person"]))
        lines.append(_row(f"... organisations only ({run['noise']})", run["organisation"]))
    if result.get("febrl4"):
        lines.append(_row("FEBRL4 (no SSN used), via ingest", result["febrl4"]["all"]))
    lines += ["", "Targets at default noise: precision >= 0.999, recall >= 0.99, mixed < 0.1%.", ""]
    if result.get("scale"):
        s = result["scale"]
        lines += [
            f"Speed at {s['persons']:,} persons + {s['orgs']:,} organisations (2 cores):",
            "",
            "| run | seconds | peak GiB | target |",
            "|---|---|---|---|",
            f"| full resolve (train both models, score, cluster, publish) | "
            f"{s['full']['seconds']:.0f} | {s['full']['peak_rss_gib']:.2f} | 300 |",
            f"| incremental: 1% more people | {s['incremental']['seconds']:.1f} | "
            f"{s['incremental']['peak_rss_gib']:.2f} | 30 |",
            f"| nothing new | {s['up_to_date']['seconds']:.1f} | "
            f"{s['up_to_date']['peak_rss_gib']:.2f} | |",
            "",
            "| data | records | subjects | true | precision | recall | F1 | mixed | split |",
            "|---|---|---|---|---|---|---|---|---|",
            _row(f"synthetic, default noise, {s['persons']:,} persons", s["all"]),
            "",
        ]
    lines.append(END)
    replace_section(BEGIN, END, "\n".join(lines), heading="Identity resolution")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--persons", type=int, default=20_000)
    ap.add_argument("--orgs", type=int, default=None, help="default: persons / 10")
    ap.add_argument("--scale-persons", type=int, default=0, help="0: skip the speed run")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--no-full", action="store_true", help="with --rescale-round: skip --full")
    ap.add_argument(
        "--rescale-round", type=int, default=0,
        help="re-time the existing scale home only (a new 1%% batch, then --full); 1, 2, ...",
    )  # fmt: skip
    args = ap.parse_args()
    orgs = args.orgs if args.orgs is not None else args.persons // 10
    if args.rescale_round:
        n = args.scale_persons
        out = rescale_run(n, n // 10, args.seed, args.rescale_round, not args.no_full)
        (OUT / f"identity-rescale-{args.rescale_round}.json").write_text(json.dumps(out, indent=2))
        print(json.dumps({k: v.get("seconds") if isinstance(v, dict) else v
                          for k, v in out.items()}))  # fmt: skip
        return
    started = time.perf_counter()
    result = {
        "command": "uv run python bench/bench_identity.py " + " ".join(sys.argv[1:]),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "quality": [quality_run(args.persons, orgs, n, args.seed) for n in ("default", "high")],
        "febrl4": febrl_run(),
    }
    if args.scale_persons:
        result["scale"] = scale_run(args.scale_persons, args.scale_persons // 10, args.seed)
    result["seconds"] = round(time.perf_counter() - started, 1)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "identity.json").write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=1)[:3000])
    if not args.no_write:
        write_benchmarks(result)


if __name__ == "__main__":
    main()
