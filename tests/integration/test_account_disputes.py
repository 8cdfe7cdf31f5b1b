"""Disputes of a whole account through the real app, on SQLite and PostgreSQL: every monthly
record of the account is put under dispute at once, in one group with one notice; the
furnisher answers the group once; a late answer owes compensation once; an unverifiable
account leaves the report and the score. Records already under dispute are left to their own
disputes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from keys import bearer, issue_keys
from openbureau.api.app import create_app
from openbureau.audit.service import verify
from openbureau.bootstrap import build_bureau
from openbureau.cli import app as cli
from openbureau.disputes import service
from openbureau.disputes.rules import COMPENSATION_PER_DAY_MINOR
from openbureau.disputes.service import withdrawn_records
from openbureau.inquiries.outbox import list_notices
from openbureau.storage.ledger import audit_log
from report_fixture import GOOD, THIN, build_report_fixture

NOW = datetime(2026, 1, 10, 9, 30, tzinfo=UTC)
PARTIES = {
    "self-good": ("subject", "subject", {"subject_id": GOOD}),
    "self-thin": ("subject", "subject", {"subject_id": THIN}),
    "bank-north": ("lender", "furnisher", {"furnisher_id": "bank-north"}),
    "lender-east": ("lender", "furnisher", {"furnisher_id": "lender-east"}),
    "ops-1": ("operator", "operator", {}),
}


@pytest.fixture(scope="module")
def bureau(tmp_path_factory, ledger_url):
    fixture = build_report_fixture(tmp_path_factory.mktemp("bureau"), ledger_url)
    return build_bureau(fixture.settings)


@pytest.fixture(scope="module")
def keys(bureau):
    return issue_keys(bureau.ledger, PARTIES)


def _client(bureau, now=NOW):
    # reports on the day the disputes are opened: the file they are opened in
    return TestClient(create_app(bureau.settings, today=NOW.date, now=lambda: now))


def _open_account(client, key, account_id, furnisher, subject=GOOD, reason="Not my account."):
    body = {"furnisher_id": furnisher, "account_id": account_id, "reason": reason}
    return client.post(f"/v1/subjects/{subject}/account-disputes", headers=bearer(key), json=body)


def _answer(client, key, dispute_id, outcome, note="Checked against our books."):
    body = {"outcome": outcome, "note": note}
    return client.post(f"/v1/disputes/{dispute_id}/answer", headers=bearer(key), json=body)


def _report(client, key=None, subject=GOOD) -> dict:
    r = client.get(f"/v1/subjects/{subject}/report", headers=bearer(key))
    assert r.status_code == 200, r.text
    return r.json()


def _account_records(report: dict, furnisher: str, account_id: str) -> list[dict]:
    return [
        r for r in report["records"]
        if r["furnisher"]["furnisher_id"] == furnisher
        and r["record_type"] == "credit_account"
        and r["fields"]["account_id"] == account_id
    ]  # fmt: skip


def _entries(bureau, action: str, group_id: str) -> list[dict]:
    with bureau.ledger.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.payload)
            .where(audit_log.c.action == action)
            .order_by(audit_log.c.seq)
        ).scalars()
        payloads = [json.loads(p) if isinstance(p, str) else p for p in rows]
    return [p for p in payloads if p.get("group_id") == group_id]


def test_a_whole_account_is_disputed_at_once_answered_once_and_deleted(bureau, keys, monkeypatch):
    with _client(bureau) as client:
        before = _report(client, keys["self-good"])
        months = _account_records(before, "lender-east", "PL-2001")
        assert len(months) > 30  # the loan's monthly records shown today
        opened = _open_account(client, keys["self-good"], "PL-2001", "lender-east")
        assert opened.status_code == 201, opened.text
        group = opened.json()
        assert group["account_id"] == "PL-2001" and group["already_under_dispute"] == []
        disputes = group["disputes"]
        assert sorted(d["record_id"] for d in disputes) == sorted(r["record_id"] for r in months)
        assert group["group_id"] == disputes[0]["dispute_id"]
        assert {d["group_id"] for d in disputes} == {group["group_id"]}
        assert {(d["status"], d["due_on"]) for d in disputes} == {("open", "2026-02-09")}

        # every record of the account is marked, and so is the account; nothing else is
        marked = _report(client, keys["self-good"])
        assert all(r["under_dispute"] for r in _account_records(marked, "lender-east", "PL-2001"))
        ids = {r["record_id"] for r in months}
        others = [r for r in marked["records"] if r["record_id"] not in ids]
        assert len(others) == len(marked["records"]) - len(months) > 0
        assert not any(r["under_dispute"] for r in others)  # the rest of the file, unmarked
        summary = {a["account_id"]: a["under_dispute"] for a in marked["accounts"]}
        assert summary["PL-2001"] is True and summary["CC-1001"] is False

        # the page lists the account as one dispute, not one row a month
        page = client.get(f"/subjects/{GOOD}", headers=bearer(keys["ops-1"])).text
        listing = page.split('id="disputes-h"')[1].split("</section>")[0]
        assert f"PL-2001 · {len(months)} monthly records" in listing
        assert listing.count("<tr>") == 1 + 1  # the header and the account

        # a month of it, or the account again, is already under dispute
        single = client.post(
            f"/v1/subjects/{GOOD}/disputes", headers=bearer(keys["self-good"]),
            json={"furnisher_id": "lender-east", "record_id": months[0]["record_id"],
                  "reason": "This month too."},
        )  # fmt: skip
        assert single.status_code == 409
        again = _open_account(client, keys["self-good"], "PL-2001", "lender-east")
        assert again.status_code == 409 and "every record" in again.json()["detail"]
        # another furnisher cannot answer it
        foreign = _answer(client, keys["bank-north"], disputes[3]["dispute_id"], "verified")
        assert foreign.status_code == 404

    # answered 10 days late, through any of its disputes: the whole account is answered
    late = NOW + timedelta(days=40)
    rescores: list[tuple] = []  # the fixture's model is not a real one: count the calls
    monkeypatch.setattr(
        service, "rescore_quietly", lambda bureau, subject_id, **kw: rescores.append(subject_id)
    )
    with _client(bureau, now=late) as client:
        answered = _answer(client, keys["lender-east"], disputes[5]["dispute_id"], "unverifiable")
        assert answered.status_code == 200, answered.text
        body = answered.json()
        assert body["days_late"] == 10 and body["group_id"] == group["group_id"]
        assert body["compensation"]["amount_minor"] == 0  # carried by the group's first
        # but the answer says what the group owes, whichever of its disputes was answered
        assert body["group_compensation"]["amount_minor"] == 10 * COMPENSATION_PER_DAY_MINOR
        listed = client.get(f"/v1/subjects/{GOOD}/disputes", headers=bearer(keys["self-good"]))
        mine = [d for d in listed.json() if d["group_id"] == group["group_id"]]
        assert len(mine) == len(disputes)
        assert {(d["status"], d["outcome"], d["days_late"]) for d in mine} == {
            ("answered", "unverifiable", 10)
        }
        owed = {d["dispute_id"]: d["compensation"]["amount_minor"] for d in mine}
        # one complaint: compensation once, not once a month
        assert owed.pop(group["group_id"]) == 10 * COMPENSATION_PER_DAY_MINOR
        assert set(owed.values()) == {0}
        twice = _answer(client, keys["lender-east"], group["group_id"], "verified")
        assert twice.status_code == 409

        after = _report(client, keys["self-good"])
        assert _account_records(after, "lender-east", "PL-2001") == []
        assert "PL-2001" not in {a["account_id"] for a in after["accounts"]}
        assert len(after["records"]) == len(before["records"]) - len(months)

    deleted = {(f, r) for f, r, _ in withdrawn_records(bureau.ledger)}
    assert {("lender-east", r["record_id"]) for r in months} <= deleted
    # one entry a dispute each way; one notice each way; one rescore for the account
    assert len(_entries(bureau, "dispute.open", group["group_id"])) == len(months)
    answers = _entries(bureau, "dispute.answer", group["group_id"])
    assert len(answers) == len(months) and all(a["deleted"] for a in answers)
    assert rescores == [GOOD]
    notices = [
        n["body"] for n in list_notices(bureau.ledger)
        if n["kind"] == "dispute" and n["body"].get("group_id") == group["group_id"]
    ]  # fmt: skip
    assert [n["status"] for n in notices] == ["open", "answered"]
    assert notices[0]["records"] == len(months) and notices[0]["account_id"] == "PL-2001"
    assert notices[1]["compensation_minor"] == 10 * COMPENSATION_PER_DAY_MINOR
    assert not any("Not my account" in str(n) for n in notices)
    assert verify(bureau.ledger).ok


def test_records_already_under_dispute_keep_their_own_disputes(bureau, keys):
    with _client(bureau) as client:
        report = _report(client, keys["self-good"])
        months = _account_records(report, "bank-north", "CC-1001")
        first = client.post(
            f"/v1/subjects/{GOOD}/disputes", headers=bearer(keys["self-good"]),
            json={"furnisher_id": "bank-north", "record_id": months[0]["record_id"],
                  "reason": "I paid this month on time."},
        )  # fmt: skip
        assert first.status_code == 201, first.text
        single = first.json()["dispute_id"]
        opened = _open_account(client, keys["ops-1"], "CC-1001", "bank-north")  # by letter
        assert opened.status_code == 201, opened.text
        group = opened.json()
        assert group["already_under_dispute"] == [single]
        assert len(group["disputes"]) == len(months) - 1
        assert months[0]["record_id"] not in {d["record_id"] for d in group["disputes"]}

        answered = _answer(client, keys["bank-north"], group["group_id"], "verified")
        assert answered.status_code == 200, answered.text
        assert answered.json()["compensation"]["amount_minor"] == 0  # on time
        still = client.get("/v1/disputes?status=open", headers=bearer(keys["bank-north"]))
        assert [d["dispute_id"] for d in still.json()] == [single]
        after = _report(client, keys["self-good"])
        marked = [r["record_id"] for r in after["records"] if r["under_dispute"]]
        assert marked == [months[0]["record_id"]]
        assert len(after["records"]) == len(report["records"])  # verified: all stay


@pytest.mark.parametrize(
    ("key", "subject", "account", "furnisher", "reason", "status", "says"),
    [
        ("self-good", GOOD, "PL-9999", "lender-east", "Not mine.", 422, "no account 'PL-9999'"),
        # the account is in the file, from another source
        ("self-good", GOOD, "CC-1001", "lender-east", "Not mine.", 422, "no account"),
        # another subject's account is not in this file
        ("self-good", GOOD, "CC-9001", "bank-west", "Not mine.", 422, "no account"),
        ("self-good", GOOD, "CC-1001", "bank-north", "", 422, "reason"),
        ("self-good", THIN, "CC-9001", "bank-west", "Not mine.", 403, ""),
        ("self-thin", THIN, "CC-9001", "bank-west", "   ", 422, "reason"),
    ],
    ids=["unknown account", "wrong source", "another file's", "empty reason",
         "another file's key", "blank reason"],
)  # fmt: skip
def test_what_cannot_be_disputed_whole(bureau, keys, key, subject, account, furnisher, reason,
                                       status, says):  # fmt: skip
    with _client(bureau) as client:
        r = _open_account(client, keys[key], account, furnisher, subject=subject, reason=reason)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert says in r.text


def test_the_command_opens_and_answers_an_account_dispute_by_letter(bureau, keys):
    runner = CliRunner()
    home = ["--home", str(bureau.settings.home)]
    env = {"OPENBUREAU_LEDGER_URL": bureau.settings.ledger_url}
    both = runner.invoke(
        cli, ["disputes", "open", "--subject", THIN, "--furnisher", "bank-west",
              "--record", "x", "--account", "CC-9001", "--reason", "Not mine.", *home], env=env,
    )  # fmt: skip
    assert both.exit_code == 2 and "--record" in both.output
    opened = runner.invoke(
        cli, ["disputes", "open", "--subject", THIN, "--furnisher", "bank-west",
              "--account", "CC-9001", "--reason", "Never had this card.", *home], env=env,
    )  # fmt: skip
    assert opened.exit_code == 0, opened.output
    assert "3 record(s) of account CC-9001" in opened.output
    group_id = opened.output.split("dispute group ")[1].split(":")[0]
    answered = runner.invoke(
        cli, ["disputes", "answer", group_id, "--outcome", "unverifiable",
              "--note", "No such customer.", *home], env=env,
    )  # fmt: skip
    assert answered.exit_code == 0, answered.output
    assert f"group {group_id}" in answered.output
    with _client(bureau) as client:
        report = _report(client, keys["self-thin"], subject=THIN)
    assert _account_records(report, "bank-west", "CC-9001") == []


def test_an_account_and_one_of_its_months_disputed_at_once_do_not_deadlock(
    tmp_path, postgres_ledger_url
):
    """Both openings take the audit chain before any row. Before, an account's opening held
    the chain while it inserted a row a month, and a single month's opening held its row
    while it waited for the chain: PostgreSQL aborted one of them (a server error)."""
    import threading  # noqa: PLC0415
    import time  # noqa: PLC0415

    from sqlalchemy import text  # noqa: PLC0415

    from openbureau.audit import service as audit  # noqa: PLC0415
    from openbureau.reports.service import build_report  # noqa: PLC0415

    bureau = build_bureau(build_report_fixture(tmp_path / "b", postgres_ledger_url).settings)
    report = build_report(bureau, GOOD, NOW.date(), holder_view=False)
    later = [
        r.record_id for r in report.records
        if r.furnisher.furnisher_id == "lender-east" and r.fields.get("account_id") == "PL-2001"
    ][-1]  # fmt: skip
    out: dict = {}

    def run(name, call) -> None:
        try:
            out[name] = call()
        except Exception as exc:  # noqa: BLE001 - the test looks at what it was
            out[name] = exc

    def waiting() -> int:
        with bureau.ledger.connect() as conn:
            return conn.scalar(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            )

    def until(n: int) -> None:
        deadline = time.monotonic() + 30
        while waiting() < n:
            assert time.monotonic() < deadline, "the opening never waited for the chain"
            time.sleep(0.05)

    account = threading.Thread(
        target=run,
        args=(
            "account",
            lambda: service.open_account_dispute(
                bureau, GOOD, "lender-east", "PL-2001", "Not mine.", actor="operator-local", now=NOW
            ),
        ),
    )
    single = threading.Thread(
        target=run,
        args=(
            "single",
            lambda: service.open_dispute(
                bureau, GOOD, "lender-east", later, "Wrong month.", actor="operator-local", now=NOW
            ),
        ),
    )
    with bureau.ledger.begin() as blocker:
        audit.lock_chain(blocker)  # another writer holds the chain a moment
        account.start()
        until(1)
        single.start()
        until(2)
    account.join(60)
    single.join(60)
    # one opening wins; the other is told the record is already under dispute (a 409)
    kinds = sorted(type(v).__name__ for v in out.values())
    assert kinds in (
        ["AccountDisputePublic", "DisputeConflict"],
        ["DisputeConflict", "DisputePublic"],
    ), out
    assert verify(bureau.ledger).ok
