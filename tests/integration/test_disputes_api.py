"""Disputes through the real app, on SQLite and PostgreSQL: a subject contests a record, the
record is shown "under dispute" at once (to the subject and to a lender's inquiry), its
furnisher answers, a late answer owes compensation, and an unverifiable record leaves the
report. Every step is audited and notified."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from keys import bearer, issue_keys
from openbureau.api.app import create_app
from openbureau.audit.service import verify
from openbureau.bootstrap import build_bureau
from openbureau.disputes.service import withdrawn_records
from openbureau.inquiries.outbox import list_notices
from openbureau.storage.ledger import audit_log
from report_fixture import AS_OF, GOOD, MERGED, THIN, build_report_fixture

NOW = datetime(2026, 1, 10, 9, 30, tzinfo=UTC)
PROBLEM = "application/problem+json"
PARTIES = {
    "self-good": ("subject", "subject", {"subject_id": GOOD}),
    "bank-north": ("lender", "furnisher", {"furnisher_id": "bank-north"}),
    "bank-west": ("lender", "furnisher", {"furnisher_id": "bank-west"}),
    "lender-1": ("lender", "inquirer", {}),
    "ops-1": ("operator", "operator", {}),
}
#: One month of GOOD's card at bank-north, furnished twice (version 2 corrects it).
MONTH = "CC-1001-202405"


@pytest.fixture(scope="module")
def bureau(tmp_path_factory, ledger_url):
    fixture = build_report_fixture(tmp_path_factory.mktemp("bureau"), ledger_url)
    return build_bureau(fixture.settings)


@pytest.fixture(scope="module")
def keys(bureau):
    return issue_keys(bureau.ledger, PARTIES)


def _client(bureau, now=NOW):
    return TestClient(create_app(bureau.settings, today=lambda: AS_OF, now=lambda: now))


def _open(client, key, record_id, subject=GOOD, furnisher="bank-north", reason="Not my loan."):
    body = {"furnisher_id": furnisher, "record_id": record_id, "reason": reason}
    return client.post(f"/v1/subjects/{subject}/disputes", headers=bearer(key), json=body)


def _answer(client, key, dispute_id, outcome, note="Checked against our books."):
    body = {"outcome": outcome, "note": note}
    return client.post(f"/v1/disputes/{dispute_id}/answer", headers=bearer(key), json=body)


def _record(report: dict, record_id: str) -> dict | None:
    return next((r for r in report["records"] if r["record_id"] == record_id), None)


def _report(client, key) -> dict:
    r = client.get(f"/v1/subjects/{GOOD}/report", headers=bearer(key))
    assert r.status_code == 200, r.text
    return r.json()


def _actions(bureau, dispute_id: str) -> list[tuple[str, str]]:
    with bureau.ledger.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.action, audit_log.c.payload)
            .where(audit_log.c.payload.contains(dispute_id))
            .order_by(audit_log.c.seq)
        )
        return [(r.action, r.payload) for r in rows]


def test_a_disputed_record_is_marked_at_once_then_deleted_when_unverifiable(bureau, keys):
    with _client(bureau) as client:
        before = _report(client, keys["self-good"])
        assert _record(before, MONTH)["under_dispute"] is None
        opened = _open(client, keys["self-good"], MONTH, reason="I paid this month on time.")
        assert opened.status_code == 201, opened.text
        dispute = opened.json()
        assert dispute["status"] == "open" and dispute["outcome"] is None
        assert dispute["record_type"] == "credit_account"
        assert dispute["due_on"] == "2026-02-09"
        assert dispute["days_late"] == 0 and dispute["compensation"]["amount_minor"] == 0

        # under dispute at once: for the subject, in the account summary, for a lender
        marked = _record(_report(client, keys["self-good"]), MONTH)["under_dispute"]
        assert marked == {
            "dispute_id": dispute["dispute_id"], "opened_on": "2026-01-10",
            "due_on": "2026-02-09",
        }  # fmt: skip
        page = client.get(f"/subjects/{GOOD}", headers=bearer(keys["ops-1"]))
        assert page.status_code == 200
        # its account, the record, and the file's list of disputes
        assert page.text.count("Under dispute") == 3
        assert "answer due 9 Feb 2026" in page.text
        accounts = _report(client, keys["self-good"])["accounts"]
        assert [a["under_dispute"] for a in accounts if a["account_id"] == "CC-1001"] == [True]
        assert [a["under_dispute"] for a in accounts if a["account_id"] != "CC-1001"] == [False]
        answer = client.post(
            "/v1/inquiries", headers=bearer(keys["lender-1"]),
            json={"purpose": "credit_application", "subject_id": GOOD},
        ).json()  # fmt: skip
        card = [a for a in answer["accounts"] if a["account_id"] == "CC-1001"]
        assert card[0]["under_dispute"] is True

        again = _open(client, keys["self-good"], MONTH)
        assert again.status_code == 409 and "already under dispute" in again.json()["detail"]

        # it goes to its furnisher, and only to it
        queue = client.get("/v1/disputes?status=open", headers=bearer(keys["bank-north"]))
        assert [d["dispute_id"] for d in queue.json()] == [dispute["dispute_id"]]
        typo = client.get("/v1/disputes?state=open", headers=bearer(keys["bank-north"]))
        assert typo.status_code == 422 and "state" in typo.text  # not silently ignored
        other = client.get("/v1/disputes", headers=bearer(keys["bank-west"]))
        assert other.status_code == 200 and other.json() == []
        wrong = _answer(client, keys["bank-west"], dispute["dispute_id"], "verified")
        assert wrong.status_code == 404 and wrong.headers["content-type"] == PROBLEM

    # answered 15 days late: the record is deleted and Rs 100 a day is owed
    late = NOW + timedelta(days=45)
    with _client(bureau, now=late) as client:
        answered = _answer(client, keys["bank-north"], dispute["dispute_id"], "unverifiable")
        assert answered.status_code == 200, answered.text
        body = answered.json()
        assert body["status"] == "answered" and body["outcome"] == "unverifiable"
        assert body["days_late"] == 15
        assert body["compensation"]["amount_minor"] == 1500_00
        assert body["compensation"]["currency"] == "INR"
        after = _report(client, keys["self-good"])
        assert _record(after, MONTH) is None  # neither version is shown
        assert len(after["records"]) == len(before["records"]) - 1
        assert after["expired_records"] == before["expired_records"]
        page = client.get(f"/subjects/{GOOD}", headers=bearer(keys["ops-1"])).text
        assert "could not verify the record; it is deleted" in page
        assert "(15 days late)" in page and body["compensation"]["display"] in page
        assert "Northern Commercial Bank" in page.split('id="disputes-h"')[1].split("</section>")[0]
        twice = _answer(client, keys["bank-north"], dispute["dispute_id"], "verified")
        assert twice.status_code == 409 and "already answered" in twice.json()["detail"]
        gone = _open(client, keys["self-good"], MONTH)
        assert gone.status_code == 422 and "no record" in gone.json()["detail"]
        listed = client.get(f"/v1/subjects/{GOOD}/disputes", headers=bearer(keys["self-good"]))
        assert [(d["dispute_id"], d["days_late"]) for d in listed.json()] == [
            (dispute["dispute_id"], 15)
        ]

    assert (("bank-north", MONTH, late.date())) in withdrawn_records(bureau.ledger)
    actions = _actions(bureau, dispute["dispute_id"])
    assert [a for a, _ in actions] == ["dispute.open", "dispute.answer"]
    # the chain keeps a digest of the subject's and the furnisher's words, never the words
    assert all("paid this month" not in p and "our books" not in p for _, p in actions)
    assert verify(bureau.ledger).ok
    notices = [
        n["body"] for n in list_notices(bureau.ledger)
        if n["kind"] == "dispute" and n["body"]["dispute_id"] == dispute["dispute_id"]
    ]  # fmt: skip
    assert [n["status"] for n in notices] == ["open", "answered"]
    assert notices[1]["outcome"] == "unverifiable" and notices[1]["compensation_minor"] == 1500_00
    # a notice names the dispute and the record; the words stay in the dispute
    assert not any("paid this month" in str(n) or "our books" in str(n) for n in notices)


def test_an_open_dispute_past_due_owes_more_each_day(bureau, keys):
    month = "CC-1001-202411"
    with _client(bureau) as client:
        dispute = _open(client, keys["self-good"], month).json()
    for days, late in ((30, 0), (31, 1), (40, 10)):
        with _client(bureau, now=NOW + timedelta(days=days)) as client:
            mine = client.get("/v1/disputes?status=open", headers=bearer(keys["bank-north"]))
            (found,) = [d for d in mine.json() if d["dispute_id"] == dispute["dispute_id"]]
            assert (found["days_late"], found["compensation"]["amount_minor"]) == (
                late, late * 100_00,
            )  # fmt: skip
    # the furnisher's listing is a read of each file it shows: audited under its key
    with bureau.ledger.connect() as conn:
        listed = conn.execute(
            select(audit_log.c.purpose, audit_log.c.payload).where(
                audit_log.c.action == "disputes.listed", audit_log.c.subject_id == GOOD,
                audit_log.c.actor.like("party:bank-north/%"),
            )
        ).all()  # fmt: skip
    # the three listings above (the first test's own listing may come first)
    assert len(listed) >= 3 and {p for p, _ in listed} == {"dispute"}
    assert all('"status":"open"' in payload.replace(" ", "") for _, payload in listed[-3:])


def test_a_corrected_record_loses_its_mark_and_the_correction_shows(bureau, keys):
    month = "CC-1001-202412"
    with _client(bureau) as client:
        dispute = _open(client, keys["self-good"], month).json()
        answered = _answer(client, keys["bank-north"], dispute["dispute_id"], "corrected")
        assert answered.status_code == 200 and answered.json()["outcome"] == "corrected"
        assert "corrected version replaces it" in answered.json()["outcome_text"]
        shown = _record(_report(client, keys["self-good"]), month)
        assert shown is not None and shown["under_dispute"] is None


def test_a_disputed_invoice_is_counted_where_a_lender_sees_invoices(bureau, keys):
    with _client(bureau) as client:
        r = _open(client, keys["self-good"], "E-3", furnisher="utility-city",
                  reason="I paid this on time;\r\nthe bank's statement shows it.")  # fmt: skip
        assert r.status_code == 201, r.text  # a form's CRLF line ends are taken
        answer = client.post(
            "/v1/inquiries", headers=bearer(keys["lender-1"]),
            json={"purpose": "credit_application", "subject_id": GOOD},
        ).json()  # fmt: skip
        assert answer["invoices"]["under_dispute"] == 1
        assert _report(client, keys["self-good"])["invoices"]["under_dispute"] == 1


def test_a_merged_id_leads_to_the_surviving_file(bureau, keys):
    with _client(bureau) as client:
        listed = client.get(f"/v1/subjects/{MERGED}/disputes", headers=bearer(keys["ops-1"]),
                            follow_redirects=False)  # fmt: skip
        assert listed.status_code == 307
        assert listed.headers["location"].endswith(f"/v1/subjects/{GOOD}/disputes")
        opened = client.post(
            f"/v1/subjects/{MERGED}/disputes", headers=bearer(keys["ops-1"]),
            json={"furnisher_id": "bank-north", "record_id": "CC-1001-202501", "reason": "x"},
            follow_redirects=False,
        )  # fmt: skip
        assert opened.status_code == 307, opened.text


def test_a_verified_record_stays_without_its_mark(bureau, keys):
    month = "CC-1001-202406"
    with _client(bureau) as client:
        # an operator opens it on the subject's behalf
        dispute = _open(client, keys["ops-1"], month).json()
        assert _record(_report(client, keys["self-good"]), month)["under_dispute"] is not None
        answered = _answer(client, keys["ops-1"], dispute["dispute_id"], "verified")
        assert answered.status_code == 200 and answered.json()["days_late"] == 0
        shown = _record(_report(client, keys["self-good"]), month)
        assert shown is not None and shown["under_dispute"] is None
        # answered: it can be contested again
        assert _open(client, keys["self-good"], month).status_code == 201
        open_only = client.get("/v1/disputes?status=open", headers=bearer(keys["ops-1"])).json()
        assert month in {d["record_id"] for d in open_only}
        assert dispute["dispute_id"] not in {d["dispute_id"] for d in open_only}


@pytest.mark.parametrize(
    ("record_id", "subject", "furnisher", "reason", "status", "detail"),
    [
        # another subject's record is not in this file
        ("CC-9001-202510", GOOD, "bank-west", "Not mine.", 422, "no record"),
        ("CC-1001-202407", GOOD, "bank-west", "Not mine.", 422, "no record"),  # wrong source
        ("CC-1001-202407", GOOD, "bank-north", "   ", 422, "empty"),
        ("CC-1001-202407", GOOD, "bank-north", "", 422, None),  # refused by the schema
        ("CC-1001-202407", "S999999", "bank-north", "Not mine.", 404, None),
    ],
)
def test_what_cannot_be_disputed(bureau, keys, record_id, subject, furnisher, reason, status,
                                 detail):  # fmt: skip
    with _client(bureau) as client:
        r = _open(client, keys["ops-1"], record_id, subject, furnisher, reason)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    if detail:
        assert detail in r.json()["detail"]


def test_a_subject_key_cannot_dispute_another_file(bureau, keys):
    with _client(bureau) as client:
        r = _open(client, keys["self-good"], "CC-9001-202510", THIN, "bank-west")
    assert r.status_code == 403 and r.headers["content-type"] == PROBLEM


def test_an_unknown_outcome_is_refused_by_the_schema(bureau, keys):
    with _client(bureau) as client:
        dispute = _open(client, keys["self-good"], "CC-1001-202408").json()
        r = _answer(client, keys["bank-north"], dispute["dispute_id"], "deleted")
        assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
        listed = client.get("/v1/disputes?status=open", headers=bearer(keys["bank-north"]))
        assert dispute["dispute_id"] in {d["dispute_id"] for d in listed.json()}


def test_the_commands_open_list_and_answer_a_dispute_by_letter(tmp_path):
    from typer.testing import CliRunner  # noqa: PLC0415

    from openbureau.cli import app as cli  # noqa: PLC0415
    from openbureau.storage.ledger import disputes  # noqa: PLC0415

    fixture = build_report_fixture(tmp_path)
    runner, home = CliRunner(), ["--home", str(fixture.settings.home)]
    opened = runner.invoke(
        cli, ["disputes", "open", "--subject", GOOD, "--furnisher", "bank-north",
              "--record", "CC-1001-202409", "--reason", "I wrote to say this is wrong."] + home,
    )  # fmt: skip
    assert opened.exit_code == 0, opened.output
    assert "is under dispute" in opened.output
    dispute_id = opened.output.split()[1].rstrip(":")
    listed = runner.invoke(cli, ["disputes", "list", "--status", "open"] + home)
    assert [line for line in listed.stdout.splitlines() if dispute_id in line]
    # one opened long ago and still unanswered is overdue, and owes compensation
    bureau = build_bureau(fixture.settings)
    with bureau.ledger.begin() as conn:
        conn.execute(
            disputes.update()
            .where(disputes.c.dispute_id == dispute_id)
            .values(opened_at=datetime(2020, 1, 1, tzinfo=UTC), due_on=datetime(2020, 1, 31).date())
        )
    overdue = runner.invoke(cli, ["disputes", "list", "--overdue"] + home).stdout.splitlines()
    assert len(overdue) == 1 and dispute_id in overdue[0] and '"days_late":0' not in overdue[0]
    wrong = runner.invoke(cli, ["disputes", "list", "--status", "late"] + home)
    assert wrong.exit_code == 2
    answered = runner.invoke(
        cli, ["disputes", "answer", dispute_id, "--outcome", "unverifiable",
              "--note", "We cannot find the papers."] + home,
    )  # fmt: skip
    assert answered.exit_code == 0, answered.output
    assert "unverifiable" in answered.output and "owed" in answered.output
    again = runner.invoke(
        cli, ["disputes", "answer", dispute_id, "--outcome", "verified", "--note", "x"] + home
    )
    assert again.exit_code == 2 and "already answered" in again.output
    assert runner.invoke(cli, ["disputes", "list", "--overdue"] + home).stdout == ""


def test_two_openings_racing_for_one_record_leave_one_dispute(bureau, keys, monkeypatch):
    """The check that a record is not under dispute yet and the insert are not one step: the
    ledger's unique index on open disputes settles a race, and the loser gets the reason."""
    from openbureau.disputes import service  # noqa: PLC0415
    from openbureau.reports.service import build_report  # noqa: PLC0415

    month = "CC-1001-202410"
    first = service.open_dispute(bureau, GOOD, "bank-north", month, "first", actor="test", now=NOW)
    # the second request built its report before the first committed: no mark on it yet
    stale = build_report(bureau, GOOD, NOW.date(), holder_view=False)
    stale = stale.model_copy(
        update={"records": [r.model_copy(update={"under_dispute": None}) for r in stale.records]}
    )
    monkeypatch.setattr(service, "build_report", lambda *a, **k: stale)
    with pytest.raises(service.DisputeError, match="already under dispute"):
        service.open_dispute(bureau, GOOD, "bank-north", month, "second", actor="test", now=NOW)
    mine = [d for d in service.subject_disputes(bureau.ledger, GOOD, NOW.date())
            if d.record_id == month]  # fmt: skip
    assert [d.dispute_id for d in mine] == [first.dispute_id]
