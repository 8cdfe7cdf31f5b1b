"""A served app keeps the serving runs covering the lake: a file uploaded through
POST /v1/batches, or left uncovered by another process, is compacted in the background, and
reports read it from a run afterwards."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient

from factories import wait_until
from keys import bearer, issue_key
from openbureau.api.app import create_app
from openbureau.bootstrap import build_bureau
from openbureau.config import Settings
from openbureau.ingest.service import add_furnisher, ingest_file
from openbureau.storage import serving
from openbureau.storage.compactor import needs_compaction

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _bureau(tmp_path, compact_seconds: float):
    return build_bureau(
        Settings(home=tmp_path / "home", environment="test", compact_seconds=compact_seconds)
    )


def test_needs_compaction_says_when_a_run_would_add_something(tmp_path):
    bureau = _bureau(tmp_path, 0)
    assert not needs_compaction(bureau.lake)  # no records at all
    add_furnisher(bureau, "bank-01", "bank", "Bank One")
    ingest_file(bureau, EXAMPLES / "credit_account.csv", "bank-01")
    assert needs_compaction(bureau.lake)  # no runs yet
    serving.compact(bureau.lake)
    assert not needs_compaction(bureau.lake)
    add_furnisher(bureau, "court-01", "court", "Court One")
    ingest_file(bureau, EXAMPLES / "court_judgment.csv", "court-01")
    assert needs_compaction(bureau.lake)  # a file no run covers


def test_an_uploaded_file_is_compacted_in_the_background(tmp_path):
    bureau = _bureau(tmp_path, 3600)  # only the upload's nudge can compact within the test
    add_furnisher(bureau, "bank-01", "bank", "Bank One")
    ingest_file(bureau, EXAMPLES / "credit_account.csv", "bank-01")
    serving.compact(bureau.lake)
    add_furnisher(bureau, "court-01", "court", "Court One")
    key = issue_key(bureau.ledger, "court-01", "furnisher", "furnisher", furnisher_id="court-01")
    with TestClient(create_app(bureau.settings)) as client:
        compactor = client.app.state.compactor
        assert compactor is not None
        # the look at start-up finds nothing to do; the upload comes after it
        assert wait_until(lambda: compactor.checks == 1)
        assert compactor.done == compactor.failed == 0
        content = (EXAMPLES / "court_judgment.csv").read_bytes()
        r = client.post(
            "/v1/batches", headers=bearer(key), files={"file": ("court_judgment.csv", content)}
        )
        assert r.status_code == 201, r.text
        uploaded = bureau.settings.home / r.json()["lake_path"]
        assert wait_until(lambda: compactor.done >= 1 and not needs_compaction(bureau.lake))
        assert compactor.failed == 0
        current = serving.plan(bureau.lake)
        assert current is not None and current.delta == ()
        covered = {name for run in serving.read_manifest(bureau.lake) for name in run.files}
        assert any(uploaded.name in name for name in covered)
    assert client.app.state.compactor is None  # stopped with the app


def test_a_server_starting_on_uncovered_files_compacts_them(tmp_path):
    bureau = _bureau(tmp_path, 3600)
    add_furnisher(bureau, "bank-01", "bank", "Bank One")
    ingest_file(bureau, EXAMPLES / "credit_account.csv", "bank-01")  # never compacted
    assert serving.plan(bureau.lake) is None
    with TestClient(create_app(bureau.settings)) as client:
        compactor = client.app.state.compactor
        assert wait_until(lambda: compactor.done == 1)
        assert not needs_compaction(bureau.lake)


def test_zero_seconds_turns_background_compaction_off(tmp_path):
    bureau = _bureau(tmp_path, 0)
    add_furnisher(bureau, "bank-01", "bank", "Bank One")
    ingest_file(bureau, EXAMPLES / "credit_account.csv", "bank-01")
    with TestClient(create_app(bureau.settings)) as client:
        assert client.app.state.compactor is None
        time.sleep(0.5)
    assert serving.plan(bureau.lake) is None
