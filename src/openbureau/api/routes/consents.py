"""Consent over a subject's file: granted by the subject's own key, or recorded by an operator
from a signed form; revoked the same ways. Audited."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field

from openbureau.api.deps import (
    OPERATOR_PURPOSE,
    OWN_PURPOSE,
    BureauDep,
    CallerDep,
    Reader,
    SubjectId,
    authorize_subject,
)
from openbureau.api.problems import SUBJECT_PROBLEMS, problem_doc, problem_response
from openbureau.api.schemas import PARTY_ID_PATTERN, TEXT_PATTERN, Problem
from openbureau.inquiries.consents import (
    ConsentError,
    ConsentNotFound,
    grant_consent,
    list_consents,
    revoke_consent,
)
from openbureau.inquiries.model import ConsentPublic

router = APIRouter(prefix="/v1/subjects", tags=["consents"], responses=SUBJECT_PROBLEMS)

_CONSENT_PROBLEMS = {422: problem_doc("The consent cannot be given or found; detail says why.")}


class ConsentCreate(BaseModel):
    party_id: str = Field(
        max_length=64, pattern=PARTY_ID_PATTERN, description="The party the subject consents to."
    )
    purpose: str = Field(max_length=32, pattern=r"^[a-z_]+$", description="employment or tenancy.")
    valid_until: date = Field(description="Last day the consent holds (at most 12 months).")
    signed_form: str | None = Field(
        default=None,
        max_length=120,
        pattern=TEXT_PATTERN,
        description="Operators only, and then required: the reference of the signed form.",
    )


@router.get("/{subject_id}/consents", summary="The subject's consents")
def read_consents(
    subject_id: SubjectId, bureau: BureauDep, caller: CallerDep
) -> list[ConsentPublic]:
    """Every consent the subject gave, revoked and expired ones included. Every read is
    written to the audit log (the consents name the employers and landlords the subject
    deals with)."""
    authorize_subject(caller, "consents:manage", subject_id)
    found = list_consents(bureau.ledger, subject_id)
    purpose = OPERATOR_PURPOSE if caller.role == "operator" else OWN_PURPOSE
    Reader(bureau, caller.actor, purpose).record("consents.read", [subject_id], channel="api")
    return found


@router.post(
    "/{subject_id}/consents",
    status_code=201,
    summary="Grant consent to a party for a purpose",
    responses=_CONSENT_PROBLEMS,
)
def give_consent(
    subject_id: SubjectId, body: ConsentCreate, request: Request, bureau: BureauDep,
    caller: CallerDep,
) -> ConsentPublic:  # fmt: skip
    """The subject's own key grants it; an operator records it from a signed form, whose
    reference is kept as the evidence."""
    authorize_subject(caller, "consents:manage", subject_id)
    if caller.role == "operator":
        if not body.signed_form:
            return _unprocessable("an operator records consent only from a signed form: "
                                  "give signed_form")  # type: ignore[return-value]  # fmt: skip
        evidence = f"signed-form:{body.signed_form}"
    else:
        evidence = f"subject-key:{caller.key_id}"
    try:
        return grant_consent(
            bureau.ledger, subject_id, body.party_id, body.purpose, body.valid_until,
            evidence=evidence, actor=caller.actor, now=request.app.state.now(),
        )  # fmt: skip
    except ConsentError as exc:
        return _unprocessable(str(exc))  # type: ignore[return-value]


@router.post(
    "/{subject_id}/consents/{consent_id}/revoke",
    summary="Revoke a consent",
    responses=_CONSENT_PROBLEMS,
)
def withdraw_consent(
    subject_id: SubjectId,
    consent_id: Annotated[str, Path(pattern=r"^c[0-9a-f]{24}$")],
    request: Request,
    bureau: BureauDep,
    caller: CallerDep,
) -> ConsentPublic:
    """Revoked at once; the record stays, with revoked_at. Revoking again changes nothing."""
    authorize_subject(caller, "consents:manage", subject_id)
    try:
        return revoke_consent(
            bureau.ledger, consent_id, subject_id=subject_id, actor=caller.actor,
            now=request.app.state.now(),
        )  # fmt: skip
    except ConsentNotFound as exc:
        return _unprocessable(str(exc), 404)  # type: ignore[return-value]


def _unprocessable(detail: str, status: int = 422):
    return problem_response(
        Problem(
            type="urn:openbureau:problem:consent-refused",
            title="Consent not accepted" if status == 422 else "No such consent",
            status=status,
            detail=detail,
        )
    )
