"""A dispute as shown to its subject, its furnisher and operators (pydantic v2, shared with
OpenAPI)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from openbureau.disputes.rules import OUTCOMES, carries_compensation, compensation
from openbureau.reports.model import Money, in_utc


class DisputePublic(BaseModel):
    model_config = ConfigDict(frozen=True)

    dispute_id: str
    subject_id: str
    furnisher_id: str
    record_id: str
    record_type: str
    reason: str = Field(
        description="What the subject says is wrong with the record ((erased) once the "
        "subject's file is emptied)."
    )
    opened_at: AwareDatetime
    due_on: date = Field(description="The last day the furnisher's answer is on time.")
    status: Literal["open", "answered"] = Field(
        description="open (the record is under dispute), or answered."
    )
    outcome: Literal["verified", "corrected", "unverifiable"] | None = Field(
        description="verified, corrected or unverifiable (deleted)."
    )
    outcome_text: str | None
    note: str | None = Field(description="The furnisher's answer in its own words.")
    answered_at: AwareDatetime | None
    days_late: int = Field(description="Days the answer is (or was) past due_on.")
    compensation: Money = Field(
        description="Owed to the subject for a late answer (for an account's disputes, once: "
        "on the group's first dispute)."
    )
    group_id: str | None = Field(
        default=None,
        description="Set when the dispute is one of a whole account's, opened and answered "
        "together: the id of the group's first dispute.",
    )
    account_id: str | None = Field(
        default=None, description="The account disputed, for a dispute of a whole account."
    )
    group_compensation: Money | None = Field(
        default=None,
        description="For a dispute of a whole account: what a late answer owes for the whole "
        "group (once; the group's first dispute carries it in `compensation`).",
    )

    @field_validator("opened_at", "answered_at", mode="before")
    @classmethod
    def _in_utc(cls, value: object) -> object:
        return in_utc(value)


def dispute_public(row: dict[str, Any], today: date) -> DisputePublic:
    """The ledger row as shown, with the compensation owed on `today` (a UTC day; fixed once
    answered)."""
    answered_at = row["answered_at"]
    answered_on = in_utc(answered_at).date() if answered_at is not None else None
    owed = compensation(row["due_on"], answered_on, today)
    group_id = row.get("group_id")
    owed_minor = owed.amount_minor if carries_compensation(row["dispute_id"], group_id) else 0
    return DisputePublic(
        dispute_id=row["dispute_id"],
        subject_id=row["subject_id"],
        furnisher_id=row["furnisher_id"],
        record_id=row["record_id"],
        record_type=row["record_type"],
        reason=row["reason"],
        opened_at=row["opened_at"],
        due_on=row["due_on"],
        status=row["status"],
        outcome=row["outcome"],
        outcome_text=OUTCOMES.get(row["outcome"] or ""),
        note=row["note"],
        answered_at=answered_at,
        days_late=owed.days_late,
        compensation=Money(amount_minor=owed_minor, currency=owed.currency),
        group_id=group_id,
        account_id=row.get("account_id"),
        # a group is opened and answered together: every member has the group's dates
        group_compensation=None
        if group_id is None
        else Money(amount_minor=owed.amount_minor, currency=owed.currency),
    )


class AccountDisputePublic(BaseModel):
    """A dispute of a whole account: the disputes opened together, one a record."""

    model_config = ConfigDict(frozen=True)

    group_id: str = Field(description="The id of the group's first dispute.")
    subject_id: str
    furnisher_id: str
    account_id: str
    disputes: list[DisputePublic] = Field(description="The disputes opened, one a record.")
    already_under_dispute: list[str] = Field(
        description="Disputes open before this one on other records of the account (each is "
        "answered on its own)."
    )
