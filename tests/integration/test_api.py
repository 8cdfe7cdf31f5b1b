"""The API and pages, in-process over the report fixture (tests/report_fixture.py), with the
ledger on SQLite and on PostgreSQL (`ledger_url`)."""

import subprocess
import sys
from datetime import date

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from keys import bearer, issue_key
from openbureau.api import server
from openbureau.api.app import create_app
from openbureau.bootstrap import build_bureau
from report_fixture import (
    AS_OF,
    DEFAULTER,
    GOOD,
    MARKUP,
    MARKUP_NAME,
    MERGED,
    MODEL,
    ORG,
    RAW_IDS,
    THIN,
    UNSCORED,
    build_report_fixture,
)

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def fixture(tmp_path_factory, ledger_url):
    return build_report_fixture(tmp_path_factory.mktemp("bureau"), ledger_url)


@pytest.fixture(scope="module")
def operator_key(fixture):
    return issue_key(build_bureau(fixture.settings).ledger, "ops-api", "operator", "operator")


@pytest.fixture(scope="module")
def client(fixture, operator_key):
    app = create_app(fixture.settings, today=lambda: AS_OF)
    with TestClient(app, headers=bearer(operator_key)) as c:
        yield c


def _report(client, subject, **params):
    r = client.get(f"/v1/subjects/{subject}/report", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def _records(report):
    return {(r["furnisher"]["furnisher_id"], r["record_id"]): r for r in report["records"]}


def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "catalogue_version": "2026.1", "lake_has_records": True}


def test_score_of_a_good_file(client):
    r = client.get(f"/v1/subjects/{GOOD}/score")
    assert r.status_code == 200
    assert r.json() == {
        "subject_id": GOOD,
        "as_of": "2025-12-31",
        "model_version": MODEL,
        "scorable": True,
        "score": 781,
        "score_min": 300,
        "score_max": 900,
        "not_scorable_reason": None,
        "pillars": [
            {"pillar": "commercial", "label": "Commercial integrity", "score": 82.5},
            {"pillar": "judicial", "label": "Judicial credibility", "score": None},
            {"pillar": "societal", "label": "Societal integrity", "score": None},
            {"pillar": "government", "label": "Integrity in government affairs", "score": None},
        ],
        "reasons": [
            {
                "code": "C03",
                "text": "Your credit history is shorter than 5 years.",
                "pillar": "commercial",
                "points_lost": 41.5,
            },
            {
                "code": "C07",
                "text": "Your card balance is high compared with its limit.",
                "pillar": "commercial",
                "points_lost": 22.0,
            },
            {
                "code": "C09",
                "text": "One payment was 1 to 29 days late in the last 3 years.",
                "pillar": "commercial",
                "points_lost": 9.5,
            },
            {
                "code": "C02",
                "text": "You have few open accounts.",
                "pillar": "commercial",
                "points_lost": 3.0,
            },
        ],
        "published_at": "2026-01-02T03:04:05Z",
    }


def test_score_is_point_in_time(client):
    r = client.get(f"/v1/subjects/{GOOD}/score", params={"as_of": "2025-07-01"})
    assert (r.json()["score"], r.json()["as_of"]) == (768, "2025-06-30")
    r = client.get(f"/v1/subjects/{GOOD}/score", params={"as_of": "2025-01-01"})
    assert r.status_code == 404
    assert r.json()["type"] == "urn:openbureau:problem:score-not-found"


def test_thin_file_is_not_scorable_rather_than_low(client):
    body = client.get(f"/v1/subjects/{THIN}/score").json()
    assert body["scorable"] is False
    assert body["score"] is None
    assert body["not_scorable_reason"] == "Fewer than 6 months of credit history: not scorable."


def test_unknown_subject_is_a_404_problem(client):
    r = client.get("/v1/subjects/S999999/report")
    assert r.status_code == 404
    assert r.headers["content-type"] == PROBLEM
    assert r.json() == {
        "type": "urn:openbureau:problem:subject-not-found",
        "title": "Subject not found",
        "status": 404,
        "detail": "no subject 'S999999' in this bureau",
    }


def test_subject_without_a_score_is_a_404_problem_on_score_only(client):
    r = client.get(f"/v1/subjects/{UNSCORED}/score")
    assert (r.status_code, r.headers["content-type"]) == (404, PROBLEM)
    report = _report(client, UNSCORED)
    assert report["score"] is None
    assert report["records"] == [] and report["accounts"] == []


@pytest.mark.parametrize("bad", ["bad!id", "x" * 25, "-leading-dash"])
def test_malformed_subject_id_is_a_422_problem(client, bad):
    r = client.get(f"/v1/subjects/{bad}/score")
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["title"] == "Invalid request" and body["status"] == 422
    assert body["errors"][0]["loc"] == ["path", "subject_id"]


def test_merged_subject_redirects_to_the_surviving_file(client):
    r = client.get(
        f"/v1/subjects/{MERGED}/report", params={"as_of": "2025-12-31"}, follow_redirects=False
    )
    assert r.status_code == 307
    assert r.headers["location"] == f"/v1/subjects/{GOOD}/report?as_of=2025-12-31"
    assert r.json()["merged_into"] == GOOD
    assert client.get(f"/v1/subjects/{MERGED}/report").json()["subject_id"] == GOOD


def test_report_of_a_good_file(client):
    report = _report(client, GOOD)
    assert (report["subject_kind"], report["display_name"]) == ("person", "Wang Fang")
    assert report["national_id_masked"] == "1101**********002X"
    assert report["as_of"] == "2025-12-31"
    assert report["score"]["score"] == 781
    # card: 47 months reported by AS_OF, loan: 38 (one month missing), a profile, 6 invoices
    assert len(report["records"]) == 92
    assert report["expired_records"] == 0
    assert report["public_records"] == [] and report["tax_records"] == []
    assert report["invoices"] == {
        "count": 6,
        "paid_on_time": 5,
        "paid_late": 1,
        "overdue": 0,
        "not_yet_due": 0,
        "overdue_by_currency": {},
        "under_dispute": 0,
    }
    addresses = {(i["furnisher"]["furnisher_id"], i["address_line1"]) for i in report["identities"]}
    assert addresses == {
        ("bank-north", "12 Chaoyang Road"),
        ("lender-east", "12 Chaoyang Road"),
        ("utility-city", "Flat 3, 12 Chaoyang Rd"),
    }
    assert {i["national_id_masked"] for i in report["identities"]} == {"1101**********002X"}

    card, loan = sorted(report["accounts"], key=lambda a: a["account_id"])
    assert card["furnisher"] == {
        "furnisher_id": "bank-north",
        "name": "Northern Commercial Bank",
        "kind": "bank",
    }
    assert (card["account_type"], card["latest_status"], card["latest_month"]) == (
        "credit_card",
        "current",
        "2025-11-01",
    )
    assert card["balance"] == {"amount_minor": 123456, "currency": "CNY", "display": "CNY 1,234.56"}
    assert card["credit_limit"]["display"] == "CNY 50,000.00"
    assert card["worst_bucket_36m"] == "dpd_0"
    grid = card["grid"]
    assert len(grid) == 36 and (grid[0]["month"], grid[-1]["month"]) == ("2023-01-01", "2025-12-01")
    assert [c["bucket"] for c in grid] == ["dpd_0"] * 35 + ["no_data"]

    buckets = {c["month"]: (c["bucket"], c["label"]) for c in loan["grid"]}
    assert buckets["2023-02-01"] == ("dpd_1_29", "12")
    assert buckets["2024-08-01"] == ("no_data", "–")
    assert buckets["2025-03-01"] == ("hardship", "HS")
    assert sum(b == ("dpd_0", "0") for b in buckets.values()) == 32
    assert loan["worst_bucket_36m"] == "dpd_1_29"


def test_record_carries_source_type_pillar_visibility_and_expiry(client):
    rec = _records(_report(client, DEFAULTER))[("court-riverside", "J-1234")]
    assert rec == {
        "furnisher": {
            "furnisher_id": "court-riverside",
            "name": "Riverside District People's Court",
            "kind": "court",
        },
        "record_id": "J-1234",
        "version": 2,
        "record_type": "court_judgment",
        "record_type_description": "A civil money judgment against the subject.",
        "pillar": "judicial",
        "reported_on": "2024-09-20",
        "public": True,
        "expires_on": "2031-09-10",
        "status": "Unpaid",
        "fields": {
            "court": "Riverside District People's Court",
            "case_number": "(2024) R0108 Civ 1234",
            "judgment_date": "2024-09-10",
            "amount": 8650000,
            "currency": "CNY",
        },
        "under_dispute": None,
    }


def test_judgment_defaulter_report(client):
    report = _report(client, DEFAULTER)
    assert [(r["record_type"], r["status"]) for r in report["public_records"]] == [
        ("judgment_default_finding", "In force until 2027-01-20"),
        ("court_judgment", "Unpaid"),
    ]
    (loan,) = report["accounts"]
    labels = [c["label"] for c in loan["grid"]]
    assert labels == ["0"] * 12 + ["30", "60", "90", "120+", "120+"] + ["WO"] * 13 + ["–"] * 6
    assert loan["worst_bucket_36m"] == "written_off"
    assert report["invoices"]["overdue_by_currency"] == {"CNY": 8800}


def test_superseded_versions_are_not_shown(client):
    good = _records(_report(client, GOOD))
    # May 2024 was first reported 35 days late, then corrected to 0 (version 2).
    may = good[("bank-north", "CC-1001-202405")]
    assert (may["version"], may["fields"]["days_past_due"]) == (2, 0)
    # An invoice first sent against this subject was corrected onto another one.
    assert ("utility-city", "T-77") not in good
    defaulter = _records(_report(client, DEFAULTER))
    assert defaulter[("utility-city", "T-77")]["version"] == 2
    amounts = [
        r["fields"]["amount"]
        for r in _report(client, DEFAULTER)["public_records"]
        if r["record_type"] == "court_judgment"
    ]
    assert amounts == [8650000]


def test_report_is_point_in_time(client):
    assert ("bank-north", "CC-1001-202601") not in _records(_report(client, GOOD))
    later = _report(client, GOOD, as_of="2026-03-01")
    assert ("bank-north", "CC-1001-202601") in _records(later)
    assert later["accounts"][1]["grid"][-1]["month"] == "2026-03-01"
    earlier = _report(client, GOOD, as_of="2025-06-30")
    assert earlier["score"]["score"] == 768
    assert earlier["invoices"]["count"] == 1  # only June's invoice was reported by then


def test_organisation_penalty_tax_and_expired_records(client):
    report = _report(client, ORG)
    assert report["subject_kind"] == "organisation"
    (penalty,) = report["public_records"]
    assert (penalty["record_id"], penalty["expires_on"], penalty["pillar"]) == (
        "AP-2025-17",
        "2026-04-08",
        "government",
    )
    assert report["expired_records"] == 1  # the minor penalty of 2024 has expired
    assert len(report["tax_records"]) == 6
    social = report["social_insurance_records"]
    assert [(s["fields"]["contribution_month"], s["pillar"]) for s in social] == [
        ("2025-06-01", "societal"),
        ("2025-05-01", "societal"),
        ("2025-04-01", "societal"),
    ]
    assert {(i["furnisher"]["furnisher_id"], i["org_name"]) for i in report["identities"]} == {
        ("regulator-market", "Huaxin Trading Co., Ltd."),
        ("tax-city", "Huaxin Trading Co., Ltd."),
        ("ssa-city", "Huaxin Trading Co., Ltd."),
    }
    page = client.get(f"/subjects/{ORG}").text
    assert "Social insurance" in page and "Deferred by agreement" in page


def _all_responses(client):
    for subject in (GOOD, THIN, DEFAULTER, ORG, MERGED, UNSCORED):
        for path in (
            f"/v1/subjects/{subject}/score",
            f"/v1/subjects/{subject}/report",
            f"/subjects/{subject}",
        ):
            yield client.get(path).text
    yield client.get("/").text


def test_no_raw_national_id_or_token_in_any_response(client, fixture):
    texts = list(_all_responses(client))
    secrets = [raw for _, raw in RAW_IDS.values()] + fixture.tokens
    for text in texts:
        for secret in secrets:
            assert secret not in text
        assert "national_id_token" not in text


def test_report_page_shows_score_reasons_and_grid(client):
    r = client.get(f"/subjects/{GOOD}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert '<p class="score-number">781</p>' in html
    assert "on a scale of 300 to 900" in html
    for reason in ("Your credit history is shorter than 5 years.", "You have few open accounts."):
        assert reason in html
    assert html.count('<li class="cell b-') == 72
    assert html.count('<li class="cell b-hardship"') == 1
    assert "Northern Commercial Bank" in html and "1101**********002X" in html
    assert "Your rights" in html
    assert "T-77" not in html


def test_report_page_of_a_defaulter_shows_corrected_public_records(client):
    html = client.get(f"/subjects/{DEFAULTER}").text
    assert "CNY 86,500.00" in html and "CNY 90,000.00" not in html
    assert "In force until 2027-01-20" in html
    assert "Refuses with ability" in html


def test_pages_escape_furnished_text(client):
    html = client.get(f"/subjects/{MARKUP}").text
    assert "Bold &lt;b&gt;Trading&lt;/b&gt; &amp; &#34;Sons&#34;" in html
    assert MARKUP_NAME not in html


def test_report_page_for_unknown_merged_and_malformed_ids(client):
    r = client.get("/subjects/S999999")
    assert r.status_code == 404 and "No such subject" in r.text
    r = client.get(f"/subjects/{MERGED}", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (307, f"/subjects/{GOOD}?merged_from={MERGED}")
    assert f"File {MERGED} was merged into this file" in client.get(r.headers["location"]).text
    assert client.get("/subjects/bad!id").status_code == 422


def test_home_page_lists_subjects_and_finds_one(client):
    html = client.get("/").text
    assert f'href="/subjects/{GOOD}"' in html and "781" in html
    assert "Wang Fang" not in html  # no names on the home page
    assert f'href="/subjects/{MERGED}"' not in html
    r = client.get("/subjects", params={"subject_id": f" {ORG} "}, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, f"/subjects/{ORG}")
    assert client.get("/subjects", params={"subject_id": "<x>"}).status_code == 422


def test_openapi_lists_routes_with_response_schemas(client):
    spec = client.get("/openapi.json").json()
    assert {
        "/healthz",
        "/v1/subjects/{subject_id}/score",
        "/v1/subjects/{subject_id}/report",
        "/v1/batches",
    } <= set(spec["paths"])
    assert not any(p.startswith(("/login", "/subjects")) for p in spec["paths"])
    score = spec["paths"]["/v1/subjects/{subject_id}/score"]["get"]["responses"]
    assert score["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ScorePublic"
    }
    assert score["404"]["content"][PROBLEM]["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert score["422"]["content"][PROBLEM]["schema"] == {"$ref": "#/components/schemas/Problem"}
    report = spec["paths"]["/v1/subjects/{subject_id}/report"]["get"]["responses"]
    assert report["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SubjectReport"
    }
    assert {"GridCell", "AccountSummary", "RecordView", "FurnishedIdentity"} <= set(
        spec["components"]["schemas"]
    )


def test_unexpected_error_is_a_problem_without_trace(fixture, operator_key, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("internal detail that must not leak")

    monkeypatch.setattr("openbureau.api.routes.subjects.build_report", boom)
    app = create_app(fixture.settings, today=lambda: AS_OF)
    with TestClient(app, raise_server_exceptions=False, headers=bearer(operator_key)) as c:
        r = c.get(f"/v1/subjects/{GOOD}/report")
    assert r.status_code == 500 and r.headers["content-type"] == PROBLEM
    assert "internal detail" not in r.text and "Traceback" not in r.text


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10"])
def test_serve_binds_any_address_now_that_keys_are_enforced(fixture, monkeypatch, host):
    calls = []
    monkeypatch.setattr(server.uvicorn, "run", lambda app, **kw: calls.append(kw))
    monkeypatch.setattr(server, "tune_gc", lambda: calls.append("tuned"))
    server.serve(fixture.settings, host=host, port=8000)
    assert calls == ["tuned", {"host": host, "port": 8000, "log_level": "info"}]


def test_serve_runs_on_loopback(fixture, monkeypatch):
    calls = []
    monkeypatch.setattr(server.uvicorn, "run", lambda app, **kw: calls.append(kw))
    monkeypatch.setattr(server, "tune_gc", lambda: calls.append("tuned"))
    server.serve(fixture.settings, port=8123)
    assert calls == ["tuned", {"host": "127.0.0.1", "port": 8123, "log_level": "info"}]


def test_default_report_date_comes_from_the_app_clock(fixture, operator_key):
    app = create_app(fixture.settings, today=lambda: date(2025, 7, 1))
    with TestClient(app, headers=bearer(operator_key)) as c:
        body = c.get(f"/v1/subjects/{GOOD}/report").json()
    assert (body["as_of"], body["score"]["score"]) == ("2025-07-01", 768)


def test_docs_page_works_offline(client):
    page = client.get("/docs")
    assert page.status_code == 200
    assert "/docs-assets/swagger-ui-bundle.js" in page.text
    assert "cdn" not in page.text.lower()
    js = client.get("/docs-assets/swagger-ui-bundle.js")
    assert js.status_code == 200 and len(js.content) > 100_000


def test_serve_with_workers_has_each_process_build_its_app_from_the_environment(
    fixture, operator_key, monkeypatch
):
    calls = []
    monkeypatch.setattr(server.uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    # set first so that monkeypatch puts back what was there once the test ends
    monkeypatch.setenv("OPENBUREAU_HOME", "unused")
    monkeypatch.setenv("OPENBUREAU_LEDGER_URL", "unused")
    server.serve(fixture.settings, port=8124, workers=3)
    ((app, kw),) = calls
    assert app == "openbureau.api.server:worker_app"
    assert (kw["factory"], kw["workers"], kw["host"]) == (True, 3, "127.0.0.1")
    # what a worker process does: build the app from the environment serve() prepared
    monkeypatch.setenv("OPENBUREAU_ENVIRONMENT", "test")
    tuned = []
    monkeypatch.setattr(server, "tune_gc", lambda: tuned.append(True))
    assert isinstance(server.worker_app(), FastAPI) and tuned == [True]
    with TestClient(server.app_from_env(), headers=bearer(operator_key)) as c:
        assert c.get(f"/v1/subjects/{GOOD}/score").json()["score"] == 781


def test_a_served_process_freezes_its_start_up_objects_and_collects_less_often():
    """tune_gc in a process of its own (it changes the whole interpreter's collector)."""
    code = (
        "import gc; from openbureau.api.server import GC_THRESHOLDS, tune_gc; "
        "before = gc.get_freeze_count(); tune_gc(); "
        "print(before == 0, gc.get_freeze_count() > 10_000, gc.get_threshold() == GC_THRESHOLDS)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True", "True"]
