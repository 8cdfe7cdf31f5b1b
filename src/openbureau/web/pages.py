"""The HTML pages (the operator console): the home page and a subject's report, rendered on
the server. Every page needs an operator key (see web/console.py)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

import jinja2
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from openbureau.api.deps import (
    AsOfDep,
    BureauDep,
    ConsoleReaderDep,
    TemplatesDep,
    get_console_reader,
)
from openbureau.api.schemas import SUBJECT_ID_PATTERN
from openbureau.catalogue.model import CATALOGUE_VERSION
from openbureau.disputes.model import DisputePublic
from openbureau.disputes.service import subject_disputes, utc_day
from openbureau.lists.service import subject_entries
from openbureau.reports.reads import furnisher_rows
from openbureau.reports.service import SubjectMerged, SubjectNotFound, build_report, list_subjects
from openbureau.web.display import template_filters, template_globals

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
TEMPLATES_DIR = HERE / "templates"

router = APIRouter(include_in_schema=False)


@jinja2.pass_context
def _path_for(context, name: str, /, **params: str) -> str:
    """The path (no scheme or host) of route `name`: pages link relatively."""
    return str(context["request"].app.url_path_for(name, **params))


def build_templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(template_globals(), catalogue_version=CATALOGUE_VERSION, path_for=_path_for)
    env.filters.update(template_filters())
    return Jinja2Templates(env=env)


def _error_page(
    templates: Jinja2Templates, request: Request, status: int, title: str, detail: str
) -> Response:
    return templates.TemplateResponse(
        request,
        "error.html",
        {"status": status, "title": title, "detail": detail},
        status_code=status,
    )


@router.get("/", response_class=HTMLResponse, name="home")
def home(
    request: Request,
    bureau: BureauDep,
    templates: TemplatesDep,
    as_of: AsOfDep,
    reader: ConsoleReaderDep,
):
    subjects = list_subjects(bureau, as_of, limit=10)
    # A "not scorable" verdict is a read of the file too: every subject listed is logged.
    shown = [s.subject_id for s in subjects]
    reader.record("score.read", shown, as_of=as_of, channel="page:home")
    return templates.TemplateResponse(request, "index.html", {"subjects": subjects})


@router.get("/subjects", name="find_subject", dependencies=[Depends(get_console_reader)])
def find_subject(
    request: Request,
    templates: TemplatesDep,
    subject_id: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    """The search box: go to the report page of the id typed in."""
    wanted = subject_id.strip()
    if not re.fullmatch(SUBJECT_ID_PATTERN, wanted):
        return _error_page(
            templates,
            request,
            422,
            "That is not a subject id",
            "A subject id has 1 to 24 letters, digits, '-' or '_'.",
        )
    return RedirectResponse(request.app.url_path_for("subject_page", subject_id=wanted), 303)


@router.get("/subjects/{subject_id}", response_class=HTMLResponse, name="subject_page")
def subject_page(
    request: Request,
    subject_id: str,
    bureau: BureauDep,
    templates: TemplatesDep,
    as_of: AsOfDep,
    reader: ConsoleReaderDep,
    merged_from: Annotated[str | None, Query(pattern=SUBJECT_ID_PATTERN)] = None,
) -> Response:
    if not re.fullmatch(SUBJECT_ID_PATTERN, subject_id):
        return _error_page(
            templates,
            request,
            422,
            "That is not a subject id",
            "A subject id has 1 to 24 letters, digits, '-' or '_'.",
        )
    try:
        report = build_report(bureau, subject_id, as_of)
    except SubjectNotFound:
        return _error_page(
            templates,
            request,
            404,
            "No such subject",
            f"This bureau holds no file with the id {subject_id}.",
        )
    except SubjectMerged as exc:
        target = request.app.url_path_for("subject_page", subject_id=exc.merged_into)
        query = {"merged_from": subject_id}
        if "as_of" in request.query_params:
            query["as_of"] = as_of.isoformat()
        return RedirectResponse(f"{target}?{urlencode(query)}", 307)
    # every dispute of the file, open and answered, with what a late answer owes today (a
    # whole account's as one row)
    today = utc_day(request.app.state.now())
    disputes = subject_disputes(bureau.ledger, subject_id, today)
    entries = subject_entries(bureau.ledger, subject_id, today)
    with bureau.ledger.connect() as conn:
        sources = {fid: row["name"] for fid, row in furnisher_rows(conn).items()}
    reader.record("report.read", [subject_id], as_of=as_of, channel="page")
    return templates.TemplateResponse(
        request,
        "subject.html",
        {
            "report": report,
            "merged_from": merged_from,
            "disputes": disputes_shown(disputes),
            "entries": entries,
            "sources": sources,
        },  # fmt: skip
    )


def disputes_shown(disputes: list[DisputePublic]) -> list[tuple[DisputePublic, int]]:
    """The file's disputes as the page lists them: (dispute, records), a whole account's
    group as its first dispute (which carries the group's compensation) with the number of
    records disputed, a single record's with 1."""
    records = Counter(d.group_id for d in disputes if d.group_id is not None)
    return [
        (d, records[d.group_id] if d.group_id is not None else 1)
        for d in disputes
        if d.group_id is None or d.group_id == d.dispute_id
    ]
