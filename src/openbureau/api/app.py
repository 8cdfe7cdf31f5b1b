"""The application factory: the only place the web app, its stores and templates are built."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from functools import partial

import swagger_ui_bundle
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from openbureau.access.service import KeyCache
from openbureau.api.deps import ConsoleLoginRequired
from openbureau.api.hardening import HardeningMiddleware, document_hardening
from openbureau.api.problems import install_problem_handlers, problem_media_type_in_openapi
from openbureau.api.redaction import install_log_redaction
from openbureau.api.routes import (
    audit,
    batches,
    consents,
    disputes,
    health,
    inquiries,
    lists,
    subjects,
)
from openbureau.bootstrap import build_bureau
from openbureau.config import Settings
from openbureau.storage import serving
from openbureau.storage.compactor import Compactor
from openbureau.web import console, pages


def _utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(
    settings: Settings,
    *,
    today: Callable[[], date] = date.today,
    now: Callable[[], datetime] = _utc_now,
) -> FastAPI:
    """The OpenBureau API and pages over the bureau home in `settings`.

    `today` is the app's calendar: the default report date when a request names none. `now`
    is its clock (UTC): when inquiries and consents happen, and whether a consent still
    holds."""
    app = FastAPI(
        title="OpenBureau",
        summary="An open-source credit and integrity bureau.",
        description="Scores (300-900) with their reasons and full subject reports. "
        "Errors are application/problem+json.",
        version="0.1.0",
        # /docs is served below from a vendored Swagger UI: no CDN, so it works offline.
        docs_url=None,
        lifespan=_lifespan,
    )
    app.state.bureau = build_bureau(settings)
    app.state.keys = KeyCache(settings.key_cache_seconds)
    app.state.today = today
    app.state.now = now
    app.state.templates = pages.build_templates()
    app.state.compactor = None  # set while the app is served (see _lifespan)
    install_log_redaction()
    install_problem_handlers(app)
    app.include_router(health.router)
    app.include_router(subjects.router)
    app.include_router(batches.router)
    app.include_router(inquiries.router)
    app.include_router(consents.router)
    app.include_router(disputes.subjects_router)
    app.include_router(disputes.router)
    app.include_router(lists.router)
    app.include_router(lists.entries_router)
    app.include_router(lists.subjects_router)
    app.include_router(audit.router)
    app.include_router(pages.router)
    app.include_router(console.router)
    app.add_exception_handler(ConsoleLoginRequired, console.login_redirect)
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")
    app.mount(
        "/docs-assets",
        StaticFiles(directory=swagger_ui_bundle.swagger_ui_path),
        name="docs-assets",
    )

    docs_page = _DOCS_PAGE.format(openapi_url=html.escape(app.openapi_url or "/openapi.json"))

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(docs_page)

    default_openapi = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = document_hardening(
                problem_media_type_in_openapi(default_openapi())
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    # last, so outermost: refused requests cost nothing further in (see api/hardening.py)
    app.add_middleware(HardeningMiddleware, settings=settings)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """While the app is served, a background thread keeps the lake's serving runs covering
    what was added (storage/compactor.py); it looks once at start-up too."""
    bureau = app.state.bureau
    seconds = bureau.settings.compact_seconds
    compactor = None
    if seconds > 0:
        compact = partial(serving.compact, memory_limit=bureau.settings.memory_limit)
        compactor = Compactor(bureau.lake, interval=seconds, compact=compact)
    if compactor is not None:
        compactor.start()
        compactor.nudge()
    app.state.compactor = compactor
    try:
        yield
    finally:
        app.state.compactor = None
        if compactor is not None:
            await run_in_threadpool(compactor.stop)


# Swagger UI without inline script (the Content-Security-Policy forbids it): the bundle and
# static/swagger-init.js, which reads the OpenAPI address from data-openapi-url.
_DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>OpenBureau API</title>
<link rel="stylesheet" href="/docs-assets/swagger-ui.css">
<link rel="icon" href="/docs-assets/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
<script src="/docs-assets/swagger-ui-bundle.js"></script>
<script src="/static/swagger-init.js"></script>
</body>
</html>
"""
