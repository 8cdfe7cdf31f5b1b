"""List use cases: an operator proposes an entry citing a finding, the subject is told and may
object, a second operator decides, and the entry ends at its term or is removed early. A
relying party asks whether a measure may apply to a subject. Every step is audited and tells
the subject through the outbox. Rules: lists/rules.py; the process: docs/lists.md."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import Connection, Engine, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from openbureau import freetext
from openbureau.access.rules import Caller
from openbureau.audit import service as audit
from openbureau.bootstrap import Bureau
from openbureau.inquiries import outbox
from openbureau.lists import rules
from openbureau.lists.model import (
    Citation,
    ListEntryPublic,
    MeasureAnswer,
    entry_public,
    measure_public,
)
from openbureau.reports.model import in_utc
from openbureau.reports.reads import subject_and_merged_ids, surviving_subject
from openbureau.reports.service import build_report, live_subject
from openbureau.storage.ledger import inquiries, list_entries
from openbureau.storage.ledger import outbox as outbox_table

#: The purpose the audit chain records for list handling.
PURPOSE = "list-due-process"
#: The inquiry purpose a measure check is shown under in "who looked at my file".
CHECK_PURPOSE = "measure_check"


class ListError(ValueError):
    """An entry that cannot be proposed, objected to, decided or removed; the message says
    why."""


class ListConflict(ListError):
    """The subject already has an entry on that list, or the entry moved on meanwhile."""


class EntryNotFound(LookupError):
    """No such entry (among those the caller may see)."""


def utc_day(moment: datetime) -> date:
    """The UTC calendar day of `moment`: every list date is counted on this calendar."""
    return in_utc(moment).date()  # type: ignore[union-attr]


def _definition(list_id: str) -> rules.ListDefinition:
    found = rules.LISTS.get(list_id)
    if found is None:
        raise ListError(f"unknown list {list_id!r}; known: {', '.join(rules.LISTS)}")
    return found


def _text(what: str, text: str) -> None:
    problem = rules.text_problem(what, text)
    if problem:
        raise ListError(problem)


def propose_entry(
    bureau: Bureau,
    list_id: str,
    subject_id: str,
    grounds: str,
    *,
    furnisher_id: str | None = None,
    record_id: str | None = None,
    authority: str | None = None,
    decision_reference: str | None = None,
    decision_date: date | None = None,
    caller: Caller,
    now: datetime,
) -> ListEntryPublic:
    """Propose putting the subject on a list. A black list entry cites a record shown in the
    subject's file today that meets the list's criteria (and is not under dispute); a red
    list entry cites an authority's decision. The subject is told at once and may object
    until `objection_ends_on`. Raises SubjectNotFound, SubjectMerged, ListConflict (an entry
    on that list already open) or ListError (why the entry cannot be proposed)."""
    definition = _definition(list_id)
    _text("the grounds", grounds)
    today = utc_day(now)
    with bureau.ledger.connect() as conn:
        live_subject(conn, subject_id)
    cited = _cited(
        bureau, definition, subject_id, today,
        furnisher_id=furnisher_id, record_id=record_id, authority=authority,
        decision_reference=decision_reference, decision_date=decision_date,
    )  # fmt: skip
    row = {
        "entry_id": "e" + secrets.token_hex(12),
        "list_id": list_id,
        "subject_id": subject_id,
        **cited,
        "grounds": grounds,
        "salt": freetext.new_salt(),
        "proposed_at": now,
        "proposed_by": caller.actor,
        "proposed_party": caller.party_id,
        "objection_ends_on": rules.objection_ends_on(definition, today),
        "status": "proposed",
    }
    try:
        with bureau.ledger.begin() as conn:
            _close_ended(conn, list_id, subject_ids=subject_and_merged_ids(conn, subject_id),
                         today=today)  # fmt: skip
            conn.execute(insert(list_entries).values(**row))
            shown = _reread(conn, row["entry_id"], today)
            _tell(conn, shown, "list.propose", caller.actor, now,
                  grounds_hmac=freetext.digest(row["salt"], grounds))  # fmt: skip
    except IntegrityError as exc:
        raise ListConflict(
            f"{subject_id} already has an entry on {list_id} that is proposed or listed; "
            "see its list entries"
        ) from exc
    return shown


def _cited(
    bureau: Bureau,
    definition: rules.ListDefinition,
    subject_id: str,
    today: date,
    *,
    furnisher_id: str | None,
    record_id: str | None,
    authority: str | None,
    decision_reference: str | None,
    decision_date: date | None,
) -> dict:
    """The columns naming what the entry rests on, after checking it qualifies."""
    decision = (authority, decision_reference, decision_date)
    if definition.needs_decision:
        if furnisher_id or record_id:
            raise ListError(f"{definition.list_id} rests on an authority's decision, not a record")
        if not all(decision):
            raise ListError(
                f"{definition.list_id} needs the deciding authority, the decision's reference "
                "and its date"
            )
        for what, value in (("the authority", authority), ("the reference", decision_reference)):
            _text(what, value or "")
        assert decision_date is not None
        if decision_date > today:
            raise ListError(f"the decision's date {decision_date.isoformat()} is in the future")
        if rules.ends_on(decision_date, definition.max_term_months) <= today:
            raise ListError(
                f"a decision of {decision_date.isoformat()} no longer holds: the list's term "
                f"is {definition.max_term_months} months"
            )
        return {
            "authority": authority, "decision_reference": decision_reference,
            "decision_date": decision_date, "term_months": definition.term_months,
        }  # fmt: skip
    if any(v is not None for v in decision):
        raise ListError(f"{definition.list_id} rests on a record of the file, not a decision")
    if not furnisher_id or not record_id:
        raise ListError(f"{definition.list_id} needs the cited record: its furnisher and id")
    record = _qualifying(bureau, definition, subject_id, furnisher_id, record_id, today)
    return {
        "furnisher_id": furnisher_id, "record_id": record_id,
        "record_type": record.record_type,
        "case_number": rules.link_value(definition, record.record_type, record.fields),
        "term_months": rules.term_months(definition, record.record_type, record.fields),
    }  # fmt: skip


def _qualifying(
    bureau: Bureau,
    definition: rules.ListDefinition,
    subject_id: str,
    furnisher_id: str,
    record_id: str,
    today: date,
):
    """The cited record as the file shows it today; raises ListError unless it meets the
    list's criteria, the obligation behind it is unperformed, and it is not under dispute."""
    report = build_report(bureau, subject_id, today, holder_view=False)
    mine = [r for r in report.records if r.furnisher.furnisher_id == furnisher_id]
    record = next((r for r in mine if r.record_id == record_id), None)
    if record is None:
        raise ListError(
            f"no record {record_id!r} from furnisher {furnisher_id!r} is shown in the file of "
            f"{subject_id} today"
        )
    problem = rules.evidence_problem(definition, record.record_type, record.fields)
    if problem:
        raise ListError(problem)
    others = [(r.record_type, r.fields) for r in mine if r is not record]
    if rules.performed(definition, record.record_type, record.fields, others):
        raise ListError(
            "the file shows the obligation behind the finding performed (its judgment paid)"
        )
    if record.under_dispute is not None:
        raise ListError(
            f"record {record_id!r} is under dispute ({record.under_dispute.dispute_id}): "
            "an entry cannot rest on it until its furnisher answers"
        )
    return record


def object_to_entry(
    bureau: Bureau,
    entry_id: str,
    objection: str,
    *,
    caller: Caller,
    own_subject: str | None,
    now: datetime,
) -> ListEntryPublic:
    """The subject's objection, within the window: the entry waits for a reviewer, who reads
    it before deciding. With `own_subject` (a subject's key), only an entry of that file."""
    _text("the objection", objection)
    today = utc_day(now)
    with bureau.ledger.begin() as conn:
        found = _entry_of(conn, entry_id, own_subject)
        problem = rules.objection_problem(found["status"], found["objection_ends_on"], today)
        if problem:
            raise (ListConflict if found["status"] == "objected" else ListError)(problem)
        changes = {
            "status": "objected",
            # the subject's file was emptied (erasure took the salt): keep no words of it
            "objection": _kept(found, objection),
            "objected_at": now,
        }
        _move(conn, entry_id, found["status"], changes)
        shown = _reread(conn, entry_id, today)
        _tell(conn, shown, "list.object", caller.actor, now,
              objection_hmac=freetext.digest(found["salt"], objection))  # fmt: skip
    return shown


def decide_entry(
    bureau: Bureau,
    entry_id: str,
    approve: bool,
    note: str,
    *,
    caller: Caller,
    now: datetime,
) -> ListEntryPublic:
    """A second operator's decision. Approval lists the subject from today for the entry's
    term; it needs the objection window closed (or the objection read), and for a black
    list, the cited record still shown, still qualifying and not under dispute."""
    _text("the note", note)
    today = utc_day(now)
    with bureau.ledger.connect() as conn:
        found = _entry_of(conn, entry_id, None)
    problem = rules.decision_problem(
        found["status"], approve, proposed_by_party=found["proposed_party"],
        deciding_party=caller.party_id, window_ends=found["objection_ends_on"], today=today,
    )  # fmt: skip
    if problem:
        raise (ListConflict if found["status"] not in rules.PENDING else ListError)(problem)
    definition = rules.LISTS[found["list_id"]]
    subject_id = found["subject_id"]
    if approve and not definition.needs_decision:
        with bureau.ledger.connect() as conn:
            subject_id = surviving_subject(conn, subject_id)
        try:
            _qualifying(
                bureau, definition, subject_id, found["furnisher_id"], found["record_id"], today
            )
        except ListError as exc:
            raise ListError(f"the entry cannot be approved: {exc}") from exc
    changes: dict = {
        "decided_at": now, "decided_by": caller.actor, "decision_note": _kept(found, note),
    }  # fmt: skip
    if approve:
        changes |= {
            "status": "listed", "listed_on": today,
            "ends_on": rules.ends_on(today, found["term_months"]),
        }  # fmt: skip
    else:
        changes["status"] = "rejected"
    with bureau.ledger.begin() as conn:
        _move(conn, entry_id, found["status"], changes)
        shown = _reread(conn, entry_id, today)
        _tell(conn, shown, "list.decide", caller.actor, now, approved=approve,
              note_hmac=freetext.digest(found["salt"], note))  # fmt: skip
    return shown


def remove_entry(
    bureau: Bureau,
    entry_id: str,
    reason: str,
    note: str,
    *,
    caller: Caller,
    now: datetime,
) -> ListEntryPublic:
    """Take a listed entry off its list before its term ends: the finding satisfied or
    revoked, credit repair (where the list allows it, after its minimum term), or an error."""
    _text("the note", note)
    today = utc_day(now)
    with bureau.ledger.begin() as conn:
        found = _entry_of(conn, entry_id, None)
        problem = rules.removal_problem(
            rules.LISTS[found["list_id"]], found["status"], reason,
            listed_on=found["listed_on"], ends=found["ends_on"], today=today,
        )  # fmt: skip
        if problem:
            raise ListError(problem)
        _move(conn, entry_id, "listed", _removal(reason, _kept(found, note), caller.actor, now))
        shown = _reread(conn, entry_id, today)
        _tell(conn, shown, "list.remove", caller.actor, now, reason=reason,
              note_hmac=freetext.digest(found["salt"], note))  # fmt: skip
    return shown


def _kept(found: dict, text: str) -> str:
    """`text` as stored: nothing of it once the subject's file was emptied (erasure took the
    entry's salt with its words)."""
    return text if found["salt"] is not None else freetext.ERASED


def _removal(reason: str, note: str | None, actor: str, now: datetime) -> dict:
    return {
        "status": "removed", "removed_at": now, "removed_by": actor,
        "removal_reason": reason, "removal_note": note,
    }  # fmt: skip


def clear_entries(
    conn: Connection,
    furnisher_id: str,
    record_ids: Iterable[str],
    reason: str,
    *,
    case_numbers: Iterable[str] = (),
    actor: str,
    now: datetime,
) -> list[str]:
    """Take off every open entry (proposed, objected or listed) that rests on these records
    of the furnisher, or on a finding in these cases, in the caller's transaction: a batch
    reported the finding lifted or its judgment paid (`satisfied`), or a dispute's answer
    deleted the record (`evidence_deleted`). Each subject is told. Returns the entries
    removed."""
    ids, cases = list(dict.fromkeys(record_ids)), list(dict.fromkeys(case_numbers))
    if not ids and not cases:
        return []
    today = utc_day(now)
    rows = conn.execute(
        select(list_entries).where(
            list_entries.c.furnisher_id == furnisher_id,
            or_(list_entries.c.record_id.in_(ids), list_entries.c.case_number.in_(cases)),
            list_entries.c.status.in_(rules.OPEN_STATES),
        )
    ).all()
    removed = []
    for row in rows:
        found = dict(row._mapping)
        if rules.shown_status(found["status"], found["ends_on"], today) == "ended":
            continue
        _move(conn, found["entry_id"], found["status"], _removal(reason, None, actor, now))
        shown = _reread(conn, found["entry_id"], today)
        _tell(conn, shown, "list.remove", actor, now, reason=reason)
        removed.append(found["entry_id"])
    return removed


def open_evidence(engine: Engine, furnisher_id: str) -> tuple[set[str], set[str]]:
    """The furnisher's records that open entries rest on, and their case numbers (what a
    batch must look at)."""
    query = select(list_entries.c.record_id, list_entries.c.case_number).where(
        list_entries.c.furnisher_id == furnisher_id,
        list_entries.c.status.in_(rules.OPEN_STATES),
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return {r for r, _ in rows}, {c for _, c in rows if c is not None}


def subject_entries(engine: Engine, subject_id: str, today: date) -> list[ListEntryPublic]:
    """Every entry of the subject's file (ids merged into it included), oldest first.
    Raises SubjectNotFound, or SubjectMerged for an id merged into another."""
    with engine.connect() as conn:
        live_subject(conn, subject_id)
        ids = subject_and_merged_ids(conn, subject_id)
        rows = conn.execute(
            select(list_entries)
            .where(list_entries.c.subject_id.in_(ids))
            .order_by(list_entries.c.proposed_at, list_entries.c.entry_id)
        )
        return [entry_public(dict(r._mapping), today) for r in rows]


def all_entries(
    engine: Engine, *, status: str | None, list_id: str | None, today: date
) -> list[ListEntryPublic]:
    """Entries of every file, oldest first; with `status`, only those shown so today."""
    query = select(list_entries).order_by(list_entries.c.proposed_at, list_entries.c.entry_id)
    if list_id is not None:
        query = query.where(list_entries.c.list_id == list_id)
    if status in ("listed", "ended"):
        query = query.where(list_entries.c.status.in_(("listed", "ended")))
    elif status is not None:
        query = query.where(list_entries.c.status == status)
    with engine.connect() as conn:
        shown = [entry_public(dict(r._mapping), today) for r in conn.execute(query)]
    return [e for e in shown if status is None or e.status == status]


def record_listing(
    engine: Engine, found: list[ListEntryPublic], *, actor: str, channel: str, now: datetime
) -> None:
    """A listing of entries shows subjects' files: one audit entry per file listed (under
    its surviving id), before the listing is shown."""
    if not found:
        return
    with engine.connect() as conn:
        files = sorted({surviving_subject(conn, e.subject_id) for e in found})
    audit.record_reads(
        engine, action="lists.listed", subject_ids=files, actor=actor, purpose=PURPOSE,
        payload={"channel": channel}, occurred_at=now,
    )  # fmt: skip


def check_measure(
    bureau: Bureau, subject_id: str, measure: str, *, caller: Caller, now: datetime
) -> MeasureAnswer:
    """May `measure` apply to the subject today? Yes only while the subject (its file, ids
    merged into it included) is listed on a list naming the measure; the answer cites each
    such entry with the list's and the measure's legal basis. The check is an access to the
    file: it is recorded as an inquiry (purpose measure_check, soft: never in the score),
    told to the subject, and audited. Raises ListError for an unknown measure,
    SubjectNotFound or SubjectMerged."""
    found = rules.MEASURES.get(measure)
    if found is None:
        raise ListError(f"unknown measure {measure!r}; known: {', '.join(rules.MEASURES)}")
    today = utc_day(now)
    with bureau.ledger.begin() as conn:
        live_subject(conn, subject_id)
        ids = subject_and_merged_ids(conn, subject_id)
        rows = conn.execute(
            select(list_entries)
            .where(list_entries.c.subject_id.in_(ids), list_entries.c.status == "listed")
            .order_by(list_entries.c.listed_on, list_entries.c.entry_id)
        ).all()
        citations = []
        for r in rows:
            definition = rules.LISTS[r.list_id]
            named = next((m for m in definition.measures if m.name == measure), None)
            if named is None or rules.shown_status(r.status, r.ends_on, today) != "listed":
                continue
            citations.append(
                Citation(
                    entry_id=r.entry_id,
                    list_id=r.list_id,
                    list_title=definition.title,
                    kind=definition.kind,
                    list_legal_basis=definition.legal_basis,
                    measure_legal_basis=named.legal_basis,
                    listed_on=r.listed_on,
                    ends_on=r.ends_on,
                )  # fmt: skip
            )
        answer = MeasureAnswer(
            subject_id=subject_id, measure=measure_public(found), as_of=today,
            applies=bool(citations), citations=citations,
        )  # fmt: skip
        _record_check(conn, answer, caller, now)
    return answer


def _record_check(conn: Connection, answer: MeasureAnswer, caller: Caller, now: datetime) -> None:
    """The check as an inquiry the subject sees, its notice, and its audit entry."""
    inquiry_id = "q" + secrets.token_hex(12)
    conn.execute(
        insert(inquiries).values(
            inquiry_id=inquiry_id,
            subject_id=answer.subject_id,
            party_id=caller.party_id,
            key_id=caller.key_id,
            purpose=CHECK_PURPOSE,
            hard=False,
            matched_by="subject_id",
            occurred_at=now,
        )  # fmt: skip
    )
    body = {
        "inquiry_id": inquiry_id,
        "party_id": caller.party_id,
        "party_name": caller.party_name or caller.party_id,
        "purpose": CHECK_PURPOSE,
        "measure": answer.measure.name,
        "applies": answer.applies,
        "entries": [c.entry_id for c in answer.citations],
    }
    conn.execute(
        insert(outbox_table).values(**outbox.notice_row(answer.subject_id, "inquiry", body, now))
    )
    audit.append(
        conn, actor=caller.actor, action="lists.check", subject_id=answer.subject_id,
        purpose=CHECK_PURPOSE, payload=body, occurred_at=now,
    )  # fmt: skip


def _entry_of(conn: Connection, entry_id: str, own_subject: str | None) -> dict:
    """The entry's row; with `own_subject`, only if the entry belongs to that file (the id
    the subject's key names, or an id merged into it)."""
    row = conn.execute(select(list_entries).where(list_entries.c.entry_id == entry_id)).first()
    if row is None:
        raise EntryNotFound(f"no list entry {entry_id!r}")
    found = dict(row._mapping)
    if own_subject is not None and surviving_subject(conn, found["subject_id"]) != (
        surviving_subject(conn, own_subject)
    ):
        raise EntryNotFound(f"no list entry {entry_id!r}")
    return found


def _move(conn: Connection, entry_id: str, was: str, changes: dict) -> None:
    """Apply `changes` only if the entry is still in state `was` (another request may have
    moved it since it was read)."""
    done = conn.execute(
        update(list_entries)
        .where(list_entries.c.entry_id == entry_id, list_entries.c.status == was)
        .values(**changes)
    )
    if done.rowcount != 1:
        raise ListConflict(f"list entry {entry_id!r} changed meanwhile; read it again")


def _close_ended(conn: Connection, list_id: str, *, subject_ids: list[str], today: date) -> None:
    """Store `ended` for the file's listed entries on `list_id` whose term is over, so a new
    proposal is not refused for an entry that no longer holds."""
    conn.execute(
        update(list_entries)
        .where(
            list_entries.c.list_id == list_id,
            list_entries.c.subject_id.in_(subject_ids),
            list_entries.c.status == "listed",
            list_entries.c.ends_on <= today,
        )
        .values(status="ended")
    )


def _reread(conn: Connection, entry_id: str, today: date) -> ListEntryPublic:
    row = conn.execute(select(list_entries).where(list_entries.c.entry_id == entry_id)).one()
    return entry_public(dict(row._mapping), today)


def _tell(
    conn: Connection, shown: ListEntryPublic, action: str, actor: str, now: datetime, **extra
) -> None:
    """The audit entry of a step and the subject's notice, in the caller's transaction. The
    chain and the notice carry no free text (only HMACs in the chain)."""
    subject_id = surviving_subject(conn, shown.subject_id)
    body = {
        "entry_id": shown.entry_id,
        "list_id": shown.list_id,
        "status": shown.status,
        "objection_ends_on": shown.objection_ends_on.isoformat(),
        "listed_on": shown.listed_on.isoformat() if shown.listed_on else None,
        "ends_on": shown.ends_on.isoformat() if shown.ends_on else None,
        "furnisher_id": shown.furnisher_id,
        "record_id": shown.record_id,
        "removal_reason": shown.removal_reason,
    }
    audit.append(
        conn, actor=actor, action=action, subject_id=subject_id, purpose=PURPOSE,
        payload={**body, **extra}, occurred_at=now,
    )  # fmt: skip
    notice = {k: v for k, v in body.items() if v is not None}
    conn.execute(insert(outbox_table).values(**outbox.notice_row(subject_id, "list", notice, now)))
