"""Hardening of the whole app (api/hardening.py): rate limits, body limits, security headers,
problem+json for every error, and no national ID or key in any log line."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import httpx
import pytest
from fastapi import Body, HTTPException, Request, Response
from fastapi.testclient import TestClient

from keys import bearer, issue_key
from openbureau.api.app import create_app
from openbureau.api.deps import CONSOLE_COOKIE
from openbureau.api.hardening import HardeningMiddleware
from openbureau.bootstrap import build_bureau
from openbureau.config import Settings
from report_fixture import AS_OF, GOOD, RAW_IDS, build_report_fixture

PROBLEM = "application/problem+json"
RAW_ID = RAW_IDS[GOOD][1]
#: A key no party holds: the rate limiter and the log redaction must treat it as a key all
#: the same (the app answers it 401).
KEY = "obk_test_9d2f7a61c4e8b035"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Settings:
    """The report fixture's settings (named for what the tests vary: the home's limits)."""
    return build_report_fixture(tmp_path_factory.mktemp("bureau")).settings


@pytest.fixture(scope="module")
def operator_key(home: Settings) -> str:
    return issue_key(build_bureau(home).ledger, "ops-hardening", "operator", "operator")


@pytest.fixture(scope="module")
def furnisher_key(home: Settings) -> str:
    ledger = build_bureau(home).ledger
    return issue_key(ledger, "bank-north", "lender", "furnisher", furnisher_id="bank-north")


def make_client(home: Settings, clock: Clock | None = None, **settings) -> TestClient:
    """A client of the fixture bureau with these settings, plus test-only routes that read a
    body, refuse a key, and fail (open to all: what they test sits outside authentication)."""
    app = create_app(home.model_copy(update=settings), today=lambda: AS_OF)

    @app.post("/v1/echo")
    def echo(payload: Annotated[dict, Body()]) -> dict:
        return {"keys": sorted(payload)}

    @app.post("/v1/raw")
    async def raw(request: Request) -> dict:
        return {"bytes": len(await request.body())}

    @app.get("/v1/locked")
    def locked() -> dict:
        raise HTTPException(401, "unknown key")

    @app.get("/v1/cached")
    def cached() -> Response:
        return Response(
            "{}", media_type="application/json", headers={"Cache-Control": "max-age=60"}
        )

    @app.get("/v1/boom")
    def boom() -> dict:
        raise RuntimeError(f"exploded on {RAW_ID} with key {KEY}")

    if clock is not None:
        _set_clock(app, clock)
    return TestClient(app, raise_server_exceptions=False)


def _set_clock(app, clock: Clock) -> None:
    # The middleware stack is built on the first request; swap the clock in before that.
    for middleware in app.user_middleware:
        middleware.kwargs["clock"] = clock


# --- security headers --------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, path, status, key",
    [
        ("GET", f"/v1/subjects/{GOOD}/score", 200, "operator"),
        ("GET", f"/v1/subjects/{GOOD}/score", 401, None),
        ("GET", f"/v1/subjects/{GOOD}/score", 403, "furnisher"),
        ("GET", "/v1/subjects/S999999/score", 404, "operator"),
        ("GET", "/v1/subjects/bad!/score", 422, "operator"),
        ("DELETE", "/healthz", 405, None),
        ("GET", "/v1/boom", 500, None),
        ("GET", f"/subjects/{GOOD}", 200, "operator"),
        ("GET", f"/subjects/{GOOD}", 303, None),
        ("GET", "/login", 200, None),
        ("GET", "/docs", 200, None),
        ("GET", "/static/bureau.css", 200, None),
    ],
)
def test_every_response_carries_the_security_headers(
    home, operator_key, furnisher_key, method, path, status, key
):
    keys = {"operator": operator_key, "furnisher": furnisher_key}
    headers = bearer(keys[key]) if key else {}
    with make_client(home) as client:
        r = client.request(method, path, headers=headers, follow_redirects=False)
    assert r.status_code == status
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "no-referrer"
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-eval" not in csp and "script-src 'self' 'unsafe-inline'" not in csp
    if status >= 400 and not path.startswith("/subjects"):  # API errors; pages answer HTML
        assert r.headers["content-type"] == PROBLEM
    # people's files are never cached; the stylesheet may be
    assert (r.headers.get("cache-control") == "no-store") is (not path.startswith("/static"))


def test_a_header_the_route_sets_itself_is_kept_and_not_doubled(home):
    with make_client(home) as client:
        r = client.get("/v1/cached")
    assert r.headers.get_list("cache-control") == ["max-age=60"]
    assert r.headers["x-frame-options"] == "DENY"


def test_the_docs_page_has_no_inline_script(home):
    with make_client(home) as client:
        page = client.get("/docs").text
        init = client.get("/static/swagger-init.js")
    assert "<script>" not in page and 'src="/static/swagger-init.js"' in page
    assert init.status_code == 200 and "SwaggerUIBundle(" in init.text


# --- errors -------------------------------------------------------------------------------


def test_an_unhandled_error_is_a_500_problem_with_a_logged_error_id(home, caplog):
    with caplog.at_level(logging.ERROR), make_client(home) as client:
        r = client.get("/v1/boom")
    assert (r.status_code, r.headers["content-type"]) == (500, PROBLEM)
    body = r.json()
    assert body["type"] == "urn:openbureau:problem:internal-error"
    assert body["error_id"] in body["detail"]
    assert "exploded" not in r.text and "Traceback" not in r.text
    (record,) = [rec for rec in caplog.records if body["error_id"] in rec.getMessage()]
    assert record.exc_text and "RuntimeError: exploded" in record.exc_text


def test_openapi_documents_the_hardening_answers_on_every_operation(home):
    with make_client(home) as client:
        spec = client.get("/openapi.json").json()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert {"429", "500"} <= set(responses), (method, path)
            assert responses["429"]["headers"]["Retry-After"]["schema"]["type"] == "integer"
            takes_body = "requestBody" in operation
            assert ("413" in responses) is takes_body, (method, path)
            assert ("400" in responses) is takes_body, (method, path)
            for code in ("429", "500"):
                assert list(responses[code]["content"]) == [PROBLEM]


# --- rate limits --------------------------------------------------------------------------


def _limited(home, **kw):
    clock = Clock()
    settings = {"rate_limit_per_second": 1.0, "rate_limit_burst": 2, **kw}
    return clock, make_client(home, clock, **settings)


def test_a_caller_past_its_burst_gets_429_with_retry_after(home):
    clock, client = _limited(home)
    with client:
        assert [client.get("/healthz").status_code for _ in range(2)] == [200, 200]
        r = client.get("/healthz")
        assert (r.status_code, r.headers["content-type"]) == (429, PROBLEM)
        assert r.headers["retry-after"] == "1"
        assert r.json()["type"] == "urn:openbureau:problem:rate-limited"
        assert r.headers["x-content-type-options"] == "nosniff"
        clock.now += 1.0
        assert client.get("/healthz").status_code == 200


def test_each_key_has_its_own_bucket_and_the_key_is_not_kept(home):
    clock, client = _limited(home)
    with client:
        a = {"Authorization": f"Bearer {KEY}"}
        b = {"X-API-Key": "another-key-0001"}
        assert [client.get("/healthz", headers=a).status_code for _ in range(3)] == [200, 200, 429]
        assert client.get("/healthz", headers=b).status_code == 200
        assert client.get("/healthz").status_code == 200  # the address's own bucket
        layer = client.app.middleware_stack
        while not isinstance(layer, HardeningMiddleware):
            layer = layer.app
        limiter = layer.limiter
    callers = list(limiter._buckets)
    assert all(KEY not in c and "another-key" not in c for c in callers)
    assert sum(c.startswith("key:") for c in callers) == 2


def test_the_console_cookie_is_a_key_with_its_own_bucket(home, operator_key):
    clock, client = _limited(home)
    with client:
        client.cookies.set(CONSOLE_COOKIE, operator_key)
        assert [client.get("/").status_code for _ in range(3)] == [200, 200, 429]
        client.cookies.clear()
        assert client.get("/healthz").status_code == 200  # the address's bucket is untouched
        layer = client.app.middleware_stack
        while not isinstance(layer, HardeningMiddleware):
            layer = layer.app
    callers = list(layer.limiter._buckets)
    assert sum(c.startswith("key:") for c in callers) == 1
    assert all(operator_key not in c for c in callers)


def test_refused_keys_draw_on_the_address_so_guessing_keys_is_limited(home):
    clock, client = _limited(home)
    with client:
        codes = [
            client.get("/v1/locked", headers={"X-API-Key": f"guess-{i}"}).status_code
            for i in range(4)
        ]
        assert codes == [401, 401, 429, 429]
        assert client.get("/healthz").status_code == 429  # the same address, no key


def test_zero_turns_rate_limiting_off(home):
    _, client = _limited(home, rate_limit_per_second=0)
    with client:
        assert {client.get("/healthz").status_code for _ in range(20)} == {200}


# --- body size ----------------------------------------------------------------------------


def _chunks(total: int, size: int = 1000):
    for start in range(0, total, size):
        yield b"x" * min(size, total - start)


@pytest.mark.parametrize("path", ["/v1/raw", "/v1/echo"])
def test_a_body_over_the_limit_is_a_413_problem(home, path):
    with make_client(home, max_body_bytes=5000) as client:
        declared = client.post(path, content=b"{" + b" " * 6000 + b"}")
        chunked = client.post(path, content=_chunks(6000))
        small = client.post(path, content=b'{"a": 1}', headers={"content-type": "application/json"})
    assert "content-length" not in chunked.request.headers
    for r in (declared, chunked):
        assert (r.status_code, r.headers["content-type"]) == (413, PROBLEM)
        assert r.json()["type"] == "urn:openbureau:problem:request-too-large"
        assert r.json()["detail"] == "the request body exceeds 5000 bytes"
    assert small.status_code == 200


BOUNDARY = "hardening-test-boundary"


def _upload(size: int):
    """A multipart upload of one file of `size` bytes, streamed in chunks (no Content-Length),
    as the furnisher upload route reads it."""
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    yield from _chunks(size)
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def test_file_uploads_have_their_own_larger_limit(home, furnisher_key):
    headers = {
        **bearer(furnisher_key),
        "content-type": f"multipart/form-data; boundary={BOUNDARY}",
    }
    with make_client(home, max_body_bytes=5000, max_upload_bytes=20000) as client:
        within = client.post("/v1/batches", content=_upload(15000), headers=headers)
        over = client.post("/v1/batches", content=_upload(25000), headers=headers)
        other = client.post("/v1/raw", content=_chunks(15000))
    # the 15 kB file reached the ingest, which refuses it whole (it is not a bureau file)
    assert within.status_code == 422, within.text
    assert within.json()["type"] == "urn:openbureau:problem:file-rejected"
    assert over.status_code == 413 and over.json()["type"].endswith("request-too-large")
    assert other.status_code == 413


# --- logs ---------------------------------------------------------------------------------


def _requests_carrying_secrets(client, key: str) -> list[int]:
    headers = bearer(key)
    return [
        client.get(f"/v1/subjects/{RAW_ID}/score", headers=headers).status_code,
        client.get(
            f"/v1/subjects/{GOOD}/report?api_key={key}&id={RAW_ID}", headers=headers
        ).status_code,
        client.post("/v1/echo", json={"national_id": RAW_ID}, headers=headers).status_code,
        # the route's error names KEY, the key this request carries
        client.get("/v1/boom", headers={"X-API-Key": KEY}).status_code,
        client.get("/v1/locked", headers=headers).status_code,
        client.get(f"/v1/subjects/{GOOD}/score", headers=bearer(KEY)).status_code,
    ]


def test_no_national_id_or_key_in_the_apps_logs(home, operator_key, caplog):
    with caplog.at_level(logging.DEBUG), make_client(home) as client:
        codes = _requests_carrying_secrets(client, operator_key)
    assert codes == [404, 200, 200, 500, 401, 401]
    assert "unhandled error" in caplog.text  # the failure was logged, with its traceback
    for secret in (RAW_ID, operator_key, KEY):
        assert secret not in caplog.text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_no_national_id_or_key_in_a_served_process_access_log(home, tmp_path):
    served = build_report_fixture(tmp_path / "served").settings
    key = issue_key(build_bureau(served).ledger, "ops-served", "operator", "operator")
    port = _free_port()
    env = {**os.environ, "OPENBUREAU_ENVIRONMENT": "test"}
    cmd = [str(Path(sys.executable).with_name("openbureau")), "serve", "--port", str(port)]
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [*cmd, "--home", str(tmp_path / "served")],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(f"{base}/healthz", timeout=1)
                    break
                except httpx.TransportError:
                    assert server.poll() is None, log_path.read_text()
                    assert time.monotonic() < deadline, "the server did not start in 60 s"
                    time.sleep(0.2)
            with httpx.Client(base_url=base) as client:
                codes = [
                    client.get(f"/v1/subjects/{RAW_ID}/score", headers=bearer(key)),
                    client.get(
                        f"/v1/subjects/{GOOD}/score?api_key={key}&id={RAW_ID}",
                        headers=bearer(key),
                    ),
                    client.get(f"/v1/subjects/{GOOD}/score", headers={"X-API-Key": KEY}),
                ]
            assert [r.status_code for r in codes] == [404, 200, 401]
        finally:
            server.terminate()
            server.wait(timeout=30)
    text = log_path.read_text()
    assert f"/v1/subjects/{GOOD}/score" in text  # the access log did run
    assert "[national-id]" in text and "[api-key]" in text
    assert RAW_ID not in text and key not in text and KEY not in text
