"""Consent use cases: a subject grants a named party consent for a purpose until a date, and
may revoke it. Given through the subject's own key, or by an operator acting on a signed form
(the form's reference is kept as the evidence). Every grant and revocation is audited."""

from __future__ import annotations

import secrets
from datetime import date, datetime

from sqlalchemy import Engine, bindparam, insert, select, update

from openbureau.audit import service as audit
from openbureau.inquiries.model import ConsentPublic
from openbureau.inquiries.rules import Consent, consent_grant_problem, consent_refusal
from openbureau.reports.reads import subject_and_merged_ids, subject_row, surviving_subject
from openbureau.reports.service import SubjectNotFound
from openbureau.storage.ledger import consents, parties


class ConsentError(ValueError):
    """A consent that cannot be given; the message says why."""


class ConsentNotFound(LookupError):
    """No such consent (of that subject)."""


def grant_consent(
    engine: Engine,
    subject_id: str,
    party_id: str,
    purpose: str,
    valid_until: date,
    *,
    evidence: str,
    actor: str,
    now: datetime,
) -> ConsentPublic:
    """Record a consent. Raises SubjectNotFound, or ConsentError for an unknown party, a
    purpose that party may not use or that needs no consent, or a date out of range."""
    with engine.begin() as conn:
        if subject_row(conn, subject_id) is None:
            raise SubjectNotFound(subject_id)
        subject_id = surviving_subject(conn, subject_id)
        kind = conn.execute(select(parties.c.kind).where(parties.c.party_id == party_id)).scalar()
        if kind is None:
            raise ConsentError(f"no party {party_id!r}")
        problem = consent_grant_problem(purpose, kind, valid_until, now.date())
        if problem:
            raise ConsentError(problem)
        row = {
            "consent_id": "c" + secrets.token_hex(12),
            "subject_id": subject_id,
            "party_id": party_id,
            "purpose": purpose,
            "valid_until": valid_until,
            "granted_at": now,
            "evidence": evidence,
            "revoked_at": None,
        }
        conn.execute(insert(consents).values(**row))
        audit.append(
            conn,
            actor=actor,
            action="consent.grant",
            subject_id=subject_id,
            purpose=purpose,
            payload={k: row[k] for k in ("consent_id", "party_id", "valid_until", "evidence")},
            occurred_at=now,
        )
    return ConsentPublic(**row)


def revoke_consent(
    engine: Engine, consent_id: str, *, subject_id: str | None, actor: str, now: datetime
) -> ConsentPublic:
    """Revoke a consent at once (again: no change). With `subject_id`, the consent must be
    that subject's (a subject revokes only its own). Raises ConsentNotFound."""
    with engine.begin() as conn:
        row = conn.execute(select(consents).where(consents.c.consent_id == consent_id)).first()
        theirs = subject_id is None or (
            row is not None and row.subject_id in subject_and_merged_ids(conn, subject_id)
        )
        if row is None or not theirs:
            owner = f" of {subject_id}" if subject_id else ""
            raise ConsentNotFound(f"no consent {consent_id!r}{owner}")
        if row.revoked_at is None:
            conn.execute(
                update(consents).where(consents.c.consent_id == consent_id).values(revoked_at=now)
            )
            audit.append(
                conn,
                actor=actor,
                action="consent.revoke",
                subject_id=row.subject_id,
                purpose=row.purpose,
                payload={"consent_id": consent_id, "party_id": row.party_id},
                occurred_at=now,
            )
        found = conn.execute(select(consents).where(consents.c.consent_id == consent_id)).one()
    return ConsentPublic(**found._mapping)


def list_consents(engine: Engine, subject_id: str) -> list[ConsentPublic]:
    """Every consent the subject has given, revoked ones included, oldest first."""
    with engine.connect() as conn:
        if subject_row(conn, subject_id) is None:
            raise SubjectNotFound(subject_id)
        rows = conn.execute(
            select(consents)
            .where(consents.c.subject_id.in_(subject_and_merged_ids(conn, subject_id)))
            .order_by(consents.c.granted_at, consents.c.consent_id)
        )
        return [ConsentPublic(**r._mapping) for r in rows]


_PARTY_CONSENTS = (
    select(consents)
    .where(consents.c.subject_id.in_(bindparam("ids", expanding=True)))
    .where(consents.c.party_id == bindparam("party_id"))
)


def consent_refusal_for(
    engine: Engine, subject_id: str, party_id: str, purpose: str, on: date
) -> str | None:
    """None when the subject's consents let `party_id` inquire for `purpose` on `on`."""
    with engine.connect() as conn:
        ids = subject_and_merged_ids(conn, subject_id)
        rows = conn.execute(_PARTY_CONSENTS, {"ids": ids, "party_id": party_id})
        held = [
            Consent(r.consent_id, r.party_id, r.purpose, r.valid_until, r.revoked_at) for r in rows
        ]
    return consent_refusal(held, party_id, purpose, on)
