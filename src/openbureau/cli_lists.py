"""The list commands: the published lists, entries through due process, measure checks.

Registered on the main app by `cli.py`; every command takes `--home DIR`. A step taken at
the command line is taken with the API key of the person taking it (`--key`, or the
OPENBUREAU_KEY environment variable), checked as the API checks it: approval needs a second
operator's key, so nobody approves their own proposal here either, and the audit chain names
the same key the API would."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from openbureau.access.rules import Caller
from openbureau.cli_support import HomeOption, console
from openbureau.cli_support import bureau_for as _bureau
from openbureau.cli_support import fail as _fail
from openbureau.cli_support import parse_date as _parse_date

lists_app = typer.Typer(
    help="Black and red lists: the published lists, entries through due process, and "
    "measure checks.",
    no_args_is_help=True,
)
KeyOption = Annotated[
    str,
    typer.Option(
        "--key", envvar="OPENBUREAU_KEY", show_default=False,
        help="Your API key (obk_...), or set OPENBUREAU_KEY: an operator's; for check, a "
        "relying party's or an operator's.",
    ),
]  # fmt: skip


def register(app: typer.Typer) -> None:
    app.add_typer(lists_app, name="lists")


def _now() -> datetime:
    return datetime.now(UTC)


def _caller(ledger, key: str, roles: tuple[str, ...]) -> Caller:
    """The caller `key` stands for, if its role is one of `roles` (else exit 2)."""
    from openbureau.access.service import authenticate

    caller = authenticate(ledger, key)
    if caller is None:
        _fail("the key is not valid (malformed, unknown or revoked)", 2)
    if caller.role not in roles:
        _fail(f"a {caller.role} key cannot do this; it needs an {' or an '.join(roles)} key", 2)
    return caller


def _operator(ledger, key: str) -> Caller:
    return _caller(ledger, key, ("operator",))


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
    key: KeyOption,
    furnisher: Annotated[str | None, typer.Option(help="Black lists: the record's source.")] = None,
    record: Annotated[str | None, typer.Option(help="Black lists: the record's id.")] = None,
    authority: Annotated[str | None, typer.Option(help="Red lists: who decided.")] = None,
    reference: Annotated[str | None, typer.Option(help="Red lists: the decision's ref.")] = None,
    decided_on: Annotated[
        str | None, typer.Option(help="Red lists: the decision's date, YYYY-MM-DD.")
    ] = None,
    name_representative: Annotated[
        bool,
        typer.Option(
            "--name-representative",
            help="Name the organisation's legal representative (as its file gives it) where "
            "the list's law publishes it.",
        ),
    ] = False,
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
            name_representative=name_representative, caller=_operator(bureau.ledger, key),
            now=_now(),
        )  # fmt: skip
    except _errors() as exc:
        _fail(str(exc), 2)
    named = (  # furnished text: never read as markup
        f", naming its legal representative {escape(entry.legal_representative)}"
        if entry.legal_representative
        else ""
    )
    console.print(
        f"entry {entry.entry_id}: {subject} proposed for {list_id}{named}; the subject may "
        f"object until {entry.objection_ends_on.isoformat()}"
    )


@lists_app.command("object")
def lists_object(
    entry_id: Annotated[str, typer.Argument(help="The entry.")],
    objection: Annotated[str, typer.Option(help="The subject's objection, in its words.")],
    key: KeyOption,
    home: HomeOption = None,
) -> None:
    """Lodge an objection the subject sent by letter."""
    from openbureau.lists.service import object_to_entry

    bureau = _bureau(home)
    try:
        entry = object_to_entry(
            bureau, entry_id, objection, caller=_operator(bureau.ledger, key),
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
    key: KeyOption,
    home: HomeOption = None,
) -> None:
    """Decide a proposed entry (a second operator, after the objection window)."""
    from openbureau.lists.service import decide_entry

    bureau = _bureau(home)
    try:
        entry = decide_entry(
            bureau, entry_id, approve, note, caller=_operator(bureau.ledger, key),
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
    key: KeyOption,
    home: HomeOption = None,
) -> None:
    """Take a listed entry off its list before its term ends."""
    from openbureau.lists.service import remove_entry

    bureau = _bureau(home)
    try:
        entry = remove_entry(
            bureau, entry_id, reason, note, caller=_operator(bureau.ledger, key),
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


@lists_app.command("reconcile")
def lists_reconcile(home: HomeOption = None) -> None:
    """Check every open entry against its file now, and take off those the file no longer
    bears out (a full resolve does this; an incremental resolve and a purge check only the
    files they changed). Prints each entry taken off. Run it after changing list rules, or
    to sweep entries whose finding's term ran out."""
    from openbureau.audit.service import LOCAL_OPERATOR
    from openbureau.lists.service import reconcile

    bureau = _bureau(home)
    with bureau.lake.identity_lock():
        removed = reconcile(bureau, actor=LOCAL_OPERATOR, now=_now())
    for entry_id in removed:
        typer.echo(entry_id)
    console.print(f"{len(removed)} entr{'y' if len(removed) == 1 else 'ies'} taken off")


@lists_app.command("check")
def lists_check(
    subject: Annotated[str, typer.Option(help="The subject.")],
    measure: Annotated[str, typer.Option(help="The measure, as `lists show` names it.")],
    key: KeyOption,
    home: HomeOption = None,
) -> None:
    """May the measure apply to the subject today? Recorded as the key holder's inquiry and
    told to the subject."""
    from openbureau.lists.service import MeasureRefused, check_measure, record_measure_refusal

    bureau = _bureau(home)
    caller = _caller(bureau.ledger, key, ("inquirer", "operator"))
    now = _now()
    try:
        answer = check_measure(bureau, subject, measure, caller=caller, now=now)
    except MeasureRefused as exc:
        record_measure_refusal(bureau, subject, exc, caller=caller, now=now)
        _fail(str(exc), 2)
    except _errors() as exc:
        _fail(str(exc), 2)
    table = Table("measure", "applies", "list", "legal basis", "until")
    for c in answer.citations:
        table.add_row(measure, "yes", c.list_title, c.measure_legal_basis, c.ends_on.isoformat())
    if not answer.citations:
        table.add_row(measure, "no", "", "", "")
    console.print(table)
