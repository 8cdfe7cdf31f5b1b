"""Every route, every role: allowed or denied, against one table (the single place that says
who may do what; docs/access.md publishes the same table).

A role allowed on a route may still get 404 or 422 for the particular request: "allowed" here
means neither 401 nor 403 (nor, for console pages, the redirect to sign in). Every route the
app serves must appear in ROUTES, so a new route fails this test until it is placed."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from keys import bearer, issue_key
from openbureau.api.app import create_app
from openbureau.bootstrap import build_bureau
from report_fixture import AS_OF, GOOD, THIN, build_report_fixture

#: Who calls: party, kind, role, links. "other-subject" is a subject key for another file.
CALLERS = {
    "furnisher": ("bank-north", "lender", "furnisher", {"furnisher_id": "bank-north"}),
    "inquirer": ("lender-m", "lender", "inquirer", {}),
    "subject": ("self-good", "subject", "subject", {"subject_id": GOOD}),
    "other-subject": ("self-thin", "subject", "subject", {"subject_id": THIN}),
    "operator": ("ops-m", "operator", "operator", {}),
    "auditor": ("audit-m", "auditor", "auditor", {}),
}
EVERYONE = frozenset(CALLERS) | {"anonymous"}
CONSENT = f"c{'0' * 24}"
DISPUTE = f"d{'0' * 24}"
ENTRY = f"e{'0' * 24}"
KEYED = frozenset(CALLERS)


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # the route's template, as the app declares it
    allowed: frozenset[str]
    url: str = ""  # the concrete URL called; default `path`
    json: dict | None = None
    files: dict | None = field(default=None, hash=False)
    page: bool = False  # console page: denied means a redirect to sign in

    @property
    def target(self) -> str:
        return self.url or self.path


ROUTES = [
    Route("GET", "/healthz", EVERYONE),
    Route("GET", "/v1/subjects/{subject_id}/score", frozenset({"subject", "operator"}),
          f"/v1/subjects/{GOOD}/score"),
    Route("GET", "/v1/subjects/{subject_id}/report", frozenset({"subject", "operator"}),
          f"/v1/subjects/{GOOD}/report"),
    Route("POST", "/v1/batches", frozenset({"furnisher"}),
          files={"file": ("a.csv", b"record_type\n")}),
    Route("POST", "/v1/inquiries", frozenset({"inquirer"}),
          json={"purpose": "credit_application", "subject_id": GOOD}),
    Route("POST", "/v1/inquiries", frozenset({"subject"}), "/v1/inquiries",
          json={"purpose": "own_request", "subject_id": GOOD}),
    Route("GET", "/v1/subjects/{subject_id}/consents", frozenset({"subject", "operator"}),
          f"/v1/subjects/{GOOD}/consents"),
    Route("POST", "/v1/subjects/{subject_id}/consents", frozenset({"subject", "operator"}),
          f"/v1/subjects/{GOOD}/consents",
          json={"party_id": "lender-m", "purpose": "tenancy", "valid_until": "2026-06-30"}),
    Route("POST", "/v1/subjects/{subject_id}/consents/{consent_id}/revoke",
          frozenset({"subject", "operator"}), f"/v1/subjects/{GOOD}/consents/{CONSENT}/revoke"),
    Route("GET", "/v1/subjects/{subject_id}/disputes", frozenset({"subject", "operator"}),
          f"/v1/subjects/{GOOD}/disputes"),
    Route("POST", "/v1/subjects/{subject_id}/disputes", frozenset({"subject", "operator"}),
          f"/v1/subjects/{GOOD}/disputes",
          json={"furnisher_id": "bank-north", "record_id": "no-such", "reason": "not mine"}),
    Route("POST", "/v1/subjects/{subject_id}/account-disputes",
          frozenset({"subject", "operator"}), f"/v1/subjects/{GOOD}/account-disputes",
          json={"furnisher_id": "bank-north", "account_id": "no-such", "reason": "not mine"}),
    Route("GET", "/v1/disputes", frozenset({"furnisher", "operator"})),
    Route("POST", "/v1/disputes/{dispute_id}/answer", frozenset({"furnisher", "operator"}),
          f"/v1/disputes/{DISPUTE}/answer", json={"outcome": "verified", "note": "checked"}),
    Route("GET", "/v1/lists", KEYED),  # published: any key reads them
    Route("GET", "/v1/lists/{list_id}", KEYED, "/v1/lists/judgment_defaulters"),
    Route("POST", "/v1/lists/{list_id}/entries", frozenset({"operator"}),
          "/v1/lists/judgment_defaulters/entries",
          json={"subject_id": GOOD, "grounds": "x", "furnisher_id": "bank-north",
                "record_id": "no-such"}),
    Route("GET", "/v1/list-entries", frozenset({"operator"})),
    # a subject key passes the role check; the entry must then be of its own file (404)
    Route("POST", "/v1/list-entries/{entry_id}/objection",
          frozenset({"subject", "other-subject", "operator"}),
          f"/v1/list-entries/{ENTRY}/objection", json={"objection": "not me"}),
    Route("POST", "/v1/list-entries/{entry_id}/decision", frozenset({"operator"}),
          f"/v1/list-entries/{ENTRY}/decision", json={"approve": False, "note": "no"}),
    Route("POST", "/v1/list-entries/{entry_id}/removal", frozenset({"operator"}),
          f"/v1/list-entries/{ENTRY}/removal", json={"reason": "error", "note": "no"}),
    Route("GET", "/v1/subjects/{subject_id}/list-entries", frozenset({"subject", "operator"}),
          f"/v1/subjects/{GOOD}/list-entries"),
    # the inquirer is a lender: of the measures, it applies only the property restriction
    # (which kinds of relying party may ask about which measure: tests/integration/
    # test_lists_api.py)
    Route("GET", "/v1/subjects/{subject_id}/measures/{measure}",
          frozenset({"inquirer", "operator"}), f"/v1/subjects/{GOOD}/measures/property_purchase"),
    Route("GET", "/v1/audit/verify", frozenset({"operator", "auditor"})),
    Route("GET", "/", frozenset({"operator"}), page=True),
    Route("GET", "/subjects", frozenset({"operator"}), f"/subjects?subject_id={GOOD}", page=True),
    Route("GET", "/subjects/{subject_id}", frozenset({"operator"}), f"/subjects/{GOOD}",
          page=True),
    # open to all by design: signing in, and the API's own description
    Route("GET", "/login", EVERYONE),
    # signing in succeeds (303 to the console) only with an operator key; else 401, HTML
    Route("POST", "/login", frozenset({"operator"})),
    Route("POST", "/logout", EVERYONE),
    Route("GET", "/openapi.json", EVERYONE),
    Route("GET", "/docs", EVERYONE),
    Route("GET", "/redoc", EVERYONE),
]  # fmt: skip


@pytest.fixture(scope="module")
def app_and_keys(tmp_path_factory, ledger_url):
    # on SQLite and on PostgreSQL: a role check that reads the ledger must hold on both
    fixture = build_report_fixture(tmp_path_factory.mktemp("bureau"), ledger_url)
    ledger = build_bureau(fixture.settings).ledger
    keys = {
        name: issue_key(ledger, party, kind, role, **links)
        for name, (party, kind, role, links) in CALLERS.items()
    }
    return create_app(fixture.settings, today=lambda: AS_OF), keys


def _served(routes) -> set[tuple[str, str]]:
    """(method, path) of every route, through included routers (FastAPI keeps those as
    wrappers whose effective routes carry the full path)."""
    out = set()
    for route in routes:
        if hasattr(route, "effective_candidates"):
            out |= _served(route.effective_candidates())
        elif isinstance(route, APIRoute) or hasattr(route, "endpoint"):
            out |= {(m, route.path) for m in (route.methods or set()) - {"HEAD"}}
    return out


def test_every_route_the_app_serves_is_in_the_table(app_and_keys):
    app, _ = app_and_keys
    served = _served(app.routes)
    assert ("POST", "/v1/inquiries") in served  # the walk reaches included routers
    listed = {(r.method, r.path) for r in ROUTES}
    assert served - listed == set(), "routes missing from the access table"
    assert listed - served == set(), "the access table names routes the app does not serve"


CASES = [(route, who) for route in ROUTES for who in sorted(EVERYONE)]


@pytest.mark.parametrize(
    ("route", "who"), CASES, ids=[f"{r.method} {r.target} as {w}" for r, w in CASES]
)
def test_route_allows_exactly_the_roles_in_the_table(app_and_keys, route, who):
    app, keys = app_and_keys
    headers = bearer(keys[who]) if who in keys else {}
    with TestClient(app, headers=headers, raise_server_exceptions=False) as client:
        if route.method == "POST" and route.path == "/login":
            r = client.post("/login", data={"key": keys.get(who, "x")}, follow_redirects=False)
            assert r.status_code == (303 if who in route.allowed else 401)
            return
        else:
            r = client.request(
                route.method,
                route.target,
                json=route.json,
                files=route.files,
                follow_redirects=False,
            )
    assert r.status_code < 500, r.text
    denied = r.status_code in (401, 403) or (
        route.page and r.status_code == 303 and "/login" in r.headers["location"]
    )
    if who in route.allowed:
        assert not denied, f"{who} was refused: {r.status_code} {r.text[:200]}"
    elif route.page:
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    else:
        assert r.status_code == (401 if who == "anonymous" else 403), r.text
        assert r.headers["content-type"] == "application/problem+json"
