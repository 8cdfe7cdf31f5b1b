"""List use cases: an operator proposes an entry citing a finding, the subject is told and may
object, a second operator decides, and the entry ends at its term or is removed early. A
relying party asks whether a measure may apply to a subject. Every step is audited and tells
the subject through the outbox. Rules: lists/rules.py; the process: docs/lists.md."""

from __future__ import annotations

import json
import logging
import os
import secrets
from collections.abc import Collection, Iterable
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Connection, Engine, and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from openbureau import freetext
from openbureau.access.rules import Caller
from openbureau.audit import service as audit
from openbureau.bootstrap import Bureau
from openbureau.identity import state as identity_state
from openbureau.inquiries import outbox
from openbureau.inquiries.service import record_refusal
from openbureau.lists import rules
from openbureau.lists.model import (
    Citation,
    ListEntryPublic,
    MeasureAnswer,
    entry_public,
    measure_public,
)
from openbureau.reports.model import RecordView, in_utc
from openbureau.reports.reads import (
    MAX_MERGE_HOPS,
    subject_and_merged_ids,
    subject_row,
    surviving_subject,
)
from openbureau.reports.service import build_report, file_rows, live_subject
from openbureau.storage.lake import Lake
from openbureau.storage.ledger import disputes, inquiries, list_entries, subjects
from openbureau.storage.ledger import outbox as outbox_table

log = logging.getLogger(__name__)

#: The purpose the audit chain records for list handling.
PURPOSE = "list-due-process"
#: The inquiry purpose a measure check is shown under in "who looked at my file".
CHECK_PURPOSE = "measure_check"
#: How the audit chain names the bureau's own check that a file still bears an entry out.
EVIDENCE_CHECK = "bureau:evidence-check"


class ListError(ValueError):
    """An entry that cannot be proposed, objected to, decided or removed; the message says
    why."""


class ListConflict(ListError):
    """The subject already has an entry on that list, or the entry moved on meanwhile."""


class MeasureRefused(ListError):
    """The caller's kind of party does not apply the measure it asked about."""


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
    name_representative: bool = False,
    caller: Caller,
    now: datetime,
) -> ListEntryPublic:
    """Propose putting the subject on a list. A black list entry cites a record shown in the
    subject's file today that meets the list's criteria (and is not under dispute); a red
    list entry cites an authority's decision. Either way the finding's term must outlast the
    objection window. With `name_representative`, an organisation's entry on a list whose
    law publishes it names the legal representative its file gives today. The subject is
    told at once and may object until `objection_ends_on`. Raises SubjectNotFound,
    SubjectMerged, ListConflict (an entry on that list already open for the file) or
    ListError (why the entry cannot be proposed)."""
    definition = _definition(list_id)
    _text("the grounds", grounds)
    today = utc_day(now)
    window = rules.objection_ends_on(definition, today)
    with bureau.ledger.connect() as conn:
        kind = live_subject(conn, subject_id)["subject_kind"]
    representative = None
    if name_representative:
        representative = _representative(bureau, definition, subject_id, kind, today)
    cited, ends = _cited(
        bureau, definition, subject_id, today,
        furnisher_id=furnisher_id, record_id=record_id, authority=authority,
        decision_reference=decision_reference, decision_date=decision_date,
    )  # fmt: skip
    if ends <= window + timedelta(days=1):  # approval comes the day after the window, at best
        raise ListError(
            f"the finding's term ends on {ends.isoformat()}, before an entry could be approved "
            f"(the subject may object until {window.isoformat()}): it could list nobody"
        )
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
        "objection_ends_on": window,
        "status": "proposed",
        "legal_representative": representative,
    }
    conflict = ListConflict(
        f"{subject_id} already has an entry on {list_id} that is proposed or listed; see its "
        "list entries"
    )
    try:
        with bureau.ledger.begin() as conn:
            audit.lock_chain(conn)  # chain first, then rows: one lock order for every writer
            live_subject(conn, subject_id)  # not merged meanwhile
            ids = subject_and_merged_ids(conn, subject_id)
            _close_ended(conn, list_id, subject_ids=ids, today=today)
            # the index holds one open entry per id; a file may hold several ids (merges)
            if conn.execute(
                select(list_entries.c.entry_id).where(
                    list_entries.c.list_id == list_id,
                    list_entries.c.subject_id.in_(ids),
                    list_entries.c.status.in_(rules.OPEN_STATES),
                )
            ).first():
                raise conflict
            conn.execute(insert(list_entries).values(**row))
            shown = _reread(conn, row["entry_id"], today)
            named = {}
            if representative is not None:  # the name stays out of the chain too
                named["legal_representative_hmac"] = freetext.digest(row["salt"], representative)
            _tell(conn, shown, "list.propose", caller.actor, now,
                  grounds_hmac=freetext.digest(row["salt"], grounds), **named)  # fmt: skip
    except IntegrityError as exc:  # another request proposed one first
        raise conflict from exc
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
) -> tuple[dict, date]:
    """The columns naming what the entry rests on, after checking it qualifies, and the
    first day the entry would no longer hold."""
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
        ends = rules.entry_ends_on(definition, None, {}, decision_date=decision_date)
        if ends <= today:
            raise ListError(
                f"a decision of {decision_date.isoformat()} no longer holds: the list's term "
                f"is {definition.term_months} months"
            )
        columns = {
            "authority": authority, "decision_reference": decision_reference,
            "decision_date": decision_date, "term_months": definition.term_months,
        }  # fmt: skip
        return columns, ends
    if any(v is not None for v in decision):
        raise ListError(f"{definition.list_id} rests on a record of the file, not a decision")
    if not furnisher_id or not record_id:
        raise ListError(f"{definition.list_id} needs the cited record: its furnisher and id")
    record, ends = _qualifying(
        definition, _file_records(bureau, subject_id, today), furnisher_id, record_id, today
    )
    columns = {
        "furnisher_id": furnisher_id, "record_id": record_id,
        "record_type": record.record_type,
        "case_number": rules.link_value(definition, record.record_type, record.fields),
        "term_months": rules.term_months(definition, record.record_type, record.fields),
    }  # fmt: skip
    return columns, ends


def _representative(
    bureau: Bureau, definition: rules.ListDefinition, subject_id: str, kind: str, today: date
) -> str:
    """The legal representative an organisation's entry names: the one its file's newest
    profile gives today. Raises ListError where the entry cannot name one."""
    name = None
    if definition.names_representative and kind == rules.ORGANISATION:
        name = _file_representative(_file_records(bureau, subject_id, today))
    problem = rules.representative_problem(definition, kind, name)
    if problem:
        raise ListError(problem)
    assert name is not None
    return name


def _file_representative(records: list[RecordView]) -> str | None:
    """The legal representative a file's records give (`rules.newest_representative`): its
    profiles shown today, none under dispute (a name the subject contests is not published)."""
    name = rules.newest_representative(
        (r.reported_on, r.fields.get("legal_representative"))  # type: ignore[misc]
        for r in records
        if r.record_type == "profile" and r.under_dispute is None
    )
    return name[:200] if name else None


def _file_records(bureau: Bureau, subject_id: str, today: date) -> list[RecordView]:
    """The records the subject's file shows today (the newest versions, none deleted)."""
    return build_report(bureau, subject_id, today, holder_view=False).records


def _standing(
    definition: rules.ListDefinition,
    records: list[RecordView],
    furnisher_id: str,
    record_id: str,
    today: date,
) -> tuple[RecordView | None, tuple[str, str] | None, date | None]:
    """The cited record as the file shows it, why an entry cannot rest on it (as removal
    reason and words; None while it can), and the first day an entry resting on it no longer
    holds, worked out from the record as it is now (a court may correct a finding's term)."""
    mine = [r for r in records if r.furnisher.furnisher_id == furnisher_id]
    record = next((r for r in mine if r.record_id == record_id), None)
    if record is None:
        words = (
            f"no record {record_id!r} from furnisher {furnisher_id!r} is shown in the file today"
        )
        return None, ("evidence_changed", words), None
    others = [(r.record_type, r.fields) for r in mine if r is not record]
    problem = rules.standing_problem(definition, record.record_type, record.fields, others)
    if problem:
        return record, problem, None
    try:
        ends = rules.entry_ends_on(
            definition, record.record_type, record.fields, record_expires_on=record.expires_on
        )
    except ValueError as exc:  # a finding without its date
        return record, ("evidence_changed", str(exc)), None
    if ends <= today:
        return record, ("evidence_changed", f"the finding's term ended on {ends.isoformat()}"), ends
    return record, None, ends


def _qualifying(
    definition: rules.ListDefinition,
    records: list[RecordView],
    furnisher_id: str,
    record_id: str,
    today: date,
) -> tuple[RecordView, date]:
    """The cited record and the entry's end; raises ListError unless the record is shown,
    meets the list's criteria, its obligation is unperformed, its term is not over, and it
    is not under dispute."""
    record, problem, ends = _standing(definition, records, furnisher_id, record_id, today)
    if problem:
        raise ListError(problem[1])
    assert record is not None and ends is not None
    if record.under_dispute is not None:
        raise ListError(
            f"record {record_id!r} is under dispute ({record.under_dispute.dispute_id}): "
            "an entry cannot rest on it until its furnisher answers"
        )
    return record, ends


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
        audit.lock_chain(conn)  # chain first, then rows: one lock order for every writer
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
    """A second operator's decision, once the objection window has closed. Approval lists
    the subject from today until the finding's term ends; for a black list it needs the
    cited record still shown, still qualifying and not under dispute."""
    _text("the note", note)
    today = utc_day(now)
    with bureau.ledger.connect() as conn:
        found = _entry_of(conn, entry_id, None)
        subject_id = surviving_subject(conn, found["subject_id"])
    problem = rules.decision_problem(
        found["status"], approve, proposed_by_party=found["proposed_party"],
        deciding_party=caller.party_id, window_ends=found["objection_ends_on"], today=today,
    )  # fmt: skip
    if problem:
        raise (ListConflict if found["status"] not in rules.PENDING else ListError)(problem)
    definition = rules.LISTS[found["list_id"]]
    ends = None
    named = found["legal_representative"]
    if approve:
        records = None
        if definition.needs_decision:
            ends = rules.entry_ends_on(definition, None, {}, decision_date=found["decision_date"])
            if ends <= today:
                raise ListError(f"the entry cannot be approved: its term ended on {ends}")
        else:
            records = _file_records(bureau, subject_id, today)
            try:
                _, ends = _qualifying(
                    definition, records, found["furnisher_id"], found["record_id"], today
                )
            except ListError as exc:
                raise ListError(f"the entry cannot be approved: {exc}") from exc
        if named is not None:
            # the name is published from approval: only while the file still gives it (a
            # profile deleted, disputed or replaced since the proposal takes it off)
            records = records if records is not None else _file_records(bureau, subject_id, today)
            if _file_representative(records) != named:
                named = None
    with bureau.ledger.begin() as conn:
        audit.lock_chain(conn)  # chain first, then rows: one lock order for every writer
        # again, in the transaction that writes: the entry may have moved on meanwhile (a
        # batch lifted it, another operator decided), and a dispute may have been opened
        was = found["status"]
        found = _entry_of(conn, entry_id, None)
        if found["status"] != was:
            raise ListConflict(f"list entry {entry_id!r} changed meanwhile: it is now "
                               f"{found['status']}")  # fmt: skip
        if approve and found["record_id"] and _open_dispute(conn, found):
            raise ListError("the entry cannot be approved: its record is now under dispute")
        changes: dict = {
            "decided_at": now, "decided_by": caller.actor, "decision_note": _kept(found, note),
            "status": "listed" if approve else "rejected",
        }  # fmt: skip
        unnamed = {}
        if approve:
            changes |= {"listed_on": today, "ends_on": ends}
            if found["legal_representative"] is not None and named is None:
                changes["legal_representative"] = None
                unnamed["legal_representative_withdrawn"] = True
        _move(conn, entry_id, found["status"], changes)
        shown = _reread(conn, entry_id, today)
        _tell(conn, shown, "list.decide", caller.actor, now, approved=approve,
              note_hmac=freetext.digest(found["salt"], note), **unnamed)  # fmt: skip
    return shown


def _open_dispute(conn: Connection, found: dict) -> bool:
    return (
        conn.execute(
            select(disputes.c.dispute_id).where(
                disputes.c.furnisher_id == found["furnisher_id"],
                disputes.c.record_id == found["record_id"],
                disputes.c.status == "open",
            )
        ).first()
        is not None
    )


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
        audit.lock_chain(conn)  # chain first, then rows: one lock order for every writer
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
    conn: Connection, removals: list[tuple[str, str]], *, actor: str, now: datetime
) -> list[str]:
    """Take these (entry id, reason) off their lists in the caller's transaction, each only
    if still open (another request may have removed or decided it meanwhile: then it is left
    as that request left it), and tell each subject. Returns the entries removed."""
    today = utc_day(now)
    removed = []
    for entry_id, reason in removals:
        done = conn.execute(
            update(list_entries)
            .where(
                list_entries.c.entry_id == entry_id,
                # pending, or listed and not yet ended (an ended entry stays ended)
                or_(
                    list_entries.c.status.in_(rules.PENDING),
                    and_(list_entries.c.status == "listed", list_entries.c.ends_on > today),
                ),
            )
            .values(**_removal(reason, None, actor, now))
        )
        if done.rowcount != 1:
            continue
        shown = _reread(conn, entry_id, today)
        _tell(conn, shown, "list.remove", actor, now, reason=reason)
        removed.append(entry_id)
    return removed


def clear_record(
    conn: Connection, furnisher_id: str, record_id: str, reason: str, *, actor: str,
    now: datetime,
) -> list[str]:  # fmt: skip
    """Take off every open entry resting on this record (a dispute's answer deleted it), in
    the caller's transaction."""
    ids = conn.execute(
        select(list_entries.c.entry_id).where(
            list_entries.c.furnisher_id == furnisher_id,
            list_entries.c.record_id == record_id,
            list_entries.c.status.in_(rules.OPEN_STATES),
        )
    ).scalars()
    return clear_entries(conn, [(e, reason) for e in ids], actor=actor, now=now)


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


def _owners(conn: Connection, subject_ids: Iterable[str]) -> dict[str, str]:
    """The surviving id of each of `subject_ids`, following chains of merges, with one query
    per hop and thousand ids rather than one per id (reads.surviving_subject)."""
    owner = {s: s for s in subject_ids}
    open_ids = set(owner)
    for _ in range(MAX_MERGE_HOPS):
        step: dict[str, str] = {}
        ids = sorted(open_ids)
        for i in range(0, len(ids), 1000):
            query = select(subjects.c.subject_id, subjects.c.merged_into).where(
                subjects.c.subject_id.in_(ids[i : i + 1000]), subjects.c.merged_into.is_not(None)
            )
            step.update({a: b for a, b in conn.execute(query).all()})
        if not step:
            return owner
        for s, current in owner.items():
            owner[s] = step.get(current, current)
        open_ids = set(step.values())
    raise RuntimeError(f"a merge chain is longer than {MAX_MERGE_HOPS}")


def open_entry_records(engine: Engine, since: datetime | None = None) -> list[tuple[str, str, str]]:
    """(file, furnisher_id, record_id) of every open entry resting on a record (with
    `since`, only those proposed then or later), the file being the entry's surviving
    subject id: what a purge or a resolve looks for among the records it removes or brings."""
    query = select(
        list_entries.c.subject_id, list_entries.c.furnisher_id, list_entries.c.record_id
    ).where(list_entries.c.status.in_(rules.OPEN_STATES), list_entries.c.record_id.is_not(None))
    if since is not None:
        query = query.where(list_entries.c.proposed_at >= since)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
        files = _owners(conn, {r.subject_id for r in rows})
    return [(files[r.subject_id], r.furnisher_id, r.record_id) for r in rows]


def files_citing(
    bureau: Bureau,
    con,
    records_sql: str,
    params: list | None = None,
    since: datetime | None = None,
) -> set[str]:
    """The files (surviving subject ids) of the open entries (with `since`, those proposed
    then or later) resting on a record that `records_sql`, a DuckDB query on `con` giving
    (furnisher_id, record_id), names: the records a purge removes, or those the batches a
    resolve reads bring a version of."""
    cited = open_entry_records(bureau.ledger, since)
    if not cited:
        return set()
    files, furnishers, records = (list(c) for c in zip(*cited, strict=True))
    con.register("cited", pa.table({"file": files, "furnisher_id": furnishers,
                                    "record_id": records}))  # fmt: skip
    try:
        rows = con.execute(
            f"SELECT DISTINCT c.file FROM cited c SEMI JOIN ({records_sql}) r "
            "ON r.furnisher_id = c.furnisher_id AND r.record_id = c.record_id",
            params or [],
        ).fetchall()
    finally:
        con.unregister("cited")
    return {f for (f,) in rows}


def entries_to_clear(
    bureau: Bureau,
    today: date,
    *,
    furnisher_id: str | None = None,
    record_ids: Iterable[str] | None = None,
    case_numbers: Iterable[str] = (),
    reasons: frozenset[str] = frozenset({"satisfied", "evidence_changed"}),
    files: Collection[str] | None = None,
    unread: list[str] | None = None,
) -> list[tuple[str, str]]:
    """The open entries (of one furnisher's records or cases, or all) that their files no
    longer bear out today, with the reason: the finding lifted or its judgment paid
    (`satisfied`), or the record corrected out of the criteria or its term, moved to another
    file or past its end (`evidence_changed`); only those whose reason is in `reasons`, and
    with `files`, only the entries of those files (surviving subject ids). Each file is read
    once (its report). A file that cannot be read (merged meanwhile, a lake error) is logged,
    added to `unread` when given, and its entries left as they are."""
    query = select(list_entries).where(
        list_entries.c.status.in_(rules.OPEN_STATES), list_entries.c.record_id.is_not(None)
    )
    if furnisher_id is not None:
        query = query.where(list_entries.c.furnisher_id == furnisher_id)
    if record_ids is not None:
        query = query.where(
            or_(
                list_entries.c.record_id.in_(list(record_ids)),
                list_entries.c.case_number.in_(list(case_numbers)),
            )
        )
    with bureau.ledger.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
        survivors = _owners(conn, {r["subject_id"] for r in rows})
        owner = {r["entry_id"]: survivors[r["subject_id"]] for r in rows}
        if files is not None:  # noted ids a resolve may have merged since: their survivors
            files = set(_owners(conn, files).values())
    removals = []
    wanted = set(owner.values()) if files is None else set(owner.values()) & set(files)
    for subject_id in sorted(wanted):
        try:
            records = _file_records(bureau, subject_id, today)
        except Exception:  # noqa: BLE001 - list bookkeeping must never fail the caller's work
            log.warning("list entries of %s not checked: its file could not be read", subject_id,
                        exc_info=True)  # fmt: skip
            if unread is not None:
                unread.append(subject_id)
            continue
        for row in (r for r in rows if owner[r["entry_id"]] == subject_id):
            if rules.shown_status(row["status"], row["ends_on"], today) == "ended":
                continue
            _, problem, _ = _standing(
                rules.LISTS[row["list_id"]], records, row["furnisher_id"], row["record_id"],
                today,
            )  # fmt: skip
            if problem and problem[0] in reasons:
                removals.append((row["entry_id"], problem[0]))
    return removals


#: The files whose list entries still wait for a check after a resolve or a purge
#: (`note_pending`), in the lake's root: written before either changes anything, cleared by
#: the check that decides them.
PENDING_FILE = "lists-pending.json"


def note_pending(lake: Lake, subjects: Iterable[str] | None) -> None:
    """Before a resolve publishes its links or a purge removes records: the files it changes
    (`subjects`, subject ids; None for every file), whose entries `reconcile(...,
    pending_only=True)` checks after it. Kept in a file beside the records until a check
    decides them, so a run that stops before its check, or a check that fails or cannot read
    a file, leaves them for the next. The caller holds the lake's identity lock."""
    _write_pending(lake, _merge(_read_pending(lake), None if subjects is None else set(subjects)))


def _read_pending(lake: Lake) -> set[str] | None:
    """The files waiting (None: all of them)."""
    path = lake.root / PENDING_FILE
    if not path.exists():
        return set()
    try:
        found = json.loads(path.read_text())
        return None if found["all"] else set(found["subjects"])
    except (ValueError, KeyError, TypeError):
        # unreadable (a disk fault): nothing is lost by checking every file instead
        log.warning("%s is unreadable: every open list entry will be checked", path)
        return None


def _write_pending(lake: Lake, pending: set[str] | None) -> None:
    path = lake.root / PENDING_FILE
    if pending is not None and not pending:
        path.unlink(missing_ok=True)
        return
    body = {"all": True} if pending is None else {"all": False, "subjects": sorted(pending)}
    lake.root.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w") as handle:
        handle.write(json.dumps(body))
        handle.flush()
        os.fsync(handle.fileno())  # on disk before it replaces the note it extends
    os.replace(tmp, path)


def _merge(a: set[str] | None, b: set[str] | None) -> set[str] | None:
    return None if a is None or b is None else a | b


def reconcile(
    bureau: Bureau, *, actor: str, now: datetime, pending_only: bool = False
) -> list[str]:
    """Check open entries against their files as they are now, and take off those the files
    no longer bear out (after a resolve moved records between files, after a purge): every
    open entry, or with `pending_only` only those of the files a resolve or a purge noted
    (`note_pending`, mapped to their surviving ids); and take a legal representative's name
    off the entries that stay where the file no longer gives it (`withdraw_names`). Returns
    the entries removed; two ledger queries when there is nothing to check.
    The caller holds the lake's identity lock: the links and the ledger must agree while
    files are read (a merge being published would show a file without the merged id's
    records).

    An entry leaves as `evidence_changed` only while every record file in the lake has been
    through a resolve: a batch not yet resolved may hold a version of the finding that its
    file cannot place yet (a new address), and until it is placed, only a lift is certain.
    So a check that could not decide everything leaves pending for the next what it could
    not: all it was asked to check while batches are not yet resolved, else the files it
    could not read."""
    lake = bureau.lake
    waiting = _read_pending(lake)
    scope = waiting if pending_only else None
    if scope is not None and not scope:
        return []
    _write_pending(lake, _merge(waiting, scope))  # kept until this check completes
    settled = _all_resolved(bureau)
    unread: list[str] = []
    removals = entries_to_clear(
        bureau, utc_day(now),
        reasons=frozenset({"satisfied", "evidence_changed"} if settled else {"satisfied"}),
        files=scope, unread=unread,
    )  # fmt: skip
    if settled and not _all_resolved(bureau):  # a batch landed while the files were read
        removals = [(e, reason) for e, reason in removals if reason == "satisfied"]
        settled = False
    removed: list[str] = []
    if removals:
        with bureau.ledger.begin() as conn:
            audit.lock_chain(conn)  # chain first, then rows: one lock order for every writer
            removed = clear_entries(conn, removals, actor=actor, now=now)
    # a name the file no longer bears out comes off the entries that stay (taking a name
    # off only ever spares a person, so no need to wait for every batch to be resolved)
    for subject_id in sorted(_named_files(bureau, scope) - set(unread)):
        withdraw_names_quietly(bureau, subject_id, actor=actor, now=now)
    if settled:  # decided, but for the files it could not read (noted under the same lock)
        _write_pending(lake, set(unread))
    return removed


#: The audit action of a legal representative's name taken off an entry (`withdraw_names`).
NAME_WITHDRAWN = "list.representative_withdrawn"


def withdraw_names(bureau: Bureau, subject_id: str, *, actor: str, now: datetime) -> list[str]:
    """Take the legal representative's name off the file's open entries where the file no
    longer gives that name (its profile deleted, disputed, moved to another file, or a newer
    one naming someone else): a name is published only while the file bears it out. A name
    is never put back or replaced here (that takes a new proposal). Returns the entries
    changed; one ledger query when the file has no named entry."""
    named = (
        list_entries.c.status.in_(rules.OPEN_STATES),
        list_entries.c.legal_representative.is_not(None),
    )
    with bureau.ledger.connect() as conn:
        ids = subject_and_merged_ids(conn, subject_id)
        rows = conn.execute(
            select(list_entries.c.entry_id, list_entries.c.legal_representative).where(
                list_entries.c.subject_id.in_(ids), *named
            )
        ).all()
        if not rows:
            return []
        survivor = surviving_subject(conn, subject_id)
    current = _file_representative(_file_records(bureau, survivor, utc_day(now)))
    stale = [r.entry_id for r in rows if r.legal_representative != current]
    withdrawn = []
    if stale:
        with bureau.ledger.begin() as conn:
            audit.lock_chain(conn)  # chain first, then rows: one lock order for every writer
            for entry_id in stale:
                done = conn.execute(
                    update(list_entries)
                    .where(list_entries.c.entry_id == entry_id, *named)
                    .values(legal_representative=None)
                )
                if done.rowcount == 1:
                    _tell(conn, _reread(conn, entry_id, utc_day(now)), NAME_WITHDRAWN, actor, now)
                    withdrawn.append(entry_id)
    return withdrawn


def withdraw_names_quietly(bureau: Bureau, subject_id: str, *, actor: str, now: datetime) -> None:
    """`withdraw_names` after work already committed (a dispute, a resolve): a failure is
    logged, never raised; the next check of the file (a resolve's, `openbureau lists
    reconcile`) takes the name off then."""
    try:
        withdraw_names(bureau, subject_id, actor=actor, now=now)
    except Exception:  # noqa: BLE001 - see the docstring
        log.warning("the names on the list entries of %s not checked", subject_id, exc_info=True)


def _named_files(bureau: Bureau, files: Collection[str] | None) -> set[str]:
    """The files (surviving ids) among `files` (None: all) with an open entry naming a legal
    representative."""
    query = select(list_entries.c.subject_id).where(
        list_entries.c.status.in_(rules.OPEN_STATES),
        list_entries.c.legal_representative.is_not(None),
    )
    with bureau.ledger.connect() as conn:
        owners = set(_owners(conn, set(conn.execute(query).scalars())).values())
        if files is not None:
            owners &= set(_owners(conn, files).values())
    return owners


def _all_resolved(bureau: Bureau) -> bool:
    """Whether the last resolve covered every record file now in the lake (the links file's
    metadata lists the files it resolved; read without the links themselves)."""
    lake = bureau.lake
    files = set(identity_state.relative(lake, lake.record_files()))
    if not lake.links_path.exists():
        return not files
    meta = pq.read_schema(lake.links_path).metadata or {}
    return files <= set(json.loads(meta.get(identity_state.RESOLVED_KEY, b"[]")))


def reconcile_quietly(bureau: Bureau, *, pending_only: bool = False) -> list[str]:
    """`reconcile` as the bureau's own work after a resolve or a purge (actor
    `operator-local`): a failure is logged, never raised, so it cannot undo or hide the work
    already published; the entries it was to check stay pending for the next check, and
    every measure check re-checks the entries it rests on anyway."""
    try:
        return reconcile(
            bureau, actor=audit.LOCAL_OPERATOR, now=datetime.now(UTC), pending_only=pending_only
        )
    except Exception:  # noqa: BLE001 - see the docstring
        log.warning("list entries not checked against their files", exc_info=True)
        return []


def subject_entries(engine: Engine, subject_id: str, today: date) -> list[ListEntryPublic]:
    """Every entry of the subject's file (ids merged into it included), oldest first.
    Raises SubjectNotFound, or SubjectMerged for an id merged into another."""
    order = (list_entries.c.proposed_at, list_entries.c.entry_id)
    return [entry_public(row, today) for row in file_rows(engine, list_entries, subject_id, *order)]


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


def record_measure_refusal(
    bureau: Bureau, subject_id: str, refused: MeasureRefused, *, caller: Caller, now: datetime
) -> None:
    """Tell the holder of the file `subject_id` names (if any) that `caller` asked about a
    measure it does not apply, and audit it (`inquiries.service.record_refusal`). Run after
    the refusal has been answered (the API does it once the response is sent), so that
    neither the answer nor its timing depends on whether the subject exists. Never raises."""
    try:
        with bureau.ledger.connect() as conn:
            target = subject_row(conn, subject_id) and surviving_subject(conn, subject_id)
    except Exception:  # noqa: BLE001 - the refusal stands; recording it is best effort
        log.warning("a refused measure check could not be recorded", exc_info=True)
        return
    if target:
        reason = str(refused)
        record_refusal(bureau, caller, target, CHECK_PURPOSE, "measure-refused", reason, now)


def check_measure(
    bureau: Bureau, subject_id: str, measure: str, *, caller: Caller, now: datetime
) -> MeasureAnswer:
    """May `measure` apply to the subject today? Yes only while the subject (its file, ids
    merged into it included) is listed on a list naming the measure, and, for a black list,
    while its file still shows the finding the entry rests on, unperformed and within its
    term (an entry the file no longer bears out is taken off here and now). The answer cites
    each entry with the list's and the measure's legal basis, and says when the finding is
    under dispute. The check is an access to the file: it is recorded as an inquiry (purpose
    measure_check, soft: never in the score), told to the subject, and audited. Raises
    ListError for an unknown measure, MeasureRefused when the caller's kind of party does
    not apply the measure (nothing read or recorded: the caller then records the attempt
    with `record_measure_refusal`), SubjectNotFound or SubjectMerged."""
    found = rules.MEASURES.get(measure)
    if found is None:
        raise ListError(f"unknown measure {measure!r}; known: {', '.join(rules.MEASURES)}")
    refusal = rules.measure_refusal(found, caller.party_kind)
    if refusal:
        # nothing read: the same answer whether or not the subject exists; the caller
        # records the attempt afterwards (`record_measure_refusal`)
        raise MeasureRefused(refusal)
    today = utc_day(now)
    with bureau.ledger.connect() as conn:
        live_subject(conn, subject_id)
        ids = subject_and_merged_ids(conn, subject_id)
        rows = [
            r
            for r in conn.execute(
                select(list_entries)
                .where(list_entries.c.subject_id.in_(ids), list_entries.c.status == "listed")
                .order_by(list_entries.c.listed_on, list_entries.c.entry_id)
            )
            if rules.shown_status(r.status, r.ends_on, today) == "listed"
            and any(m.name == measure for m in rules.LISTS[r.list_id].measures)
        ]
    records = _file_records(bureau, subject_id, today) if any(r.record_id for r in rows) else []
    citations, removals = [], []
    for r in rows:
        definition = rules.LISTS[r.list_id]
        disputed = False
        if r.record_id is not None:
            record, problem, _ = _standing(definition, records, r.furnisher_id, r.record_id, today)
            if problem:
                # no measure rests on a finding the file does not bear out; a lifted or paid
                # one takes the entry off now, anything else waits for the next resolve's
                # check (a file may be read mid-merge, before its links are published)
                if problem[0] == "satisfied":
                    removals.append((r.entry_id, problem[0]))
                continue
            disputed = record is not None and record.under_dispute is not None
        named = next(m for m in definition.measures if m.name == measure)
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
                finding_under_dispute=disputed,
            )  # fmt: skip
        )
    with bureau.ledger.begin() as conn:
        audit.lock_chain(conn)  # chain first, then rows: one lock order for every writer
        clear_entries(conn, removals, actor=EVIDENCE_CHECK, now=now)
        # every writer of entries holds the chain's lock: what is listed now stays so until
        # this commits; an entry removed while the file was read is not cited
        cited = [c.entry_id for c in citations]
        still = set(
            conn.execute(
                select(list_entries.c.entry_id).where(
                    list_entries.c.entry_id.in_(cited),
                    list_entries.c.status == "listed",
                    list_entries.c.ends_on > today,
                )
            ).scalars()
        )
        citations = [c for c in citations if c.entry_id in still]
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
