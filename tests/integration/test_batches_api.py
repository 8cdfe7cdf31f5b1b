"""POST /v1/batches: a furnisher uploads a file for itself and gets the CLI's receipt."""

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from keys import bearer, issue_key
from openbureau.api.app import create_app
from openbureau.ingest.service import add_furnisher, ingest_file

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PROBLEM = "application/problem+json"


@pytest.fixture
def setup(bureau):
    add_furnisher(bureau, "bank-01", "bank", "Bank One")
    add_furnisher(bureau, "court-01", "court", "Court One")
    keys = {
        "bank": issue_key(bureau.ledger, "bank-01", "lender", "furnisher", furnisher_id="bank-01"),
        "court": issue_key(
            bureau.ledger, "court-01", "furnisher", "furnisher", furnisher_id="court-01"
        ),
        "lender": issue_key(bureau.ledger, "lender-9", "lender", "inquirer"),
    }
    with TestClient(create_app(bureau.settings)) as client:
        yield bureau, client, keys


def _upload(client, key, name, content, **form):
    return client.post(
        "/v1/batches", headers=bearer(key), files={"file": (name, content)}, data=form
    )


def test_an_upload_gives_the_same_receipt_as_the_cli(setup, tmp_path):
    bureau, client, keys = setup
    content = (EXAMPLES / "credit_account.csv").read_bytes()
    r = _upload(client, keys["bank"], "credit_account.csv", content)
    assert r.status_code == 201, r.text
    receipt = r.json()
    assert receipt["furnisher_id"] == "bank-01" and receipt["status"] == "accepted"
    assert receipt["rows_accepted"] == receipt["rows_total"] > 0
    assert receipt["lake_path"] == f"lake/records/furnisher=bank-01/{receipt['batch_id']}.parquet"
    assert (bureau.settings.home / receipt["lake_path"]).exists()
    # the same bytes through the CLI's code: already ingested, same batch
    copy = tmp_path / "credit_account.csv"
    copy.write_bytes(content)
    again = ingest_file(bureau, copy, "bank-01")
    assert (again.status, again.batch_id) == ("already_ingested", receipt["batch_id"])
    r = _upload(client, keys["bank"], "credit_account.csv", content)
    assert r.status_code == 200 and r.json()["status"] == "already_ingested"
    assert r.json()["batch_id"] == receipt["batch_id"]
    assert not any((bureau.settings.home / "incoming").iterdir())  # uploads are not kept


def test_the_format_field_names_the_format_of_a_file_without_a_suffix(setup):
    _, client, keys = setup
    content = (EXAMPLES / "court_judgment.csv").read_bytes()
    r = _upload(client, keys["court"], "../../judgments", content, format="csv")
    assert r.status_code == 201, r.text
    assert (r.json()["file_name"], r.json()["file_format"]) == ("judgments.csv", "csv")
    r = _upload(client, keys["court"], "judgments.txt", content, format="xml")
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM


def test_a_file_refused_whole_is_a_422_problem_with_its_stored_receipt(setup):
    _, client, keys = setup
    r = _upload(client, keys["bank"], "accounts.csv", b"record_type,religion\ncredit_account,x\n")
    assert (r.status_code, r.headers["content-type"]) == (422, PROBLEM)
    body = r.json()
    assert body["type"] == "urn:openbureau:problem:file-rejected"
    assert body["receipt"]["status"] == "rejected" and body["receipt"]["furnisher_id"] == "bank-01"
    assert "religion" in body["detail"]


def test_a_furnisher_cannot_upload_what_it_is_not_licensed_for(setup):
    _, client, keys = setup
    # a court may not furnish credit accounts: the caller's own licence applies, not another's
    r = _upload(client, keys["court"], "credit_account.csv",
                (EXAMPLES / "credit_account.csv").read_bytes())  # fmt: skip
    assert r.status_code == 422
    assert r.json()["receipt"]["furnisher_id"] == "court-01"


def test_a_furnisher_key_uploads_only_for_its_own_furnisher(setup):
    _, client, keys = setup
    content = (EXAMPLES / "credit_account.csv").read_bytes()
    # a form field naming another furnisher is not a thing: the key decides
    r = _upload(client, keys["court"], "x.csv", content, furnisher_id="bank-01")
    assert r.json()["receipt"]["furnisher_id"] == "court-01"


def test_only_furnisher_keys_may_upload(setup):
    _, client, keys = setup
    r = _upload(client, keys["lender"], "a.csv", b"x")
    assert (r.status_code, r.headers["content-type"]) == (403, PROBLEM)
    assert client.post("/v1/batches", files={"file": ("a.csv", b"x")}).status_code == 401
