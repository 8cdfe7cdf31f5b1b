"""The list commands: the published lists, entries through due process, measure checks.

Registered on the main app by `cli.py`; every command takes `--home DIR`. A step taken at
the command line names the registered operator taking it (`--operator`): approval needs a
second operator, so the proposer's party cannot approve its own proposal here either."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from openbureau.access.rules import RELYING_KINDS, Caller
from openbureau.cli_support import HomeOption, console
from openbureau.cli_support import bureau_for as _bureau
from openbureau.cli_support import fail as _fail
from openbureau.cli_support import parse_date as _parse_date

lists_app = typer.Typer(
    help="Black and red lists: the published lists, entries through due process, and "
    "measure checks.",
    no_args_is_help=True,
)
#: The key id the audit chain names for a step taken at the command line.
CLI_KEY = "cli"

OperatorOption = Annotated[
    str, typer.Option("--operator", help="The registered operator party taking this step.")
]


def register(app: typer.Typer) -> None:
    app.add_typer(lists_app, name="lists")


def _now() -> datetime:
    return datetime.now(UTC)


def _party(ledger, party_id: str, kinds: frozenset[str], what: str) -> Caller:
    from sqlalchemy import select

    from openbureau.storage.ledger import parties

    with ledger.connect() as conn:
        row = conn.execute(select(parties).where(parties.c.party_id == party_id)).first()
    if row is None:
        _fail(f"no party {party_id!r} (register it with `parties add`)", 2)
    if row.kind not in kinds:
        _fail(f"party {party_id!r} is a {row.kind}, not {what}", 2)
    role = "operator" if row.kind == "operator" else "inquirer"
    return Caller(
        party_id=row.party_id, party_kind=row.kind, key_id=CLI_KEY, role=role,
        party_name=row.name,
    )  # fmt: skip


def _operator(ledger, party_id: str) -> Caller:
    return _party(ledger, party_id, frozenset({"operator"}), "an operator")


def _errors():
    from openbureau.lists.service import EntryNotFound, ListError
    from openbureau.reports.service import SubjectMerged, SubjectNotFound

    return (ListError, EntryNotFound, SubjectNotFound, SubjectMerged)


@lists_app.command("show")
def lists_show(
    list_id: Annotated[str | None, typer.Argument(help="One list; default every list.")] = None,
) -> None:
    """The published lists: criteria, legal basis, term, objection window, credit repair and
    measures, as JSON lines."""
    from openbureau.lists.model import list_public
    from openbureau.lists.rules import LISTS

    if list_id is not None and list_id not in LISTS:
        _fail(f"unknown list {list_id!r}; known: {', '.join(LISTS)}", 2)
    for d in LISTS.values():
        if list_id in (None, d.list_id):
            typer.echo(list_public(d).model_dump_json())


@lists_app.command("propose")
def lists_propose(
    list_id: Annotated[str, typer.Argument(help="The list.")],
    subject: Annotated[str, typer.Option(help="The subject to list.")],
    grounds: Annotated[str, typer.Option(help="Why the subject meets the criteria.")],
    operator: OperatorOption,
    furnisher: Annotated[str | None, typer.Option(help="Black lists: the record's source.")] = None,
    record: Annotated[str | None, typer.Option(help="Black lists: the record's id.")] = None,
    authority: Annotated[str | None, typer.Option(help="Red lists: who decided.")] = None,
    reference: Annotated[str | None, typer.Option(help="Red lists: the decision's ref.")] = None,
    decided_on: Annotated[
        str | None, typer.Option(help="Red lists: the decision's date, YYYY-MM-DD.")
    ] = None,
    home: HomeOption = None,
) -> None:
    """Propose an entry: the subject is told and may object until the window closes."""
    from openbureau.lists.service import propose_entry

    bureau = _bureau(home)
    try:
        entry = propose_entry(
            bureau, list_id, subject, grounds, furnisher_id=furnisher, record_id=record,
            authority=authority, decision_reference=reference,
            decision_date=_parse_date(decided_on) if decided_on else None,
            caller=_operator(bureau.ledger, operator), now=_now(),
        )  # fmt: skip
    except _errors() as exc:
        _fail(str(exc), 2)
    console.print(
        f"entry {entry.entry_id}: {subject} proposed for {list_id}; the subject may object "
        f"until {entry.objection_ends_on.isoformat()}"
    )


@lists_app.command("object")
def lists_object(
    entry_id: Annotated[str, typer.Argument(help="The entry.")],
    objection: Annotated[str, typer.Option(help="The subject's objection, in its words.")],
    operator: OperatorOption,
    home: HomeOption = None,
) -> None:
    """Lodge an objection the subject sent by letter."""
    from openbureau.lists.service import object_to_entry

    bureau = _bureau(home)
    try:
        entry = object_to_entry(
            bureau, entry_id, objection, caller=_operator(bureau.ledger, operator),
            own_subject=None, now=_now(),
        )  # fmt: skip
    except _errors() as exc:
        _fail(str(exc), 2)
    console.print(f"entry {entry.entry_id}: objection lodged; it awaits review")


@lists_app.command("decide")
def lists_decide(
    entry_id: Annotated[str, typer.Argument(help="The entry.")],
    approve: Annotated[
        bool, typer.Option("--approve/--reject", help="List the subject, or reject the entry.")
    ],
    note: Annotated[str, typer.Option(help="The decision's reasons, read by the subject.")],
    operator: OperatorOption,
    home: HomeOption = None,
) -> None:
    """Decide a proposed entry (a second operator, after the objection window)."""
    from openbureau.lists.service import decide_entry

    bureau = _bureau(home)
    try:
        entry = decide_entry(
            bureau, entry_id, approve, note, caller=_operator(bureau.ledger, operator),
            now=_now(),
        )  # fmt: skip
    except _errors() as exc:
        _fail(str(exc), 2)
    if entry.status == "listed":
        assert entry.listed_on is not None and entry.ends_on is not None
        console.print(
            f"entry {entry.entry_id}: listed from {entry.listed_on.isoformat()} until "
            f"{entry.ends_on.isoformat()}"
        )
    else:
        console.print(f"entry {entry.entry_id}: {entry.status}")


@lists_app.command("remove")
def lists_remove(
    entry_id: Annotated[str, typer.Argument(help="The entry.")],
    reason: Annotated[str, typer.Option(help="satisfied, revoked, repaired or error.")],
    note: Annotated[str, typer.Option(help="What shows it, read by the subject.")],
    operator: OperatorOption,
    home: HomeOption = None,
) -> None:
    """Take a listed entry off its list before its term ends."""
    from openbureau.lists.service import remove_entry

    bureau = _bureau(home)
    try:
        entry = remove_entry(
            bureau, entry_id, reason, note, caller=_operator(bureau.ledger, operator),
            now=_now(),
        )  # fmt: skip
    except _errors() as exc:
        _fail(str(exc), 2)
    console.print(f"entry {entry.entry_id}: removed ({reason})")


@lists_app.command("entries")
def lists_entries(
    status: Annotated[str | None, typer.Option(help="Only entries in this state.")] = None,
    list_id: Annotated[str | None, typer.Option("--list", help="Only this list.")] = None,
    home: HomeOption = None,
) -> None:
    """Entries of every file, oldest first, as JSON lines (each file listed is audited)."""
    from openbureau.audit.service import LOCAL_OPERATOR
    from openbureau.lists.rules import LISTS, STATES
    from openbureau.lists.service import all_entries, record_listing, utc_day

    if status is not None and status not in STATES:
        _fail(f"--status must be one of {', '.join(STATES)}, not {status!r}", 2)
    if list_id is not None and list_id not in LISTS:
        _fail(f"unknown list {list_id!r}; known: {', '.join(LISTS)}", 2)
    now = _now()
    ledger = _bureau(home).ledger
    found = all_entries(ledger, status=status, list_id=list_id, today=utc_day(now))
    record_listing(ledger, found, actor=LOCAL_OPERATOR, channel="cli", now=now)
    for e in found:
        typer.echo(e.model_dump_json())


@lists_app.command("check")
def lists_check(
    subject: Annotated[str, typer.Option(help="The subject.")],
    measure: Annotated[str, typer.Option(help="The measure, as `lists show` names it.")],
    party: Annotated[str, typer.Option(help="The relying party (or operator) asking.")],
    home: HomeOption = None,
) -> None:
    """May the measure apply to the subject today? Recorded as the party's inquiry and told
    to the subject."""
    from openbureau.lists.service import check_measure

    bureau = _bureau(home)
    caller = _party(
        bureau.ledger, party, RELYING_KINDS | {"operator"}, "a relying party or an operator"
    )
    try:
        answer = check_measure(bureau, subject, measure, caller=caller, now=_now())
    except _errors() as exc:
        _fail(str(exc), 2)
    table = Table("measure", "applies", "list", "legal basis", "until")
    for c in answer.citations:
        table.add_row(measure, "yes", c.list_title, c.measure_legal_basis, c.ends_on.isoformat())
    if not answer.citations:
        table.add_row(measure, "no", "", "", "")
    console.print(table)
