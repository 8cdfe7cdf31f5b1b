"""The command line: one command per stage, plus `demo` and `serve`.

Every command takes `--home DIR` (default: $OPENBUREAU_HOME or ./.openbureau)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from openbureau import cli_access, cli_identity, cli_lists
from openbureau.cli_model import model_app
from openbureau.cli_support import HomeOption, console, err_console
from openbureau.cli_support import bureau_for as _bureau
from openbureau.cli_support import fail as _fail
from openbureau.cli_support import parse_date as _parse_date
from openbureau.config import Settings

app = typer.Typer(
    help="OpenBureau: a credit and integrity bureau people can trust.",
    no_args_is_help=True,
    add_completion=False,
)
furnisher_app = typer.Typer(help="Register and list licensed furnishers.", no_args_is_help=True)
export_app = typer.Typer(help="Export data from the bureau.", no_args_is_help=True)
app.add_typer(furnisher_app, name="furnisher")
audit_app = typer.Typer(help="Verify and checkpoint the audit chain.", no_args_is_help=True)
app.add_typer(export_app, name="export")
app.add_typer(audit_app, name="audit")
# parties, keys, consent and outbox (cli_access.py); the identity review queue (cli_identity.py);
# black and red lists (cli_lists.py)
cli_access.register(app)
cli_identity.register(app)
cli_lists.register(app)
app.add_typer(model_app, name="model")


@contextmanager
def progress_bars() -> Iterator:
    """A `progress.Progress` callback that draws one Rich bar per label."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    ) as bars:
        tasks: dict[str, int] = {}

        def report(label: str, completed: int, total: int | None) -> None:
            if label not in tasks:
                tasks[label] = bars.add_task(label, total=total)
            bars.update(tasks[label], completed=completed, total=total)

        yield report


@app.command()
def synth(
    out: Annotated[
        Path | None,
        typer.Option(help="Folder to write the furnisher files into (default HOME/synth)."),
    ] = None,
    persons: Annotated[int, typer.Option(min=1, help="Number of persons.")] = 20_000,
    orgs: Annotated[int, typer.Option(min=0, help="Number of organisations.")] = 2_000,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same files.")] = 1,
    noise: Annotated[str, typer.Option(help="Identity noise: default or high.")] = "default",
    file_format: Annotated[str, typer.Option("--format", help="csv, jsonl or parquet.")] = "csv",
    home: HomeOption = None,
) -> None:
    """Write a synthetic population's furnisher files (truth kept apart in OUT/truth)."""
    from openbureau.synth.service import generate_population

    if out is None:
        out = (Settings(home=home) if home is not None else Settings()).home / "synth"

    if noise not in ("default", "high"):
        _fail("--noise must be default or high", 2)
    with progress_bars() as report:
        summary = generate_population(
            persons, orgs, seed, out, noise=noise, file_format=file_format, progress=report
        )
    console.print_json(json.dumps(_as_dict(summary), default=str))


def _as_dict(obj) -> dict:
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    from dataclasses import asdict, is_dataclass

    if is_dataclass(obj):
        return asdict(obj)
    return dict(obj)


@furnisher_app.command("add")
def furnisher_add(
    furnisher_id: Annotated[str, typer.Argument(help="Furnisher id, e.g. bank-01.")],
    kind: Annotated[str, typer.Option(help="bank, lender, court, tax_office, ...")],
    name: Annotated[str, typer.Option(help="Legal name.")],
    home: HomeOption = None,
) -> None:
    """Register a licensed furnisher."""
    from openbureau.ingest.service import add_furnisher

    try:
        add_furnisher(_bureau(home), furnisher_id, kind, name)
    except ValueError as exc:
        _fail(str(exc), 2)
    console.print(f"furnisher {furnisher_id} ({kind}) registered")


@furnisher_app.command("list")
def furnisher_list(home: HomeOption = None) -> None:
    """List registered furnishers and what they are licensed to send."""
    from sqlalchemy import select

    from openbureau.catalogue.model import RECORD_TYPES
    from openbureau.storage.ledger import furnishers

    bureau = _bureau(home)
    table = Table("id", "kind", "name", "licensed record types")
    with bureau.ledger.connect() as conn:
        for row in conn.execute(select(furnishers).order_by(furnishers.c.furnisher_id)):
            licensed = [n for n, rt in RECORD_TYPES.items() if row.kind in rt.furnisher_kinds]
            table.add_row(row.furnisher_id, row.kind, row.name, ", ".join(licensed))
    console.print(table)


def _expand(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """The files to ingest (a folder's, at any depth, in name order) and the files of the
    folders left out: those whose extension names no format, told the way a file named
    alone is (`detect_format`, so `FEB.CSV` is a CSV file)."""
    from openbureau.ingest.rules import detect_format

    files: list[Path] = []
    skipped: list[Path] = []
    for p in paths:
        if not p.exists():
            _fail(f"no such file or folder: {p}", 2)
        if p.is_dir():
            for f in sorted(f for f in p.rglob("*") if f.is_file()):
                (files if detect_format(f.name) else skipped).append(f)
        else:
            files.append(p)
    return files, skipped


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files (or folders of files) to ingest.")],
    furnisher: Annotated[str, typer.Option(help="The furnisher sending the files.")],
    home: HomeOption = None,
) -> None:
    """Validate furnisher files and add their accepted records to the lake. A folder's
    files of no known format are listed as skipped.

    Exit status 2 when any file is rejected whole."""
    from rich.markup import escape

    from openbureau.ingest.rules import unsupported_format_message
    from openbureau.ingest.service import FileRejected, ingest_file

    bureau = _bureau(home)
    files, skipped = _expand(paths)
    for path in skipped:
        reason = unsupported_format_message(path.name)
        err_console.print(f"[yellow]skipped[/yellow] {escape(f'{path}: {reason}')}")
    if not files:
        _fail("no files to ingest", 2)
    rejected = 0
    with progress_bars() as report:
        for i, path in enumerate(files):
            report(f"ingest {furnisher}", i, len(files))
            try:
                receipt = ingest_file(bureau, path, furnisher, progress=report)
            except FileRejected as exc:
                rejected += 1
                err_console.print(f"[red]rejected[/red] {path}: {exc.receipt.error}")
                err_console.print_json(json.dumps(exc.receipt.to_dict(), default=str))
                continue
            if receipt.status == "already_ingested":
                console.print(f"{path}: already ingested (batch {receipt.batch_id})")
            else:
                console.print_json(json.dumps(receipt.to_dict(), default=str))
        report(f"ingest {furnisher}", len(files), len(files))
        _compact_serving(bureau, report)
    if rejected:
        raise typer.Exit(2)


def _compact_serving(bureau, report) -> None:
    """Bring the serving runs up to date after new files (reports stay right without it,
    only slower: storage/serving.py)."""
    from openbureau.storage import serving

    try:
        summary = serving.compact(
            bureau.lake, progress=report, memory_limit=bureau.settings.memory_limit
        )
    except Exception as exc:  # noqa: BLE001 - the ingest itself stands; say what is left
        err_console.print(
            f"[yellow]serving runs not updated[/yellow] ({type(exc).__name__}: {exc}); "
            "reports read the new files whole until `openbureau compact` succeeds"
        )
        return
    if summary.mode != "none":
        console.print(
            f"serving runs: {summary.mode}, {summary.files:,} files, {summary.rows:,} rows "
            f"in {summary.seconds:.1f} s"
        )


@app.command()
def compact(
    full: Annotated[
        bool, typer.Option("--full", help="Rebuild every run as one, instead of adding one.")
    ] = False,
    home: HomeOption = None,
) -> None:
    """Copy record files not yet in the lake's serving runs into a new run: the records
    sorted by identity key, so a report reads a few row groups instead of every file. Ingest
    and purge do this themselves; files uploaded through the API wait for it (they are read
    whole until then). Prints JSON: mode, files, rows, runs, seconds."""
    from openbureau.storage import serving

    bureau = _bureau(home)
    with progress_bars() as report:
        summary = serving.compact(
            bureau.lake, full=full, progress=report, memory_limit=bureau.settings.memory_limit
        )
    console.print_json(json.dumps(summary.to_dict()))


@app.command()
def resolve(
    full: Annotated[
        bool, typer.Option("--full", help="Retrain the models and relink every variant.")
    ] = False,
    home: HomeOption = None,
) -> None:
    """Link furnished identities into one file per person or organisation (incremental: only
    batches not resolved before)."""
    from openbureau.identity.service import resolve as run_resolve

    bureau = _bureau(home)
    try:
        with progress_bars() as report:
            summary = run_resolve(bureau, full=full, progress=report)
    except FileNotFoundError as exc:
        _fail(str(exc), 2)
    console.print_json(json.dumps(summary.to_dict()))


@app.command()
def purge(
    as_of: Annotated[
        str | None,
        typer.Option(help="Purge what expired on or before this date (YYYY-MM-DD); default today."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be purged; change nothing.")
    ] = False,
    home: HomeOption = None,
) -> None:
    """Delete from the lake every record past its retention (all versions of it), audited
    first. Reports and scores already leave such records out; this removes them from storage.
    Prints JSON: records purged by type, rows removed, files rewritten or removed."""
    from datetime import date

    from openbureau.retention.service import purge as run_purge

    day = _parse_date(as_of) if as_of else date.today()
    try:
        with progress_bars() as report:
            summary = run_purge(_bureau(home), day, dry_run=dry_run, progress=report)
    except ValueError as exc:
        _fail(str(exc), 2)
    console.print_json(json.dumps(summary.to_dict()))


@export_app.command("links")
def export_links(
    out: Annotated[Path, typer.Option(help="CSV file to write.")],
    home: HomeOption = None,
) -> None:
    """Export record-to-subject links: furnisher_id, record_id, subject_id, match_probability,
    method."""
    from openbureau.identity.service import export_links as run_export

    try:
        n = run_export(_bureau(home), out)
    except FileNotFoundError as exc:
        _fail(str(exc), 2)
    console.print(f"{n} links written to {out}")


@app.command()
def score(
    as_of: Annotated[str, typer.Option("--as-of", help="Scoring date, YYYY-MM-DD.")],
    home: HomeOption = None,
) -> None:
    """Score every subject as of a date with the champion model (with none yet, fit one,
    validate it out of time and promote it first)."""
    from openbureau.scoring.service import score_population

    bureau = _bureau(home)
    try:
        with progress_bars() as report:
            summary = score_population(bureau, _parse_date(as_of), progress=report)
    except (FileNotFoundError, ValueError) as exc:
        _fail(str(exc), 2)
    console.print_json(json.dumps(_as_dict(summary), default=str))


@app.command()
def rescore(
    subject_id: Annotated[str, typer.Argument(help="The subject to score again.")],
    home: HomeOption = None,
) -> None:
    """Score one subject again: its latest published score's date and model, from its
    records as a report reads them now (a correction since the run, a record a dispute
    deleted). Publishes the result in place of that score if it differs, audited as
    `score.rescored`; prints the score before and after."""
    from datetime import UTC, datetime

    from openbureau.audit.service import LOCAL_OPERATOR
    from openbureau.reports.service import SubjectMerged, SubjectNotFound, live_subject
    from openbureau.scoring.artefact import ModelNotFound
    from openbureau.scoring.rescore import rescore_subject

    bureau = _bureau(home)
    try:
        with bureau.ledger.connect() as conn:
            live_subject(conn, subject_id)
        found = rescore_subject(
            bureau, subject_id, actor=LOCAL_OPERATOR, purpose="score-correction",
            why="rescored on an operator's request", now=datetime.now(UTC),
        )  # fmt: skip
    except (SubjectNotFound, SubjectMerged, ModelNotFound) as exc:
        _fail(str(exc), 2)
    if found is None:
        _fail(f"subject {subject_id!r} has no published score yet: run `openbureau score`", 2)
    console.print_json(json.dumps(_as_dict(found), default=str))


@audit_app.command("verify")
def audit_verify(
    checkpoint: Annotated[
        Path | None,
        typer.Option(help="A checkpoint file (from `audit checkpoint`) the log must still hold."),
    ] = None,
    public_key: Annotated[
        Path | None,
        typer.Option(help="PEM public key of the checkpoint; default the home's own key."),
    ] = None,
    home: HomeOption = None,
) -> None:
    """Check every entry of the audit chain. Exit status 1 names the first broken entry."""
    from openbureau.audit.rules import InvalidCheckpoint
    from openbureau.audit.service import (
        SIGNING_KEY_FILE,
        public_key_path,
        verify,
        verify_checkpoint,
    )

    bureau = _bureau(home)
    anchor = None
    if checkpoint is not None:
        key_file = public_key or public_key_path(bureau.settings.keys_dir / SIGNING_KEY_FILE)
        try:
            anchor = verify_checkpoint(checkpoint.read_bytes(), key_file.read_bytes()).anchor
        except (OSError, InvalidCheckpoint) as exc:
            _fail(f"checkpoint {checkpoint} not accepted: {exc}")
    result = verify(bureau.ledger, checkpoint=anchor)
    if not result.ok:
        _fail(
            f"audit chain broken at seq {result.first_broken}: {result.reason} ({result.detail});"
            f" {result.checked} entries before it verified"
        )
    console.print(
        f"audit chain intact: {result.checked} entries checked, head seq {result.head_seq}"
        f" hash {result.head_hash}" + (f", holds checkpoint seq {anchor.seq}" if anchor else "")
    )


@audit_app.command("checkpoint")
def audit_checkpoint(home: HomeOption = None) -> None:
    """Verify the chain, then print a checkpoint of its last entry signed with the home's
    Ed25519 key (made in HOME/keys on first use)."""
    from openbureau.audit.service import SIGNING_KEY_FILE, ChainBroken, sign_checkpoint

    bureau = _bureau(home)
    try:
        signed = sign_checkpoint(bureau.ledger, bureau.settings.keys_dir / SIGNING_KEY_FILE)
    except ChainBroken as exc:
        _fail(str(exc))
    typer.echo(signed.to_json())


@app.command()
def serve(
    host: Annotated[
        str, typer.Option(help="Address to bind; off loopback, put TLS in front.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="Server processes (several need a PostgreSQL ledger).")
    ] = 1,
    home: HomeOption = None,
) -> None:
    """Serve the API (/docs) and the report pages."""
    from openbureau.api.server import serve as run_server

    settings = Settings(home=home) if home is not None else Settings()
    try:
        run_server(settings, host=host, port=port, workers=workers)
    except ValueError as exc:
        _fail(str(exc), 2)


@app.command()
def demo(
    persons: Annotated[int, typer.Option(min=10, help="Synthetic persons.")] = 20_000,
    orgs: Annotated[int, typer.Option(min=0, help="Synthetic organisations.")] = 2_000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 1,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Stop after scoring.")] = False,
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8000,
    home: HomeOption = None,
) -> None:
    """A fresh bureau end to end: synth, ingest, resolve, score, then serve."""
    from openbureau.demo import run_demo

    settings = Settings(home=home) if home is not None else Settings()
    try:
        result = run_demo(
            settings, persons=persons, orgs=orgs, seed=seed, console=console, bars=progress_bars
        )
    except ValueError as exc:
        _fail(str(exc), 2)
    console.print(
        f"Operator console key (shown once; sign in at http://127.0.0.1:{port}/login):\n"
        f"  {result.operator_key}"
    )
    console.print("Report pages of three example subjects:")
    for label, subject_id in result.examples.items():
        console.print(f"  {label}: http://127.0.0.1:{port}/subjects/{subject_id}")
    if no_serve:
        return
    from openbureau.api.server import serve as run_server

    console.print(f"serving on http://127.0.0.1:{port}/ (API docs at /docs; Ctrl-C to stop)")
    run_server(settings, host="127.0.0.1", port=port)


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
