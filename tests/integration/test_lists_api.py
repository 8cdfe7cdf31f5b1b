"""Black and red lists through the real app, on SQLite and PostgreSQL: an operator proposes
an entry citing a court's finding, the subject is told and objects, a second operator
decides, relying parties ask whether a measure applies and are told why, and the entry
leaves the list when its term ends, when the finding is reported satisfied, when a dispute
deletes the record it rests on, or when an operator removes it. Every step is audited and
told to the subject, and nobody's words reach the audit chain."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select, update

from factories import write_csv
from keys import bearer, issue_keys
from openbureau.api.app import create_app
from openbureau.audit.service import verify
from openbureau.bootstrap import build_bureau
from openbureau.identity import state as identity_state
from openbureau.ingest.service import ingest_file
from openbureau.inquiries.outbox import list_notices
from openbureau.lists.rules import MEASURES
from openbureau.lists.service import (
    PENDING_FILE,
    clear_entries,
    note_pending,
    reconcile,
    reconcile_quietly,
)
from openbureau.storage.ledger import audit_log, list_entries, subjects
from report_fixture import (
    AS_OF,
    DEFAULTER,
    GOOD,
    MERGED,
    ORG,
    RAW_IDS,
    build_report_fixture,
    own_fixture_files,
)

NOW = datetime(2026, 1, 10, 9, 30, tzinfo=UTC)
PROBLEM = "application/problem+json"
PARTIES = {
    "ops-1": ("operator", "operator", {}),
    "ops-2": ("operator", "operator", {}),
    "lender-1": ("lender", "inquirer", {}),
    "airline-1": ("service_provider", "inquirer", {}),
    "tax-office": ("authority", "inquirer", {}),
    "court-1": ("furnisher", "furnisher", {"furnisher_id": "court-riverside"}),
    "self-defaulter": ("subject", "subject", {"subject_id": DEFAULTER}),
    "self-good": ("subject", "subject", {"subject_id": GOOD}),
}
FINDING = {"furnisher_id": "court-riverside", "record_id": "D-1234"}
GROUNDS = "The Riverside court's finding D-1234 stands unremoved."
OBJECTION = "I have agreed a payment plan with the creditor."
#: The finding's term ends on 2030-01-20: an entry resting on it holds until then.
ENDS = "2030-01-20"
AFTER_WINDOW = NOW + timedelta(days=16)


FINDING_COLUMNS = [
    "record_type", "record_id", "reported_on", "version", "subject_kind", "given_name",
    "family_name", "date_of_birth", "national_id_scheme", "national_id", "address_line1",
    "city", "region", "postcode", "country", "court",
    "case_number", "ground", "finding_date", "term_months", "date_removed", "judgment_date",
    "amount", "currency", "date_satisfied",
]  # fmt: skip
CASE = "(2024) R0108 Civ 1234"


def _court_row(record_type: str, record_id: str, version: int, reported_on: str, **fields):
    scheme, number = RAW_IDS[DEFAULTER]
    return {
        "record_type": record_type, "record_id": record_id, "reported_on": reported_on,
        "version": str(version), "subject_kind": "person", "given_name": "Wei",
        "family_name": "Li", "date_of_birth": "1980-03-15", "national_id_scheme": scheme,
        "national_id": number, "address_line1": "88 Zhongguancun Street", "city": "Beijing",
        "region": "BJ", "postcode": "100080", "country": "CN",
        "court": "Riverside District People's Court", "case_number": CASE, **fields,
    }  # fmt: skip


def _as_good(row: dict) -> dict:
    """The row with GOOD's identity instead of DEFAULTER's."""
    scheme, number = RAW_IDS[GOOD]
    return {
        **row, "given_name": "Fang", "family_name": "Wang", "date_of_birth": "1949-12-31",
        "national_id_scheme": scheme, "national_id": number,
        "address_line1": "12 Chaoyang Road", "postcode": "100020",
    }  # fmt: skip


def _finding(version: int, reported_on: str, date_removed: str = "") -> dict:
    return _court_row(
        "judgment_default_finding", "D-1234", version, reported_on,
        ground="refuses_with_ability", finding_date="2025-01-20", term_months="60",
        date_removed=date_removed,
    )  # fmt: skip


def _judgment(version: int, reported_on: str, date_satisfied: str = "", case: str = CASE):
    row = _court_row(
        "court_judgment", "J-1234", version, reported_on, judgment_date="2024-09-10",
        amount="8650000", currency="CNY", date_satisfied=date_satisfied,
    )  # fmt: skip
    return {**row, "case_number": case}


@pytest.fixture
def bureau(tmp_path, fresh_ledger_url):
    fixture = build_report_fixture(tmp_path / "bureau", fresh_ledger_url)
    built = build_bureau(fixture.settings)
    own_fixture_files(built, "court-riverside", NOW)
    # the court corrects the finding's term to five years (from 2025-01-20: to 2030-01-20),
    # so that an entry resting on it holds past the day these tests run
    five_years = write_csv(tmp_path / "term.csv", [_finding(2, "2025-06-02")], FINDING_COLUMNS)
    assert ingest_file(built, five_years, "court-riverside").rows_accepted == 1
    return built


@pytest.fixture
def keys(bureau):
    return issue_keys(bureau.ledger, PARTIES)


def _client(bureau, now=NOW):
    return TestClient(create_app(bureau.settings, today=lambda: AS_OF, now=lambda: now))


def _propose(client, key, list_id="judgment_defaulters", subject=DEFAULTER, **cited):
    body = {"subject_id": subject, "grounds": GROUNDS, **(cited or FINDING)}
    return client.post(f"/v1/lists/{list_id}/entries", headers=bearer(key), json=body)


def _step(client, key, entry_id, step, **body):
    return client.post(f"/v1/list-entries/{entry_id}/{step}", headers=bearer(key), json=body)


def _measure(client, key, measure, subject=DEFAULTER):
    return client.get(f"/v1/subjects/{subject}/measures/{measure}", headers=bearer(key))


def _listed(bureau, keys, now=NOW) -> str:
    """An entry proposed at `now` and approved by a second operator after its window."""
    with _client(bureau, now) as client:
        entry = _propose(client, keys["ops-1"]).json()
    with _client(bureau, now + (AFTER_WINDOW - NOW)) as client:
        done = _step(client, keys["ops-2"], entry["entry_id"], "decision", approve=True,
                     note="No objection; the finding stands.")  # fmt: skip
        assert done.status_code == 200, done.text
    return entry["entry_id"]


def _actions(bureau, entry_id: str) -> list[tuple[str, str, str]]:
    with bureau.ledger.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.action, audit_log.c.actor, audit_log.c.payload)
            .where(audit_log.c.payload.contains(entry_id))
            .order_by(audit_log.c.seq)
        )
        return [(r.action, r.actor, r.payload) for r in rows]


def _notices(bureau, entry_id: str) -> list[dict]:
    return [
        n for n in list_notices(bureau.ledger)
        if n["kind"] == "list" and n["body"]["entry_id"] == entry_id
    ]  # fmt: skip


def test_the_due_process_from_proposal_to_listing_and_the_measure_answer(bureau, keys):
    with _client(bureau) as client:
        published = client.get("/v1/lists", headers=bearer(keys["self-good"]))
        assert published.status_code == 200  # the criteria are no secret: any key reads them
        assert {d["list_id"]: d["kind"] for d in published.json()} == {
            "judgment_defaulters": "black", "major_tax_violators": "black",
            "a_grade_taxpayers": "red",
        }  # fmt: skip
        assert _measure(client, keys["airline-1"], "premium_travel").json()["applies"] is False

        proposed = _propose(client, keys["ops-1"])
        assert proposed.status_code == 201, proposed.text
        entry = proposed.json()
        assert (entry["status"], entry["record_type"], entry["term_months"]) == (
            "proposed", "judgment_default_finding", 60,
        )  # fmt: skip
        assert entry["objection_ends_on"] == "2026-01-25"
        # proposed is not listed: no measure applies yet
        assert _measure(client, keys["airline-1"], "premium_travel").json()["applies"] is False
        # nobody approves inside the window; nobody approves their own proposal
        early = _step(client, keys["ops-2"], entry["entry_id"], "decision", approve=True,
                      note="Looks right.")  # fmt: skip
        assert early.status_code == 422 and "may object until 2026-01-25" in early.json()["detail"]
        again = _propose(client, keys["ops-2"])
        assert again.status_code == 409 and "already has an entry" in again.json()["detail"]

        # the subject sees it at once and objects with its own key
        mine = client.get(
            f"/v1/subjects/{DEFAULTER}/list-entries", headers=bearer(keys["self-defaulter"])
        )
        assert [e["status"] for e in mine.json()] == ["proposed"]
        page = client.get(f"/subjects/{DEFAULTER}", headers=bearer(keys["ops-1"])).text
        lists = page.split('id="lists-h"')[1].split("</section>")[0]
        assert "Judgment defaulters" in lists and "object by 25 Jan 2026" in lists
        assert "Riverside District People" in lists and "D-1234" in lists
        objected = _step(client, keys["self-defaulter"], entry["entry_id"], "objection",
                         objection=OBJECTION)  # fmt: skip
        assert objected.status_code == 200 and objected.json()["status"] == "objected"
        twice = _step(client, keys["self-defaulter"], entry["entry_id"], "objection",
                      objection=OBJECTION)  # fmt: skip
        assert twice.status_code == 409
        own = _step(client, keys["ops-1"], entry["entry_id"], "decision", approve=True,
                    note="I read the objection.")  # fmt: skip
        assert own.status_code == 422 and "second operator" in own.json()["detail"]
        # an objection never shortens the subject's window
        hasty = _step(client, keys["ops-2"], entry["entry_id"], "decision", approve=True,
                      note="Read it.")  # fmt: skip
        assert hasty.status_code == 422 and "may object until" in hasty.json()["detail"]

    with _client(bureau, AFTER_WINDOW) as client:
        # after the window, a second operator decides, having read the objection
        decided = _step(client, keys["ops-2"], entry["entry_id"], "decision", approve=True,
                        note="A payment plan is not payment; the finding stands.")  # fmt: skip
        assert decided.status_code == 200, decided.text
        listed = decided.json()
        # until the finding's own term ends, not for a term counted from today
        assert (listed["status"], listed["listed_on"], listed["ends_on"]) == (
            "listed", "2026-01-26", ENDS,
        )  # fmt: skip
        late = _step(client, keys["ops-2"], entry["entry_id"], "decision", approve=False,
                     note="Changed my mind.")  # fmt: skip
        assert late.status_code == 409

        answer = _measure(client, keys["airline-1"], "premium_travel")
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["applies"] is True and body["subject_id"] == DEFAULTER
        (cited,) = body["citations"]
        assert cited["entry_id"] == entry["entry_id"] and cited["ends_on"] == ENDS
        assert cited["finding_under_dispute"] is False
        assert "Judgment Defaulters" in cited["list_legal_basis"]
        assert "art.3(1)" in cited["measure_legal_basis"]
        assert "only the listed subject" in body["binds"]
        page = client.get(f"/subjects/{DEFAULTER}", headers=bearer(keys["ops-1"])).text
        lists = page.split('id="lists-h"')[1].split("</section>")[0]
        assert "Listed</span> from 26 Jan 2026 until 20 Jan 2030" in lists
        # the subject reads why, in everyone's words (escaped as text)
        assert "payment plan is not payment" in lists and "agreed a payment plan" in lists
        assert "The Riverside court&#39;s finding D-1234" in lists
        clean = client.get(f"/subjects/{GOOD}", headers=bearer(keys["ops-1"])).text
        assert "This file is on no list" in clean
        # a measure no list of the subject's names does not apply
        assert (
            _measure(client, keys["tax-office"], "invoice_supply_limit").json()["applies"] is False
        )
        # and no measure reaches anyone else: GOOD is on no list
        assert (
            _measure(client, keys["airline-1"], "premium_travel", GOOD).json()["applies"] is False
        )

        # the subject knows who looked: each check is an inquiry in its report, never hard
        report = client.get(
            f"/v1/subjects/{DEFAULTER}/report", headers=bearer(keys["self-defaulter"])
        ).json()
        checks = [i for i in report["inquiries"] if i["purpose"] == "measure_check"]
        assert len(checks) == 4 and all(not i["hard"] for i in checks)
        assert {i["party_id"] for i in checks} == {"airline-1", "tax-office"}

    actions = _actions(bureau, entry["entry_id"])
    assert [a for a, _, _ in actions] == [
        "list.propose", "list.object", "list.decide", "lists.check",
    ]  # fmt: skip
    assert [actor.split("/")[0] for _, actor, _ in actions] == [
        "party:ops-1", "party:self-defaulter", "party:ops-2", "party:airline-1",
    ]  # fmt: skip
    # the chain keeps digests of the words, never the words
    words = (GROUNDS, OBJECTION, "payment plan is not payment")
    assert not any(w in payload for _, _, payload in actions for w in words)
    assert verify(bureau.ledger).ok
    told = _notices(bureau, entry["entry_id"])
    # (one clock for the whole test: the three notices share a time, so no order is kept)
    assert sorted(n["body"]["status"] for n in told) == ["listed", "objected", "proposed"]
    assert all(n["subject_id"] == DEFAULTER for n in told)
    assert not any(w in str(n) for n in told for w in words)
    checks = [
        n
        for n in list_notices(bureau.ledger)
        if n["kind"] == "inquiry" and n["body"].get("purpose") == "measure_check"
    ]
    assert len(checks) == 5 and {n["subject_id"] for n in checks} == {DEFAULTER, GOOD}


@pytest.mark.parametrize(
    ("party", "measure", "status"),
    [
        # an employer or a landlord looks only with the subject's consent: no measure is a
        # way round it, and a lender applies only the property restriction (a mortgage)
        ("employer-1", "premium_travel", 403),
        ("landlord-1", "property_purchase", 403),
        ("lender-1", "premium_travel", 403),
        ("lender-1", "property_purchase", 200),
        ("airline-1", "public_procurement", 403),
        ("airline-1", "premium_travel", 200),
        ("tax-office", "premium_travel", 403),
        ("tax-office", "public_procurement", 200),
        ("ops-1", "premium_travel", 200),
    ],
)
def test_only_a_party_that_applies_a_measure_may_ask_about_it(bureau, keys, party, measure, status):
    _listed(bureau, keys)
    more = issue_keys(bureau.ledger, {
        "employer-1": ("employer", "inquirer", {}), "landlord-1": ("landlord", "inquirer", {}),
    })  # fmt: skip
    with _client(bureau) as client:
        answer = _measure(client, {**keys, **more}[party], measure)
        assert answer.status_code == status, answer.text
        if status == 403:
            assert answer.headers["content-type"] == PROBLEM
            assert (
                f"may not ask about it (only: {', '.join(sorted(MEASURES[measure].party_kinds))})"
                in answer.json()["detail"]
            )
            # refused before the file is read, and the same answer for a subject that does
            # not exist; the holder of an existing file is told of the attempt
            told = len(list_notices(bureau.ledger))
            missing = _measure(client, {**keys, **more}[party], measure, "S" + "0" * 16)
            assert missing.status_code == 403
            assert missing.json()["detail"] == answer.json()["detail"]
            assert len(list_notices(bureau.ledger)) == told  # nobody to tell
        else:
            assert answer.json()["applies"] is True
        # the published definition says who applies each measure
        published = client.get("/v1/lists/judgment_defaulters", headers=bearer(keys["lender-1"]))
        shown = {m["name"]: m["party_kinds"] for m in published.json()["measures"]}
        assert shown["premium_travel"] == ["service_provider"]
    report = (
        _client(bureau)
        .get(f"/v1/subjects/{DEFAULTER}/report", headers=bearer(keys["self-defaulter"]))
        .json()
    )
    checks = [i for i in report["inquiries"] if i["purpose"] == "measure_check"]
    assert len(checks) == (0 if status == 403 else 1)
    refused = [r for r in report["refused"] if r["party_id"] == party]
    if status == 403:  # the newest refusal: this one (each case has its own bureau)
        assert refused[0]["refusal"] == "measure-refused" and measure in refused[0]["reason"]
        assert refused[0]["purpose"] == "measure_check"
    else:
        assert refused == []


def test_an_entry_ends_with_its_findings_term(bureau, keys):
    entry_id = _listed(bureau, keys)
    ends = date.fromisoformat(ENDS)
    day_before = datetime.combine(ends - timedelta(days=1), NOW.timetz())
    with _client(bureau, day_before) as client:
        assert _measure(client, keys["tax-office"], "public_procurement").json()["applies"]
    on_the_day = datetime.combine(ends, NOW.timetz())
    with _client(bureau, on_the_day) as client:
        assert not _measure(client, keys["tax-office"], "public_procurement").json()["applies"]
        (shown,) = client.get(
            f"/v1/subjects/{DEFAULTER}/list-entries", headers=bearer(keys["ops-1"])
        ).json()
        assert shown["status"] == "ended"
        ended = client.get("/v1/list-entries?status=ended", headers=bearer(keys["ops-1"]))
        assert [e["entry_id"] for e in ended.json()] == [entry_id]
        gone = _step(client, keys["ops-1"], entry_id, "removal", reason="satisfied", note="Paid.")
        assert gone.status_code == 422 and "ended" in gone.json()["detail"]
        # and the finding, its term over (and so its record's), can list nobody again
        again = _propose(client, keys["ops-1"])
        assert again.status_code == 422 and "no record 'D-1234'" in again.json()["detail"]


def test_an_ended_entry_blocks_no_new_proposal(bureau, keys):
    entry_id = _listed(bureau, keys)
    # as if the entry had been approved for a shorter term (the court's first one)
    with bureau.ledger.begin() as conn:
        conn.execute(
            update(list_entries).where(list_entries.c.entry_id == entry_id)
            .values(ends_on=date(2026, 6, 1))
        )  # fmt: skip
    with _client(bureau, datetime(2026, 6, 1, 8, tzinfo=UTC)) as client:
        again = _propose(client, keys["ops-1"])
    assert again.status_code == 201, again.text
    with bureau.ledger.connect() as conn:
        stored = dict(conn.execute(select(list_entries.c.entry_id, list_entries.c.status)).all())
    assert stored == {entry_id: "ended", again.json()["entry_id"]: "proposed"}


def test_a_finding_whose_term_is_over_lists_nobody(bureau, keys, tmp_path):
    old = _court_row(
        "judgment_default_finding", "D-0601", 1, "2022-06-03", ground="evades_enforcement",
        finding_date="2022-06-01", term_months="24",
    )  # fmt: skip
    batch = write_csv(tmp_path / "old.csv", [old], FINDING_COLUMNS)
    assert ingest_file(bureau, batch, "court-riverside").rows_accepted == 1
    with _client(bureau) as client:
        r = _propose(client, keys["ops-1"], record_id="D-0601", furnisher_id="court-riverside")
    assert r.status_code == 422 and "term ended on 2024-06-01" in r.json()["detail"]


def test_removal_by_an_operator_repair_only_where_the_list_allows_it(bureau, keys):
    entry_id = _listed(bureau, keys)
    later = NOW + timedelta(days=400)
    with _client(bureau, later) as client:
        repair = _step(client, keys["ops-1"], entry_id, "removal", reason="repaired",
                       note="Good conduct for a year.")  # fmt: skip
        assert repair.status_code == 422 and "allows no credit repair" in repair.json()["detail"]
        wrong = _step(client, keys["ops-1"], entry_id, "removal", reason="evidence_deleted",
                      note="x")  # fmt: skip
        assert wrong.status_code == 422  # only a dispute's answer deletes evidence
        done = _step(client, keys["ops-1"], entry_id, "removal", reason="satisfied",
                     note="The court's certificate of performance, 2027-02-12.")  # fmt: skip
        assert done.status_code == 200, done.text
        assert (done.json()["status"], done.json()["removal_reason"]) == ("removed", "satisfied")
        assert not _measure(client, keys["airline-1"], "premium_travel").json()["applies"]
        subject = _step(client, keys["self-defaulter"], entry_id, "removal", reason="error",
                        note="x")  # fmt: skip
        assert subject.status_code == 403
    assert [n["body"]["status"] for n in _notices(bureau, entry_id)][-1] == "removed"


def test_a_red_list_entry_rests_on_a_decision_and_a_black_one_on_a_qualifying_record(bureau, keys):
    decision = {
        "authority": "Municipal Tax Bureau", "decision_reference": "MTB-2025-A-0117",
        "decision_date": "2025-12-20",
    }  # fmt: skip
    with _client(bureau) as client:
        red = _propose(client, keys["ops-1"], "a_grade_taxpayers", ORG, **decision)
        assert red.status_code == 201, red.text
        assert red.json()["objection_ends_on"] == "2026-01-10"  # no window to wait out
        no_decision = _propose(client, keys["ops-1"], "a_grade_taxpayers", GOOD, **FINDING)
        assert no_decision.status_code == 422
        assert "authority's decision" in no_decision.json()["detail"]
        old = {**decision, "decision_date": "2024-12-01"}
        stale = _propose(client, keys["ops-1"], "a_grade_taxpayers", GOOD, **old)
        assert stale.status_code == 422 and "no longer holds" in stale.json()["detail"]
        # a penalty for food safety does not make a major tax violator
        penalty = {"furnisher_id": "regulator-market", "record_id": "AP-2025-17"}
        wrong = _propose(client, keys["ops-1"], "major_tax_violators", ORG, **penalty)
        assert wrong.status_code == 422 and "violation_category" in wrong.json()["detail"]
        # a record of another file, or none at all, cannot be cited
        elsewhere = _propose(client, keys["ops-1"], "judgment_defaulters", GOOD)
        assert elsewhere.status_code == 422 and "no record" in elsewhere.json()["detail"]
        judgment = {"furnisher_id": "court-riverside", "record_id": "J-1234"}
        not_a_finding = _propose(client, keys["ops-1"], "judgment_defaulters", **judgment)
        assert not_a_finding.status_code == 422
        assert "court_judgment record cannot" in not_a_finding.json()["detail"]
        both = _propose(client, keys["ops-1"], "judgment_defaulters", **FINDING, **decision)
        assert both.status_code == 422
        unknown = _propose(client, keys["ops-1"], "gossip_list")
        assert unknown.status_code == 422  # no list but the published ones
        extra = client.post(
            "/v1/lists/judgment_defaulters/entries", headers=bearer(keys["ops-1"]),
            json={"subject_id": DEFAULTER, "grounds": GROUNDS, **FINDING, "relatives": ["x"]},
        )  # fmt: skip
        assert extra.status_code == 422 and "relatives" in extra.text
    with _client(bureau, NOW + timedelta(days=1)) as client:
        listed = _step(client, keys["ops-2"], red.json()["entry_id"], "decision", approve=True,
                       note="Rating confirmed.")  # fmt: skip
        # twelve months from the authority's decision, not from the listing
        assert listed.status_code == 200 and listed.json()["ends_on"] == "2026-12-20"
        answer = _measure(client, keys["tax-office"], "expedited_tax_services", ORG).json()
        assert answer["applies"] and answer["citations"][0]["kind"] == "red"


@pytest.mark.parametrize(
    ("key", "status"),
    [("self-good", 403), ("lender-1", 403), ("court-1", 403), ("ops-1", 201)],
)
def test_only_operators_propose(bureau, keys, key, status):
    with _client(bureau) as client:
        assert _propose(client, keys[key]).status_code == status


def test_a_subject_objects_only_to_its_own_entries_and_only_in_the_window(bureau, keys):
    with _client(bureau) as client:
        entry = _propose(client, keys["ops-1"]).json()
        other = _step(client, keys["self-good"], entry["entry_id"], "objection",
                      objection="Not mine.")  # fmt: skip
        assert other.status_code == 404 and other.headers["content-type"] == PROBLEM
        lender = _step(client, keys["lender-1"], entry["entry_id"], "objection",
                       objection="x")  # fmt: skip
        assert lender.status_code == 403
        peek = client.get(
            f"/v1/subjects/{DEFAULTER}/list-entries", headers=bearer(keys["self-good"])
        )
        assert peek.status_code == 403
        queue = client.get("/v1/list-entries", headers=bearer(keys["lender-1"]))
        assert queue.status_code == 403
    with _client(bureau, NOW + timedelta(days=16)) as client:
        closed = _step(client, keys["self-defaulter"], entry["entry_id"], "objection",
                       objection=OBJECTION)  # fmt: skip
        assert closed.status_code == 422 and "closed on 2026-01-25" in closed.json()["detail"]
        # an operator may still reject (a rejection never harms the subject)
        rejected = _step(client, keys["ops-1"], entry["entry_id"], "decision", approve=False,
                         note="The finding is under appeal.")  # fmt: skip
        assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"


def test_a_record_under_dispute_holds_the_entry_and_its_deletion_removes_it(bureau, keys):
    with _client(bureau) as client:
        entry = _propose(client, keys["ops-1"]).json()
        disputed = client.post(
            f"/v1/subjects/{DEFAULTER}/disputes", headers=bearer(keys["self-defaulter"]),
            json={**FINDING, "reason": "The finding was lifted in March."},
        )  # fmt: skip
        assert disputed.status_code == 201, disputed.text
        dispute_id = disputed.json()["dispute_id"]
    with _client(bureau, NOW + timedelta(days=16)) as client:
        held = _step(client, keys["ops-2"], entry["entry_id"], "decision", approve=True,
                     note="No objection.")  # fmt: skip
        assert held.status_code == 422 and "under dispute" in held.json()["detail"]
        answered = client.post(
            f"/v1/disputes/{dispute_id}/answer", headers=bearer(keys["court-1"]),
            json={"outcome": "unverifiable", "note": "Our file cannot confirm it."},
        )  # fmt: skip
        assert answered.status_code == 200, answered.text
        (shown,) = client.get(
            f"/v1/subjects/{DEFAULTER}/list-entries", headers=bearer(keys["ops-1"])
        ).json()
        assert (shown["status"], shown["removal_reason"]) == ("removed", "evidence_deleted")
        # nor can a new entry rest on the deleted record
        again = _propose(client, keys["ops-1"])
        assert again.status_code == 422 and "no record" in again.json()["detail"]
    assert [a for a, _, _ in _actions(bureau, entry["entry_id"])] == [
        "list.propose", "list.remove",
    ]  # fmt: skip
    assert verify(bureau.ledger).ok


@pytest.mark.parametrize(
    "paid",
    [
        # the newest version of the finding says the court removed it
        [_finding(5, "2026-03-02", "2026-02-27"), _finding(4, "2026-02-01")],
        # the judgment behind the finding is reported paid (same court, same case)
        [_judgment(3, "2026-03-02", "2026-02-27")],
        # and a version out of order that still says "in force" is not the newest one
        [_finding(4, "2026-02-01"), _finding(5, "2026-03-02", "2026-02-27")],
    ],
    ids=["finding-removed", "judgment-paid", "versions-out-of-order"],
)
def test_a_batch_reporting_the_debt_paid_takes_the_subject_off_at_once(
    bureau, keys, tmp_path, paid
):
    """SCOPE: a paid judgment debt leaves the defaulter list within 3 working days; here in
    the very transaction that accepts the batch saying so."""
    entry_id = _listed(bureau, keys)
    # corrections that still show the finding in force, another case paid, or a co-debtor
    # in the same case paying its own judgment, change nothing
    co_debtor = {**_as_good(_judgment(1, "2026-02-01", "2026-01-30")), "record_id": "J-1235"}
    same = [
        _finding(3, "2026-02-01"),
        {**_judgment(1, "2026-02-01", "2026-01-30", case="(2019) other"), "record_id": "J-99"},
        co_debtor,
    ]  # fmt: skip
    receipt = ingest_file(
        bureau, write_csv(tmp_path / "same.csv", same, FINDING_COLUMNS), "court-riverside"
    )
    assert receipt.rows_accepted == 3, receipt
    with bureau.ledger.connect() as conn:
        assert conn.execute(select(list_entries.c.status)).scalar() == "listed"
    receipt = ingest_file(
        bureau, write_csv(tmp_path / "paid.csv", paid, FINDING_COLUMNS), "court-riverside"
    )
    assert receipt.rows_accepted >= 1, receipt
    with bureau.ledger.connect() as conn:
        row = conn.execute(select(list_entries)).one()
    assert (row.status, row.removal_reason) == ("removed", "satisfied")
    assert row.removed_by == "furnisher:court-riverside"
    assert [a for a, _, _ in _actions(bureau, entry_id)][-1] == "list.remove"
    assert _notices(bureau, entry_id)[-1]["body"]["removal_reason"] == "satisfied"
    with _client(bureau, NOW + timedelta(days=60)) as client:
        assert not _measure(client, keys["airline-1"], "premium_travel").json()["applies"]
    assert verify(bureau.ledger).ok


def test_a_batch_lifts_an_entry_with_a_report_dated_a_day_ahead_of_utc_not_two(
    bureau, keys, tmp_path
):
    """A court east of Greenwich reports on its own calendar day, up to a day ahead of UTC:
    the batch reads the file a day ahead, so that day's lift counts at once. A report dated
    later than that is not yet in the file, and lifts nothing until its day comes."""
    entry_id = _listed(bureau, keys)
    today = datetime.now(UTC).date()

    def lift(version: int, reported_on: date) -> None:
        row = _finding(version, reported_on.isoformat(), reported_on.isoformat())
        path = write_csv(tmp_path / f"lift-{version}.csv", [row], FINDING_COLUMNS)
        assert ingest_file(bureau, path, "court-riverside").rows_accepted == 1

    def status() -> tuple[str, str | None]:
        with bureau.ledger.connect() as conn:
            row = conn.execute(select(list_entries).where(list_entries.c.entry_id == entry_id))
            entry = row.one()
        return entry.status, entry.removal_reason

    lift(3, today + timedelta(days=2))
    assert status() == ("listed", None)
    lift(4, today + timedelta(days=1))
    assert status() == ("removed", "satisfied")


def test_no_entry_rests_on_a_finding_whose_judgment_the_file_shows_paid(bureau, keys, tmp_path):
    with _client(bureau) as client:
        entry = _propose(client, keys["ops-1"]).json()
    # the payment reaches the bureau in a batch the entry was not yet listed for: it goes
    paid = [_judgment(3, "2026-01-12", "2026-01-11")]
    ingest_file(bureau, write_csv(tmp_path / "paid.csv", paid, FINDING_COLUMNS), "court-riverside")
    with bureau.ledger.connect() as conn:
        assert conn.execute(select(list_entries.c.status)).scalar() == "removed"
    with _client(bureau, NOW + timedelta(days=16)) as client:
        refused = _propose(client, keys["ops-1"])
        assert refused.status_code == 422 and "judgment paid" in refused.json()["detail"]
        decided = _step(client, keys["ops-2"], entry["entry_id"], "decision", approve=True,
                        note="x")  # fmt: skip
        assert decided.status_code == 409


def _mark_resolved(bureau) -> None:
    """Write into the links file that a resolve covered every record file now in the lake
    (what a resolve leaves; the fixture writes its links without it)."""
    lake = bureau.lake
    table = pq.read_table(lake.links_path)
    files = json.dumps(identity_state.relative(lake, lake.record_files())).encode()
    meta = {**(table.schema.metadata or {}), identity_state.RESOLVED_KEY: files}
    pq.write_table(table.replace_schema_metadata(meta), lake.links_path)


def _rest_on_a_record_gone(bureau, entry_id: str) -> None:
    """Point the entry at a record its file does not show (as a correction into another
    file, or a purge, leaves it)."""
    with bureau.ledger.begin() as conn:
        conn.execute(
            update(list_entries).where(list_entries.c.entry_id == entry_id)
            .values(record_id="D-GONE")
        )  # fmt: skip


def _status(bureau) -> tuple:
    with bureau.ledger.connect() as conn:
        row = conn.execute(select(list_entries)).one()
    return row.status, row.removal_reason, row.removed_by


def test_a_finding_corrected_into_another_file_takes_the_entry_with_it(bureau, keys, tmp_path):
    """A mixed file put right: the court's correction says D-1234 was never DEFAULTER's. No
    measure rests on it from that batch on; the entry leaves at the check that follows every
    resolve (`reconcile`), which reads files only while links and ledger agree."""
    entry_id = _listed(bureau, keys)
    moved = [_as_good(_finding(3, "2026-02-02"))]
    ingest_file(
        bureau, write_csv(tmp_path / "moved.csv", moved, FINDING_COLUMNS), "court-riverside"
    )
    assert _status(bureau) == ("listed", None, None)  # a batch only ever lifts
    with _client(bureau, NOW + timedelta(days=60)) as client:
        answer = _measure(client, keys["airline-1"], "premium_travel").json()
    assert answer["applies"] is False and answer["citations"] == []
    assert _status(bureau) == ("listed", None, None)  # nor does a measure check decide it
    # nor a check while a batch is not yet resolved: its version may not be placed yet
    assert reconcile(bureau, actor="operator-local", now=NOW + timedelta(days=60)) == []
    _mark_resolved(bureau)  # the next resolve, which covers it
    assert reconcile(bureau, actor="operator-local", now=NOW + timedelta(days=60)) == [entry_id]
    assert _status(bureau) == ("removed", "evidence_changed", "operator-local")
    assert [a for a, _, _ in _actions(bureau, entry_id)][-1] == "list.remove"
    assert verify(bureau.ledger).ok


def test_a_correction_the_file_cannot_place_yet_removes_nothing(bureau, keys, tmp_path):
    """The court re-sends the finding, still in force, with a new address: until a resolve
    links that spelling to the subject, the file cannot show the new version, and nothing
    is taken off for it (the next resolve links it, and the entry stands)."""
    _listed(bureau, keys)
    moved_house = {**_finding(3, "2026-02-02"), "address_line1": "5 New Road"}
    batch = write_csv(tmp_path / "house.csv", [moved_house], FINDING_COLUMNS)
    assert ingest_file(bureau, batch, "court-riverside").rows_accepted == 1
    assert _status(bureau) == ("listed", None, None)
    # nor does the check after a purge, while that batch waits for its resolve
    assert reconcile(bureau, actor="operator-local", now=NOW + timedelta(days=60)) == []
    assert _status(bureau) == ("listed", None, None)


def test_a_court_shortening_the_term_shortens_the_entry(bureau, keys, tmp_path):
    entry_id = _listed(bureau, keys)  # until 2030-01-20, the finding's five years
    shorter = {**_finding(3, "2026-02-02"), "term_months": "24"}  # now to 2027-01-20
    ingest_file(
        bureau, write_csv(tmp_path / "t.csv", [shorter], FINDING_COLUMNS), "court-riverside"
    )
    with _client(bureau, datetime(2027, 1, 19, 9, tzinfo=UTC)) as client:
        assert _measure(client, keys["airline-1"], "premium_travel").json()["applies"]
    later = datetime(2027, 6, 1, 9, tzinfo=UTC)
    with _client(bureau, later) as client:
        assert not _measure(client, keys["airline-1"], "premium_travel").json()["applies"]
    _mark_resolved(bureau)
    assert reconcile(bureau, actor="operator-local", now=later) == [entry_id]
    assert _status(bureau)[:2] == ("removed", "evidence_changed")


def test_a_measure_check_takes_off_an_entry_whose_finding_is_lifted(
    bureau, keys, tmp_path, monkeypatch
):
    """Whatever kept the batch from lifting it (here its check failed, which never fails
    the batch), no measure rests on a lifted finding: the check reads the file and takes
    the entry off there and then."""
    entry_id = _listed(bureau, keys)

    def broken(*_args, **_kwargs):
        raise RuntimeError("lake unreadable")

    monkeypatch.setattr("openbureau.lists.service.entries_to_clear", broken)
    lifted = [_finding(3, "2026-02-02", "2026-02-01")]
    receipt = ingest_file(
        bureau, write_csv(tmp_path / "lifted.csv", lifted, FINDING_COLUMNS), "court-riverside"
    )
    assert receipt.status == "accepted" and receipt.rows_accepted == 1
    assert _status(bureau) == ("listed", None, None)
    with _client(bureau, NOW + timedelta(days=60)) as client:
        answer = _measure(client, keys["airline-1"], "premium_travel").json()
    assert answer["applies"] is False
    assert _status(bureau) == ("removed", "satisfied", "bureau:evidence-check")
    assert [a for a, _, _ in _actions(bureau, entry_id)][-1] == "list.remove"


def test_no_measure_rests_on_a_record_the_file_no_longer_shows(bureau, keys):
    entry_id = _listed(bureau, keys)
    _rest_on_a_record_gone(bureau, entry_id)  # as if the entry rested on a record now gone
    with _client(bureau, AFTER_WINDOW) as client:
        answer = _measure(client, keys["airline-1"], "premium_travel").json()
    assert answer["applies"] is False and answer["citations"] == []
    # taken off by the check after the next resolve, not by a read that may be mid-merge
    _mark_resolved(bureau)
    assert reconcile(bureau, actor="operator-local", now=AFTER_WINDOW) == [entry_id]
    assert _status(bureau)[:2] == ("removed", "evidence_changed")
    assert verify(bureau.ledger).ok


def test_a_decision_loses_to_a_batch_that_lifted_the_entry_meanwhile(bureau, keys, monkeypatch):
    from openbureau.lists import service  # noqa: PLC0415

    with _client(bureau) as client:
        entry = _propose(client, keys["ops-1"]).json()
    read_file = service._file_records

    def lifted_meanwhile(*args, **kwargs):  # the court's batch lands while the file is read
        records = read_file(*args, **kwargs)
        with bureau.ledger.begin() as conn:
            clear_entries(conn, [(entry["entry_id"], "satisfied")], actor="furnisher:x", now=NOW)
        return records

    monkeypatch.setattr(service, "_file_records", lifted_meanwhile)
    with _client(bureau, AFTER_WINDOW) as client:
        r = _step(client, keys["ops-2"], entry["entry_id"], "decision", approve=True,
                  note="It stands.")  # fmt: skip
    assert r.status_code == 409 and "now removed" in r.json()["detail"]
    assert _status(bureau) == ("removed", "satisfied", "furnisher:x")


def test_a_measure_check_cites_no_entry_removed_while_it_read_the_file(bureau, keys, monkeypatch):
    from openbureau.lists import service  # noqa: PLC0415

    entry_id = _listed(bureau, keys)
    read_file = service._file_records

    def lifted_meanwhile(*args, **kwargs):
        records = read_file(*args, **kwargs)
        with bureau.ledger.begin() as conn:
            clear_entries(conn, [(entry_id, "satisfied")], actor="furnisher:x", now=AFTER_WINDOW)
        return records

    monkeypatch.setattr(service, "_file_records", lifted_meanwhile)
    with _client(bureau, AFTER_WINDOW) as client:
        answer = _measure(client, keys["airline-1"], "premium_travel").json()
    assert answer["applies"] is False and answer["citations"] == []


def test_clearing_leaves_an_ended_or_removed_entry_as_it_is(bureau, keys):
    entry_id = _listed(bureau, keys)
    after_end = datetime(2030, 1, 21, tzinfo=UTC)
    with bureau.ledger.begin() as conn:
        assert clear_entries(conn, [(entry_id, "satisfied")], actor="x", now=after_end) == []
    assert _status(bureau) == ("listed", None, None)  # shown "ended", as it was
    with bureau.ledger.begin() as conn:
        assert clear_entries(conn, [(entry_id, "satisfied")], actor="x", now=NOW) == [entry_id]
        assert clear_entries(conn, [(entry_id, "error")], actor="y", now=NOW) == []
    assert _status(bureau) == ("removed", "satisfied", "x")


def test_a_red_list_decision_ending_before_approval_could_come_is_refused(bureau, keys):
    # a 12-month term from 2025-01-11 ends on 2026-01-11: the first day an approval could
    # come after a proposal on 2026-01-10, so it could list nobody
    decision = {
        "authority": "Municipal Tax Bureau", "decision_reference": "MTB-2025-A-0001",
        "decision_date": "2025-01-11",
    }  # fmt: skip
    with _client(bureau) as client:
        r = _propose(client, keys["ops-1"], "a_grade_taxpayers", ORG, **decision)
        assert r.status_code == 422 and "could list nobody" in r.json()["detail"]
        ok = _propose(client, keys["ops-1"], "a_grade_taxpayers", ORG,
                      **{**decision, "decision_date": "2025-01-12"})  # fmt: skip
        assert ok.status_code == 201, ok.text


def test_a_file_holds_one_open_entry_per_list_whatever_ids_it_merged(bureau, keys):
    with bureau.ledger.begin() as conn:  # an id proposed before it was merged into DEFAULTER
        conn.execute(
            insert(subjects).values(
                subject_id="S000099",
                subject_kind="person",
                display_name="Li Wei",
                created_at=NOW,
                merged_into=DEFAULTER,
            )  # fmt: skip
        )
    with _client(bureau) as client:
        first = _propose(client, keys["ops-1"])
        assert first.status_code == 201
    with bureau.ledger.begin() as conn:
        conn.execute(
            update(list_entries).where(list_entries.c.entry_id == first.json()["entry_id"])
            .values(subject_id="S000099")
        )  # fmt: skip
    with _client(bureau) as client:
        second = _propose(client, keys["ops-2"])
    assert second.status_code == 409 and "already has an entry" in second.json()["detail"]


def test_a_merged_id_leads_to_the_surviving_file(bureau, keys):
    with _client(bureau) as client:
        r = client.get(
            f"/v1/subjects/{MERGED}/list-entries", headers=bearer(keys["ops-1"]),
            follow_redirects=False,
        )  # fmt: skip
        assert r.status_code == 307 and r.headers["location"].endswith(f"/{GOOD}/list-entries")
        r = _measure(client, keys["airline-1"], "premium_travel", MERGED)
        assert r.status_code == 200  # the test client follows the redirect to the file
        assert r.json()["subject_id"] == GOOD
        r = _propose(client, keys["ops-1"], subject=MERGED)
        assert r.status_code == 422 and f"merged into {GOOD}" in r.json()["detail"]
        r = _propose(client, keys["ops-1"], subject="S999999")
        assert r.status_code == 404 and r.headers["content-type"] == PROBLEM


def test_the_commands_take_an_entry_through_due_process(bureau, keys, monkeypatch):
    """Each step at the command line is taken with its person's own key, as in the API."""
    from typer.testing import CliRunner  # noqa: PLC0415

    from openbureau import cli_lists  # noqa: PLC0415
    from openbureau.cli import app as cli  # noqa: PLC0415

    monkeypatch.setenv("OPENBUREAU_LEDGER_URL", bureau.settings.resolved_ledger_url)
    clock = [NOW]
    monkeypatch.setattr(cli_lists, "_now", lambda: clock[0])
    runner, home = CliRunner(), ["--home", str(bureau.settings.home)]

    def run(*args: str, key: str | None = None):
        with_key = ["--key", keys[key]] if key else []
        return runner.invoke(cli, ["lists", *args, *with_key, *home])

    shown = runner.invoke(cli, ["lists", "show", "judgment_defaulters"])
    assert shown.exit_code == 0 and '"premium_travel"' in shown.stdout
    proposed = run(
        "propose", "judgment_defaulters", "--subject", DEFAULTER, "--grounds", GROUNDS,
        "--furnisher", "court-riverside", "--record", "D-1234", key="ops-1",
    )  # fmt: skip
    assert proposed.exit_code == 0, proposed.output
    entry_id = proposed.output.split()[1].rstrip(":")
    objected = run("object", entry_id, "--objection", OBJECTION, key="ops-2")
    assert objected.exit_code == 0, objected.output
    early = run("decide", entry_id, "--approve", "--note", "ok", key="ops-2")
    assert early.exit_code == 2 and "may object until" in early.output
    clock[0] = AFTER_WINDOW
    own = run("decide", entry_id, "--approve", "--note", "ok", key="ops-1")
    assert own.exit_code == 2 and "second operator" in own.output
    lender = run("decide", entry_id, "--approve", "--note", "ok", key="lender-1")
    assert lender.exit_code == 2 and "needs an operator key" in lender.output
    forged = runner.invoke(
        cli, ["lists", "decide", entry_id, "--approve", "--note", "ok", "--key", "obk_x", *home]
    )
    assert forged.exit_code == 2 and "not valid" in forged.output
    missing = runner.invoke(cli, ["lists", "decide", entry_id, "--approve", "--note", "ok", *home])
    assert missing.exit_code == 2  # no key, no step
    decided = run("decide", entry_id, "--approve", "--note", "Read; it stands.", key="ops-2")
    assert decided.exit_code == 0 and "listed from 2026-01-26" in decided.output, decided.output
    checked = run("check", "--subject", DEFAULTER, "--measure", "property_purchase",
                  key="lender-1")  # fmt: skip
    assert checked.exit_code == 0 and "yes" in checked.output, checked.output
    listed = runner.invoke(cli, ["lists", "entries", "--status", "listed", *home])
    assert listed.exit_code == 0 and entry_id in listed.stdout
    bad = runner.invoke(cli, ["lists", "entries", "--status", "late", *home])
    assert bad.exit_code == 2
    removed = run(
        "remove", entry_id, "--reason", "revoked", "--note", "Set aside on appeal.", key="ops-1"
    )
    assert removed.exit_code == 0 and "removed (revoked)" in removed.output
    actions = _actions(bureau, entry_id)
    assert [a for a, _, _ in actions] == [
        "list.propose", "list.object", "list.decide", "lists.check", "list.remove",
    ]  # fmt: skip
    # the chain names each person's key, as for the API
    assert [actor.split("/")[0] for _, actor, _ in actions] == [
        "party:ops-1", "party:ops-2", "party:ops-2", "party:lender-1", "party:ops-1",
    ]  # fmt: skip
    with bureau.ledger.connect() as conn:  # the listing was a read of the file: audited
        listing = conn.execute(
            select(audit_log.c.subject_id).where(audit_log.c.action == "lists.listed")
        ).all()
    assert [tuple(r) for r in listing] == [(DEFAULTER,)]
    assert verify(bureau.ledger).ok


def test_a_proposal_for_a_file_merged_away_meanwhile_is_refused(bureau, keys, monkeypatch):
    """The file is read outside the transaction that writes the entry; a merge published in
    between must not leave an entry under an id that no longer leads anywhere of its own."""
    from openbureau.lists import service  # noqa: PLC0415

    read_file = service._file_records

    def merged_meanwhile(*args, **kwargs):
        records = read_file(*args, **kwargs)
        with bureau.ledger.begin() as conn:
            conn.execute(
                update(subjects).where(subjects.c.subject_id == DEFAULTER)
                .values(merged_into=GOOD)
            )  # fmt: skip
        return records

    monkeypatch.setattr(service, "_file_records", merged_meanwhile)
    with _client(bureau) as client:
        r = _propose(client, keys["ops-1"])
    assert r.status_code == 422 and f"merged into {GOOD}" in r.json()["detail"]
    with bureau.ledger.connect() as conn:
        assert conn.execute(select(list_entries)).first() is None


# --- the check after a resolve reads only the files it changed ---------------------------------


def _reads(monkeypatch) -> list[str]:
    """The files the list checks read, in order (spying on the one read they make)."""
    from openbureau.lists import service  # noqa: PLC0415

    seen: list[str] = []
    real = service._file_records
    monkeypatch.setattr(
        service, "_file_records", lambda b, s, today: seen.append(s) or real(b, s, today)
    )
    return seen


def _pending(bureau):
    path = bureau.lake.root / PENDING_FILE
    return json.loads(path.read_text()) if path.exists() else None


def test_the_check_after_a_resolve_reads_only_the_files_it_noted(bureau, keys, monkeypatch):
    entry_id = _listed(bureau, keys)
    moved_away = NOW + timedelta(days=60)
    _rest_on_a_record_gone(bureau, entry_id)  # as if a resolve had moved the finding out
    _mark_resolved(bureau)
    seen = _reads(monkeypatch)
    # nothing noted: nothing read, nothing taken off
    assert reconcile(bureau, actor="operator-local", now=moved_away, pending_only=True) == []
    assert seen == [] and _pending(bureau) is None
    # a resolve that changed another file
    note_pending(bureau.lake, {GOOD})
    assert reconcile(bureau, actor="operator-local", now=moved_away, pending_only=True) == []
    assert seen == [] and _pending(bureau) is None  # checked (no entry there), cleared
    # one that changed the entry's file (noted under an id merged into it: the survivor's)
    note_pending(bureau.lake, {DEFAULTER, "S-SOMEONE-ELSE"})
    assert reconcile(bureau, actor="operator-local", now=moved_away, pending_only=True) == [
        entry_id
    ]
    assert seen == [DEFAULTER] and _pending(bureau) is None
    assert _status(bureau)[:2] == ("removed", "evidence_changed")


def test_files_a_check_could_not_decide_stay_noted_for_the_next(bureau, keys, monkeypatch):
    from openbureau.lists import service  # noqa: PLC0415

    entry_id = _listed(bureau, keys)
    later = NOW + timedelta(days=60)
    _rest_on_a_record_gone(bureau, entry_id)
    _mark_resolved(bureau)
    note_pending(bureau.lake, {DEFAULTER})
    real = service._file_records

    def unreadable(*_args):
        raise OSError("a record file went missing")

    monkeypatch.setattr(service, "_file_records", unreadable)
    assert reconcile_quietly(bureau, pending_only=True) == []
    assert _pending(bureau) == {"all": False, "subjects": [DEFAULTER]}  # still to check
    # a batch not yet resolved: only a lift is certain, so the file stays noted too
    monkeypatch.setattr(service, "_file_records", real)
    monkeypatch.setattr(service, "_all_resolved", lambda _bureau: False)
    assert reconcile(bureau, actor="operator-local", now=later, pending_only=True) == []
    assert _pending(bureau) == {"all": False, "subjects": [DEFAULTER]}
    # a check that stops half way (here: before its removals) leaves everything noted
    monkeypatch.undo()
    monkeypatch.setattr(service, "clear_entries", unreadable)
    assert reconcile_quietly(bureau) == []  # a full check, as after a purge
    assert _pending(bureau) == {"all": True}
    monkeypatch.undo()
    seen = _reads(monkeypatch)
    assert reconcile(bureau, actor="operator-local", now=later, pending_only=True) == [entry_id]
    assert seen == [DEFAULTER] and _pending(bureau) is None


def test_an_unreadable_note_means_every_file_is_checked(bureau, keys, monkeypatch, caplog):
    entry_id = _listed(bureau, keys)
    _rest_on_a_record_gone(bureau, entry_id)
    _mark_resolved(bureau)
    (bureau.lake.root / PENDING_FILE).write_text('{"subjects": [')  # torn
    seen = _reads(monkeypatch)
    later = NOW + timedelta(days=60)
    assert reconcile(bureau, actor="operator-local", now=later, pending_only=True) == [entry_id]
    assert seen == [DEFAULTER] and _pending(bureau) is None
    assert "unreadable" in caplog.text


def test_the_command_checks_every_open_entry(bureau, keys, monkeypatch):
    from typer.testing import CliRunner  # noqa: PLC0415

    from openbureau import cli_lists  # noqa: PLC0415
    from openbureau.cli import app as cli  # noqa: PLC0415

    entry_id = _listed(bureau, keys)
    _rest_on_a_record_gone(bureau, entry_id)
    _mark_resolved(bureau)
    monkeypatch.setenv("OPENBUREAU_LEDGER_URL", bureau.settings.resolved_ledger_url)
    monkeypatch.setattr(cli_lists, "_now", lambda: NOW + timedelta(days=60))
    home = ["--home", str(bureau.settings.home)]
    done = CliRunner().invoke(cli, ["lists", "reconcile", *home])
    assert done.exit_code == 0, done.output
    assert done.output.splitlines()[0] == entry_id and "1 entry taken off" in done.output
    assert _status(bureau)[:2] == ("removed", "evidence_changed")
    again = CliRunner().invoke(cli, ["lists", "reconcile", *home])
    assert again.exit_code == 0 and "0 entries taken off" in again.output
