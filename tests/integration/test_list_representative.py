"""An organisation's list entry names its legal representative where the list's law
publishes the name (SCOPE.md allows that, and nothing more), on SQLite and PostgreSQL: the
name comes from the organisation's own file, shows on the entry and in a measure's answer,
stays out of the audit chain and the notices, and is refused for a person, for a list whose
law publishes no name, and when not asked for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from factories import write_csv
from keys import bearer, issue_keys
from openbureau.api.app import create_app
from openbureau.audit.service import verify
from openbureau.bootstrap import build_bureau
from openbureau.ingest.service import ingest_file
from openbureau.inquiries.outbox import list_notices
from openbureau.lists.service import NAME_WITHDRAWN, reconcile
from openbureau.storage.ledger import audit_log
from report_fixture import AS_OF, DEFAULTER, ORG, RAW_IDS, build_report_fixture, own_fixture_files

NOW = datetime(2026, 1, 10, 9, 30, tzinfo=UTC)
#: The name the organisation's profile (furnished by the tax office) gives.
REPRESENTATIVE = "Zhao Min"
PARTIES = {
    "ops-1": ("operator", "operator", {}),
    "ops-2": ("operator", "operator", {}),
    "procurer": ("authority", "inquirer", {}),
    "self-org": ("subject", "subject", {"subject_id": ORG}),
}
PENALTY = {"furnisher_id": "tax-city", "record_id": "TP-2025-9"}


def _penalty_row() -> dict:
    """A serious tax penalty of ORG, with the identity the tax office furnishes it under."""
    scheme, number = RAW_IDS[ORG]
    return {
        "record_type": "administrative_penalty", "record_id": "TP-2025-9",
        "reported_on": "2025-11-20", "version": "1", "subject_kind": "organisation",
        "org_name": "Huaxin Trading Co., Ltd.", "national_id_scheme": scheme,
        "national_id": number, "address_line1": "5 Jianguo Road", "city": "Beijing",
        "region": "BJ", "postcode": "100022", "country": "CN",
        "authority": "Municipal Tax Service", "violation_category": "tax",
        "severity": "serious", "penalty_date": "2025-11-18", "amount": "5000000",
        "currency": "CNY",
    }  # fmt: skip


@pytest.fixture(scope="module")
def bureau(tmp_path_factory, ledger_url):
    return _build(tmp_path_factory.mktemp("bureau"), ledger_url)


def _build(root, ledger_url):
    fixture = build_report_fixture(root / "home", ledger_url)
    built = build_bureau(fixture.settings)
    own_fixture_files(built, "tax-city", NOW)
    penalty = write_csv(root / "penalty.csv", [_penalty_row()])
    assert ingest_file(built, penalty, "tax-city").rows_accepted == 1
    return built


@pytest.fixture(scope="module")
def keys(bureau):
    return issue_keys(bureau.ledger, PARTIES)


def _client(bureau, now=NOW):
    return TestClient(create_app(bureau.settings, today=lambda: AS_OF, now=lambda: now))


def _propose(client, key, list_id, subject, cited, **extra):
    body = {"subject_id": subject, "grounds": "A serious tax penalty stands.", **cited, **extra}
    return client.post(f"/v1/lists/{list_id}/entries", headers=bearer(key), json=body)


def _dispute_profile(client, keys) -> str:
    opened = client.post(
        f"/v1/subjects/{ORG}/disputes", headers=bearer(keys["self-org"]),
        json={"furnisher_id": "tax-city", "record_id": "ORG-77",
              "reason": "Zhao Min left the company in 2024."},
    )  # fmt: skip
    assert opened.status_code == 201, opened.text
    return opened.json()["dispute_id"]


def test_an_organisations_entry_names_its_representative_from_its_file(bureau, keys):
    with _client(bureau) as client:
        # a profile under dispute names nobody: the subject contests the name
        dispute_id = _dispute_profile(client, keys)
        contested = _propose(
            client, keys["ops-1"], "major_tax_violators", ORG, PENALTY, name_representative=True
        )
        assert contested.status_code == 422 and "no legal representative" in contested.text
        verified = client.post(
            f"/v1/disputes/{dispute_id}/answer", headers=bearer(keys["ops-1"]),
            json={"outcome": "verified", "note": "The registry names Zhao Min."},
        )  # fmt: skip
        assert verified.status_code == 200, verified.text
        # without asking, an organisation's entry names nobody, on a list that could
        plain = _propose(client, keys["ops-1"], "major_tax_violators", ORG, PENALTY)
        assert plain.status_code == 201, plain.text
        assert plain.json()["legal_representative"] is None
        rejected = client.post(
            f"/v1/list-entries/{plain.json()['entry_id']}/decision",
            headers=bearer(keys["ops-1"]), json={"approve": False, "note": "Proposed again."},
        )  # fmt: skip
        assert rejected.status_code == 200, rejected.text
        proposed = _propose(
            client, keys["ops-1"], "major_tax_violators", ORG, PENALTY, name_representative=True
        )
        assert proposed.status_code == 201, proposed.text
        entry = proposed.json()
        assert entry["legal_representative"] == REPRESENTATIVE
        page = client.get(f"/subjects/{ORG}", headers=bearer(keys["ops-1"])).text
        lists = page.split('id="lists-h"')[1].split("</section>")[0]
        assert f"Legal representative named: {REPRESENTATIVE}" in lists
        own = client.get(f"/v1/subjects/{ORG}/list-entries", headers=bearer(keys["self-org"]))
        assert own.status_code == 200, own.text
        # the rejected proposal names nobody; this one names the representative
        named = sorted(e["legal_representative"] or "" for e in own.json())
        assert named == ["", REPRESENTATIVE]

    # listed after the objection window; a procuring authority's check cites the name,
    # and says the measure binds the organisation only
    with _client(bureau, NOW + timedelta(days=16)) as client:
        decided = client.post(
            f"/v1/list-entries/{entry['entry_id']}/decision", headers=bearer(keys["ops-2"]),
            json={"approve": True, "note": "The penalty stands; no objection."},
        )  # fmt: skip
        assert decided.status_code == 200, decided.text
        answer = client.get(
            f"/v1/subjects/{ORG}/measures/public_procurement", headers=bearer(keys["procurer"])
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["applies"] is True
        assert decided.json()["legal_representative"] == REPRESENTATIVE  # the file still gives it
        # the party applying a measure is not given the name: the measure binds the
        # organisation, and a name in its hands would reach the person (SCOPE.md)
        assert REPRESENTATIVE not in answer.text
        assert "never its family, its employees or anyone connected" in body["binds"]

    # the subject contests the profile that gives the name: the name comes off at once
    with _client(bureau, NOW + timedelta(days=17)) as client:
        _dispute_profile(client, keys)
        entries = client.get(f"/v1/subjects/{ORG}/list-entries", headers=bearer(keys["self-org"]))
        listed = [e for e in entries.json() if e["entry_id"] == entry["entry_id"]]
        assert [(e["status"], e["legal_representative"]) for e in listed] == [("listed", None)]
        page = client.get(f"/subjects/{ORG}", headers=bearer(keys["ops-1"])).text
        assert REPRESENTATIVE not in page.split('id="lists-h"')[1].split("</section>")[0]

    # the chain keeps a digest, the notices nothing, of the name
    with bureau.ledger.connect() as conn:
        payloads = conn.execute(
            select(audit_log.c.payload).where(audit_log.c.payload.contains(entry["entry_id"]))
        ).scalars().all()  # fmt: skip
    assert payloads and not any(REPRESENTATIVE in str(p) for p in payloads)
    assert any("legal_representative_hmac" in str(p) for p in payloads)
    with bureau.ledger.connect() as conn:
        withdrawn = conn.execute(
            select(audit_log.c.payload).where(audit_log.c.action == NAME_WITHDRAWN)
        ).scalars().all()  # fmt: skip
    assert len(withdrawn) == 1 and entry["entry_id"] in str(withdrawn[0])
    notices = [n for n in list_notices(bureau.ledger) if n["kind"] == "list"]
    assert notices and not any(REPRESENTATIVE in str(n) for n in notices)
    assert verify(bureau.ledger).ok


@pytest.mark.parametrize(
    ("list_id", "subject", "cited", "says"),
    [
        # a person's entry never names anyone else
        ("judgment_defaulters", DEFAULTER,
         {"furnisher_id": "court-riverside", "record_id": "D-1234"}, "only an organisation"),
        # the red list's law publishes the firm only
        ("a_grade_taxpayers", ORG,
         {"authority": "Municipal Tax Bureau", "decision_reference": "MTB-2025-A-0117",
          "decision_date": "2025-12-20"}, "does not publish"),
    ],
    ids=["a person", "a list that names nobody"],
)  # fmt: skip
def test_no_representative_where_the_law_names_none(bureau, keys, list_id, subject, cited, says):
    with _client(bureau) as client:
        refused = _propose(client, keys["ops-1"], list_id, subject, cited, name_representative=True)
        assert refused.status_code == 422, refused.text
        assert says in refused.json()["detail"]
        assert refused.headers["content-type"] == "application/problem+json"


def test_a_name_the_file_no_longer_gives_is_not_published_at_approval(tmp_path, fresh_ledger_url):
    bureau = _build(tmp_path, fresh_ledger_url)
    keys = issue_keys(bureau.ledger, PARTIES)
    with _client(bureau) as client:
        proposed = _propose(
            client, keys["ops-1"], "major_tax_violators", ORG, PENALTY, name_representative=True
        )
        assert proposed.json()["legal_representative"] == REPRESENTATIVE
    # after the proposal, the tax office reports the firm's new representative
    assert ingest_file(bureau, write_csv(tmp_path / "p.csv", [_new_profile()]),
                       "tax-city").rows_accepted  # fmt: skip
    with _client(bureau, NOW + timedelta(days=16)) as client:
        decided = client.post(
            f"/v1/list-entries/{proposed.json()['entry_id']}/decision",
            headers=bearer(keys["ops-2"]), json={"approve": True, "note": "Listed."},
        )  # fmt: skip
        assert decided.status_code == 200, decided.text
        assert decided.json()["status"] == "listed"
        assert decided.json()["legal_representative"] is None
    with bureau.ledger.connect() as conn:
        decisions = conn.execute(
            select(audit_log.c.payload).where(audit_log.c.action == "list.decide")
        ).scalars().all()  # fmt: skip
    assert any("legal_representative_withdrawn" in str(p) for p in decisions)


def test_the_command_names_the_representative_and_prints_it_as_text(
    tmp_path, fresh_ledger_url, monkeypatch
):
    """The name is furnished text: the command line prints it as it is, never as markup."""
    from typer.testing import CliRunner  # noqa: PLC0415

    from openbureau import cli_lists  # noqa: PLC0415
    from openbureau.cli import app as cli  # noqa: PLC0415
    from openbureau.lists import service  # noqa: PLC0415

    bureau = _build(tmp_path, fresh_ledger_url)
    keys = issue_keys(bureau.ledger, PARTIES)

    monkeypatch.setattr(cli_lists, "_now", lambda: NOW)
    monkeypatch.setenv("OPENBUREAU_LEDGER_URL", bureau.settings.ledger_url)
    home = ["--home", str(bureau.settings.home)]
    decision = ["--authority", "Municipal Tax Bureau", "--reference", "MTB-2025-A-0119",
                "--decided-on", "2025-12-20"]  # fmt: skip
    refused = CliRunner().invoke(
        cli, ["lists", "propose", "a_grade_taxpayers", "--subject", ORG, "--grounds", "A-grade.",
              "--key", keys["ops-1"], *decision, "--name-representative", *home],
    )  # fmt: skip
    assert refused.exit_code == 2 and "does not publish" in refused.output
    # a furnisher's text with brackets in it (say, a title): printed as sent
    bracketed = "Chen Hua [/acting]"
    monkeypatch.setattr(service, "_file_representative", lambda records: bracketed)
    named = CliRunner().invoke(
        cli, ["lists", "propose", "major_tax_violators", "--subject", ORG, "--grounds",
              "A serious tax penalty stands.", "--key", keys["ops-1"], "--furnisher", "tax-city",
              "--record", "TP-2025-9", "--name-representative", *home],
    )  # fmt: skip
    assert named.exit_code == 0, named.output
    assert f"naming its legal representative {bracketed}" in " ".join(named.output.split())


def test_a_newer_profile_naming_someone_else_takes_the_name_off_at_the_next_check(
    tmp_path, fresh_ledger_url
):
    bureau = _build(tmp_path, fresh_ledger_url)
    keys = issue_keys(bureau.ledger, PARTIES)
    with _client(bureau) as client:
        proposed = _propose(
            client, keys["ops-1"], "major_tax_violators", ORG, PENALTY, name_representative=True
        )
        assert proposed.status_code == 201, proposed.text
    with _client(bureau, NOW + timedelta(days=16)) as client:
        decided = client.post(
            f"/v1/list-entries/{proposed.json()['entry_id']}/decision",
            headers=bearer(keys["ops-2"]), json={"approve": True, "note": "Listed."},
        )  # fmt: skip
        assert decided.json()["legal_representative"] == REPRESENTATIVE
    # the tax office reports the firm's new legal representative
    assert ingest_file(bureau, write_csv(tmp_path / "p.csv", [_new_profile()]),
                       "tax-city").rows_accepted  # fmt: skip
    assert reconcile(bureau, actor="operator-local", now=NOW + timedelta(days=20)) == []
    with _client(bureau) as client:
        entries = client.get(f"/v1/subjects/{ORG}/list-entries", headers=bearer(keys["ops-1"]))
    # the entry stays listed; no name is put in the old one's place without a proposal
    assert [(e["status"], e["legal_representative"]) for e in entries.json()] == [("listed", None)]


def _new_profile() -> dict:
    """A newer profile of ORG from the tax office, naming another legal representative."""
    fields = {"authority", "violation_category", "severity", "penalty_date", "amount", "currency"}
    return {
        **{k: v for k, v in _penalty_row().items() if k not in fields},
        "record_type": "profile", "record_id": "ORG-78", "reported_on": "2025-12-01",
        "legal_representative": "Sun Li", "public_body": "false",
    }  # fmt: skip
