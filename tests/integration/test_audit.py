"""The audit chain in a real ledger: what the bureau's actions append, tampering in the
database caught by `audit verify`, concurrent appenders, and signed checkpoints."""

from __future__ import annotations

import csv
import hashlib
import json
import stat
import subprocess
import sys
import threading
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, insert, select
from typer.testing import CliRunner

from keys import bearer, issue_key
from openbureau.api.app import create_app
from openbureau.audit import service as audit
from openbureau.audit.rules import GENESIS, InvalidCheckpoint, verify_chain
from openbureau.bootstrap import build_bureau
from openbureau.catalogue.model import RECORD_TYPES
from openbureau.cli import app
from openbureau.config import Settings
from openbureau.ingest.service import FileRejected, add_furnisher, ingest_file
from openbureau.storage.ledger import audit_log, furnishers, subjects
from report_fixture import AS_OF, GOOD, MERGED, THIN, UNSCORED, build_report_fixture

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.csv"))
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
runner = CliRunner()


def entries(bureau) -> list[dict]:
    with bureau.ledger.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(audit_log).order_by(audit_log.c.seq))]


def cli(bureau, *args: str):
    env = (
        {"OPENBUREAU_LEDGER_URL": bureau.settings.ledger_url} if bureau.settings.ledger_url else {}
    )
    return runner.invoke(app, [*args, "--home", str(bureau.settings.home)], env=env)


def said(result) -> str:
    """What a command printed, with line wrapping undone."""
    return " ".join(result.output.split())


def ingest_examples(bureau) -> None:
    for path in EXAMPLES:
        kind = RECORD_TYPES[path.stem].furnisher_kinds[0]
        add_furnisher(bureau, f"ex-{kind}", kind, f"Example {kind}")
        ingest_file(bureau, path, f"ex-{kind}")


def sql(bureau, *statements: str) -> None:
    """Change the ledger directly, bypassing the bureau, as someone with database access could."""
    engine = create_engine(bureau.settings.resolved_ledger_url)
    with engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)
    engine.dispose()


@pytest.fixture
def bureau(tmp_path, fresh_ledger_url):
    """A fresh bureau whose ledger is on each backend (SQLite file, PostgreSQL schema)."""
    settings = Settings(home=tmp_path / "home", ledger_url=fresh_ledger_url, environment="test")
    bureau = build_bureau(settings)
    yield bureau
    bureau.ledger.dispose()


@pytest.fixture
def logged(bureau):
    """A bureau whose log holds the furnisher registrations and batches of the examples."""
    ingest_examples(bureau)
    return bureau


# --- what is appended ------------------------------------------------------------------------


def test_ingesting_the_examples_appends_one_entry_per_furnisher_and_batch(logged):
    log = entries(logged)
    kinds = {RECORD_TYPES[p.stem].furnisher_kinds[0] for p in EXAMPLES}
    assert [e["seq"] for e in log] == list(range(1, len(log) + 1))
    assert sorted(e["action"] for e in log) == sorted(
        ["furnisher.add"] * len(kinds) + ["batch.accepted"] * len(EXAMPLES)
    )
    batches = [e for e in log if e["action"] == "batch.accepted"]
    first = json.loads(batches[0]["payload"])
    assert set(first) == {
        "batch_id", "furnisher_id", "file_format", "checksum", "rows_total", "rows_accepted",
        "rows_rejected", "rows_duplicate", "rejected_by_rule",
    }  # fmt: skip
    assert batches[0]["actor"] == f"furnisher:{first['furnisher_id']}"
    assert first["rows_accepted"] == first["rows_total"] >= 3
    assert batches[0]["purpose"] == "furnished-data-intake"
    assert {json.loads(b["payload"])["checksum"] for b in batches} == {
        hashlib.sha256(p.read_bytes()).hexdigest() for p in EXAMPLES
    }
    assert audit.verify(logged.ledger).ok


def test_no_raw_national_id_reaches_the_log(logged):
    raw = set()
    for path in EXAMPLES:
        with path.open(newline="") as fh:
            raw |= {r["national_id"] for r in csv.DictReader(fh) if r.get("national_id")}
    assert raw
    text = json.dumps(entries(logged), default=str)
    assert not [value for value in raw if value in text]


def test_a_rejected_file_appends_batch_rejected_and_a_resent_one_nothing(logged, tmp_path):
    before = len(entries(logged))
    bad = tmp_path / "bad.csv"
    bad.write_text("record_type,religion\ncredit_account,x\n")
    furnisher = f"ex-{RECORD_TYPES[EXAMPLES[0].stem].furnisher_kinds[0]}"
    with pytest.raises(FileRejected):
        ingest_file(logged, bad, furnisher)
    assert ingest_file(logged, EXAMPLES[0], furnisher).status == "already_ingested"
    log = entries(logged)
    assert [e["action"] for e in log[before:]] == ["batch.rejected"]
    assert json.loads(log[-1]["payload"])["rows_accepted"] == 0


def test_an_entry_commits_or_rolls_back_with_the_change_it_records(bureau):
    with pytest.raises(RuntimeError), bureau.ledger.begin() as conn:
        conn.execute(
            insert(furnishers).values(furnisher_id="f", kind="bank", name="F", created_at=NOW)
        )
        audit.append(conn, actor="a", action="furnisher.add", payload={}, occurred_at=NOW)
        raise RuntimeError("the change fails after its entry was appended")
    assert entries(bureau) == []
    with bureau.ledger.begin() as conn:
        entry = audit.append(
            conn, actor="a", action="x", subject_id="S1", payload={"d": AS_OF}, occurred_at=NOW
        )
    assert (entry.seq, entry.prev_hash, entry.payload) == (1, GENESIS, '{"d":"2025-12-31"}')
    stored = entries(bureau)[0]
    assert stored["entry_hash"] == entry.entry_hash
    assert stored["occurred_at"].replace(tzinfo=UTC) == NOW


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"occurred_at": datetime(2026, 1, 2)}, "time zone"),
        ({"payload": {"x": float("nan")}}, "no JSON form"),
        ({"actor": ""}, "actor must be 1 to 200"),
        ({"subject_id": "S" * 25}, "subject_id must be 1 to 24"),
    ],
)
def test_an_entry_that_cannot_be_stored_faithfully_is_refused(bureau, changes, match):
    args = {"actor": "a", "action": "x", "payload": {}, "occurred_at": NOW, **changes}
    with pytest.raises(ValueError, match=match), bureau.ledger.begin() as conn:
        audit.append(conn, **args)
    assert entries(bureau) == []


def test_a_merge_and_a_resolve_run_are_logged(bureau):
    from openbureau.identity.publish import publish

    with bureau.ledger.begin() as conn:
        conn.execute(
            insert(subjects),
            [
                {"subject_id": s, "subject_kind": "person", "display_name": s, "created_at": NOW}
                for s in ("S-OLD", "S-KEEP")
            ],
        )
    everything = pd.DataFrame(
        {
            "identity_key": ["k1"],
            "subject_id": ["S-KEEP"],
            "subject_kind": ["person"],
            "org_name": [None],
            "given_name": ["Wei"],
            "family_name": ["Li"],
            "n_records": [2],
            "national_id_masked": [None],
            "id_key": [None],
            "name_key": ["li wei"],
            "dob": [None],
        }
    )
    merges = pd.DataFrame({"old": ["S-OLD"], "survivor": ["S-KEEP"]})
    no_pairs = pd.DataFrame(columns=["identity_key_l", "identity_key_r", "match_probability"])
    publish(
        bureau,
        everything=everything,
        merges=merges,
        splits=pd.DataFrame(columns=["old", "new"]),
        candidates=no_pairs,
        started_at=NOW,
        mode="full",
    )
    merged, run = entries(bureau)
    assert (merged["action"], merged["subject_id"]) == ("subject.merged", "S-OLD")
    assert json.loads(merged["payload"]) == {"merged_into": "S-KEEP"}
    assert run["action"] == "resolve.published" and run["subject_id"] is None
    assert json.loads(run["payload"]) == {
        "mode": "full",
        "subjects": 1,
        "new_subjects": 0,
        "merges": 1,
        "splits": 0,
        "review_open": 0,
    }


def test_publishing_scores_is_logged(bureau):
    from openbureau.scoring.service import _publish

    details = {"as_of": "2025-12-31", "model_version": "sc-test", "n_scored": 0}
    details["n_not_scorable"] = 0
    run_row = {"stage": "score", "started_at": NOW, "details": details}
    _publish(bureau, AS_OF, "sc-test", [], run_row, lambda *a: None)
    (entry,) = entries(bureau)
    assert entry["action"] == "scores.published"
    assert json.loads(entry["payload"]) == {**details, "rows": 0}


# --- reads through the API and the pages --------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory, ledger_url):
    fixture = build_report_fixture(tmp_path_factory.mktemp("bureau"), ledger_url)
    bureau = build_bureau(fixture.settings)
    key = issue_key(bureau.ledger, "ops-audit", "operator", "operator")
    app = create_app(fixture.settings, today=lambda: AS_OF)
    with TestClient(app, headers=bearer(key)) as client:
        yield client, bureau


def _new_entries(bureau, request) -> list[dict]:
    before = len(entries(bureau))
    request()
    return entries(bureau)[before:]


@pytest.mark.parametrize(
    ("path", "subject", "action", "channel"),
    [
        (f"/v1/subjects/{GOOD}/report", GOOD, "report.read", "api"),
        (f"/v1/subjects/{THIN}/score", THIN, "score.read", "api"),
        (f"/subjects/{GOOD}", GOOD, "report.read", "page"),
    ],
)
def test_every_read_of_a_file_appends_who_what_and_why(served, path, subject, action, channel):
    client, bureau = served
    new = _new_entries(bureau, lambda: client.get(path).raise_for_status())
    assert len(new) == 1
    entry = new[0]
    assert (entry["action"], entry["subject_id"]) == (action, subject)
    assert entry["actor"].startswith("party:ops-audit/key:")
    assert entry["purpose"] == "operator-view"
    assert json.loads(entry["payload"]) == {"as_of": AS_OF.isoformat(), "channel": channel}
    assert audit.verify(bureau.ledger).ok


def test_the_home_page_logs_every_subject_it_lists(served):
    client, bureau = served
    page = client.get("/")
    page.raise_for_status()
    new = _new_entries(bureau, lambda: client.get("/").raise_for_status())
    shown = {e["subject_id"] for e in new}
    assert {e["action"] for e in new} == {"score.read"}
    # "not scorable" is a verdict on the file too: listed subjects without a score are logged.
    assert GOOD in shown and UNSCORED in shown
    assert all(subject_id in page.text for subject_id in shown)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/subjects/NOBODY/report",
        f"/v1/subjects/{UNSCORED}/score",
        f"/v1/subjects/{MERGED}/report",
        f"/subjects/{MERGED}",
    ],
)
def test_a_read_that_shows_no_file_appends_nothing(served, path):
    client, bureau = served
    new = _new_entries(bureau, lambda: client.get(path, follow_redirects=False))
    assert new == []


# --- tampering, caught by `audit verify` -------------------------------------------------------


def test_audit_verify_reports_an_intact_chain(logged):
    r = cli(logged, "audit", "verify")
    assert r.exit_code == 0, r.output
    n = len(entries(logged))
    assert f"audit chain intact: {n} entries checked" in said(r)


TAMPERING = {
    "payload edited": (
        ["UPDATE audit_log SET payload = replace(payload, '\"rows_total\":', '\"rows_total\":1') "
         "WHERE seq = 2"],
        2,
        "hash mismatch",
    ),
    "row deleted": (["DELETE FROM audit_log WHERE seq = 3"], 4, "sequence gap"),
    "two rows' seq swapped": (
        [
            "UPDATE audit_log SET seq = -1 WHERE seq = 2",
            "UPDATE audit_log SET seq = 2 WHERE seq = 3",
            "UPDATE audit_log SET seq = 3 WHERE seq = -1",
        ],
        2,
        "previous-hash mismatch",
    ),
    "time moved": (
        ["UPDATE audit_log SET occurred_at = '2020-01-01 00:00:00.000000' WHERE seq = 5"],
        5,
        "hash mismatch",
    ),
    "entry rehashed": (
        ["UPDATE audit_log SET entry_hash = prev_hash WHERE seq = 4"],
        4,
        "hash mismatch",
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", TAMPERING)
def test_audit_verify_names_the_first_tampered_entry(logged, name):
    statements, seq, reason = TAMPERING[name]
    sql(logged, *statements)
    r = cli(logged, "audit", "verify")
    assert r.exit_code == 1
    assert f"broken at seq {seq}: {reason}" in said(r)
    result = audit.verify(logged.ledger)
    assert (result.first_broken, result.reason) == (seq, reason)


# --- concurrency ---------------------------------------------------------------------------------


def _append_many(settings: Settings, worker: int, n: int) -> None:
    bureau = build_bureau(settings)
    for i in range(n):
        with bureau.ledger.begin() as conn:
            if i % 2:  # half the time the transaction has already written, like _store
                conn.execute(
                    insert(furnishers).values(
                        furnisher_id=f"w{worker}-{i}", kind="bank", name="B", created_at=NOW
                    )
                )
            audit.append(
                conn,
                actor=f"worker-{worker}",
                action="test.append",
                payload={"i": i},
                occurred_at=datetime.now(UTC),
            )


def _assert_gapless_and_valid(bureau, expected: int) -> None:
    log = entries(bureau)
    assert [e["seq"] for e in log] == list(range(1, expected + 1))
    assert verify_chain(_Row(**e) for e in log).ok
    result = audit.verify(bureau.ledger)
    assert (result.ok, result.checked) == (True, expected)


class _Row:
    def __init__(self, **fields):
        self.__dict__.update(fields)


def test_threads_appending_at_once_keep_one_gapless_chain(bureau):
    threads = [
        threading.Thread(target=_append_many, args=(bureau.settings, w, 40)) for w in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    _assert_gapless_and_valid(bureau, 6 * 40)
    actors = [e["actor"] for e in entries(bureau)]
    switches = sum(a != b for a, b in zip(actors, actors[1:], strict=False))
    assert switches > 5, "the threads did not interleave: the test proves nothing"


def test_processes_appending_at_once_keep_one_gapless_chain(bureau):
    assert entries(bureau) == []  # the tables exist before the workers start
    with ProcessPoolExecutor(3, mp_context=get_context("spawn")) as pool:
        for f in [pool.submit(_append_many, bureau.settings, w, 30) for w in range(3)]:
            f.result()
    _assert_gapless_and_valid(bureau, 3 * 30)


# --- checkpoints ---------------------------------------------------------------------------------


def _key_paths(bureau) -> tuple[Path, Path]:
    private = bureau.settings.keys_dir / audit.SIGNING_KEY_FILE
    return private, audit.public_key_path(private)


def test_a_checkpoint_is_signed_with_a_key_made_on_first_use(logged):
    private, public = _key_paths(logged)
    assert not private.exists()
    checkpoint = audit.sign_checkpoint(logged.ledger, private)
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert stat.S_IMODE(private.parent.stat().st_mode) == 0o700
    n = len(entries(logged))
    assert (checkpoint.seq, checkpoint.entry_hash) == (n, entries(logged)[-1]["entry_hash"])
    assert audit.verify_checkpoint(checkpoint.to_json(), public.read_bytes()) == checkpoint
    again = audit.sign_checkpoint(logged.ledger, private)
    assert again.key_id == checkpoint.key_id  # the same key, not a new one


def test_a_tampered_checkpoint_or_a_stranger_key_is_refused(logged, tmp_path):
    private, public = _key_paths(logged)
    checkpoint = audit.sign_checkpoint(logged.ledger, private)
    data = json.loads(checkpoint.to_json())
    for field, value in (("seq", data["seq"] - 1), ("entry_hash", "0" * 64)):
        forged = json.dumps({**data, field: value})
        with pytest.raises(InvalidCheckpoint, match="signature does not match"):
            audit.verify_checkpoint(forged, public.read_bytes())
    stranger = audit.sign_checkpoint(logged.ledger, tmp_path / "other" / "k.pem")
    with pytest.raises(InvalidCheckpoint, match="signed by key"):
        audit.verify_checkpoint(stranger.to_json(), public.read_bytes())


def test_audit_checkpoint_then_verify_against_it_catches_a_truncated_log(logged, tmp_path):
    r = cli(logged, "audit", "checkpoint")
    assert r.exit_code == 0, r.output
    signed = tmp_path / "checkpoint.json"
    signed.write_text(r.stdout)
    n = json.loads(r.stdout)["seq"]
    assert n == len(entries(logged))
    assert cli(logged, "audit", "verify", "--checkpoint", str(signed)).exit_code == 0

    # removing the newest entries leaves a chain that verifies on its own...
    sql(logged, f"DELETE FROM audit_log WHERE seq >= {n - 1}")
    assert cli(logged, "audit", "verify").exit_code == 0
    # ...but no longer holds what was signed
    r = cli(logged, "audit", "verify", "--checkpoint", str(signed))
    assert r.exit_code == 1
    assert f"broken at seq {n}: checkpoint mismatch" in said(r)

    data = json.loads(signed.read_text())
    signed.write_text(json.dumps({**data, "seq": n - 2}))
    r = cli(logged, "audit", "verify", "--checkpoint", str(signed))
    assert r.exit_code == 1 and "signature does not match" in said(r)


def test_audit_checkpoint_refuses_to_sign_a_broken_chain(logged):
    sql(logged, "DELETE FROM audit_log WHERE seq = 2")
    r = cli(logged, "audit", "checkpoint")
    assert r.exit_code == 1
    assert "broken at seq 3: sequence gap" in said(r)


# --- the documented independent checks ---------------------------------------------------------

AUDIT_DOC = (ROOT / "docs" / "audit.md").read_text()


def _documented_script() -> str:
    after = AUDIT_DOC.split("<!-- audit-verify-script -->", 1)[1]
    return after.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_documented_standalone_script_agrees_with_audit_verify(tmp_path):
    # The documented script reads a SQLite ledger file: this test is about that file.
    logged = build_bureau(Settings(home=tmp_path / "home", environment="test"))
    ingest_examples(logged)
    ledger = logged.settings.home / "ledger.sqlite"

    def run() -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-c", _documented_script(), str(ledger)],
            capture_output=True,
            text=True,
            timeout=60,
        )

    n = len(entries(logged))
    ok = run()
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith(
        f"{n} entries intact; last hash {entries(logged)[-1]['entry_hash']}"
    )
    sql(logged, "UPDATE audit_log SET actor = 'someone else' WHERE seq = 3")
    broken = run()
    assert broken.returncode == 1 and "broken at seq 3: hash mismatch" in broken.stderr


def test_the_documented_checkpoint_message_is_what_is_signed(logged):
    private, _ = _key_paths(logged)
    checkpoint = audit.sign_checkpoint(logged.ledger, private)
    fields = json.loads(checkpoint.to_json())
    fields.pop("signature")
    rebuilt = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert rebuilt.encode() == checkpoint.message()


def test_reads_recorded_from_many_threads_at_once_keep_one_gapless_chain(bureau):
    start = threading.Barrier(8)

    def reader(worker: int) -> None:
        start.wait()
        for i in range(25):
            audit.record_reads(
                bureau.ledger,
                action="score.read",
                subject_ids=[f"S{worker}", f"T{i}"],
                actor=f"reader-{worker}",
                purpose="test",
                payload={"i": i},
                occurred_at=datetime.now(UTC),
            )

    threads = [threading.Thread(target=reader, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    _assert_gapless_and_valid(bureau, 8 * 25 * 2)
    # each read's two entries stay side by side: a read is recorded in one transaction
    log = entries(bureau)
    for first, second in zip(log[::2], log[1::2], strict=True):
        assert (first["actor"], second["subject_id"]) == (
            second["actor"],
            f"T{json.loads(first['payload'])['i']}",
        )
