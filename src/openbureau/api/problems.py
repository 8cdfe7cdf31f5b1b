"""Errors as application/problem+json (RFC 9457): no stack trace ever reaches a client."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from openbureau.api.deps import Forbidden, NotAuthenticated
from openbureau.api.schemas import Problem, ProblemIssue
from openbureau.reports.service import ScoreNotFound, SubjectMerged, SubjectNotFound

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger(__name__)
#: Title and type of the HTTP errors that have no handler of their own.
HTTP_PROBLEMS = {
    404: ("Not found", "about:blank"),
    405: ("Method not allowed", "about:blank"),
    413: ("Request too large", "urn:openbureau:problem:request-too-large"),
    429: ("Too many requests", "urn:openbureau:problem:rate-limited"),
}


def http_problem(status: int, detail: str | None) -> Problem:
    title, kind = HTTP_PROBLEMS.get(status, ("HTTP error", "about:blank"))
    return Problem(type=kind, title=title, status=status, detail=detail or title)


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        problem.model_dump(mode="json", exclude_none=True),
        status_code=problem.status,
        media_type=MEDIA_TYPE,
        headers=headers,
    )


def refusal(kinds: dict[int, tuple[str, str]], detail: str, status: int = 422) -> JSONResponse:
    """A route's own refusal: `kinds` maps each status it refuses with to (problem type
    suffix, title)."""
    kind, title = kinds[status]
    return problem_response(
        Problem(type=f"urn:openbureau:problem:{kind}", title=title, status=status, detail=detail)
    )


def problem_doc(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description, "content": {MEDIA_TYPE: {}}}


#: `responses=` for OpenAPI on every route that needs a key.
KEY_PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: problem_doc("No API key, or one that is malformed, unknown or revoked."),
    403: problem_doc("The key's role does not allow this request; `detail` says why."),
}

#: `responses=` for OpenAPI on routes about one subject.
SUBJECT_PROBLEMS: dict[int | str, dict[str, Any]] = {
    **KEY_PROBLEMS,
    307: problem_doc("The subject was merged: follow Location to the surviving subject."),
    404: problem_doc("No such subject (or no score published yet)."),
    422: problem_doc("Malformed subject id or query parameter."),
}


def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    detail = exc.detail if isinstance(exc.detail, str) else None
    return problem_response(
        http_problem(exc.status_code, detail), headers=getattr(exc, "headers", None)
    )


def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    issues = [
        ProblemIssue(loc=list(e.get("loc", ())), msg=e.get("msg", ""), type=e.get("type", ""))
        for e in exc.errors()
    ]
    where = ", ".join(".".join(str(p) for p in i.loc) for i in issues)
    return problem_response(
        Problem(
            type="urn:openbureau:problem:invalid-request",
            title="Invalid request",
            status=422,
            detail=f"the request is malformed at: {where}",
            errors=issues,
        )
    )


def _not_found(request: Request, exc: SubjectNotFound) -> JSONResponse:
    return problem_response(
        Problem(
            type="urn:openbureau:problem:subject-not-found",
            title="Subject not found",
            status=404,
            detail=str(exc),
        )
    )


def _no_score(request: Request, exc: ScoreNotFound) -> JSONResponse:
    return problem_response(
        Problem(
            type="urn:openbureau:problem:score-not-found",
            title="No score published",
            status=404,
            detail=str(exc),
        )
    )


def _merged(request: Request, exc: SubjectMerged) -> JSONResponse:
    route = request.scope["route"]
    params = {**request.path_params, "subject_id": exc.merged_into}
    location = str(request.app.url_path_for(route.name, **params))
    if request.url.query:
        location += "?" + request.url.query
    return problem_response(
        Problem(
            type="urn:openbureau:problem:subject-merged",
            title="Subject merged",
            status=307,
            detail=str(exc),
            merged_into=exc.merged_into,
        ),
        headers={"Location": location},
    )


def _not_authenticated(request: Request, exc: NotAuthenticated) -> JSONResponse:
    return problem_response(
        Problem(
            type="urn:openbureau:problem:not-authenticated",
            title="Not authenticated",
            status=401,
            detail=str(exc),
        ),
        headers={"WWW-Authenticate": "Bearer"},
    )


def _forbidden(request: Request, exc: Forbidden) -> JSONResponse:
    return forbidden_response(str(exc))


def forbidden_response(detail: str, kind: str = "forbidden") -> JSONResponse:
    """403 problem+json; `kind` names the problem type (forbidden, consent-required, ...)."""
    return problem_response(
        Problem(type=f"urn:openbureau:problem:{kind}", title="Forbidden", status=403, detail=detail)
    )


def internal_error(method: str, path: str, exc: BaseException) -> Problem:
    """Log `exc` with its traceback under a new error id; the problem to answer with names
    that id (so a caller can quote it) and nothing else about the failure."""
    error_id = uuid.uuid4().hex
    log.error("unhandled error %s on %s %s", error_id, method, path, exc_info=exc)
    return Problem(
        type="urn:openbureau:problem:internal-error",
        title="Internal error",
        status=500,
        detail=f"the server could not complete the request (error id {error_id})",
        error_id=error_id,
    )


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    return problem_response(internal_error(request.method, request.url.path, exc))


def problem_media_type_in_openapi(schema: dict[str, Any]) -> dict[str, Any]:
    """Move the Problem schema of error responses from application/json (where FastAPI puts
    a response model) to application/problem+json (what the handlers send)."""
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            for response in operation.get("responses", {}).values():
                content = response.get("content", {})
                if MEDIA_TYPE in content and "application/json" in content:
                    content[MEDIA_TYPE] = content.pop("application/json")
    return schema


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(SubjectNotFound, _not_found)
    app.add_exception_handler(ScoreNotFound, _no_score)
    app.add_exception_handler(SubjectMerged, _merged)
    app.add_exception_handler(NotAuthenticated, _not_authenticated)
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_exception_handler(Exception, _unexpected)
