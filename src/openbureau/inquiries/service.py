"""Inquiry use cases: make one (purpose, consent, record, notice, audit) and count a
subject's hard inquiries for the score."""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, date, datetime, time

from sqlalchemy import Connection, Engine, select

from openbureau.access.rules import Caller
from openbureau.audit import service as audit
from openbureau.bootstrap import Bureau
from openbureau.inquiries import consents as consent_store
from openbureau.inquiries import outbox
from openbureau.inquiries.matching import IdentityQuery, find_subject
from openbureau.inquiries.model import InquiryAnswer, answer_from_report
from openbureau.inquiries.rules import (
    PURPOSES,
    RECORD_SECTIONS,
    REFUSED_ACTION,
    count_hard,
    hard_window,
    purpose_refusal,
)
from openbureau.reports.model import in_utc
from openbureau.reports.reads import subject_and_merged_ids, subject_row, surviving_subject
from openbureau.reports.service import SubjectNotFound, build_report
from openbureau.storage.ledger import inquiries
from openbureau.storage.ledger import outbox as outbox_table

log = logging.getLogger(__name__)
_OWN_ONLY = "own_request is only for the subject's own file"


class InquiryRefused(Exception):
    """The inquiry may not be made; `kind` is forbidden or consent-required."""

    def __init__(self, reason: str, kind: str = "forbidden") -> None:
        super().__init__(reason)
        self.kind = kind


class NoMatch(LookupError):
    """The identity given names no subject, or more than one."""


def make_inquiry(
    bureau: Bureau,
    caller: Caller,
    purpose: str,
    *,
    subject_id: str | None = None,
    identity: IdentityQuery | None = None,
    as_of: date,
    now: datetime,
) -> InquiryAnswer:
    """Check, record and answer an inquiry into one subject's file.

    The subject is named by id (a merged id leads to the surviving file) or by `identity`.
    Raises InquiryRefused when the caller's kind may not use `purpose` or consent is missing,
    SubjectNotFound or NoMatch when there is no such file. The inquiry, the subject's notice
    and the audit entry are written in one transaction before anything is answered."""
    refusal = purpose_refusal(purpose, caller.party_kind)
    if refusal:
        raise InquiryRefused(refusal)
    own = purpose == "own_request"
    if own and subject_id is not None and not caller.owns(subject_id):
        # refused before any lookup: a subject's key learns nothing of other files
        raise InquiryRefused(_OWN_ONLY)
    try:
        subject, matched_by = _subject(bureau, subject_id, identity)
    except NoMatch:
        if own:  # as for a match to another file: a key is no way to learn who is on file
            raise InquiryRefused(_OWN_ONLY) from None
        raise
    if own and not caller.owns(subject):
        # not recorded in the other file: the caller is a person, and telling one person
        # that another tried their identity details would pass on the caller's name
        raise InquiryRefused(_OWN_ONLY)
    if PURPOSES[purpose].needs_consent:
        reason = consent_store.consent_refusal_for(
            bureau.ledger, subject, caller.party_id, purpose, now.date()
        )
        if reason:
            record_refusal(bureau, caller, subject, purpose, "consent-required", reason, now)
            raise InquiryRefused(reason, "consent-required")
    sections = PURPOSES[purpose].sections
    report = build_report(
        bureau, subject, as_of, holder_view=False, with_records=bool(sections & RECORD_SECTIONS)
    )
    recorded = {
        "inquiry_id": "q" + secrets.token_hex(12),
        "purpose": purpose,
        "hard": PURPOSES[purpose].hard,
        "occurred_at": now,
    }
    notice = {
        "inquiry_id": recorded["inquiry_id"],
        "party_id": caller.party_id,
        "party_name": caller.party_name,
        "party_kind": caller.party_kind,
        "purpose": purpose,
        "hard": recorded["hard"],
    }
    entry = audit.Entry(
        actor=caller.actor,
        action="inquiry.made",
        subject_id=subject,
        purpose=purpose,
        payload={
            "inquiry_id": recorded["inquiry_id"],
            "hard": recorded["hard"],
            "matched_by": matched_by,
            "as_of": as_of,
            "sections": sorted(sections),
        },
        occurred_at=now,
    )
    row = {
        **recorded,
        "subject_id": subject,
        "party_id": caller.party_id,
        "key_id": caller.key_id,
        "matched_by": matched_by,
    }
    # one transaction with the inquiries and reads of other threads (group commit)
    audit.commit_with_audit(
        bureau.ledger,
        [(inquiries, row), (outbox_table, outbox.notice_row(subject, "inquiry", notice, now))],
        [entry],
    )
    return answer_from_report(report, sections, **recorded)


def record_refusal(
    bureau: Bureau,
    caller: Caller,
    subject_id: str,
    purpose: str,
    refusal: str,
    reason: str,
    now: datetime,
) -> None:
    """An attempt to look at a named file that was refused (no consent for the purpose; a
    measure the caller's kind does not apply): audited under the file and told to its
    holder, who sees every refused attempt in the report beside the inquiries made. Nothing
    of the file was read or answered. `refusal` is the problem kind the caller got. A
    failure to record is logged, not raised: the caller is refused all the same (a failure
    must not turn a refusal into a different answer)."""
    who = {
        "party_id": caller.party_id,
        "party_name": caller.party_name or caller.party_id,
        "party_kind": caller.party_kind,
        "purpose": purpose,
        "refusal": refusal,
        "reason": reason,
    }
    entry = audit.Entry(
        actor=caller.actor,
        action=REFUSED_ACTION,
        subject_id=subject_id,
        purpose=purpose,
        payload=who,
        occurred_at=now,
    )
    notice = outbox.notice_row(subject_id, "refused", who, now)
    try:
        audit.commit_with_audit(bureau.ledger, [(outbox_table, notice)], [entry])
    except Exception:  # noqa: BLE001 - the refusal stands whether or not it could be recorded
        log.warning("a refused access to a file could not be recorded", exc_info=True)


def _subject(
    bureau: Bureau, subject_id: str | None, identity: IdentityQuery | None
) -> tuple[str, str]:
    if subject_id is not None:
        with bureau.ledger.connect() as conn:
            row = subject_row(conn, subject_id)
            if row is None:
                raise SubjectNotFound(subject_id)
            if not row["merged_into"]:
                return subject_id, "subject_id"
            return surviving_subject(conn, row["merged_into"]), "subject_id"
    assert identity is not None, "name the subject by id or by identity"
    found = find_subject(bureau.ledger, identity, bureau.settings.token_key_bytes)
    if found is None:
        raise NoMatch("no single subject in this bureau matches the identity given")
    return found, "identity"


def hard_inquiries_in_window(conn: Connection, subject_id: str, as_of: date) -> int:
    """How many hard inquiries into the file of `subject_id` (ids merged into it included)
    fall in the 12 months up to `as_of`, by UTC day (the hook for a score feature; soft
    inquiries never count)."""
    start, _ = hard_window(as_of)
    rows = conn.execute(
        select(inquiries.c.occurred_at, inquiries.c.hard)
        .where(inquiries.c.subject_id.in_(subject_and_merged_ids(conn, subject_id)))
        .where(inquiries.c.hard.is_(True))
        .where(inquiries.c.occurred_at >= datetime.combine(start, time.min, tzinfo=UTC))
    )
    return count_hard(((in_utc(r.occurred_at).date(), r.hard) for r in rows), as_of)


def hard_inquiries_last_12_months(engine: Engine, subject_id: str, as_of: date) -> int:
    """`hard_inquiries_in_window` on its own connection."""
    with engine.connect() as conn:
        return hard_inquiries_in_window(conn, subject_id, as_of)
