"""Keys end to end: created shown once and stored hashed, refused when absent, malformed,
unknown or revoked (401), refused for the wrong role (403), audited; the console pages open
only to an operator key."""

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from typer.testing import CliRunner

from keys import bearer, issue_key
from openbureau.access.rules import parse_key
from openbureau.access.service import AccessError, add_party, create_key, revoke_key
from openbureau.api.app import create_app
from openbureau.api.deps import CONSOLE_COOKIE
from openbureau.audit.service import verify
from openbureau.bootstrap import build_bureau
from openbureau.cli import app as cli
from openbureau.storage.ledger import api_keys, audit_log
from report_fixture import AS_OF, GOOD, THIN, build_report_fixture

PROBLEM = "application/problem+json"
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def fixture(tmp_path_factory):
    return build_report_fixture(tmp_path_factory.mktemp("bureau"))


@pytest.fixture(scope="module")
def ledger(fixture):
    return build_bureau(fixture.settings).ledger


@pytest.fixture(scope="module")
def client(fixture):
    with TestClient(create_app(fixture.settings, today=lambda: AS_OF)) as c:
        yield c


def test_a_key_is_stored_only_as_a_hash_and_its_creation_is_audited(ledger):
    add_party(ledger, "bank-a", "lender", "Bank A", actor="ops", now=NOW)
    key = create_key(ledger, "bank-a", "inquirer", actor="ops", now=NOW)
    assert key.text.startswith(f"obk_{key.key_id}_")
    with ledger.connect() as conn:
        row = conn.execute(select(api_keys).where(api_keys.c.key_id == key.key_id)).one()
        logged = conn.execute(
            select(audit_log.c.action, audit_log.c.payload).where(audit_log.c.actor == "ops")
        ).all()
    secret = parse_key(key.text)[1]  # the secret may itself hold "_"
    assert secret not in row.secret_hash and len(row.secret_hash) == 64
    assert ("key.create", f'{{"key_id":"{key.key_id}","party_id":"bank-a","role":"inquirer"}}') in [
        tuple(r) for r in logged
    ]
    assert all(secret not in payload and row.secret_hash not in payload for _, payload in logged)
    assert verify(ledger).ok


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer not-a-key"},
        {"Authorization": "Bearer obk_0123456789abcdef_" + "a" * 43},
    ],
)
def test_no_or_bad_key_is_a_401_problem(client, headers):
    r = client.get(f"/v1/subjects/{GOOD}/report", headers=headers)
    assert (r.status_code, r.headers["content-type"]) == (401, PROBLEM)
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json()["type"] == "urn:openbureau:problem:not-authenticated"


def test_a_right_key_id_with_a_wrong_secret_is_refused(client, ledger):
    key = issue_key(ledger, "ops-x", "operator", "operator")
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    assert client.get(f"/v1/subjects/{GOOD}/score", headers=bearer(key)).status_code == 200
    assert client.get(f"/v1/subjects/{GOOD}/score", headers=bearer(forged)).status_code == 401


def test_a_revoked_key_stops_working_at_once_and_revocation_is_audited(client, ledger):
    key = issue_key(ledger, "ops-r", "operator", "operator")
    key_id = key.split("_")[1]
    assert client.get(f"/v1/subjects/{GOOD}/score", headers=bearer(key)).status_code == 200
    assert revoke_key(ledger, key_id, actor="ops", now=NOW) is True
    assert revoke_key(ledger, key_id, actor="ops", now=NOW) is False
    assert client.get(f"/v1/subjects/{GOOD}/score", headers=bearer(key)).status_code == 401
    with ledger.connect() as conn:
        actions = (
            conn.execute(select(audit_log.c.action).where(audit_log.c.payload.contains(key_id)))
            .scalars()
            .all()
        )
    assert actions == ["key.create", "key.revoke"]
    with pytest.raises(AccessError, match="no key"):
        revoke_key(ledger, "ffffffffffffffff", actor="ops", now=NOW)


def test_wrong_role_is_a_403_problem_with_the_reason(client, ledger):
    key = issue_key(ledger, "auditor-1", "auditor", "auditor")
    r = client.get(f"/v1/subjects/{GOOD}/report", headers=bearer(key))
    assert (r.status_code, r.headers["content-type"]) == (403, PROBLEM)
    assert r.json()["detail"] == "the auditor role may not read subjects' files other than its own"


def test_a_subject_reads_its_own_file_and_no_other(client, ledger):
    key = issue_key(ledger, "self-good", "subject", "subject", subject_id=GOOD)
    assert client.get(f"/v1/subjects/{GOOD}/report", headers=bearer(key)).status_code == 200
    assert client.get(f"/v1/subjects/{THIN}/report", headers=bearer(key)).status_code == 403
    # a subject id that does not exist is no different: no oracle of who is on file
    assert client.get("/v1/subjects/S999999/report", headers=bearer(key)).status_code == 403
    with ledger.connect() as conn:
        actor, purpose = conn.execute(
            select(audit_log.c.actor, audit_log.c.purpose)
            .where(audit_log.c.action == "report.read")
            .order_by(audit_log.c.seq.desc())
        ).first()
    assert actor.startswith("party:self-good/key:") and purpose == "own_request"


@pytest.mark.parametrize(
    ("party", "kind", "role", "links", "message"),
    [
        ("nobody", None, "operator", {}, "no party 'nobody'"),
        ("lender-z", "lender", "operator", {}, "cannot hold the operator role"),
        ("lender-y", "lender", "furnisher", {}, "cannot hold the furnisher role"),
        ("ops-z", "operator", "root", {}, "unknown role 'root'"),
    ],
)
def test_keys_only_for_roles_the_party_may_hold(ledger, party, kind, role, links, message):
    if kind:
        add_party(ledger, party, kind, f"{party} Ltd", actor="ops", now=NOW, **links)
    with pytest.raises(AccessError, match=message):
        create_key(ledger, party, role, actor="ops", now=NOW)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"party_id": "p1", "kind": "furnisher", "furnisher_id": "no-such"}, "no registered"),
        ({"party_id": "p2", "kind": "subject", "subject_id": "S999999"}, "no current subject"),
        ({"party_id": "p3", "kind": "subject", "subject_id": "S000005"}, "no current subject"),
        ({"party_id": "bad id", "kind": "lender"}, "invalid party id"),
        ({"party_id": "ops-x", "kind": "operator"}, "already registered"),
    ],
)
def test_bad_parties_are_refused(ledger, kwargs, message):
    issue_key(ledger, "ops-x", "operator", "operator")
    with pytest.raises(AccessError, match=message):
        add_party(ledger, name="Some Name", actor="ops", now=NOW, **kwargs)


def test_console_pages_need_an_operator_key(client, ledger):
    r = client.get(f"/subjects/{GOOD}?as_of=2025-12-31", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"/login?next=/subjects/{GOOD}%3Fas_of%3D2025-12-31"
    assert client.get("/", follow_redirects=False).status_code == 303
    assert client.get("/subjects?subject_id=S1", follow_redirects=False).status_code == 303
    lender = issue_key(ledger, "lender-c", "lender", "inquirer")
    assert client.get("/", headers=bearer(lender), follow_redirects=False).status_code == 303
    assert "Operator sign-in" in client.get("/login").text


def test_console_sign_in_sets_a_strict_http_only_cookie(fixture, ledger):
    key = issue_key(ledger, "ops-c", "operator", "operator")
    lender = issue_key(ledger, "lender-d", "lender", "inquirer")
    with TestClient(create_app(fixture.settings, today=lambda: AS_OF)) as c:
        refused = c.post("/login", data={"key": lender, "next": "/"}, follow_redirects=False)
        assert refused.status_code == 401 and "not a valid operator key" in refused.text
        r = c.post("/login", data={"key": key, "next": f"/subjects/{GOOD}"}, follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, f"/subjects/{GOOD}")
        cookie = r.headers["set-cookie"].lower()
        assert cookie.startswith(f"{CONSOLE_COOKIE}=") and "httponly" in cookie
        assert "samesite=strict" in cookie
        assert c.get(f"/subjects/{GOOD}").status_code == 200
        # an address elsewhere is not followed after sign-in
        r = c.post("/login", data={"key": key, "next": "//evil.example/"}, follow_redirects=False)
        assert r.headers["location"] == "/"
        c.post("/logout")
        assert c.get("/", follow_redirects=False).status_code == 303


def test_health_and_api_description_need_no_key(client):
    assert client.get("/healthz").status_code == 200
    spec = client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"


def test_cli_creates_lists_and_revokes_keys(tmp_path):
    home = ["--home", str(tmp_path / "h")]
    runner = CliRunner()
    r = runner.invoke(cli, ["parties", "add", "ops-1", "--kind", "operator", "--name", "O"] + home)
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["keys", "create", "--party", "ops-1", "--role", "operator"] + home)
    assert r.exit_code == 0, r.output
    text = r.stdout.strip().splitlines()[-1]
    key_id = text.split("_")[1]
    listed = runner.invoke(cli, ["keys", "list"] + home).stdout
    assert key_id in listed and parse_key(text)[1] not in listed
    assert runner.invoke(cli, ["keys", "revoke", key_id] + home).exit_code == 0
    r = runner.invoke(cli, ["keys", "create", "--party", "ops-1", "--role", "inquirer"] + home)
    assert r.exit_code == 2 and "cannot hold the inquirer role" in r.output
    r = runner.invoke(cli, ["keys", "revoke", "0000000000000000"] + home)
    assert r.exit_code == 2


def test_a_key_revoked_by_another_process_stops_working_once_the_cache_expires(fixture):
    """Another process's revocation is not seen by this one's cache: the key works until the
    cache's time (OPENBUREAU_KEY_CACHE_SECONDS) runs out, then is refused."""
    led = build_bureau(fixture.settings).ledger
    key = issue_key(led, "ops-x", "operator", "operator")
    key_id = key.split("_")[1]
    with TestClient(create_app(fixture.settings, today=lambda: AS_OF)) as c:
        clock = [1000.0]
        c.app.state.keys.clock = lambda: clock[0]
        assert c.get(f"/v1/subjects/{GOOD}/score", headers=bearer(key)).status_code == 200
        with led.begin() as conn:  # as `keys revoke` in another process does, cache untouched
            conn.execute(update(api_keys).where(api_keys.c.key_id == key_id).values(revoked_at=NOW))
        assert c.get(f"/v1/subjects/{GOOD}/score", headers=bearer(key)).status_code == 200
        clock[0] += fixture.settings.key_cache_seconds
        assert c.get(f"/v1/subjects/{GOOD}/score", headers=bearer(key)).status_code == 401
