"""Black and red lists: the published definitions, entries through due process (an operator
proposes, the subject may object, a second operator decides, the entry ends or is removed),
and relying parties' measure checks. See docs/lists.md."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.background import BackgroundTask

from openbureau.access.rules import Caller, permits
from openbureau.api.deps import (
    BureauDep,
    CallerDep,
    Forbidden,
    ReaderDep,
    SubjectId,
    require,
)
from openbureau.api.problems import KEY_PROBLEMS, SUBJECT_PROBLEMS, problem_doc, refusal
from openbureau.api.schemas import LETTER_PATTERN, SUBJECT_ID_PATTERN, TEXT_PATTERN
from openbureau.lists import rules
from openbureau.lists.model import ListEntryPublic, ListPublic, MeasureAnswer, list_public
from openbureau.lists.service import (
    EntryNotFound,
    ListConflict,
    ListError,
    MeasureRefused,
    all_entries,
    check_measure,
    decide_entry,
    object_to_entry,
    propose_entry,
    record_listing,
    record_measure_refusal,
    remove_entry,
    subject_entries,
    utc_day,
)
from openbureau.reports.service import SubjectMerged

router = APIRouter(
    prefix="/v1/lists",
    tags=["lists"],
    responses={**KEY_PROBLEMS, 422: problem_doc("Malformed request; `detail` says why.")},
)
entries_router = APIRouter(
    prefix="/v1/list-entries",
    tags=["lists"],
    responses={**KEY_PROBLEMS, 422: problem_doc("Malformed request; `detail` says why.")},
)
subjects_router = APIRouter(prefix="/v1/subjects", tags=["lists"], responses=SUBJECT_PROBLEMS)

ListId = Literal[tuple(rules.LISTS)]  # type: ignore[valid-type]
MeasureName = Literal[tuple(rules.MEASURES)]  # type: ignore[valid-type]
RemovalReason = Literal[rules.OPERATOR_REASONS]  # type: ignore[valid-type]
ENTRY_ID_PATTERN = r"^e[0-9a-f]{24}$"
EntryId = Annotated[str, Path(pattern=ENTRY_ID_PATTERN)]
_Letter = Annotated[str, Field(min_length=1, max_length=rules.MAX_TEXT, pattern=LETTER_PATTERN)]
_Line = Annotated[str, Field(min_length=1, max_length=200, pattern=TEXT_PATTERN)]


class _Strict(BaseModel):
    # a field this route does not know is refused, not silently ignored
    model_config = ConfigDict(extra="forbid")


class EntryCreate(_Strict):
    subject_id: str = Field(pattern=SUBJECT_ID_PATTERN)
    grounds: _Letter = Field(description="Why the subject meets the list's criteria.")
    furnisher_id: str | None = Field(
        default=None, max_length=64, pattern=TEXT_PATTERN,
        description="Black lists: the cited record's source.",
    )  # fmt: skip
    record_id: str | None = Field(
        default=None, max_length=255, pattern=TEXT_PATTERN,
        description="Black lists: the cited record's id, as the report shows it.",
    )  # fmt: skip
    authority: _Line | None = Field(default=None, description="Red lists: who decided.")
    decision_reference: _Line | None = Field(default=None, description="Red lists.")
    decision_date: date | None = Field(default=None, description="Red lists.")
    name_representative: bool = Field(
        default=False,
        description="Name the organisation's legal representative on its entry, as its "
        "file gives it, where the list's law publishes the name (judgment defaulters, major "
        "tax violation cases).",
    )


class Objection(_Strict):
    objection: _Letter = Field(description="Why the subject should not be listed.")


class Decision(_Strict):
    approve: bool = Field(description="true lists the subject for the entry's term.")
    note: _Letter = Field(description="The decision's reasons, read by the subject.")


class Removal(_Strict):
    reason: RemovalReason = Field(  # type: ignore[valid-type]
        description="satisfied, revoked, repaired (credit repair) or error."
    )
    note: _Letter = Field(description="What shows it, read by the subject.")


class EntryFilter(_Strict):
    status: Literal[rules.STATES] | None = Field(  # type: ignore[valid-type]
        default=None, description="Only entries shown in this state today."
    )
    list_id: ListId | None = Field(default=None)  # type: ignore[valid-type]


_REFUSED = {
    409: problem_doc("An entry on the list is already open, or the entry moved on."),
    422: problem_doc("The step is not allowed now; detail says why."),
}
_ENTRY = {**_REFUSED, 404: problem_doc("No such list entry (among the caller's).")}

ManagerDep = Annotated[Caller, Depends(require("lists:manage"))]


@router.get("", summary="The published lists")
def read_lists(caller: CallerDep) -> list[ListPublic]:
    """Every list's criteria, legal basis, term, objection window, credit repair and
    measures: nothing about a list is secret."""
    return [list_public(d) for d in rules.LISTS.values()]


@router.get("/{list_id}", summary="One published list")
def read_list(list_id: ListId, caller: CallerDep) -> ListPublic:  # type: ignore[valid-type]
    return list_public(rules.LISTS[list_id])


@router.post(
    "/{list_id}/entries",
    status_code=201,
    summary="Propose a list entry",
    responses={**_REFUSED, 404: problem_doc("No such subject.")},
)
def propose(
    list_id: ListId,  # type: ignore[valid-type]
    body: EntryCreate,
    request: Request,
    bureau: BureauDep,
    caller: ManagerDep,
) -> ListEntryPublic:
    """An operator proposes putting a subject on a list, citing the finding: a record shown
    in the subject's file (black lists) or an authority's decision (red lists). The subject
    is told at once and may object until `objection_ends_on`; a second operator decides."""
    try:
        return propose_entry(
            bureau, list_id, body.subject_id, body.grounds,
            furnisher_id=body.furnisher_id, record_id=body.record_id,
            authority=body.authority, decision_reference=body.decision_reference,
            decision_date=body.decision_date, name_representative=body.name_representative,
            caller=caller, now=request.app.state.now(),
        )  # fmt: skip
    except SubjectMerged as exc:  # the id is in the body: no address to redirect to
        detail = f"{exc.subject_id} was merged into {exc.merged_into}: propose for that file"
        return _refused(detail)  # type: ignore[return-value]
    except ListConflict as exc:
        return _refused(str(exc), 409)  # type: ignore[return-value]
    except ListError as exc:
        return _refused(str(exc))  # type: ignore[return-value]


@entries_router.get("", summary="List entries, for review")
def list_entries(
    request: Request,
    bureau: BureauDep,
    caller: ManagerDep,
    query: Annotated[EntryFilter, Query()],
) -> list[ListEntryPublic]:
    """Every file's entries (an operator's review queue: `status=objected`, or `proposed`
    past its window), oldest first. Each subject listed is a read of its file, audited."""
    now = request.app.state.now()
    found = all_entries(bureau.ledger, status=query.status, list_id=query.list_id,
                        today=utc_day(now))  # fmt: skip
    record_listing(bureau.ledger, found, actor=caller.actor, channel="api", now=now)
    return found


@entries_router.post("/{entry_id}/objection", summary="Object to a list entry", responses=_ENTRY)
def lodge_objection(
    entry_id: EntryId, body: Objection, request: Request, bureau: BureauDep, caller: CallerDep
) -> ListEntryPublic:
    """The subject objects within the window (an operator may lodge a subject's letter): the
    entry waits for a reviewer, who must read the objection before deciding."""
    if not permits(caller.role, "lists:object", owns=True):
        raise Forbidden(f"the {caller.role} role may not object to list entries")
    own = None if permits(caller.role, "lists:object") else caller.subject_id
    return _step(
        object_to_entry, bureau, entry_id, body.objection, caller=caller, own_subject=own,
        now=request.app.state.now(),
    )  # fmt: skip


@entries_router.post("/{entry_id}/decision", summary="Decide a list entry", responses=_ENTRY)
def decide(
    entry_id: EntryId, body: Decision, request: Request, bureau: BureauDep, caller: ManagerDep
) -> ListEntryPublic:
    """Approve (the subject is listed from today for the entry's term) or reject. Approval
    is by an operator other than the proposer, after the objection window (or once the
    subject objected), and, for a black list, while the cited record still qualifies and is
    not under dispute."""
    return _step(
        decide_entry, bureau, entry_id, body.approve, body.note, caller=caller,
        now=request.app.state.now(),
    )  # fmt: skip


@entries_router.post("/{entry_id}/removal", summary="Remove a list entry", responses=_ENTRY)
def remove(
    entry_id: EntryId, body: Removal, request: Request, bureau: BureauDep, caller: ManagerDep
) -> ListEntryPublic:
    """Take the subject off the list before the term ends: the finding satisfied or revoked,
    credit repair after the list's minimum term, or an error."""
    return _step(
        remove_entry, bureau, entry_id, body.reason, body.note, caller=caller,
        now=request.app.state.now(),
    )  # fmt: skip


@subjects_router.get("/{subject_id}/list-entries", summary="The subject's list entries")
def read_subject_entries(
    subject_id: SubjectId, request: Request, bureau: BureauDep, reader: ReaderDep
) -> list[ListEntryPublic]:
    """Every entry of the file in every state, oldest first. Every read is audited."""
    found = subject_entries(bureau.ledger, subject_id, utc_day(request.app.state.now()))
    reader.record("lists.read", [subject_id], channel="api")
    return found


@subjects_router.get(
    "/{subject_id}/measures/{measure}",
    summary="May a measure apply to the subject?",
    responses={
        403: problem_doc("The caller's kind of party does not apply this measure."),
        422: problem_doc("Unknown measure."),
    },
)
def read_measure(
    subject_id: SubjectId,
    measure: MeasureName,  # type: ignore[valid-type]
    request: Request,
    bureau: BureauDep,
    caller: Annotated[Caller, Depends(require("lists:check"))],
) -> MeasureAnswer:
    """Yes only while the subject is on a list that names the measure; the answer cites
    each entry, the list's legal basis and the measure's. The check is shown to the subject
    as an inquiry (purpose measure_check, never in the score) and told to it. Only the kinds
    of relying party that apply the measure may ask (its `party_kinds` in GET /v1/lists):
    any other gets 403 before anything is read."""
    try:
        return check_measure(
            bureau, subject_id, measure, caller=caller, now=request.app.state.now()
        )
    except MeasureRefused as exc:
        answer = _refused(str(exc), 403)
        # recorded once the refusal is sent: the answer's timing says nothing of the file
        answer.background = BackgroundTask(
            record_measure_refusal, bureau, subject_id, exc, caller=caller,
            now=request.app.state.now(),
        )  # fmt: skip
        return answer  # type: ignore[return-value]
    except ListError as exc:
        return _refused(str(exc))  # type: ignore[return-value]


def _step(action, bureau, entry_id: str, *args, **kwargs) -> ListEntryPublic:
    try:
        return action(bureau, entry_id, *args, **kwargs)
    except EntryNotFound as exc:
        return _refused(str(exc), 404)  # type: ignore[return-value]
    except ListConflict as exc:
        return _refused(str(exc), 409)  # type: ignore[return-value]
    except ListError as exc:
        return _refused(str(exc))  # type: ignore[return-value]


_KINDS = {
    403: ("measure-refused", "Not a party that applies this measure"),
    404: ("list-entry-not-found", "No such list entry"),
    409: ("list-conflict", "List entry already open or moved on"),
    422: ("list-refused", "List step not allowed"),
}


def _refused(detail: str, status: int = 422):
    return refusal(_KINDS, detail, status)
