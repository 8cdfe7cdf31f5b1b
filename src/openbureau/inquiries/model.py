"""What an inquiry answers, and consents as shown (pydantic v2, shared with OpenAPI)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from openbureau.reports.model import (
    AccountSummary,
    FurnishedIdentity,
    RecordView,
    ScorePublic,
    SubjectReport,
)
from openbureau.reports.rules import InvoiceSummary


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class InquiryAnswer(_Model):
    """The inquiry as recorded, and the parts of the report its purpose allows (a part it does
    not allow is absent, and `sections` lists those given)."""

    inquiry_id: str
    subject_id: str
    purpose: str
    hard: bool = Field(description="A hard inquiry may count in the score; a soft one never.")
    occurred_at: datetime
    as_of: date
    sections: list[str]
    score: ScorePublic | None = Field(
        default=None, description="With `reasons` only if the purpose allows them."
    )
    identities: list[FurnishedIdentity] | None = None
    accounts: list[AccountSummary] | None = None
    invoices: InvoiceSummary | None = None
    public_records: list[RecordView] | None = None
    tax_records: list[RecordView] | None = None
    social_insurance_records: list[RecordView] | None = None
    records: list[RecordView] | None = None


class ConsentPublic(_Model):
    consent_id: str
    subject_id: str
    party_id: str
    purpose: str
    valid_until: date
    granted_at: datetime
    evidence: str = Field(description="subject-key:<key id>, or signed-form:<reference>.")
    revoked_at: datetime | None


def answer_from_report(
    report: SubjectReport, sections: frozenset[str], **recorded
) -> InquiryAnswer:
    """Keep of `report` only what `sections` allow. The score's reasons go with `reasons`."""
    score = report.score if "score" in sections else None
    if score is not None and "reasons" not in sections:
        score = score.model_copy(update={"reasons": []})
    parts = (
        "identities", "accounts", "invoices", "public_records", "tax_records",
        "social_insurance_records", "records",
    )  # fmt: skip
    given = {p: getattr(report, p) for p in parts if p in sections}
    return InquiryAnswer(
        **recorded,
        subject_id=report.subject_id,
        as_of=report.as_of,
        sections=sorted(sections),
        score=score,
        **given,
    )
