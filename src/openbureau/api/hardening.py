"""Hardening that holds for every route, present and future, as one ASGI middleware:

- rate limits per caller (token buckets, see ratelimit.py): 429 problem+json with Retry-After;
- a request body size limit, counted as the body arrives (so chunked bodies without
  Content-Length are held too): 413 problem+json;
- security headers on every response (a CSP the vendored Swagger UI and the pages work with);
- an unhandled exception becomes a 500 problem+json carrying an error id, and the traceback
  goes to the log under that id (redacted, see redaction.py), never to the client.

Installed last by `create_app`, so it is the outermost layer: a refused request costs no
authentication, no database and no parsing."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openbureau.api.deps import CONSOLE_COOKIE
from openbureau.api.problems import MEDIA_TYPE, http_problem, internal_error
from openbureau.api.ratelimit import RateLimiter
from openbureau.api.redaction import secrets_of_request
from openbureau.api.schemas import Problem
from openbureau.config import Settings

#: Paths whose POST body is a furnisher file: they get `max_upload_bytes`, the rest
#: `max_body_bytes`.
UPLOAD_PATHS = ("/v1/batches",)
#: Static files may be cached; everything else (people's files) may not.
CACHEABLE_PREFIXES = ("/static/", "/docs-assets/")

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        # the pages' score bars and Swagger UI set inline style attributes; no inline script
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
)
_NO_STORE = (b"cache-control", b"no-store")
_HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


class BodyTooLarge(HTTPException):
    """The request body grew past the limit while it was being read. An HTTPException, so
    that FastAPI passes it on (it turns other errors met while reading a body into 400) and
    the problem handlers answer 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body exceeds {limit} bytes")


def problem_bytes(problem: Problem) -> bytes:
    return problem.model_dump_json(exclude_none=True).encode()


def caller_of(scope: Scope) -> tuple[str, str | None, str]:
    """(key caller, raw key or None, address caller). The key comes from `Authorization:
    Bearer`, `X-API-Key` or, for the console pages, the console cookie (a header wins, as in
    deps.get_console_reader). It is hashed at once: buckets are keyed by its digest, never
    by the key."""
    raw = cookie_key = None
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, credential = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and credential.strip():
                raw = credential.strip()
        elif name == b"x-api-key" and value.strip():
            raw = value.decode("latin-1").strip()
        elif name == b"cookie":
            cookie_key = _console_cookie(value.decode("latin-1")) or cookie_key
    raw = raw or cookie_key
    client = scope.get("client")
    address = f"addr:{client[0] if client else 'unknown'}"
    if raw is None:
        return address, None, address
    return "key:" + hashlib.sha256(raw.encode()).hexdigest()[:32], raw, address


def _console_cookie(header: str) -> str | None:
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name == CONSOLE_COOKIE and value.strip():
            return value.strip().strip('"')
    return None


class HardeningMiddleware:
    def __init__(
        self, app: ASGIApp, settings: Settings, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.app = app
        self.clock = clock
        self.max_body = settings.max_body_bytes
        self.max_upload = settings.max_upload_bytes
        rate, burst = settings.rate_limit_per_second, settings.rate_limit_burst
        self.limiter = RateLimiter(rate, burst) if rate > 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        caller, raw_key, address = caller_of(scope)
        with secrets_of_request(raw_key or ""):
            await self._serve(scope, receive, send, caller, raw_key, address)

    async def _serve(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        caller: str,
        raw_key: str | None,
        address: str,
    ) -> None:
        extra = [_NO_STORE] if not scope["path"].startswith(CACHEABLE_PREFIXES) else []
        if scope.get("scheme") == "https":
            extra.append(_HSTS)
        headers_out = SECURITY_HEADERS + tuple(extra)
        if self.limiter is not None:
            now = self.clock()
            # a caller whose key was refused draws on its address: guessing keys from one
            # address is limited like anonymous traffic
            wait = self.limiter.wait(address, now) if raw_key else 0.0
            wait = wait or self.limiter.take(caller, now)
            if wait:
                retry = str(max(1, int(wait + 0.999)))
                problem = http_problem(429, f"rate limit reached; retry in {retry} s")
                retry_after = ((b"retry-after", retry.encode()),)
                await _send_problem(send, 429, problem_bytes(problem), headers_out + retry_after)
                return
        limit = self.max_upload if _is_upload(scope) else self.max_body
        length = _content_length(scope)
        if length is not None and length > limit:
            await _send_problem(send, 413, _too_large(limit), headers_out)
            return

        started = False
        status = 0
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def secured_send(message: Message) -> None:
            nonlocal started, status
            if message["type"] == "http.response.start":
                started, status = True, message["status"]
                own = list(message.get("headers", ()))
                # a header the route set itself (a page's own Cache-Control, say) wins
                named = {name.lower() for name, _ in own}
                message["headers"] = own + [h for h in headers_out if h[0] not in named]
            await send(message)

        try:
            await self.app(scope, limited_receive, secured_send)
        except BodyTooLarge:
            if not started:
                await _send_problem(send, 413, _too_large(limit), headers_out)
        except Exception as exc:  # noqa: BLE001 - the last line of defence: log, answer 500
            problem = internal_error(scope["method"], scope["path"], exc)
            if not started:
                await _send_problem(send, 500, problem_bytes(problem), headers_out)
        if self.limiter is not None and raw_key and status == 401:
            self.limiter.take(address, self.clock())


def _is_upload(scope: Scope) -> bool:
    return scope["method"] == "POST" and scope["path"].rstrip("/") in UPLOAD_PATHS


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _too_large(limit: int) -> bytes:
    return problem_bytes(http_problem(413, BodyTooLarge(limit).detail))


async def _send_problem(
    send: Send, status: int, body: bytes, headers: tuple[tuple[bytes, bytes], ...]
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _problem_response(description: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/Problem"}
    return {"description": description, "content": {MEDIA_TYPE: {"schema": schema}}}


def document_hardening(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the answers this middleware may give to every operation of an OpenAPI document:
    429 (with Retry-After) and 500 everywhere, 413 and 400 where a request body is taken."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    if "Problem" not in components:
        problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(problem.pop("$defs", {}))
        components["Problem"] = problem
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            too_many = _problem_response("Rate limit reached: retry after Retry-After seconds.")
            too_many["headers"] = {
                "Retry-After": {
                    "description": "Seconds to wait before retrying.",
                    "schema": {"type": "integer", "minimum": 1},
                }
            }
            responses.setdefault("429", too_many)
            responses.setdefault("500", _problem_response("Server error, logged under error_id."))
            if "requestBody" in operation:
                responses.setdefault("413", _problem_response("The request body is too large."))
                # FastAPI answers a body it cannot parse at all (not JSON, broken multipart)
                # with 400 before any route code runs
                responses.setdefault("400", _problem_response("The body cannot be parsed."))
    return schema
