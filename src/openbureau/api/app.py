"""The application factory: the only place the web app, its stores and templates are built."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from openbureau.api.problems import install_problem_handlers, problem_media_type_in_openapi
from openbureau.api.routes import health, subjects
from openbureau.bootstrap import build_bureau
from openbureau.config import Settings
from openbureau.web import pages


def create_app(settings: Settings, *, today: Callable[[], date] = date.today) -> FastAPI:
    """The OpenBureau API and pages over the bureau home in `settings`.

    `today` is the app's clock: the default report date when a request names none."""
    app = FastAPI(
        title="OpenBureau",
        summary="An open-source credit and integrity bureau.",
        description="Scores (300-900) with their reasons and full subject reports. "
        "Errors are application/problem+json.",
        version="0.1.0",
    )
    app.state.bureau = build_bureau(settings)
    app.state.today = today
    app.state.templates = pages.build_templates()
    install_problem_handlers(app)
    app.include_router(health.router)
    app.include_router(subjects.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")
    default_openapi = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = problem_media_type_in_openapi(default_openapi())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
