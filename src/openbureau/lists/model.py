"""Lists, entries and measure answers as shown (pydantic v2, shared with OpenAPI)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from openbureau.lists.rules import LISTS, REMOVAL_REASONS, ListDefinition, Measure, shown_status
from openbureau.reports.model import in_utc


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class MeasurePublic(_Model):
    name: str
    description: str
    legal_basis: str
    party_kinds: list[str] = Field(
        description="The kinds of relying party that apply the measure: the only ones who "
        "may ask whether it applies to a subject (and the bureau's operators)."
    )


class ListPublic(_Model):
    """A list's published definition: what puts a subject on it, for how long, and what a
    relying party may then do."""

    list_id: str
    kind: Literal["black", "red"]
    title: str
    criteria: str
    legal_basis: str
    qualifying_records: list[str] = Field(
        description="Record types that may put a subject on the list (empty: a red list, "
        "which rests on an authority's decision)."
    )
    term_months: int
    max_term_months: int
    objection_days: int = Field(description="Days the subject has to object after notice.")
    repair_after_months: int | None = Field(
        description="Months listed before credit repair may remove an entry; null: none."
    )
    measures: list[MeasurePublic]


def _measure(m: Measure) -> MeasurePublic:
    return MeasurePublic(
        name=m.name,
        description=m.description,
        legal_basis=m.legal_basis,
        party_kinds=sorted(m.party_kinds),
    )


def list_public(d: ListDefinition) -> ListPublic:
    return ListPublic(
        list_id=d.list_id,
        kind=d.kind,
        title=d.title,
        criteria=d.criteria,
        legal_basis=d.legal_basis,
        qualifying_records=[e.record_type for e in d.evidence],
        term_months=d.term_months,
        max_term_months=d.max_term_months,
        objection_days=d.objection_days,
        repair_after_months=d.repair_after_months,
        measures=[_measure(m) for m in d.measures],
    )


Status = Literal["proposed", "objected", "listed", "rejected", "removed", "ended"]


class ListEntryPublic(_Model):
    entry_id: str
    list_id: str
    list_title: str
    kind: Literal["black", "red"]
    subject_id: str
    furnisher_id: str | None = Field(description="The cited record's source (black lists).")
    record_id: str | None
    record_type: str | None
    authority: str | None = Field(description="The deciding authority (red lists).")
    decision_reference: str | None
    decision_date: date | None
    grounds: str = Field(description="Why the operator proposed the entry.")
    term_months: int
    proposed_at: AwareDatetime
    objection_ends_on: date = Field(description="The last day the subject may object.")
    objection: str | None = Field(description="The subject's objection, in its own words.")
    objected_at: AwareDatetime | None
    status: Status = Field(
        description="proposed, objected (awaiting review), listed, rejected, removed, or "
        "ended (the term is over)."
    )
    decided_at: AwareDatetime | None
    decision_note: str | None
    listed_on: date | None
    ends_on: date | None = Field(description="The first day the entry no longer holds.")
    removed_at: AwareDatetime | None
    removal_reason: str | None
    removal_reason_text: str | None
    removal_note: str | None
    legal_representative: str | None = Field(
        default=None,
        description="An organisation's legal representative, named where the list's law "
        "publishes the name, as the organisation's file gave it when the entry was proposed. "
        "A name only: no measure, score or list entry of that person follows from it.",
    )

    @field_validator("proposed_at", "objected_at", "decided_at", "removed_at", mode="before")
    @classmethod
    def _in_utc(cls, value: object) -> object:
        return in_utc(value)


def entry_public(row: dict[str, Any], today: date) -> ListEntryPublic:
    definition = LISTS[row["list_id"]]
    keep = {k: row[k] for k in ListEntryPublic.model_fields if k in row}
    return ListEntryPublic(
        **{
            **keep,
            "list_title": definition.title,
            "kind": definition.kind,
            "status": shown_status(row["status"], row["ends_on"], today),
            "removal_reason_text": REMOVAL_REASONS.get(row["removal_reason"] or ""),
        }
    )


class Citation(_Model):
    """The list entry a measure rests on, and the law."""

    entry_id: str
    list_id: str
    list_title: str
    kind: Literal["black", "red"]
    list_legal_basis: str
    measure_legal_basis: str
    listed_on: date
    ends_on: date
    finding_under_dispute: bool = Field(
        description="The subject disputes the record the entry rests on; its furnisher must "
        "answer within 30 days, and a record it cannot verify lifts the entry."
    )


class MeasureAnswer(_Model):
    subject_id: str
    measure: MeasurePublic
    as_of: date
    applies: bool = Field(
        description="True when the subject is on a list, today, that names the measure."
    )
    citations: list[Citation] = Field(description="Every entry the answer rests on.")
    binds: str = Field(
        default="The measure binds only the listed subject: never its family, its employees "
        "or anyone connected to it."
    )


def measure_public(m: Measure) -> MeasurePublic:
    return _measure(m)
