"""The subject report and the public score: JSON-serialisable read models (pydantic v2).

The raw national id is never held by the bureau, and its token is never shown: these models
carry only the masked form."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, computed_field, field_validator

from openbureau.reports.rules import GridCell, InvoiceSummary, format_money

SCORE_MIN, SCORE_MAX = 300, 900

FieldValue = bool | int | date | str | None


def in_utc(value: object) -> object:
    """A ledger time as an aware UTC datetime. The ledger keeps UTC; SQLite hands it back
    without a zone, PostgreSQL in the session's zone. Either way the API answers the same
    instant, in UTC ("Z")."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class Money(_Model):
    """An amount in integer minor units (fen, paise, cents) of an ISO 4217 currency."""

    amount_minor: int
    currency: str | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def display(self) -> str:
        return format_money(self.amount_minor, self.currency)


class FurnisherRef(_Model):
    furnisher_id: str
    name: str
    kind: str | None = Field(description="Furnisher kind from the catalogue; None if unknown.")


class PillarScore(_Model):
    pillar: str
    label: str
    score: float | None = Field(
        description="0-100: where the pillar's points fall between the least and the most it "
        "can give; None when the subject has no records in the pillar."
    )


class ReasonCode(_Model):
    """A key reason the score is not higher, as the scorer published it."""

    code: str | None
    text: str
    pillar: str | None = None
    points_lost: float | None = Field(default=None, description="Points this reason costs.")


class ScoreImprovement(_Model):
    """A change of one factor that would raise the score, the rest of the file as it is: the
    nearest value that earns more points in the published scorecard."""

    code: str
    feature: str
    pillar: str
    text: str = Field(description="The change in plain words.")
    current: float
    direction: Literal["down", "up"]
    target: float = Field(description="The nearest value that earns more points.")
    points_gained: float
    score_after: int = Field(description="The score the change alone would give.")


class ScorePublic(_Model):
    """The latest published score of a subject."""

    subject_id: str
    as_of: date
    model_version: str
    scorable: bool
    score: int | None
    score_min: int = SCORE_MIN
    score_max: int = SCORE_MAX
    not_scorable_reason: str | None
    pillars: list[PillarScore]
    reasons: list[ReasonCode] = Field(description="Key reasons that hold the score down.")
    published_at: AwareDatetime = Field(description="When the score was published (UTC).")

    @field_validator("published_at", mode="before")
    @classmethod
    def _in_utc(cls, value: object) -> object:
        return in_utc(value)


class FurnishedIdentity(_Model):
    """One way a source names and locates the subject (national id masked)."""

    furnisher: FurnisherRef
    subject_kind: str | None
    given_name: str | None
    family_name: str | None
    org_name: str | None
    date_of_birth: date | None
    national_id_scheme: str | None
    national_id_masked: str | None
    address_line1: str | None
    address_line2: str | None
    city: str | None
    region: str | None
    postcode: str | None
    country: str | None
    first_reported_on: date
    last_reported_on: date
    records: int


class DisputeMark(_Model):
    """A record's open dispute: shown "under dispute" to everyone who sees the record."""

    dispute_id: str
    opened_on: date
    due_on: date = Field(description="The last day the furnisher's answer is on time.")


class RecordView(_Model):
    """One record as the bureau holds it (latest version only), with its source."""

    furnisher: FurnisherRef
    record_id: str
    version: int
    record_type: str
    record_type_description: str
    pillar: str
    reported_on: date
    public: bool = Field(description="True when the catalogue makes this type a public record.")
    expires_on: date = Field(description="First day it may no longer be shown or used.")
    status: str | None = Field(description="Plain-words status of a public record.")
    fields: dict[str, FieldValue] = Field(description="The record type's furnished fields.")
    under_dispute: DisputeMark | None = Field(
        default=None, description="The subject contests this record; its furnisher must answer."
    )


class AccountSummary(_Model):
    furnisher: FurnisherRef
    account_id: str
    account_type: str | None
    date_opened: date | None
    currency: str | None
    latest_month: date
    latest_status: str | None
    latest_days_past_due: int | None
    balance: Money | None
    credit_limit: Money | None
    amount_past_due: Money | None
    months_reported: int
    worst_bucket_36m: str
    under_dispute: bool = Field(
        default=False, description="A monthly record of this account is under dispute."
    )
    grid: list[GridCell] = Field(description="36 months, oldest first, ending at as_of.")


class InquiryView(_Model):
    """One inquiry into the file: who looked, when, why, and whether it may count."""

    inquiry_id: str
    occurred_at: AwareDatetime = Field(description="When (UTC).")
    party_id: str
    party_name: str
    party_kind: str
    purpose: str
    hard: bool = Field(description="A hard inquiry may count in the score; a soft one never.")

    @field_validator("occurred_at", mode="before")
    @classmethod
    def _in_utc(cls, value: object) -> object:
        return in_utc(value)


class RefusalView(_Model):
    """An attempt to look at the file that was refused: nothing of the file was read or
    answered, and the holder is told who tried, when, for what, and why they were refused."""

    occurred_at: AwareDatetime = Field(description="When (UTC).")
    party_id: str
    party_name: str
    party_kind: str
    purpose: str
    refusal: str = Field(
        description="The problem the caller got: consent-required or measure-refused."
    )
    reason: str

    @field_validator("occurred_at", mode="before")
    @classmethod
    def _in_utc(cls, value: object) -> object:
        return in_utc(value)


class SubjectReport(_Model):
    """Everything the bureau holds about one subject on `as_of`."""

    subject_id: str
    subject_kind: str
    display_name: str
    national_id_masked: str | None
    erased_at: AwareDatetime | None = Field(
        default=None,
        description="When every record that carried this subject's identities had been "
        "purged and its name, ID, keys and scores were erased; None while records are held.",
    )
    as_of: date
    catalogue_version: str

    @field_validator("erased_at", mode="before")
    @classmethod
    def _erased_in_utc(cls, value: object) -> object:
        return in_utc(value)

    score: ScorePublic | None = Field(description="None: no score published yet.")
    identities: list[FurnishedIdentity]
    accounts: list[AccountSummary]
    invoices: InvoiceSummary
    public_records: list[RecordView]
    tax_records: list[RecordView]
    social_insurance_records: list[RecordView] = Field(
        default_factory=list,
        description="Social insurance contributions by month (societal integrity).",
    )
    records: list[RecordView] = Field(description="Every record shown, newest first.")
    expired_records: int = Field(
        description="Records held past their retention end: neither shown nor used."
    )
    inquiries: list[InquiryView] = Field(
        default_factory=list,
        description="Every inquiry into this file, newest first (not limited by as_of).",
    )
    refused: list[RefusalView] = Field(
        default_factory=list,
        description="Every refused attempt to look at this file (no consent for the purpose, "
        "a measure the party does not apply), newest first; in the holder's view only.",
    )
    improvements: list[ScoreImprovement] = Field(
        default_factory=list,
        description="What would raise the score, biggest gain first (empty when not scorable "
        "or when the published score can no longer be reproduced from the records).",
    )


class SubjectListing(_Model):
    """A subject in a short list: id, kind and newest score (no name, no identifier)."""

    subject_id: str
    subject_kind: str
    score: ScorePublic | None
