"""Edges of inquiries and of a subject's own key, on SQLite and PostgreSQL: the day an
inquiry may ask about, an ID given without its scheme, chains of merges (what was recorded
under an id merged twice over still belongs to the file), a subject's key after its id was
merged, and reads of a subject's consents in the audit chain."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from keys import bearer, issue_keys
from openbureau.api.app import create_app
from openbureau.bootstrap import build_bureau
from openbureau.inquiries.rules import EARLIER_DATES, PURPOSES, as_of_problem
from openbureau.inquiries.service import hard_inquiries_last_12_months
from openbureau.storage.ledger import audit_log, subjects
from report_fixture import (
    AS_OF,
    DEFAULTER,
    GOOD,
    ORG,
    RAW_IDS,
    THIN,
    UNSCORED,
    build_report_fixture,
)

NOW = datetime(2026, 1, 10, 9, 30, tzinfo=UTC)
PARTIES = {
    "lender-1": ("lender", "inquirer", {}),
    "court-1": ("authority", "inquirer", {}),
    "landlord-1": ("landlord", "inquirer", {}),
    "self-good": ("subject", "subject", {"subject_id": GOOD}),
    "self-thin": ("subject", "subject", {"subject_id": THIN}),
    "self-unscored": ("subject", "subject", {"subject_id": UNSCORED}),
    "ops-1": ("operator", "operator", {}),
}


@pytest.fixture
def bureau(tmp_path, fresh_ledger_url):
    return build_bureau(build_report_fixture(tmp_path / "bureau", fresh_ledger_url).settings)


@pytest.fixture
def keys(bureau):
    return issue_keys(bureau.ledger, PARTIES)


def _client(bureau):
    return TestClient(create_app(bureau.settings, today=lambda: AS_OF, now=lambda: NOW))


def _inquire(client, key, purpose, subject=GOOD, **extra):
    body = {"purpose": purpose, "subject_id": subject, **extra}
    return client.post("/v1/inquiries", headers=bearer(key), json=body)


def _audited(bureau, action: str) -> int:
    with bureau.ledger.connect() as conn:
        return conn.scalar(
            select(func.count()).select_from(audit_log).where(audit_log.c.action == action)
        )


@pytest.mark.parametrize("purpose", sorted(PURPOSES))
@pytest.mark.parametrize("days", [-400, -1, 0, 1])
def test_only_own_request_and_court_order_read_an_earlier_day(purpose, days):
    today = date(2026, 1, 10)
    problem = as_of_problem(purpose, today + timedelta(days=days), today)
    if days == 0:
        assert problem is None
    elif days > 0:
        assert problem is not None and "after today" in problem
    else:
        assert (problem is None) is (purpose in EARLIER_DATES)


def test_a_lender_gets_the_file_as_it_stands_today(bureau, keys):
    with _client(bureau) as client:
        # the card's May 2024 was reported 35 days late, then corrected to on time
        past = _inquire(client, keys["lender-1"], "credit_application", as_of="2024-06-10")
        assert past.status_code == 422, past.text
        assert "as_of" in past.json()["detail"] and "today" in past.json()["detail"]
        assert past.headers["content-type"] == "application/problem+json"
        ahead = _inquire(client, keys["lender-1"], "credit_application", as_of="2030-01-01")
        assert ahead.status_code == 422 and "after today" in ahead.json()["detail"]
        today = _inquire(client, keys["lender-1"], "credit_application", as_of=AS_OF.isoformat())
        assert today.status_code == 200, today.text
        # the subject's own history, and a court's order, may name an earlier day
        own = _inquire(client, keys["self-good"], "own_request", as_of="2024-06-10")
        assert own.status_code == 200, own.text
        assert own.json()["as_of"] == "2024-06-10"
        ordered = _inquire(client, keys["court-1"], "court_order", subject=ORG,
                           as_of="2024-03-01")  # fmt: skip
        assert ordered.status_code == 200, ordered.text
    # a refused day is no inquiry: nothing recorded for it
    assert _audited(bureau, "inquiry.made") == 3


def test_an_id_without_its_scheme_is_refused_not_dropped(bureau, keys):
    """Before, the ID was dropped and name and birth date decided alone, reaching a file
    that holds another ID."""
    scheme, _ = RAW_IDS[GOOD]
    identity = {
        "subject_kind": "person", "given_name": "Fang", "family_name": "Wang",
        "date_of_birth": "1949-12-31", "national_id": "11010519491231002X",
    }  # fmt: skip
    with _client(bureau) as client:
        body = {"purpose": "credit_application", "identity": identity}
        bare = client.post("/v1/inquiries", headers=bearer(keys["lender-1"]), json=body)
        assert bare.status_code == 422, bare.text
        assert "national_id_scheme" in bare.text
        body["identity"] = {**identity, "national_id_scheme": scheme}
        other = client.post("/v1/inquiries", headers=bearer(keys["lender-1"]), json=body)
        # a valid ID the bureau does not hold: never GOOD's file, whose own ID differs
        assert other.status_code == 404 and other.json()["type"].endswith("no-match")


def _merge(bureau, old: str, into: str) -> None:
    with bureau.ledger.begin() as conn:
        conn.execute(update(subjects).where(subjects.c.subject_id == old).values(merged_into=into))


def test_what_was_recorded_under_an_id_merged_twice_stays_in_the_file(bureau, keys):
    with _client(bureau) as client:
        granted = client.post(
            f"/v1/subjects/{UNSCORED}/consents", headers=bearer(keys["self-unscored"]),
            json={"party_id": "landlord-1", "purpose": "tenancy", "valid_until": "2026-06-30"},
        )  # fmt: skip
        assert granted.status_code == 201, granted.text
        looked = _inquire(client, keys["lender-1"], "account_review", subject=UNSCORED)
        assert looked.status_code == 200, looked.text
    # UNSCORED is merged into THIN, and THIN, later, into DEFAULTER: the old redirect still
    # points at the middle id
    _merge(bureau, UNSCORED, THIN)
    _merge(bureau, THIN, DEFAULTER)
    with _client(bureau) as client:
        report = client.get(f"/v1/subjects/{DEFAULTER}/report", headers=bearer(keys["ops-1"]))
        assert report.status_code == 200, report.text
        seen = [i["inquiry_id"] for i in report.json()["inquiries"]]
        assert looked.json()["inquiry_id"] in seen
        tenancy = _inquire(client, keys["landlord-1"], "tenancy", subject=DEFAULTER)
        assert tenancy.status_code == 200, tenancy.text  # the consent given under UNSCORED
        consents = client.get(f"/v1/subjects/{DEFAULTER}/consents", headers=bearer(keys["ops-1"]))
        assert [c["party_id"] for c in consents.json()] == ["landlord-1"]
        # and the subject's own key, issued to UNSCORED, opens the file it is part of now
        own = client.get(f"/v1/subjects/{DEFAULTER}/report", headers=bearer(keys["self-unscored"]))
        assert own.status_code == 200, own.text


def test_a_subjects_key_opens_its_file_after_its_id_was_merged(bureau, keys):
    """THIN's key, once THIN is merged into GOOD, follows its file (and no other)."""
    _merge(bureau, THIN, GOOD)
    with _client(bureau) as client:
        old = client.get(f"/v1/subjects/{THIN}/report", headers=bearer(keys["self-thin"]),
                         follow_redirects=False)  # fmt: skip
        assert old.status_code == 307 and old.headers["location"].endswith(f"/{GOOD}/report")
        new = client.get(f"/v1/subjects/{GOOD}/report", headers=bearer(keys["self-thin"]))
        assert new.status_code == 200, new.text
        for named in (THIN, GOOD):
            own = _inquire(client, keys["self-thin"], "own_request", subject=named)
            assert own.status_code == 200, own.text
            assert own.json()["subject_id"] == GOOD
        other = client.get(f"/v1/subjects/{DEFAULTER}/report", headers=bearer(keys["self-thin"]))
        assert other.status_code == 403
        others = _inquire(client, keys["self-thin"], "own_request", subject=DEFAULTER)
        assert others.status_code == 403


def test_hard_inquiries_count_the_whole_file(bureau, keys):
    with _client(bureau) as client:
        for subject in (GOOD, THIN):
            assert _inquire(client, keys["lender-1"], "credit_application",
                            subject=subject).status_code == 200  # fmt: skip
    assert hard_inquiries_last_12_months(bureau.ledger, GOOD, NOW.date()) == 1
    _merge(bureau, THIN, GOOD)  # the inquiry recorded under THIN is now in GOOD's file
    assert hard_inquiries_last_12_months(bureau.ledger, GOOD, NOW.date()) == 2


def test_reading_a_subjects_consents_is_audited(bureau, keys):
    before = _audited(bureau, "consents.read")
    with _client(bureau) as client:
        for key in ("ops-1", "self-good"):
            read = client.get(f"/v1/subjects/{GOOD}/consents", headers=bearer(keys[key]))
            assert read.status_code == 200, read.text
        refused = client.get(f"/v1/subjects/{GOOD}/consents", headers=bearer(keys["lender-1"]))
        assert refused.status_code == 403
    assert _audited(bureau, "consents.read") == before + 2
