"""The access commands: parties, keys, consent (from signed forms), disputes (from letters)
and the subject outbox.

Registered on the main app by `cli.py` (`register`); every command takes `--home DIR`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from openbureau.cli_support import HomeOption, console, err_console
from openbureau.cli_support import bureau_for as _bureau
from openbureau.cli_support import fail as _fail
from openbureau.cli_support import parse_date as _parse_date

parties_app = typer.Typer(help="Register and list parties.", no_args_is_help=True)
keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
consent_app = typer.Typer(
    help="Record and revoke subjects' consents from signed forms.", no_args_is_help=True
)
outbox_app = typer.Typer(help="Notices owed to subjects.", no_args_is_help=True)
disputes_app = typer.Typer(
    help="Subjects' disputes of records: list them, and record those that come by letter.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(parties_app, name="parties")
    app.add_typer(keys_app, name="keys")
    app.add_typer(consent_app, name="consent")
    app.add_typer(outbox_app, name="outbox")
    app.add_typer(disputes_app, name="disputes")


@parties_app.command("add")
def parties_add(
    party_id: Annotated[str, typer.Argument(help="Party id, e.g. lender-01.")],
    kind: Annotated[str, typer.Option(help="furnisher, lender, landlord, insurer, ...")],
    name: Annotated[str, typer.Option(help="Legal name.")],
    furnisher: Annotated[
        str | None, typer.Option(help="The registered furnisher this party sends data as.")
    ] = None,
    subject: Annotated[str | None, typer.Option(help="For kind subject: its subject id.")] = None,
    home: HomeOption = None,
) -> None:
    """Register a party: a furnisher, a relying party, an operator, an auditor or a subject."""
    from openbureau.access.service import AccessError, add_party
    from openbureau.audit.service import LOCAL_OPERATOR

    try:
        add_party(
            _bureau(home).ledger,
            party_id,
            kind,
            name,
            furnisher_id=furnisher,
            subject_id=subject,
            actor=LOCAL_OPERATOR,
            now=_now(),
        )
    except AccessError as exc:
        _fail(str(exc), 2)
    console.print(f"party {party_id} ({kind}) registered")


def _now() -> datetime:
    return datetime.now(UTC)


@parties_app.command("list")
def parties_list(home: HomeOption = None) -> None:
    """List the registered parties."""
    from openbureau.access.service import list_parties

    table = Table("id", "kind", "name", "furnisher", "subject")
    for p in list_parties(_bureau(home).ledger):
        table.add_row(p["party_id"], p["kind"], p["name"], p["furnisher_id"], p["subject_id"])
    console.print(table)


@keys_app.command("create")
def keys_create(
    party: Annotated[str, typer.Option(help="The party the key belongs to.")],
    role: Annotated[str, typer.Option(help="furnisher, inquirer, subject, operator, auditor.")],
    home: HomeOption = None,
) -> None:
    """Create an API key and print it once: the bureau keeps only its hash."""
    from openbureau.access.service import AccessError, create_key
    from openbureau.audit.service import LOCAL_OPERATOR

    try:
        key = create_key(_bureau(home).ledger, party, role, actor=LOCAL_OPERATOR, now=_now())
    except AccessError as exc:
        _fail(str(exc), 2)
    err_console.print(
        f"key {key.key_id} for {key.party_id} ({key.role}); shown once, store it now:"
    )
    typer.echo(key.text)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (the 16 hex digits after obk_).")],
    home: HomeOption = None,
) -> None:
    """Revoke a key: new checks refuse it at once; a running server that checked it in the
    last OPENBUREAU_KEY_CACHE_SECONDS (default 2) refuses it within that time."""
    from openbureau.access.service import AccessError, revoke_key
    from openbureau.audit.service import LOCAL_OPERATOR

    try:
        changed = revoke_key(_bureau(home).ledger, key_id, actor=LOCAL_OPERATOR, now=_now())
    except AccessError as exc:
        _fail(str(exc), 2)
    console.print(f"key {key_id} " + ("revoked" if changed else "was already revoked"))


@keys_app.command("list")
def keys_list(home: HomeOption = None) -> None:
    """List every key (id, party, role, created, revoked); never a secret."""
    from openbureau.access.service import list_keys

    table = Table("key id", "party", "role", "created", "revoked")
    for k in list_keys(_bureau(home).ledger):
        revoked = k["revoked_at"].isoformat(timespec="seconds") if k["revoked_at"] else ""
        table.add_row(
            k["key_id"], k["party_id"], k["role"], k["created_at"].isoformat("T", "seconds"),
            revoked,
        )  # fmt: skip
    console.print(table)


@consent_app.command("grant")
def consent_grant(
    subject: Annotated[str, typer.Option(help="The subject who signed the form.")],
    party: Annotated[str, typer.Option(help="The party the subject consents to.")],
    purpose: Annotated[str, typer.Option(help="employment or tenancy.")],
    until: Annotated[str, typer.Option(help="Last day the consent holds, YYYY-MM-DD.")],
    form: Annotated[str, typer.Option(help="Reference of the signed consent form.")],
    home: HomeOption = None,
) -> None:
    """Record a consent the subject gave on a signed form."""
    from openbureau.audit.service import LOCAL_OPERATOR
    from openbureau.inquiries.consents import ConsentError, grant_consent
    from openbureau.reports.service import SubjectNotFound

    try:
        given = grant_consent(
            _bureau(home).ledger, subject, party, purpose, _parse_date(until),
            evidence=f"signed-form:{form}", actor=LOCAL_OPERATOR, now=_now(),
        )  # fmt: skip
    except (ConsentError, SubjectNotFound) as exc:
        _fail(str(exc), 2)
    console.print(f"consent {given.consent_id}: {subject} -> {party} for {purpose} until {until}")


@consent_app.command("revoke")
def consent_revoke(
    consent_id: Annotated[str, typer.Argument(help="The consent id.")],
    home: HomeOption = None,
) -> None:
    """Revoke a consent at once (on the subject's instruction)."""
    from openbureau.audit.service import LOCAL_OPERATOR
    from openbureau.inquiries.consents import ConsentNotFound, revoke_consent

    try:
        revoke_consent(
            _bureau(home).ledger, consent_id, subject_id=None, actor=LOCAL_OPERATOR, now=_now()
        )
    except ConsentNotFound as exc:
        _fail(str(exc), 2)
    console.print(f"consent {consent_id} revoked")


@consent_app.command("list")
def consent_list(
    subject: Annotated[str, typer.Option(help="The subject.")], home: HomeOption = None
) -> None:
    """Every consent a subject gave, revoked ones included, as JSON lines."""
    from openbureau.inquiries.consents import list_consents
    from openbureau.reports.service import SubjectNotFound

    try:
        found = list_consents(_bureau(home).ledger, subject)
    except SubjectNotFound as exc:
        _fail(str(exc), 2)
    for c in found:
        typer.echo(c.model_dump_json())


@outbox_app.command("list")
def outbox_list(
    show_all: Annotated[bool, typer.Option("--all", help="Delivered notices too.")] = False,
    home: HomeOption = None,
) -> None:
    """Notices owed to subjects (one per inquiry), oldest first, as JSON lines."""
    from openbureau.inquiries.outbox import list_notices

    for notice in list_notices(_bureau(home).ledger, pending_only=not show_all):
        typer.echo(json.dumps(notice, default=str, sort_keys=True))


@outbox_app.command("delivered")
def outbox_delivered(
    notice_ids: Annotated[list[str], typer.Argument(help="Ids of the notices delivered.")],
    home: HomeOption = None,
) -> None:
    """Mark notices delivered (audited)."""
    from openbureau.audit.service import LOCAL_OPERATOR
    from openbureau.inquiries.outbox import mark_delivered

    try:
        done = mark_delivered(_bureau(home).ledger, notice_ids, actor=LOCAL_OPERATOR, now=_now())
    except KeyError as exc:
        _fail(f"no notice {exc.args[0]!r} in the outbox", 2)
    console.print(f"{len(done)} notice(s) marked delivered")


@disputes_app.command("list")
def disputes_list(
    status: Annotated[str | None, typer.Option(help="open or answered; default both.")] = None,
    furnisher: Annotated[str | None, typer.Option(help="Only this furnisher's records.")] = None,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Only open disputes past their due date.")
    ] = False,
    home: HomeOption = None,
) -> None:
    """Disputes, soonest due first, as JSON lines, with what a late answer owes today."""
    from openbureau.audit.service import LOCAL_OPERATOR
    from openbureau.disputes.service import furnisher_disputes, record_listing, utc_day

    if status not in (None, "open", "answered"):
        _fail(f"--status must be open or answered, not {status!r}", 2)
    now = _now()
    ledger = _bureau(home).ledger
    found = furnisher_disputes(ledger, furnisher, "open" if overdue else status, utc_day(now))
    shown = [d for d in found if not overdue or d.days_late > 0]
    record_listing(ledger, shown, actor=LOCAL_OPERATOR, status=status, channel="cli", now=now)
    for d in shown:
        typer.echo(d.model_dump_json())


@disputes_app.command("open")
def disputes_open(
    subject: Annotated[str, typer.Option(help="The subject whose record is disputed.")],
    furnisher: Annotated[str, typer.Option(help="The record's furnisher.")],
    reason: Annotated[str, typer.Option(help="What the subject says is wrong.")],
    record: Annotated[
        str | None, typer.Option(help="The record's id, as the report shows it.")
    ] = None,
    account: Annotated[
        str | None,
        typer.Option(help="Instead of --record: a whole account, by the report's account id."),
    ] = None,
    home: HomeOption = None,
) -> None:
    """Open a dispute the subject sent by letter: the record (or every record of the
    account) is under dispute at once."""
    from openbureau.audit.service import LOCAL_OPERATOR
    from openbureau.disputes.service import DisputeError, open_account_dispute, open_dispute
    from openbureau.reports.service import SubjectMerged, SubjectNotFound

    if (record is None) == (account is None):
        _fail("name the disputed record with --record, or a whole account with --account", 2)
    bureau, now = _bureau(home), _now()
    try:
        if account is not None:
            group = open_account_dispute(
                bureau, subject, furnisher, account, reason, actor=LOCAL_OPERATOR, now=now
            )
        else:
            opened = open_dispute(
                bureau, subject, furnisher, record, reason, actor=LOCAL_OPERATOR, now=now
            )
    except (DisputeError, SubjectNotFound, SubjectMerged) as exc:
        _fail(str(exc), 2)
    if account is not None:
        before = group.already_under_dispute
        also = f"; {len(before)} already under dispute: {', '.join(before)}" if before else ""
        console.print(
            f"dispute group {group.group_id}: {len(group.disputes)} record(s) of account "
            f"{escape(account)} from {escape(furnisher)} are under dispute{also}; the answer "
            "is due by "
            f"{group.disputes[0].due_on.isoformat()}"
        )
        return
    console.print(
        f"dispute {opened.dispute_id}: {escape(record)} from {escape(furnisher)} is under "
        "dispute; "
        f"the answer is due by {opened.due_on.isoformat()}"
    )


@disputes_app.command("answer")
def disputes_answer(
    dispute_id: Annotated[str, typer.Argument(help="The dispute id.")],
    outcome: Annotated[str, typer.Option(help="verified, corrected or unverifiable.")],
    note: Annotated[str, typer.Option(help="The furnisher's answer, in its words.")],
    home: HomeOption = None,
) -> None:
    """Record a furnisher's written answer (unverifiable deletes the record)."""
    from openbureau.audit.service import LOCAL_OPERATOR
    from openbureau.disputes.service import DisputeError, DisputeNotFound, answer_dispute

    try:
        answered = answer_dispute(
            _bureau(home), dispute_id, outcome, note, actor=LOCAL_OPERATOR, furnisher_id=None,
            now=_now(),
        )  # fmt: skip
    except (DisputeError, DisputeNotFound) as exc:
        _fail(str(exc), 2)
    owed = answered.group_compensation or answered.compensation
    late = f"; {answered.days_late} day(s) late: {owed.display} owed" if answered.days_late else ""
    if answered.group_id is not None:
        late += f" (the whole account {escape(answered.account_id)}: group {answered.group_id})"
    console.print(f"dispute {dispute_id}: {outcome}{late}")
