"""Disputes: a subject contests a record of its file (or an operator does, on its behalf);
the record's furnisher answers within 30 days. See docs/disputes.md."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from openbureau.access.rules import Caller
from openbureau.api.deps import (
    BureauDep,
    CallerDep,
    ReaderDep,
    SubjectId,
    authorize_subject,
    require,
)
from openbureau.api.problems import KEY_PROBLEMS, SUBJECT_PROBLEMS, problem_doc, refusal
from openbureau.api.schemas import LETTER_PATTERN, TEXT_PATTERN
from openbureau.disputes.model import AccountDisputePublic, DisputePublic
from openbureau.disputes.rules import MAX_TEXT, OUTCOMES
from openbureau.disputes.service import (
    DisputeConflict,
    DisputeError,
    DisputeNotFound,
    answer_dispute,
    furnisher_disputes,
    open_account_dispute,
    open_dispute,
    record_listing,
    subject_disputes,
    utc_day,
)

subjects_router = APIRouter(prefix="/v1/subjects", tags=["disputes"], responses=SUBJECT_PROBLEMS)
router = APIRouter(
    prefix="/v1/disputes",
    tags=["disputes"],
    responses={**KEY_PROBLEMS, 422: problem_doc("Malformed request; `detail` says why.")},
)

Outcome = Literal[tuple(OUTCOMES)]  # type: ignore[valid-type]
# free text: no control characters but tab, line feed and carriage return
_Text = Annotated[
    str,
    Field(min_length=1, max_length=MAX_TEXT, pattern=LETTER_PATTERN),
]
DISPUTE_ID_PATTERN = r"^d[0-9a-f]{24}$"


class DisputeCreate(BaseModel):
    furnisher_id: str = Field(
        max_length=64, pattern=TEXT_PATTERN, description="The record's source."
    )
    record_id: str = Field(
        max_length=255, pattern=TEXT_PATTERN, description="The record's id, as its report shows it."
    )
    reason: _Text = Field(description="What is wrong with the record, in the subject's words.")


class AccountDisputeCreate(BaseModel):
    furnisher_id: str = Field(
        max_length=64, pattern=TEXT_PATTERN, description="The account's source."
    )
    account_id: str = Field(
        max_length=255,
        pattern=TEXT_PATTERN,
        description="The account's number, as the report's accounts show it.",
    )
    reason: _Text = Field(description="What is wrong with the account, in the subject's words.")


class DisputeAnswer(BaseModel):
    outcome: Outcome = Field(  # type: ignore[valid-type]
        description="verified (it stands), corrected (a corrected version is sent in a batch) "
        "or unverifiable (the record is deleted)."
    )
    note: _Text = Field(description="The furnisher's answer to the subject, in its own words.")


_REFUSED = {
    409: problem_doc("The record is already under dispute, or the dispute already answered."),
    422: problem_doc("The dispute cannot be opened or answered; detail says why."),
}


@subjects_router.get("/{subject_id}/disputes", summary="The disputes of the subject's file")
def read_disputes(
    subject_id: SubjectId, request: Request, bureau: BureauDep, reader: ReaderDep
) -> list[DisputePublic]:
    """Every dispute of the file, open and answered, oldest first, with what a late answer
    owes. Every read is written to the audit log."""
    found = subject_disputes(bureau.ledger, subject_id, utc_day(request.app.state.now()))
    reader.record("disputes.read", [subject_id], channel="api")
    return found


@subjects_router.post(
    "/{subject_id}/disputes",
    status_code=201,
    summary="Dispute a record of the subject's file",
    responses=_REFUSED,
)
def start_dispute(
    subject_id: SubjectId, body: DisputeCreate, request: Request, bureau: BureauDep,
    caller: CallerDep,
) -> DisputePublic:  # fmt: skip
    """The record is shown "under dispute" at once, to everyone who sees it, and goes to its
    furnisher, who must answer by `due_on` (30 days). A subject disputes its own file; an
    operator may open a dispute on a subject's behalf (a letter, a call)."""
    authorize_subject(caller, "disputes:open", subject_id)
    try:
        return open_dispute(
            bureau, subject_id, body.furnisher_id, body.record_id, body.reason,
            actor=caller.actor, now=request.app.state.now(),
        )  # fmt: skip
    except DisputeConflict as exc:
        return _refused(str(exc), 409)  # type: ignore[return-value]
    except DisputeError as exc:
        return _refused(str(exc))  # type: ignore[return-value]


@subjects_router.post(
    "/{subject_id}/account-disputes",
    status_code=201,
    summary="Dispute a whole account of the subject's file",
    responses=_REFUSED,
)
def start_account_dispute(
    subject_id: SubjectId, body: AccountDisputeCreate, request: Request, bureau: BureauDep,
    caller: CallerDep,
) -> AccountDisputePublic:  # fmt: skip
    """Every monthly record of the account not already under dispute is put under dispute at
    once, in one group with one due date (30 days): an account that is not the subject's, or
    is wrong throughout, in one request. The furnisher answers the group once (answering
    any of its disputes answers them all), and a late answer owes compensation once."""
    authorize_subject(caller, "disputes:open", subject_id)
    try:
        return open_account_dispute(
            bureau, subject_id, body.furnisher_id, body.account_id, body.reason,
            actor=caller.actor, now=request.app.state.now(),
        )  # fmt: skip
    except DisputeConflict as exc:
        return _refused(str(exc), 409)  # type: ignore[return-value]
    except DisputeError as exc:
        return _refused(str(exc))  # type: ignore[return-value]


AnswererDep = Annotated[Caller, Depends(require("disputes:answer"))]


class DisputeFilter(BaseModel):
    # a parameter this route does not know is refused, not silently ignored
    model_config = ConfigDict(extra="forbid")

    status: Literal["open", "answered"] | None = Field(
        default=None, description="Only open, or only answered, disputes; default both."
    )


@router.get("", summary="Disputes to answer")
def list_disputes(
    request: Request,
    bureau: BureauDep,
    caller: AnswererDep,
    query: Annotated[DisputeFilter, Query()],
) -> list[DisputePublic]:
    """A furnisher's key sees the disputes of its own records; an operator's, every one.
    Soonest due first. Each subject listed is a read of its file, written to the audit log."""
    found = furnisher_disputes(
        bureau.ledger, _own_furnisher(caller), query.status, utc_day(request.app.state.now())
    )
    record_listing(
        bureau.ledger, found, actor=caller.actor, status=query.status, channel="api",
        now=request.app.state.now(),
    )  # fmt: skip
    return found


@router.post(
    "/{dispute_id}/answer",
    summary="Answer a dispute",
    responses={**_REFUSED, 404: problem_doc("No such dispute among the caller's.")},
)
def give_answer(
    dispute_id: Annotated[str, Path(pattern=DISPUTE_ID_PATTERN)],
    body: DisputeAnswer,
    request: Request,
    bureau: BureauDep,
    caller: AnswererDep,
) -> DisputePublic:
    """Close the dispute: the subject is told the outcome, and what a late answer owes.
    unverifiable deletes the record from every report and score from now on. A dispute of a
    whole account (`group_id`) is answered whole: every open dispute of the group gets this
    answer. A furnisher answers only for its own records; an operator records a furnisher's
    written answer."""
    try:
        return answer_dispute(
            bureau, dispute_id, body.outcome, body.note, actor=caller.actor,
            furnisher_id=_own_furnisher(caller), now=request.app.state.now(),
        )  # fmt: skip
    except DisputeNotFound as exc:
        return _refused(str(exc), 404)  # type: ignore[return-value]
    except DisputeConflict as exc:
        return _refused(str(exc), 409)  # type: ignore[return-value]
    except DisputeError as exc:
        return _refused(str(exc))  # type: ignore[return-value]


def _own_furnisher(caller: Caller) -> str | None:
    """The furnisher a furnisher's key acts for; None (every furnisher) for an operator."""
    return caller.furnisher_id if caller.role == "furnisher" else None


_KINDS = {
    404: ("dispute-not-found", "No such dispute"),
    409: ("dispute-conflict", "Dispute already open or answered"),
    422: ("dispute-refused", "Dispute not accepted"),
}


def _refused(detail: str, status: int = 422):
    return refusal(_KINDS, detail, status)
