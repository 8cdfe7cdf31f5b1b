"""Inquiries, consent, the outbox and "who looked at my file", through the real app."""

import json
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select

from keys import bearer, issue_keys
from openbureau.api.app import create_app
from openbureau.bootstrap import build_bureau
from openbureau.catalogue.identifiers import token
from openbureau.identity.rules import person_key, token_key
from openbureau.inquiries.model import answer_from_report
from openbureau.inquiries.outbox import list_notices, mark_delivered
from openbureau.inquiries.service import hard_inquiries_last_12_months
from openbureau.reports.service import build_report
from openbureau.storage.ledger import audit_log, inquiries, subject_keys
from report_fixture import AS_OF, DEFAULTER, GOOD, MERGED, RAW_IDS, THIN, build_report_fixture

PROBLEM = "application/problem+json"
NOW = datetime(2026, 1, 10, 9, 30, tzinfo=UTC)
PARTIES = {
    # party: (kind, role, links)
    "lender-1": ("lender", "inquirer", {}),
    "landlord-1": ("landlord", "inquirer", {}),
    "employer-1": ("employer", "inquirer", {}),
    "insurer-1": ("insurer", "inquirer", {}),
    "court-order-1": ("authority", "inquirer", {}),
    "self-good": ("subject", "subject", {"subject_id": GOOD}),
    "ops-1": ("operator", "operator", {}),
}


@pytest.fixture(scope="module")
def bureau(tmp_path_factory):
    fixture = build_report_fixture(tmp_path_factory.mktemp("bureau"))
    bureau = build_bureau(fixture.settings)
    scheme, raw = RAW_IDS[GOOD]
    with bureau.ledger.begin() as conn:
        conn.execute(
            insert(subject_keys),
            [
                {"key": token_key(scheme, token(bureau.settings.token_key_bytes, scheme, raw)),
                 "subject_id": GOOD},
                {"key": person_key("fang wang", "1949-12-31"), "subject_id": GOOD},
            ],
        )  # fmt: skip
    return bureau


@pytest.fixture(scope="module")
def keys(bureau):
    return issue_keys(bureau.ledger, PARTIES)


def _client(bureau, now=NOW):
    return TestClient(create_app(bureau.settings, today=lambda: AS_OF, now=lambda: now))


@pytest.fixture(scope="module")
def client(bureau):
    with _client(bureau) as c:
        yield c


def _ask(client, key, purpose, **body):
    return client.post("/v1/inquiries", headers=bearer(key), json={"purpose": purpose, **body})


def _inquiry_count(bureau, party):
    with bureau.ledger.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(inquiries).where(inquiries.c.party_id == party)
        ).scalar()


def test_a_credit_application_is_hard_answered_recorded_notified_and_audited(bureau, client, keys):
    r = _ask(client, keys["lender-1"], "credit_application", subject_id=GOOD)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["subject_id"], body["purpose"], body["hard"]) == (GOOD, "credit_application", True)
    assert body["occurred_at"].startswith("2026-01-10T09:30")
    assert body["score"]["score"] == 781 and len(body["score"]["reasons"]) == 4
    assert len(body["accounts"]) == 2 and body["invoices"]["count"] == 6
    assert body["tax_records"] is None and body["records"] is None
    assert body["sections"] == sorted(
        ["score", "reasons", "identities", "accounts", "invoices", "public_records"]
    )
    inquiry_id = body["inquiry_id"]
    with bureau.ledger.connect() as conn:
        row = conn.execute(select(inquiries).where(inquiries.c.inquiry_id == inquiry_id)).one()
        entry = conn.execute(
            select(audit_log).where(audit_log.c.payload.contains(inquiry_id))
        ).one()
    assert (row.subject_id, row.party_id, row.hard, row.matched_by) == (
        GOOD, "lender-1", True, "subject_id",
    )  # fmt: skip
    assert (entry.action, entry.subject_id, entry.purpose) == (
        "inquiry.made", GOOD, "credit_application",
    )  # fmt: skip
    assert entry.actor.startswith("party:lender-1/key:")
    (notice,) = [
        n for n in list_notices(bureau.ledger) if n["body"].get("inquiry_id") == inquiry_id
    ]
    assert notice["subject_id"] == GOOD and notice["kind"] == "inquiry"
    assert notice["body"]["party_name"] == "lender-1 Ltd" and notice["body"]["hard"] is True


@pytest.mark.parametrize(
    ("party", "purpose", "given", "absent"),
    [
        ("lender-1", "account_review", {"score", "accounts"}, {"invoices", "identities"}),
        ("lender-1", "collection", {"identities", "accounts"}, {"score", "public_records"}),
        ("insurer-1", "insurance_underwriting", {"score"}, {"accounts", "identities"}),
        ("court-order-1", "court_order", {"score", "records", "tax_records"}, set()),
    ],
)
def test_each_purpose_answers_only_what_it_allows_and_is_soft(
    client, keys, party, purpose, given, absent
):
    body = _ask(client, keys[party], purpose, subject_id=DEFAULTER).json()
    assert body["hard"] is False
    for section in given:
        assert body[section] is not None, section
    for section in absent:
        assert body[section] is None, section


def test_a_score_without_the_reasons_section_carries_no_reasons(bureau):
    report = build_report(bureau, GOOD, AS_OF)
    recorded = {"inquiry_id": "q1", "purpose": "x", "hard": False, "occurred_at": NOW}
    answer = answer_from_report(report, frozenset({"score"}), **recorded)
    assert answer.score.score == 781 and answer.score.reasons == []
    assert answer.accounts is None and answer.sections == ["score"]
    assert report.score.reasons  # the report itself is left whole


def test_only_purposes_that_give_records_read_the_lake(client, keys, monkeypatch):
    from openbureau.reports import reads

    read = []
    real = reads.subject_records
    monkeypatch.setattr(reads, "subject_records", lambda *a: read.append(a) or real(*a))
    insurer = _ask(client, keys["insurer-1"], "insurance_underwriting", subject_id=GOOD)
    assert insurer.status_code == 200 and insurer.json()["score"]["reasons"]
    assert read == []  # score and reasons only: the ledger answers
    lender = _ask(client, keys["lender-1"], "account_review", subject_id=GOOD)
    assert lender.status_code == 200 and lender.json()["accounts"]
    assert len(read) == 1


def test_a_party_may_not_use_another_kinds_purpose(bureau, client, keys):
    before = _inquiry_count(bureau, "landlord-1")
    r = _ask(client, keys["landlord-1"], "credit_application", subject_id=GOOD)
    assert (r.status_code, r.headers["content-type"]) == (403, PROBLEM)
    assert "landlord may not inquire for credit_application" in r.json()["detail"]
    assert _inquiry_count(bureau, "landlord-1") == before


def _refusals(bureau) -> list[tuple[str, str, dict]]:
    with bureau.ledger.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.subject_id, audit_log.c.actor, audit_log.c.payload)
            .where(audit_log.c.action == "access.refused")
            .order_by(audit_log.c.seq)
        )
        return [(r.subject_id, r.actor, json.loads(r.payload)) for r in rows]


def test_a_refused_attempt_on_a_named_file_is_audited_told_and_shown_to_its_holder(
    bureau, client, keys
):
    before, inquiries_before = _refusals(bureau), _inquiry_count(bureau, "landlord-1")
    r = _ask(client, keys["landlord-1"], "tenancy", subject_id=THIN)
    assert (r.status_code, r.json()["type"]) == (403, "urn:openbureau:problem:consent-required")
    (subject_id, actor, payload), *_ = _refusals(bureau)[len(before) :]
    assert subject_id == THIN and actor.startswith("party:landlord-1/")
    assert payload == {
        "party_id": "landlord-1", "party_name": "landlord-1 Ltd", "party_kind": "landlord",
        "purpose": "tenancy", "refusal": "consent-required", "reason": r.json()["detail"],
    }  # fmt: skip
    assert _inquiry_count(bureau, "landlord-1") == inquiries_before  # not an inquiry
    told = [n for n in list_notices(bureau.ledger) if n["kind"] == "refused"]
    assert told[-1]["subject_id"] == THIN and told[-1]["body"] == payload
    # the holder's report and page list it apart from the inquiries made
    report = client.get(f"/v1/subjects/{THIN}/report", headers=bearer(keys["ops-1"])).json()
    (shown,) = [x for x in report["refused"] if x["party_id"] == "landlord-1"]
    assert (shown["purpose"], shown["refusal"]) == ("tenancy", "consent-required")
    assert not any(q["party_id"] == "landlord-1" for q in report["inquiries"])
    page = client.get(f"/subjects/{THIN}", headers=bearer(keys["ops-1"])).text
    assert "Refused attempts" in page and "tenancy needs the subject&#39;s consent" in page
    # a refusal before any lookup names no file, so nothing is recorded: a kind's purpose
    assert (
        _ask(client, keys["landlord-1"], "credit_application", subject_id=THIN).status_code == 403
    )
    # and another subject's own_request, by id
    assert _ask(client, keys["self-good"], "own_request", subject_id=THIN).status_code == 403
    assert len(_refusals(bureau)) == len(before) + 1
    # an inquiry's answer never carries the refusals
    answer = _ask(client, keys["ops-1"], "account_review", subject_id=THIN)
    assert "refused" not in answer.json()


def test_an_unknown_purpose_is_a_422(client, keys):
    r = _ask(client, keys["lender-1"], "marketing", subject_id=GOOD)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "purpose"]


def test_consent_lifecycle_decides_an_employment_inquiry(bureau, client, keys):
    employer, me = keys["employer-1"], keys["self-good"]
    r = _ask(client, employer, "employment", subject_id=GOOD)
    assert (r.status_code, r.json()["type"]) == (403, "urn:openbureau:problem:consent-required")
    assert r.json()["detail"] == (
        "employment needs the subject's consent, and employer-1 holds none for it"
    )
    assert _inquiry_count(bureau, "employer-1") == 0

    given = client.post(
        f"/v1/subjects/{GOOD}/consents",
        headers=bearer(me),
        json={"party_id": "employer-1", "purpose": "employment", "valid_until": "2026-06-30"},
    )
    assert given.status_code == 201, given.text
    consent = given.json()
    assert consent["evidence"].startswith("subject-key:")
    r = _ask(client, employer, "employment", subject_id=GOOD)
    assert r.status_code == 200
    assert r.json()["public_records"] == [] and r.json()["score"] is None
    # the consent is the subject's: it does not open another file
    assert _ask(client, employer, "employment", subject_id=THIN).status_code == 403

    revoked = client.post(
        f"/v1/subjects/{GOOD}/consents/{consent['consent_id']}/revoke", headers=bearer(me)
    )
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    r = _ask(client, employer, "employment", subject_id=GOOD)
    assert r.status_code == 403
    assert f"revoked consent {consent['consent_id']}" in r.json()["detail"]
    listed = client.get(f"/v1/subjects/{GOOD}/consents", headers=bearer(me)).json()
    assert [c["consent_id"] for c in listed] == [consent["consent_id"]]
    with bureau.ledger.connect() as conn:
        actions = (
            conn.execute(
                select(audit_log.c.action)
                .where(audit_log.c.payload.contains(consent["consent_id"]))
                .order_by(audit_log.c.seq)
            )
            .scalars()
            .all()
        )
    # the refusal after the revocation cites the consent it found revoked
    assert actions == ["consent.grant", "consent.revoke", "access.refused"]


def test_an_expired_consent_is_refused_with_its_date(bureau, keys):
    body = {"party_id": "landlord-1", "purpose": "tenancy", "valid_until": "2026-02-01"}
    with _client(bureau) as c:
        r = c.post(f"/v1/subjects/{THIN}/consents", headers=bearer(keys["ops-1"]), json=body)
        assert r.status_code == 422 and "signed form" in r.json()["detail"]
        r = c.post(
            f"/v1/subjects/{THIN}/consents",
            headers=bearer(keys["ops-1"]),
            json={**body, "signed_form": "FORM-2026-0042"},
        )
        assert r.status_code == 201 and r.json()["evidence"] == "signed-form:FORM-2026-0042"
        assert _ask(c, keys["landlord-1"], "tenancy", subject_id=THIN).status_code == 200
    with _client(bureau, now=datetime(2026, 2, 2, tzinfo=UTC)) as later:
        r = _ask(later, keys["landlord-1"], "tenancy", subject_id=THIN)
        assert r.status_code == 403 and "expired on 2026-02-01" in r.json()["detail"]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"party_id": "lender-1", "purpose": "credit_application"}, 422, "does not rest on"),
        ({"party_id": "nobody", "purpose": "tenancy"}, 422, "no party 'nobody'"),
        ({"party_id": "landlord-1", "purpose": "tenancy", "valid_until": "2028-01-01"}, 422,
         "at most 12 months"),
        # control characters never reach the ledger (PostgreSQL refuses NUL in text: a 500)
        ({"party_id": "landlord-1\u0000", "purpose": "tenancy"}, 422, "at: body.party_id"),
        ({"party_id": "landlord-1", "purpose": "ten\u0000ancy"}, 422, "at: body.purpose"),
    ],
)  # fmt: skip
def test_bad_consents_are_refused(client, keys, body, status, message):
    body = {"valid_until": "2026-06-30", **body}
    r = client.post(f"/v1/subjects/{GOOD}/consents", headers=bearer(keys["self-good"]), json=body)
    assert r.status_code == status and message in r.json()["detail"]


def test_a_subject_manages_only_its_own_consents(client, keys):
    body = {"party_id": "landlord-1", "purpose": "tenancy", "valid_until": "2026-06-30"}
    me = bearer(keys["self-good"])
    assert client.post(f"/v1/subjects/{THIN}/consents", headers=me, json=body).status_code == 403
    assert client.get(f"/v1/subjects/{THIN}/consents", headers=me).status_code == 403
    r = client.post(f"/v1/subjects/{GOOD}/consents/c{'0' * 24}/revoke", headers=me)
    assert r.status_code == 404


def test_inquiry_by_identity_goes_through_the_matcher(bureau, client, keys):
    scheme, raw = RAW_IDS[GOOD]
    person = {"subject_kind": "person", "given_name": "Fang", "family_name": "Wang"}
    by_id = {**person, "national_id_scheme": scheme, "national_id": raw}
    r = _ask(client, keys["lender-1"], "account_review", identity=by_id)
    assert r.status_code == 200, r.text
    assert r.json()["subject_id"] == GOOD
    by_name = {**person, "given_name": "FANG", "date_of_birth": "1949-12-31"}
    assert (
        _ask(client, keys["lender-1"], "account_review", identity=by_name).json()["subject_id"]
        == GOOD
    )
    with bureau.ledger.connect() as conn:
        assert "identity" in conn.execute(select(inquiries.c.matched_by)).scalars().all()
    r = _ask(client, keys["lender-1"], "account_review",
             identity={**person, "date_of_birth": "1950-01-01"})  # fmt: skip
    assert (r.status_code, r.json()["type"]) == (404, "urn:openbureau:problem:no-match")
    # a valid ID the bureau does not know, and a name it knows under another ID: no match
    other = {**by_id, "national_id": RAW_IDS[DEFAULTER][1], "date_of_birth": "1949-12-31"}
    assert _ask(client, keys["lender-1"], "account_review", identity=other).status_code == 404
    bad = {**by_id, "national_id": raw[:-1] + ("1" if raw[-1] != "1" else "2")}
    r = _ask(client, keys["lender-1"], "account_review", identity=bad)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"][-1] == "national_id"
    assert raw[:-1] not in r.text
    both = {"subject_id": GOOD, "identity": person}
    assert _ask(client, keys["lender-1"], "account_review", **both).status_code == 422


def test_a_merged_id_reaches_the_surviving_file(client, keys):
    r = _ask(client, keys["lender-1"], "account_review", subject_id=MERGED)
    assert r.status_code == 200 and r.json()["subject_id"] == GOOD
    assert _ask(client, keys["lender-1"], "account_review", subject_id="S999999").status_code == 404


def test_own_request_is_for_the_subject_and_its_own_file_only(client, keys):
    me = keys["self-good"]
    body = _ask(client, me, "own_request", subject_id=GOOD).json()
    assert body["records"] is not None and body["hard"] is False
    assert _ask(client, me, "own_request", subject_id=THIN).status_code == 403
    assert _ask(client, me, "own_request", subject_id="S999999").status_code == 403
    assert _ask(client, me, "credit_application", subject_id=GOOD).status_code == 403
    assert _ask(client, keys["lender-1"], "own_request", subject_id=GOOD).status_code == 403
    assert _ask(client, keys["ops-1"], "court_order", subject_id=GOOD).status_code == 403


def test_own_request_by_identity_says_nothing_of_other_files(bureau, client, keys):
    """Another person's identity and an identity nobody has get the same refusal (a 404 for
    the one would tell a subject key who is on file), and neither is told to anyone."""
    thin = issue_keys(bureau.ledger, {"self-thin": ("subject", "subject", {"subject_id": THIN})})
    scheme, raw = RAW_IDS[GOOD]
    person = {"subject_kind": "person", "given_name": "Fang", "family_name": "Wang"}
    goods = {**person, "national_id_scheme": scheme, "national_id": raw}
    nobodys = {**goods, "national_id": RAW_IDS[DEFAULTER][1]}  # valid, unknown here
    assert _ask(client, keys["self-good"], "own_request", identity=goods).status_code == 200
    refusals, notices = len(_refusals(bureau)), len(list_notices(bureau.ledger))
    answers = [
        _ask(client, thin["self-thin"], "own_request", identity=who) for who in (goods, nobodys)
    ]
    assert [(a.status_code, a.json()["detail"]) for a in answers] == [
        (403, "own_request is only for the subject's own file")
    ] * 2
    assert len(_refusals(bureau)) == refusals
    assert len(list_notices(bureau.ledger)) == notices
    # a relying party is told there is no match, as before
    lender = _ask(client, keys["lender-1"], "account_review", identity=nobodys)
    assert lender.status_code == 404


def test_the_report_shows_who_looked_newest_first(bureau, client, keys):
    _ask(client, keys["lender-1"], "account_review", subject_id=GOOD)  # whatever ran before
    with _client(bureau, now=NOW.replace(hour=11)) as later:
        _ask(later, keys["insurer-1"], "insurance_underwriting", subject_id=GOOD)
    report = client.get(f"/v1/subjects/{GOOD}/report", headers=bearer(keys["self-good"])).json()
    looked = report["inquiries"]
    assert looked and {"lender-1", "insurer-1"} <= {q["party_id"] for q in looked}
    first = looked[0]
    assert (first["party_name"], first["party_kind"], first["purpose"], first["hard"]) == (
        "insurer-1 Ltd", "insurer", "insurance_underwriting", False,
    )  # fmt: skip
    assert all(q["hard"] == (q["purpose"] == "credit_application") for q in looked)
    page = client.get(f"/subjects/{GOOD}", headers=bearer(keys["ops-1"])).text
    assert "Who looked at this file" in page and "insurer-1 Ltd" in page


def test_hard_inquiries_are_counted_for_the_score_and_soft_ones_never(bureau, client, keys):
    before = hard_inquiries_last_12_months(bureau.ledger, DEFAULTER, NOW.date())
    _ask(client, keys["lender-1"], "credit_application", subject_id=DEFAULTER)
    _ask(client, keys["lender-1"], "account_review", subject_id=DEFAULTER)
    _ask(client, keys["insurer-1"], "insurance_underwriting", subject_id=DEFAULTER)
    assert hard_inquiries_last_12_months(bureau.ledger, DEFAULTER, NOW.date()) == before + 1
    assert hard_inquiries_last_12_months(bureau.ledger, DEFAULTER, date(2025, 12, 31)) == 0
    assert hard_inquiries_last_12_months(bureau.ledger, DEFAULTER, date(2027, 1, 11)) == 0


def test_notices_are_marked_delivered_once(bureau, client, keys):
    inquiry = _ask(client, keys["lender-1"], "account_review", subject_id=THIN).json()
    (notice,) = [
        n
        for n in list_notices(bureau.ledger)
        if n["body"].get("inquiry_id") == inquiry["inquiry_id"]
    ]
    assert mark_delivered(bureau.ledger, [notice["notice_id"]], actor="post", now=NOW) == [
        notice["notice_id"]
    ]
    assert mark_delivered(bureau.ledger, [notice["notice_id"]], actor="post", now=NOW) == []
    assert notice["notice_id"] not in {n["notice_id"] for n in list_notices(bureau.ledger)}
    with pytest.raises(KeyError):
        mark_delivered(bureau.ledger, ["n-missing"], actor="post", now=NOW)
