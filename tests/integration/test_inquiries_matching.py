"""The inquiry's identity lookup against what the real matcher publishes (ingest, resolve),
plus the consent and outbox commands."""

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from keys import issue_key
from openbureau.access.service import authenticate
from openbureau.catalogue.identifiers import InvalidIdentifier
from openbureau.cli import app as cli
from openbureau.identity.service import resolve
from openbureau.ingest.service import add_furnisher, ingest_file
from openbureau.inquiries.matching import IdentityQuery, find_subject
from openbureau.inquiries.service import InquiryRefused, make_inquiry
from openbureau.storage.ledger import subjects

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
WEI = {"subject_kind": "person", "given_name": "Wei", "family_name": "Zhang"}


@pytest.fixture(scope="module")
def resolved(tmp_path_factory):
    from factories import make_bureau

    bureau = make_bureau(tmp_path_factory.mktemp("m"))
    add_furnisher(bureau, "bank-01", "bank", "Bank One")
    for name in ("profile.csv", "credit_account.csv"):
        ingest_file(bureau, EXAMPLES / name, "bank-01")
    resolve(bureau)
    return bureau


def _find(bureau, **identity):
    return find_subject(bureau.ledger, IdentityQuery(**identity), bureau.settings.token_key_bytes)


def test_the_national_id_and_the_name_with_birth_date_find_the_same_subject(resolved):
    by_id = _find(resolved, **WEI, national_id_scheme="CN-RIC", national_id="11010519491231002X")
    by_name = _find(resolved, **WEI, date_of_birth=date(1949, 12, 31))
    reordered = _find(resolved, subject_kind="person", given_name="ZHANG", family_name="wei",
                      date_of_birth=date(1949, 12, 31))  # fmt: skip
    assert by_id is not None and by_id == by_name == reordered
    with resolved.ledger.connect() as conn:
        assert conn.execute(
            subjects.select().where(subjects.c.subject_id == by_id)
        ).one().display_name.lower() in ("wei zhang", "zhang wei")


@pytest.mark.parametrize(
    "identity",
    [
        {**WEI, "date_of_birth": date(1950, 1, 1)},
        {**WEI},  # a name alone is never enough
        {"subject_kind": "person", "given_name": "Wei", "date_of_birth": date(1949, 12, 31)},
        {"subject_kind": "organisation", "org_name": "Wei Zhang"},
    ],
)
def test_too_little_or_wrong_evidence_finds_nobody(resolved, identity):
    assert _find(resolved, **identity) is None


def test_an_invalid_national_id_is_refused_not_matched(resolved):
    with pytest.raises(InvalidIdentifier):
        _find(resolved, **WEI, national_id_scheme="CN-RIC", national_id="110105194912310021")


def test_consent_and_outbox_commands(resolved):
    home = ["--home", str(resolved.settings.home)]
    runner = CliRunner()
    subject = _find(resolved, **WEI, date_of_birth=date(1949, 12, 31))
    landlord = authenticate(
        resolved.ledger, issue_key(resolved.ledger, "landlord-7", "landlord", "inquirer")
    )
    grant = ["consent", "grant", "--subject", subject, "--party", "landlord-7",
             "--purpose", "tenancy", "--form", "F-1"]  # fmt: skip
    soon = (date.today() + timedelta(days=30)).isoformat()
    r = runner.invoke(cli, grant + ["--until", "2099-01-01"] + home)
    assert r.exit_code == 2 and "at most 12 months" in r.output
    r = runner.invoke(cli, grant + ["--until", soon] + home)
    assert r.exit_code == 0, r.output
    consent_id = r.stdout.split()[1].rstrip(":")
    listed = runner.invoke(cli, ["consent", "list", "--subject", subject] + home).stdout
    (consent,) = [json.loads(line) for line in listed.splitlines()]
    assert (consent["consent_id"], consent["evidence"]) == (consent_id, "signed-form:F-1")

    answer = make_inquiry(resolved, landlord, "tenancy", subject_id=subject,
                          as_of=date(2025, 6, 30), now=datetime.now(UTC))  # fmt: skip
    notices = [json.loads(line) for line in
               runner.invoke(cli, ["outbox", "list"] + home).stdout.splitlines()]  # fmt: skip
    (notice,) = [n for n in notices if n["body"]["inquiry_id"] == answer.inquiry_id]
    assert notice["subject_id"] == subject and notice["delivered_at"] is None
    r = runner.invoke(cli, ["outbox", "delivered", notice["notice_id"]] + home)
    assert r.exit_code == 0 and "1 notice(s) marked delivered" in r.output
    assert notice["notice_id"] not in runner.invoke(cli, ["outbox", "list"] + home).stdout
    assert notice["notice_id"] in runner.invoke(cli, ["outbox", "list", "--all"] + home).stdout
    r = runner.invoke(cli, ["outbox", "delivered", "n-missing"] + home)
    assert r.exit_code == 2 and "no notice 'n-missing'" in r.output

    assert runner.invoke(cli, ["consent", "revoke", consent_id] + home).exit_code == 0
    with pytest.raises(InquiryRefused, match="revoked"):
        make_inquiry(resolved, landlord, "tenancy", subject_id=subject,
                     as_of=date(2025, 6, 30), now=datetime.now(UTC))  # fmt: skip
    assert runner.invoke(cli, ["consent", "revoke", "c" + "0" * 24] + home).exit_code == 2
