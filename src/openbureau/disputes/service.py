"""Dispute use cases: a subject (or an operator on its behalf) contests one record of its
file; the record's furnisher (or an operator acting on its written answer) answers. Each step
is audited and queues a notice to the subject in the outbox. Rules: disputes/rules.py."""

from __future__ import annotations

import logging
import secrets
from datetime import date, datetime

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from openbureau import freetext
from openbureau.audit import service as audit
from openbureau.bootstrap import Bureau
from openbureau.disputes.model import AccountDisputePublic, DisputePublic, dispute_public
from openbureau.disputes.rules import (
    ACCOUNT_RECORD_TYPE,
    DELETES,
    ERASED_TEXT,
    answer_problem,
    compensation,
    due_on,
    text_problem,
)
from openbureau.inquiries import outbox
from openbureau.lists import service as lists
from openbureau.reports.model import RecordView, in_utc
from openbureau.reports.reads import surviving_subject
from openbureau.reports.service import build_report, file_rows, live_subject
from openbureau.scoring.rescore import rescore_quietly
from openbureau.storage.ledger import disputes
from openbureau.storage.ledger import outbox as outbox_table

log = logging.getLogger(__name__)

#: The purpose the audit chain records for dispute handling.
PURPOSE = "dispute"
#: The record type that names an organisation's legal representative (lists/rules.py).
PROFILE = "profile"


class DisputeError(ValueError):
    """A dispute that cannot be opened or answered; the message says why."""


class DisputeConflict(DisputeError):
    """The record is already under dispute, or the dispute is already answered."""


class DisputeNotFound(LookupError):
    """No such dispute (among those the caller may see)."""


def open_dispute(
    bureau: Bureau,
    subject_id: str,
    furnisher_id: str,
    record_id: str,
    reason: str,
    *,
    actor: str,
    now: datetime,
) -> DisputePublic:
    """Open a dispute of a record shown in the subject's file today: from this moment the
    record is shown "under dispute", and its furnisher has until `due_on` to answer. Raises
    SubjectNotFound, SubjectMerged (a merged id: the file is now the surviving subject's),
    DisputeConflict (already under dispute) or DisputeError (no such record in the file, an
    empty or overlong reason)."""
    problem = text_problem("the reason", reason)
    if problem:
        raise DisputeError(problem)
    with bureau.ledger.connect() as conn:
        live_subject(conn, subject_id)
    today = utc_day(now)
    report = build_report(bureau, subject_id, today, holder_view=False)
    record = next(
        (
            r
            for r in report.records
            if r.furnisher.furnisher_id == furnisher_id and r.record_id == record_id
        ),
        None,
    )
    if record is None:
        raise DisputeError(
            f"no record {record_id!r} from furnisher {furnisher_id!r} is shown in the file of "
            f"{subject_id} today (see its report for the records that are)"
        )
    if record.under_dispute is not None:
        raise DisputeConflict(
            f"record {record_id!r} is already under dispute ({record.under_dispute.dispute_id}, "
            f"due {record.under_dispute.due_on.isoformat()})"
        )
    row = _opened_row(
        _new_dispute_id(), subject_id, record, reason, freetext.new_salt(), actor=actor, now=now
    )
    try:
        with bureau.ledger.begin() as conn:
            # the chain first, then the dispute's row: an account's opening holds the chain
            # while it inserts a row a month, so a row taken first here could deadlock it
            audit.lock_chain(conn)
            _record_opening(conn, row, actor, now)
    except IntegrityError as exc:
        # another request opened one first (the ledger allows one open dispute per record)
        raise DisputeConflict(f"record {record_id!r} is already under dispute") from exc
    if record.record_type == PROFILE:  # a contested name is not published meanwhile
        lists.withdraw_names_quietly(bureau, subject_id, actor=actor, now=now)
    return dispute_public(row, today)


def _record_opening(
    conn: Connection, row: dict, actor: str, now: datetime, *, notify: bool = True
) -> None:
    """The dispute's row, its audit entry and (with `notify`) the subject's notice, in the
    caller's transaction."""
    conn.execute(insert(disputes).values(**row))
    payload = {
        **{k: row[k] for k in ("dispute_id", "furnisher_id", "record_id", "due_on")},
        # the subject's words may hold personal data the chain must not keep for ever
        "reason_hmac": freetext.digest(row["salt"], row["reason"]),
        **_group_of(row),
    }
    audit.append(
        conn,
        actor=actor,
        action="dispute.open",
        subject_id=row["subject_id"],
        purpose=PURPOSE,
        payload=payload,
        occurred_at=now,
    )
    if notify:
        notice = outbox.notice_row(row["subject_id"], "dispute", _notice(row), now)
        conn.execute(insert(outbox_table).values(**notice))


def open_account_dispute(
    bureau: Bureau,
    subject_id: str,
    furnisher_id: str,
    account_id: str,
    reason: str,
    *,
    actor: str,
    now: datetime,
) -> AccountDisputePublic:
    """Contest a whole account shown in the subject's file today: one dispute for each of
    its records not already under dispute, opened together (one group, one due date, one
    notice to the subject) and answered together (`answer_dispute`). Raises
    SubjectNotFound, SubjectMerged, DisputeConflict (every record of the account is under
    dispute already, or one was put under dispute meanwhile) or DisputeError (no such
    account in the file, an empty or overlong reason)."""
    problem = text_problem("the reason", reason)
    if problem:
        raise DisputeError(problem)
    with bureau.ledger.connect() as conn:
        live_subject(conn, subject_id)
    today = utc_day(now)
    report = build_report(bureau, subject_id, today, holder_view=False)
    records = [
        r
        for r in report.records
        if r.furnisher.furnisher_id == furnisher_id
        and r.record_type == ACCOUNT_RECORD_TYPE
        and r.fields.get("account_id") == account_id
    ]
    if not records:
        raise DisputeError(
            f"no account {account_id!r} from furnisher {furnisher_id!r} is shown in the file "
            f"of {subject_id} today (see its report's accounts for the ones that are)"
        )
    free = [r for r in records if r.under_dispute is None]
    if not free:
        raise DisputeConflict(f"every record of account {account_id!r} is already under dispute")
    group_id = _new_dispute_id()
    salt = freetext.new_salt()
    rows = [
        _opened_row(
            group_id if i == 0 else _new_dispute_id(),
            subject_id,
            r,
            reason,
            salt,
            actor=actor,
            now=now,
            group_id=group_id,
            account_id=account_id,
        )  # fmt: skip
        for i, r in enumerate(free)
    ]
    try:
        with bureau.ledger.begin() as conn:
            audit.lock_chain(conn)  # before any row: one lock order for every writer
            for row in rows:
                _record_opening(conn, row, actor, now, notify=False)
            body = {**_notice(rows[0]), "records": len(rows)}
            notice = outbox.notice_row(subject_id, "dispute", body, now)
            conn.execute(insert(outbox_table).values(**notice))
    except IntegrityError as exc:
        raise DisputeConflict(
            f"a record of account {account_id!r} was put under dispute meanwhile; see the "
            "file's disputes, and contest the account again for the rest"
        ) from exc
    return AccountDisputePublic(
        group_id=group_id,
        subject_id=subject_id,
        furnisher_id=furnisher_id,
        account_id=account_id,
        disputes=[dispute_public(row, today) for row in rows],
        already_under_dispute=sorted(
            {r.under_dispute.dispute_id for r in records if r.under_dispute is not None}
        ),
    )


def _new_dispute_id() -> str:
    return "d" + secrets.token_hex(12)


def _opened_row(
    dispute_id: str,
    subject_id: str,
    record: RecordView,
    reason: str,
    salt: str,
    *,
    actor: str,
    now: datetime,
    group_id: str | None = None,
    account_id: str | None = None,
) -> dict:
    """The ledger row of a dispute opened `now` on `record` of the subject's file."""
    return {
        "dispute_id": dispute_id,
        "subject_id": subject_id,
        "furnisher_id": record.furnisher.furnisher_id,
        "record_id": record.record_id,
        "record_type": record.record_type,
        "reason": reason,
        "salt": salt,
        "opened_at": now,
        "opened_by": actor,
        "due_on": due_on(utc_day(now)),
        "status": "open",
        "outcome": None,
        "note": None,
        "answered_at": None,
        "answered_by": None,
        "group_id": group_id,
        "account_id": account_id,
    }


def answer_dispute(
    bureau: Bureau,
    dispute_id: str,
    outcome: str,
    note: str,
    *,
    actor: str,
    furnisher_id: str | None,
    now: datetime,
) -> DisputePublic:
    """The furnisher's answer: verified, corrected or unverifiable (the record is deleted:
    left out of every report and score from now on, and out of storage at the next purge;
    the subject's published score is recomputed at once, `scoring.rescore`). A dispute of a
    whole account is answered whole: every open dispute of its group gets the answer.
    With `furnisher_id`, only that furnisher's disputes can be answered. Raises
    DisputeNotFound, DisputeConflict (answered already) or DisputeError (an unknown outcome,
    an empty or overlong note)."""
    problem = text_problem("the note", note)
    if problem:
        raise DisputeError(problem)
    today = utc_day(now)
    with bureau.ledger.begin() as conn:
        # the chain's lock first, as an erasure (which rewrites disputes' texts) takes it: the
        # other order deadlocks on PostgreSQL; every answer takes it, so the group read below
        # is still the group when it is updated
        audit.lock_chain(conn)
        found = conn.execute(select(disputes).where(disputes.c.dispute_id == dispute_id)).first()
        if found is None or (furnisher_id is not None and found.furnisher_id != furnisher_id):
            raise DisputeNotFound(f"no dispute {dispute_id!r}")
        problem = answer_problem(found.status, outcome)
        if problem:
            raise (DisputeConflict if found.status != "open" else DisputeError)(problem)
        members = [found]
        if found.group_id is not None:
            members = conn.execute(
                select(disputes)
                .where(disputes.c.group_id == found.group_id, disputes.c.status == "open")
                .order_by(disputes.c.dispute_id)
            ).all()
        changes = {
            "status": "answered",
            "outcome": outcome,
            # the subject's file was emptied (erasure took the salt): keep no words of it
            "note": note if found.salt is not None else ERASED_TEXT,
            "answered_at": now,
            "answered_by": actor,
        }
        ids = [m.dispute_id for m in members]
        done = conn.execute(
            update(disputes)
            .where(disputes.c.dispute_id.in_(ids))
            .where(disputes.c.status == "open")
            .values(**changes)
        )
        if done.rowcount != len(ids):  # another answer committed since the read above
            raise DisputeConflict(answer_problem("answered", outcome) or "already answered")
        # the file the records are in now (the dispute may name an id merged since)
        subject_id = surviving_subject(conn, found.subject_id)
        for member in members:
            _record_answer(conn, {**member._mapping, **changes}, subject_id, note, actor, now)
        row = {**found._mapping, **changes}
        shown = dispute_public(row, today)
        owed = compensation(row["due_on"], today, today)  # the complaint's, grouped or not
        notice = {
            **_notice(row),
            "outcome": outcome,
            "days_late": owed.days_late,
            "compensation_minor": owed.amount_minor,
            "compensation_currency": owed.currency,
        }
        conn.execute(
            insert(outbox_table).values(**outbox.notice_row(subject_id, "dispute", notice, now))
        )
    if outcome == DELETES:
        # the deleted records leave the published score now, not at the next population run
        _rescore(bureau, subject_id, actor, dispute_id, now)
        if found.record_type == PROFILE:  # a name it gave leaves the list entries with it
            lists.withdraw_names_quietly(bureau, subject_id, actor=actor, now=now)
    return shown


def _record_answer(
    conn: Connection, row: dict, subject_id: str, note: str, actor: str, now: datetime
) -> None:
    """One answered dispute's audit entry, and (when its record is deleted) the list entries
    resting on the record taken off, in the caller's transaction."""
    shown = dispute_public(row, utc_day(now))
    payload = {
        "dispute_id": row["dispute_id"],
        "furnisher_id": row["furnisher_id"],
        "record_id": row["record_id"],
        "outcome": row["outcome"],
        "deleted": row["outcome"] == DELETES,
        "days_late": shown.days_late,
        "note_hmac": freetext.digest(row["salt"], note),
    }
    if row["group_id"] is not None:
        payload["group_id"] = row["group_id"]
    audit.append(
        conn,
        actor=actor,
        action="dispute.answer",
        subject_id=subject_id,
        purpose=PURPOSE,
        payload=payload,
        occurred_at=now,
    )
    if row["outcome"] == DELETES:  # no list entry may rest on a deleted record
        lists.clear_record(
            conn, row["furnisher_id"], row["record_id"], "evidence_deleted", actor=actor,
            now=now,
        )  # fmt: skip


def _rescore(bureau: Bureau, subject_id: str, actor: str, dispute_id: str, now: datetime) -> None:
    """The subject's score without the record just deleted; a failure is logged, never
    raised: the answer is committed, and the next population run publishes the score
    without the record anyway."""
    rescore_quietly(
        bureau, subject_id, actor=actor, purpose=PURPOSE,
        why=f"dispute {dispute_id} deleted a record", now=now,
    )  # fmt: skip


def subject_disputes(engine: Engine, subject_id: str, today: date) -> list[DisputePublic]:
    """Every dispute of the subject's file (ids merged into it included), oldest first.
    Raises SubjectNotFound, or SubjectMerged for an id merged into another."""
    rows = file_rows(engine, disputes, subject_id, disputes.c.opened_at, disputes.c.dispute_id)
    return [dispute_public(row, today) for row in rows]


def furnisher_disputes(
    engine: Engine, furnisher_id: str | None, status: str | None, today: date
) -> list[DisputePublic]:
    """The disputes of one furnisher's records (all furnishers' when None), oldest first;
    with `status`, only open or only answered ones."""
    query = select(disputes).order_by(disputes.c.due_on, disputes.c.dispute_id)
    if furnisher_id is not None:
        query = query.where(disputes.c.furnisher_id == furnisher_id)
    if status is not None:
        query = query.where(disputes.c.status == status)
    with engine.connect() as conn:
        return [dispute_public(dict(r._mapping), today) for r in conn.execute(query)]


def withdrawn_records(engine: Engine) -> list[tuple[str, str, date]]:
    """(furnisher_id, record_id, answered on) of every record a dispute's answer deleted:
    its versions reported on or before that day are neither shown nor used (rules.withdrawn)."""
    query = select(disputes.c.furnisher_id, disputes.c.record_id, disputes.c.answered_at).where(
        disputes.c.outcome == DELETES
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    # SQLite hands times back without their zone: in_utc makes them UTC either way
    return [(f, r, in_utc(at).date()) for f, r, at in rows]  # type: ignore[union-attr]


def deletions(engine: Engine) -> dict[str, str]:
    """Every dispute whose answer deleted a record: dispute id -> the subject id it was
    opened on (merged since, perhaps: `surviving_subject` finds the file)."""
    query = select(disputes.c.dispute_id, disputes.c.subject_id).where(
        disputes.c.outcome == DELETES
    )
    with engine.connect() as conn:
        return dict(conn.execute(query).all())


def _notice(row: dict) -> dict:
    """What the subject's notice says of the dispute (JSON: dates as ISO text)."""
    return {
        "dispute_id": row["dispute_id"],
        "furnisher_id": row["furnisher_id"],
        "record_id": row["record_id"],
        "record_type": row["record_type"],
        "due_on": row["due_on"].isoformat(),
        "status": row["status"],
        **_group_of(row),
    }


def _group_of(row: dict) -> dict:
    """What a notice says of the account a dispute is one of (nothing for one record's)."""
    if row.get("group_id") is None:
        return {}
    return {"group_id": row["group_id"], "account_id": row["account_id"]}


def utc_day(moment: datetime) -> date:
    """The UTC calendar day of `moment`: every dispute date (opened, due, answered, late) is
    counted on this one calendar."""
    return in_utc(moment).date()  # type: ignore[union-attr]


def deleted_records_of(engine: Engine, furnisher_id: str) -> dict[str, dict]:
    """The furnisher's records a dispute's answer deleted, by record id: the latest such
    answer's day, dispute and subject (what `record_reinsertions` needs)."""
    query = select(
        disputes.c.record_id, disputes.c.answered_at, disputes.c.dispute_id, disputes.c.subject_id
    ).where(disputes.c.furnisher_id == furnisher_id, disputes.c.outcome == DELETES)
    found: dict[str, dict] = {}
    with engine.connect() as conn:
        for r in conn.execute(query):
            on = utc_day(r.answered_at)
            if r.record_id not in found or on > found[r.record_id]["withdrawn_on"]:
                found[r.record_id] = {
                    "withdrawn_on": on, "dispute_id": r.dispute_id, "subject_id": r.subject_id,
                }  # fmt: skip
    return found


def record_reinsertions(
    conn: Connection,
    furnisher_id: str,
    batch_id: str,
    reinserted: list[tuple[str, date]],
    deleted: dict[str, dict],
    now: datetime,
) -> None:
    """A record deleted as unverifiable and furnished again (a version reported after the
    answer, `rules.withdrawn`) is shown again: tell its subject, and audit it (FCRA
    611(a)(5)(B)), in the caller's transaction (the batch's own). Once per deletion: later
    versions of a record already brought back tell nobody again."""
    for record_id, reported_on in reinserted:
        was = deleted[record_id]
        first = conn.execute(
            update(disputes)
            .where(disputes.c.dispute_id == was["dispute_id"], disputes.c.reinserted_at.is_(None))
            .values(reinserted_at=now)
        )
        if first.rowcount != 1:  # brought back by an earlier batch: told then
            continue
        subject_id = surviving_subject(conn, was["subject_id"])
        body = {
            "dispute_id": was["dispute_id"],
            "furnisher_id": furnisher_id,
            "record_id": record_id,
            "status": "reinserted",
            "reported_on": reported_on.isoformat(),
            "batch_id": batch_id,
        }
        audit.append(
            conn,
            actor=f"furnisher:{furnisher_id}",
            action="dispute.reinserted",
            subject_id=subject_id,
            purpose=PURPOSE,
            payload=body,
            occurred_at=now,
        )
        conn.execute(
            insert(outbox_table).values(**outbox.notice_row(subject_id, "dispute", body, now))
        )


def record_listing(
    engine: Engine,
    found: list[DisputePublic],
    *,
    actor: str,
    status: str | None,
    channel: str,
    now: datetime,
) -> None:
    """A listing of disputes shows subjects' words: one audit entry per file listed (under
    its surviving id), before the listing is shown."""
    if not found:
        return
    with engine.connect() as conn:
        files = sorted({surviving_subject(conn, d.subject_id) for d in found})
    audit.record_reads(
        engine,
        action="disputes.listed",
        subject_ids=files,
        actor=actor,
        purpose=PURPOSE,
        payload={"status": status, "channel": channel},
        occurred_at=now,
    )
