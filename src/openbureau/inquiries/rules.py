"""Pure inquiry rules: the permissible purposes (what each allows, who may use it, hard or
soft, whether it needs the subject's consent), consent validity, and the hard-inquiry count.

No database, no clock: every date is a parameter."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from openbureau.catalogue.rules import add_months

#: The parts of a report an inquiry may be given. `reasons` are the score's key reasons.
SECTIONS = (
    "score", "reasons", "identities", "accounts", "invoices", "public_records", "tax_records",
    "social_insurance_records", "records",
)  # fmt: skip
_ALL = frozenset(SECTIONS)
#: The sections read from the subject's records in the lake (the rest come from the ledger).
RECORD_SECTIONS = _ALL - {"score", "reasons"}
_CREDIT = frozenset({"score", "reasons", "identities", "accounts", "invoices", "public_records"})

#: The longest a consent may run from the day it is given.
MAX_CONSENT_MONTHS = 12
#: Hard inquiries count over this many months before the score date.
HARD_WINDOW_MONTHS = 12


#: The audit action of an attempt to look at a named file that was refused
#: (inquiries/service.py `record_refusal`); the holder's report lists them.
REFUSED_ACTION = "access.refused"


@dataclass(frozen=True)
class PermissiblePurpose:
    name: str
    description: str
    hard: bool  # counts in the score: only an application for new credit
    needs_consent: bool
    party_kinds: frozenset[str]  # who may inquire for this purpose
    sections: frozenset[str]  # what the answer holds


PURPOSES: dict[str, PermissiblePurpose] = {
    p.name: p
    for p in (
        PermissiblePurpose(
            "credit_application", "The subject applied to the lender for credit.",
            True, False, frozenset({"lender"}), _CREDIT,
        ),
        PermissiblePurpose(
            "account_review", "The lender reviews an account the subject already holds.",
            False, False, frozenset({"lender"}), frozenset({"score", "reasons", "accounts"}),
        ),
        PermissiblePurpose(
            "collection", "The lender collects a debt the subject owes it.",
            False, False, frozenset({"lender"}), frozenset({"identities", "accounts"}),
        ),
        PermissiblePurpose(
            # public findings only: a credit score is no measure of a candidate's work
            "employment", "An employer screens a candidate who consented.",
            False, True, frozenset({"employer"}), frozenset({"public_records"}),
        ),
        PermissiblePurpose(
            "tenancy", "A landlord screens a prospective tenant who consented.",
            False, True, frozenset({"landlord"}),
            frozenset({"score", "reasons", "invoices", "public_records"}),
        ),
        PermissiblePurpose(
            "insurance_underwriting", "An insurer underwrites a policy the subject applied for.",
            False, False, frozenset({"insurer"}), frozenset({"score", "reasons"}),
        ),
        PermissiblePurpose(
            "court_order", "A court or authority acts under an order naming the subject.",
            False, False, frozenset({"authority"}), _ALL,
        ),
        PermissiblePurpose(
            "own_request", "The subject reads its own file.",
            False, False, frozenset({"subject"}), _ALL,
        ),
    )
}  # fmt: skip


def is_hard(purpose: str) -> bool:
    """Whether an inquiry for `purpose` is hard (may count in the score). Only a credit
    application is: reviews, collection, screening and one's own request never count."""
    return PURPOSES[purpose].hard


#: The purposes that may ask for the file as it stood on an earlier day: the subject's own
#: request (its history is its own) and a court's order. Every other answer is the file as
#: it stands on the day asked, so that no relying party sees a record since expired,
#: corrected, deleted or moved to another file (SCOPE.md: nothing permanent).
EARLIER_DATES = frozenset({"own_request", "court_order"})


def as_of_problem(purpose: str, as_of: date, today: date) -> str | None:
    """Why an inquiry for `purpose` may not read the file as of `as_of` on `today`, or None."""
    if as_of > today:
        return f"as_of {as_of.isoformat()} is after today ({today.isoformat()})"
    if as_of < today and purpose not in EARLIER_DATES:
        return (
            f"an inquiry for {purpose} reads the file as it stands today: a record since "
            "expired, corrected or deleted is no relying party's to see (only "
            f"{' and '.join(sorted(EARLIER_DATES))} may ask for an earlier date)"
        )
    return None


def purpose_refusal(purpose: str, party_kind: str) -> str | None:
    """Why a party of `party_kind` may not inquire for `purpose`, or None."""
    found = PURPOSES.get(purpose)
    if found is None:
        return f"unknown purpose {purpose!r}; permissible: {', '.join(PURPOSES)}"
    if party_kind not in found.party_kinds:
        who = ", ".join(sorted(found.party_kinds))
        return f"a party of kind {party_kind} may not inquire for {purpose} (only: {who})"
    return None


@dataclass(frozen=True)
class Consent:
    consent_id: str
    party_id: str
    purpose: str
    valid_until: date
    revoked_at: datetime | None = None


def consent_refusal(
    consents: Iterable[Consent], party_id: str, purpose: str, on: date
) -> str | None:
    """None when one of `consents` lets `party_id` inquire for `purpose` on `on` (given to that
    party for that purpose, not revoked, valid through `on`); else the reason, naming the
    most telling consent found (revoked, then expired) or saying there is none."""
    mine = [c for c in consents if c.party_id == party_id and c.purpose == purpose]
    if any(c.revoked_at is None and on <= c.valid_until for c in mine):
        return None
    revoked = [c for c in mine if c.revoked_at is not None]
    if revoked:
        last = max(revoked, key=lambda c: c.revoked_at)  # type: ignore[arg-type, return-value]
        return (
            f"the subject revoked consent {last.consent_id} for {purpose} by {party_id} "
            f"on {_utc_day(last.revoked_at).isoformat()}"  # type: ignore[arg-type]
        )
    if mine:
        last = max(mine, key=lambda c: c.valid_until)
        return (
            f"the subject's consent {last.consent_id} for {purpose} by {party_id} "
            f"expired on {last.valid_until.isoformat()}"
        )
    return f"{purpose} needs the subject's consent, and {party_id} holds none for it"


def consent_grant_problem(
    purpose: str, party_kind: str, valid_until: date, today: date
) -> str | None:
    """Why a consent for `purpose` to a party of `party_kind` until `valid_until` cannot be
    given on `today`, or None."""
    refusal = purpose_refusal(purpose, party_kind)
    if refusal:
        return refusal
    if not PURPOSES[purpose].needs_consent:
        return f"the purpose {purpose} does not rest on consent"
    if valid_until < today:
        return f"valid_until {valid_until.isoformat()} is in the past"
    latest = add_months(today, MAX_CONSENT_MONTHS)
    if valid_until > latest:
        return (
            f"a consent runs at most {MAX_CONSENT_MONTHS} months: valid_until must be on or "
            f"before {latest.isoformat()}"
        )
    return None


def hard_window(as_of: date) -> tuple[date, date]:
    """The days whose hard inquiries count on `as_of`: after the first, through the second."""
    return add_months(as_of, -HARD_WINDOW_MONTHS), as_of


def count_hard(inquiries: Iterable[tuple[date, bool]], as_of: date) -> int:
    """How many of (day, hard) `inquiries` are hard and fall in `hard_window(as_of)`."""
    start, end = hard_window(as_of)
    return sum(1 for day, hard in inquiries if hard and start < day <= end)


def _utc_day(moment: datetime) -> date:
    """The UTC calendar day of a ledger time (SQLite hands it back without a zone, in UTC;
    PostgreSQL in the session's zone)."""
    if moment.tzinfo is None:
        return moment.date()
    return moment.astimezone(UTC).date()
