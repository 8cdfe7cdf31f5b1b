"""Log redaction: national IDs and credentials never reach a log line."""

import logging

import pytest

from openbureau.api.redaction import (
    API_KEY,
    NATIONAL_ID,
    install_log_redaction,
    redact,
    secrets_of_request,
)

IDS = [
    "11010519491231002X",  # CN-RIC
    "110105194912310021",
    "110105491231002",  # old 15-digit RIC
    "91110000600037341L",  # CN-USCC
    "BQRPK4821M",  # IN-PAN
    "bqrpk4821m",
    "27AAPFU0939F1ZV",  # IN-GSTIN
    "234123412346",  # Aadhaar
    "2341 2341 2346",
]


@pytest.mark.parametrize("raw", IDS)
@pytest.mark.parametrize(
    "template",
    [
        "{}",
        "GET /v1/subjects/{}/score HTTP/1.1",
        '{{"national_id": "{}"}}',
        "id={}&x=1",
        "no subject '{}' in this bureau",
    ],
)
def test_national_ids_are_redacted_wherever_they_stand(raw, template):
    out = redact(template.format(raw))
    assert raw not in out and NATIONAL_ID in out


@pytest.mark.parametrize(
    "text, secret",
    [
        ("Authorization: Bearer obk_live_5f3a9c1e", "obk_live_5f3a9c1e"),
        ("headers={'authorization': 'Bearer abc.def-ghi'}", "abc.def-ghi"),
        ("x-api-key: k3y-Value_1", "k3y-Value_1"),
        ('{"X-API-Key": "k3yValue2"}', "k3yValue2"),
        ("GET /v1/subjects/S1/score?api_key=topsecret&as_of=2025-01-01", "topsecret"),
        ("apikey=zzz999", "zzz999"),
    ],
)
def test_credentials_are_redacted(text, secret):
    out = redact(text)
    assert secret not in out and API_KEY in out


def test_the_current_requests_key_is_redacted_in_any_form():
    line = "caller plain-looking-value-42 refused"
    with secrets_of_request("plain-looking-value-42"):
        assert redact(line) == f"caller {API_KEY} refused"
    assert redact(line) == line


@pytest.mark.parametrize(
    "text",
    [
        "GET /v1/subjects/S000001/score HTTP/1.1 200",
        "127.0.0.1:54321 - 2026-01-02T03:04:05+00:00",
        "seq 123456 of 1000000 entries, 12.5 ms",
        "entry_hash 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "error id 4f1c2b9e0d8a4c6b9e3f2a1d0c9b8a7e",
        "scorecard-2025.12 CNY 86,500.00",
    ],
)
def test_ordinary_log_text_is_left_alone(text):
    assert redact(text) == text


def test_records_are_redacted_at_birth_including_tracebacks(caplog):
    install_log_redaction()
    install_log_redaction()  # idempotent: one layer of redaction, not two
    log = logging.getLogger("openbureau.test")
    with caplog.at_level(logging.INFO):
        log.info("looked up %s for key %s", "11010519491231002X", "Bearer sekrit-1")
        log.info({"national_id": "BQRPK4821M"})
        try:
            raise ValueError("bad id 91110000600037341L")
        except ValueError:
            log.exception("failed on %d rows", 3)
    text = caplog.text
    for secret in ("11010519491231002X", "sekrit-1", "BQRPK4821M", "91110000600037341L"):
        assert secret not in text
    assert "failed on 3 rows" in text and "ValueError: bad id [national-id]" in text
    # message, dict, the traceback's source line and its exception line: each redacted once
    assert text.count(NATIONAL_ID) == 4
