"""Sign-in for the operator console: the pages show people's files, so they open only to an
operator key, kept in an HttpOnly, SameSite=Strict cookie for the session."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from openbureau.access.service import authenticate
from openbureau.api.deps import CONSOLE_COOKIE, ConsoleLoginRequired, TemplatesDep

router = APIRouter(include_in_schema=False)


def _safe_next(target: str) -> str:
    # Only a path on this site: an open redirect would let a link send the operator anywhere.
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def login_redirect(request: Request, exc: ConsoleLoginRequired) -> Response:
    """Where a console page sends a visitor without an operator key."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    login = request.app.url_path_for("login_page")
    return RedirectResponse(f"{login}?next={quote(target, safe='/')}", 303)


@router.get("/login", name="login_page")
def login_page(request: Request, templates: TemplatesDep, next: str = "/") -> Response:
    return templates.TemplateResponse(
        request, "login.html", {"next": _safe_next(next), "error": None}
    )


@router.post("/login", name="login")
def login(
    request: Request,
    templates: TemplatesDep,
    key: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    caller = authenticate(request.app.state.bureau.ledger, key)
    if caller is None or caller.role != "operator":
        return templates.TemplateResponse(
            request,
            "login.html",
            {"next": _safe_next(next), "error": "That is not a valid operator key."},
            status_code=401,
        )
    response = RedirectResponse(_safe_next(next), 303)
    response.set_cookie(
        CONSOLE_COOKIE,
        key.strip(),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/logout", name="logout")
def logout() -> Response:
    response = RedirectResponse("/login", 303)
    response.delete_cookie(CONSOLE_COOKIE, path="/")
    return response
