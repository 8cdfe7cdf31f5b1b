"""Response models of the API (pydantic v2), shared with OpenAPI."""

from __future__ import annotations

from pydantic import BaseModel, Field

from openbureau.reports.model import ScorePublic
from openbureau.reports.model import SubjectReport as ReportPublic

#: A subject id as the ledger stores it (at most 24 characters).
SUBJECT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,23}$"
#: A party id as `openbureau parties add` accepts it (access/rules.py).
PARTY_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
#: Free text from a request: no control characters (PostgreSQL refuses NUL in text, and no
#: name, reference or postcode needs a tab or a line break).
TEXT_PATTERN = r"^[^\x00-\x1f\x7f]*$"
#: Longer free text someone writes (a dispute's reason, an objection, a note): no control
#: characters but tab, line feed and carriage return.
LETTER_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"

__all__ = [
    "LETTER_PATTERN",
    "PARTY_ID_PATTERN",
    "SUBJECT_ID_PATTERN",
    "TEXT_PATTERN",
    "Health",
    "Problem",
    "ProblemIssue",
    "ReceiptPublic",
    "ReportPublic",
    "ScorePublic",
]


class ReceiptPublic(BaseModel):
    """What the bureau tells a furnisher about one file (the CLI prints the same receipt).
    rows_total = rows_accepted + rows_rejected + rows_duplicate; paths are relative to the
    bureau's home."""

    batch_id: str
    furnisher_id: str
    file_name: str
    file_format: str
    checksum: str = Field(description="SHA-256 of the file as received.")
    status: str = Field(description="accepted, already_ingested or rejected.")
    rows_total: int
    rows_accepted: int
    rows_rejected: int
    rows_duplicate: int
    rejected_by_rule: dict[str, int] = Field(description="Quarantined rows per rule.")
    # Optional with a default, so a receipt inside a problem (sent without its null fields)
    # still matches the schema.
    error: str | None = Field(default=None, description="Why a rejected file was refused whole.")
    lake_path: str | None = None
    quarantine_path: str | None = None


class ProblemIssue(BaseModel):
    """One reason a request was refused: where (`loc`) and why."""

    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """An error, as RFC 9457 problem details (served as application/problem+json)."""

    type: str = Field(default="about:blank", description="URI naming the kind of problem.")
    title: str
    status: int
    detail: str
    errors: list[ProblemIssue] | None = Field(default=None, description="Rejected inputs.")
    merged_into: str | None = Field(
        default=None, description="For a merged subject: the id of the surviving subject."
    )
    receipt: ReceiptPublic | None = Field(
        default=None, description="For a file refused whole: its stored receipt."
    )
    error_id: str | None = Field(
        default=None, description="For a server error: the id under which it was logged."
    )


class Health(BaseModel):
    status: str = Field(description='"ok" when the ledger answers.')
    catalogue_version: str
    lake_has_records: bool
