"""No national ID and no API key in any log line.

Redaction happens when a log record is made (a record factory), not in one handler, so it
holds for handlers configured later (uvicorn's access log) and for tracebacks. It matches
the shapes of the identifier schemes the bureau takes (China RIC and USCC, India PAN, GSTIN
and Aadhaar), credentials in `Authorization`/`X-API-Key`/`api_key=` form, and the exact key the
current request carried (set by the hardening middleware). A number that merely looks like
an identifier is redacted too: a log loses a little, a person's number never leaks."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

NATIONAL_ID = "[national-id]"
API_KEY = "[api-key]"

_USCC_CHAR = "[0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]"
_NATIONAL_ID_RE = re.compile(
    r"(?<![0-9A-Za-z])(?:"
    r"\d{17}[0-9Xx]|\d{15}"  # China resident ID (18, or the old 15 digits)
    rf"|{_USCC_CHAR}{{2}}\d{{6}}{_USCC_CHAR}{{10}}"  # China Unified Social Credit Code
    r"|[A-Za-z]{5}\d{4}[A-Za-z]"  # India PAN
    r"|\d{2}[A-Za-z]{5}\d{4}[A-Za-z][0-9A-Za-z]{3}"  # India GSTIN (state, PAN, 3 more)
    r"|[2-9]\d{3}[ -]?\d{4}[ -]?\d{4}"  # India Aadhaar
    r")(?![0-9A-Za-z])"
)
_CREDENTIAL_RE = re.compile(
    r"(?i)((?:authorization[\"']?\s*[:=]\s*[\"']?)?bearer\s+"
    r"|x-api-key[\"']?\s*[:=]\s*[\"']?"
    r"|api[_-]?key[\"']?\s*[:=]\s*[\"']?)"
    r"[^\s\"',&;]+"
)

#: The raw credential of the request being served, so that it is redacted wherever it shows.
current_secrets: ContextVar[tuple[str, ...]] = ContextVar("openbureau_secrets", default=())


def redact(text: str) -> str:
    """`text` with national IDs, credentials and the current request's key replaced."""
    for secret in current_secrets.get():
        if secret:
            text = text.replace(secret, API_KEY)
    text = _CREDENTIAL_RE.sub(lambda m: m.group(1) + API_KEY, text)
    return _NATIONAL_ID_RE.sub(NATIONAL_ID, text)


@contextmanager
def secrets_of_request(*secrets: str) -> Iterator[None]:
    """Redact these values from every record logged in this context (this request)."""
    token = current_secrets.set(tuple(s for s in secrets if s))
    try:
        yield
    finally:
        current_secrets.reset(token)


def _redact_arg(value: Any) -> Any:
    # numbers keep their type so "%d" still formats; anything else is logged as text anyway
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact(value if isinstance(value, str) else str(value))


def redact_record(record: logging.LogRecord) -> None:
    """Redact a record in place: message, arguments, traceback and stack."""
    record.msg = _redact_arg(record.msg)
    if isinstance(record.args, dict):
        record.args = {k: _redact_arg(v) for k, v in record.args.items()}
    elif record.args:
        record.args = tuple(_redact_arg(a) for a in record.args)
    if record.exc_info and not record.exc_text:
        # formatters reuse exc_text: the traceback is rendered once, here, redacted
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


def install_log_redaction() -> None:
    """Make every log record of this process redacted at birth (idempotent)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "openbureau_redacts", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        redact_record(record)
        return record

    factory.openbureau_redacts = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
