"""Lists on a real bureau: what the bureau's own check of an entry against its file costs
(a measure check; `reconcile` over every open entry, as a full resolve and `openbureau lists
reconcile` run it, and over the files an incremental resolve changed), against a measure
check for a subject on no list.

    uv run python bench/bench_lists.py --home DEMO_HOME [--entries 200] [--checks 60] [--write]

DEMO_HOME is a bureau `openbureau demo --no-serve --home DEMO_HOME` made; it is copied to a
temporary folder first, and the copy gets `--entries` listed entries on the judgment
defaulters list, one per subject whose file shows a finding in force (written straight into
the ledger, as if each had been through due process). Figures are medians of wall time in
one process; the two kinds of measure check alternate, so a noisy machine slows both alike."""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from run import machine, replace_section  # noqa: E402

BEGIN, END = "<!-- lists:begin -->", "<!-- lists:end -->"


def _findings_in_force(home: Path, today: date, n: int) -> list[tuple[str, str, str, str]]:
    """(subject, furnisher, record, case) of up to `n` findings in force, one per subject."""
    import duckdb  # noqa: PLC0415

    con = duckdb.connect()
    return con.execute(
        f"""
        WITH r AS (
            SELECT *, row_number() OVER (
                PARTITION BY furnisher_id, record_id ORDER BY version DESC, reported_on DESC
            ) AS rn
            FROM read_parquet('{home}/lake/records/*/*.parquet', union_by_name = true)
            WHERE record_type = 'judgment_default_finding'
        )
        SELECT any_value(l.subject_id), any_value(r.furnisher_id), any_value(r.record_id),
               any_value(r.case_number)
        FROM r JOIN read_parquet('{home}/lake/links/links.parquet') l USING (identity_key)
        WHERE rn = 1 AND date_removed IS NULL
          AND finding_date + to_months(least(term_months, 60)) > DATE '{today}'
        GROUP BY l.subject_id ORDER BY 1 LIMIT {n}
        """
    ).fetchall()


def measure(home: Path, n_entries: int, n_checks: int) -> dict:
    from sqlalchemy import delete, insert, select  # noqa: PLC0415

    from openbureau.access.rules import Caller  # noqa: PLC0415
    from openbureau.bootstrap import build_bureau  # noqa: PLC0415
    from openbureau.config import Settings  # noqa: PLC0415
    from openbureau.lists.service import check_measure, entries_to_clear  # noqa: PLC0415
    from openbureau.storage import serving  # noqa: PLC0415
    from openbureau.storage.ledger import list_entries, parties, scores  # noqa: PLC0415

    bureau = build_bureau(Settings(home=home))
    serving.compact(bureau.lake, full=False)
    now = datetime.now(UTC)
    today = now.date()
    found = _findings_in_force(home, today, n_entries)
    with bureau.ledger.begin() as conn:
        conn.execute(delete(list_entries))  # the copy's own entries, if any, make way
        conn.execute(
            insert(parties).values(
                party_id="bench-airline",
                kind="service_provider",
                name="Bench Airline",
                created_at=now,
            )
        )
        for i, (subject, furnisher, record, case) in enumerate(found):
            conn.execute(
                insert(list_entries).values(
                    entry_id=f"e{i:024x}",
                    list_id="judgment_defaulters",
                    subject_id=subject,
                    furnisher_id=furnisher,
                    record_id=record,
                    record_type="judgment_default_finding",
                    case_number=case,
                    grounds="bench",
                    salt="00" * 16,
                    term_months=24,
                    proposed_at=now,
                    proposed_by="bench",
                    proposed_party="bench-a",
                    objection_ends_on=today - timedelta(days=20),
                    status="listed",
                    decided_at=now,
                    decided_by="bench",
                    listed_on=today,
                    ends_on=today + timedelta(days=365),
                )  # fmt: skip
            )
        listed = {s for s, *_ in found}
        unlisted = [
            s for s in conn.execute(select(scores.c.subject_id).limit(5000)).scalars()
            if s not in listed
        ]  # fmt: skip
    caller = Caller(
        party_id="bench-airline", party_kind="service_provider", key_id="bench", role="inquirer"
    )
    started = time.perf_counter()
    removals = entries_to_clear(bureau, today)
    reconcile_seconds = time.perf_counter() - started
    # the check after an incremental resolve: the files it changed, a tenth of them with an
    # entry (most files a day's batches touch hold none)
    with_entry = sorted(listed)[: max(1, len(listed) // 10)]
    changed = set(with_entry) | set(unlisted[: 9 * len(with_entry)])
    started = time.perf_counter()
    entries_to_clear(bureau, today, files=changed)
    scoped_seconds = time.perf_counter() - started
    on_list, off_list = [], []
    subjects = sorted(listed)
    for i in range(n_checks):
        for subject, times in (
            (subjects[i % len(subjects)], on_list), (unlisted[i % len(unlisted)], off_list)
        ):  # fmt: skip
            t0 = time.perf_counter()
            answer = check_measure(bureau, subject, "premium_travel", caller=caller, now=now)
            times.append(time.perf_counter() - t0)
            assert answer.applies == (subject in listed)
    return {
        "entries": len(found),
        "removed": len(removals),
        "reconcile_s": reconcile_seconds,
        "scoped_s": scoped_seconds,
        "changed": len(changed),
        "changed_with_entry": len(with_entry),
        "per_entry_ms": 1000 * reconcile_seconds / max(1, len(found)),
        "check_on_ms": 1000 * statistics.median(on_list),
        "check_off_ms": 1000 * statistics.median(off_list),
        "checks": n_checks,
    }


def render(r: dict, entries: int, checks: int) -> str:
    return "\n".join(
        [
            BEGIN,
            f"Command: `uv run python bench/bench_lists.py --home DEMO_HOME --entries {entries} "
            f"--checks {checks} --write`  ",
            f"Machine: {machine()}; run {date.today().isoformat()}.",
            "",
            "| measurement | result |",
            "|---|---:|",
            f"| every open entry checked by `reconcile` (a full resolve, `lists reconcile`) | "
            f"{r['entries']} in {r['reconcile_s']:.2f} s ({r['per_entry_ms']:.1f} ms an entry; "
            f"{r['removed']} taken off) |",
            f"| the check after an incremental resolve that changed {r['changed']} files, "
            f"{r['changed_with_entry']} of them with an entry | {r['scoped_s']:.2f} s |",
            f"| measure check, subject on a list (its file read) | {r['check_on_ms']:.1f} ms |",
            f"| measure check, subject on no list | {r['check_off_ms']:.1f} ms |",
            END,
        ]
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--entries", type=int, default=200)
    ap.add_argument("--checks", type=int, default=60)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "home"
        shutil.copytree(args.home, copy)
        result = measure(copy, args.entries, args.checks)
    print(result)
    if args.write:
        replace_section(BEGIN, END, render(result, args.entries, args.checks), "Lists")


if __name__ == "__main__":
    main()
