"""Inquiries: a relying party asks about one subject for a permissible purpose, and gets
what that purpose allows. Every inquiry is recorded, audited and notified to the subject."""

from __future__ import annotations

from datetime import date, datetime
from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, model_validator
from starlette.concurrency import run_in_threadpool

from openbureau.access.rules import permits
from openbureau.api.deps import BureauDep, CallerDep, Forbidden
from openbureau.api.problems import (
    KEY_PROBLEMS,
    forbidden_response,
    problem_doc,
    problem_response,
)
from openbureau.api.schemas import SUBJECT_ID_PATTERN, TEXT_PATTERN, Problem, ProblemIssue
from openbureau.catalogue.identifiers import SCHEMES, InvalidIdentifier
from openbureau.inquiries.matching import IdentityQuery
from openbureau.inquiries.model import InquiryAnswer
from openbureau.inquiries.rules import PURPOSES, as_of_problem
from openbureau.inquiries.service import InquiryRefused, NoMatch, make_inquiry

router = APIRouter(prefix="/v1/inquiries", tags=["inquiries"])

PurposeName = Literal[tuple(PURPOSES)]  # type: ignore[valid-type]
SchemeName = Literal[tuple(SCHEMES)]  # type: ignore[valid-type]
_Name = Annotated[str | None, Field(max_length=200, pattern=TEXT_PATTERN)]


class IdentityIn(BaseModel):
    """The subject as the relying party's own records name them."""

    subject_kind: Literal["person", "organisation"]
    given_name: _Name = None
    family_name: _Name = None
    org_name: _Name = None
    date_of_birth: date | None = None
    national_id_scheme: SchemeName | None = None
    national_id: Annotated[str | None, Field(max_length=40, pattern=TEXT_PATTERN)] = Field(
        default=None, description="Validated, turned into a token, never stored or logged."
    )
    country: Annotated[str | None, Field(pattern=r"^[A-Z]{2}$")] = None
    postcode: Annotated[str | None, Field(max_length=20, pattern=TEXT_PATTERN)] = None

    @model_validator(mode="after")
    def _an_id_with_its_scheme(self) -> IdentityIn:
        # an ID the matcher cannot read would be dropped, and name and birth date would
        # decide alone: a file holding another ID could match
        if self.national_id is not None and self.national_id_scheme is None:
            raise ValueError("national_id needs its national_id_scheme")
        return self


class InquiryCreate(BaseModel):
    purpose: PurposeName = Field(description="A permissible purpose (see docs/access.md).")
    subject_id: Annotated[str | None, Field(pattern=SUBJECT_ID_PATTERN)] = None
    identity: IdentityIn | None = None
    as_of: date | None = Field(
        default=None,
        description="Report date; default today. An earlier day only for own_request and "
        "court_order: every other purpose reads the file as it stands today.",
    )

    @model_validator(mode="after")
    def _one_way_to_name_the_subject(self) -> InquiryCreate:
        if (self.subject_id is None) == (self.identity is None):
            raise ValueError("name the subject by subject_id or by identity, not both or neither")
        return self


@router.post(
    "",
    summary="Inquire into a subject's file for a permissible purpose",
    response_model=InquiryAnswer,
    responses={
        **KEY_PROBLEMS,
        403: problem_doc("The role or party may not use this purpose, or consent is missing."),
        404: problem_doc("No such subject, or no single subject matches the identity."),
        422: problem_doc("Malformed request, or a national ID that fails its checksum."),
    },
)
async def inquire(
    body: InquiryCreate, request: Request, bureau: BureauDep, caller: CallerDep
) -> Response:
    """Record the inquiry (who, when, purpose, hard or soft), queue a notice to the subject,
    write the audit entry, then answer with what the purpose allows: only
    credit_application is hard. employment and tenancy need the subject's valid consent."""
    if not permits(caller.role, "inquiries:make", owns=True):
        raise Forbidden(f"the {caller.role} role may not make inquiries")
    identity = IdentityQuery(**body.identity.model_dump()) if body.identity else None
    now: datetime = request.app.state.now()
    today = request.app.state.today()
    as_of = body.as_of or today
    problem = as_of_problem(body.purpose, as_of, today)
    if problem:
        return _problem(
            422, "invalid-request", "Invalid request", f"as_of: {problem}",
            [ProblemIssue(loc=["body", "as_of"], msg=problem, type="value_error")],
        )  # fmt: skip
    try:
        # the blocking part (reads, then the group-committed write) in one worker thread;
        # the answer serialised once (the declared model still documents it)
        answer = await run_in_threadpool(
            partial(
                make_inquiry,
                bureau,
                caller,
                body.purpose,
                subject_id=body.subject_id,
                identity=identity,
                as_of=as_of,
                now=now,
            )
        )
        return Response(answer.model_dump_json(), media_type="application/json")
    except InquiryRefused as exc:
        return forbidden_response(str(exc), exc.kind)
    except NoMatch as exc:
        return _problem(404, "no-match", "No match", str(exc))
    except InvalidIdentifier as exc:
        return _problem(
            422, "invalid-request", "Invalid request", f"identity.national_id: {exc}",
            [ProblemIssue(loc=["body", "identity", "national_id"], msg=str(exc), type=exc.rule)],
        )  # fmt: skip


def _problem(
    status: int, kind: str, title: str, detail: str, errors: list[ProblemIssue] | None = None
) -> JSONResponse:
    return problem_response(
        Problem(
            type=f"urn:openbureau:problem:{kind}",
            title=title,
            status=status,
            detail=detail,
            errors=errors,
        )
    )
