"""Request dependencies as `Annotated` aliases: the bureau, the report date, a subject id."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from starlette.templating import Jinja2Templates

from openbureau.api.schemas import SUBJECT_ID_PATTERN
from openbureau.bootstrap import Bureau


def get_bureau(request: Request) -> Bureau:
    return request.app.state.bureau


def get_as_of(
    request: Request,
    as_of: Annotated[
        date | None,
        Query(
            description="Report date (ISO 8601); default today. Records reported later, "
            "and scores computed later, are left out."
        ),
    ] = None,
) -> date:
    return as_of or request.app.state.today()


def get_templates(request: Request) -> Jinja2Templates:
    return request.app.state.templates


BureauDep = Annotated[Bureau, Depends(get_bureau)]
AsOfDep = Annotated[date, Depends(get_as_of)]
TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]
SubjectId = Annotated[
    str,
    Path(
        pattern=SUBJECT_ID_PATTERN,
        description="The subject's id in this bureau.",
        examples=["S000001"],
    ),
]
