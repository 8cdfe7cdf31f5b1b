"""`openbureau model ...`: the model registry (fit, validate, promote, list) and scorecard
development on a CSV of one's own (`fit --data`, `score`)."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Column, Table

from openbureau.config import Settings

model_app = typer.Typer(
    help="Fit, validate, promote and list scorecard models; develop one on a CSV.",
    no_args_is_help=True,
)
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

HomeOption = Annotated[
    Path | None,
    typer.Option("--home", help="Data folder (default $OPENBUREAU_HOME or ./.openbureau)."),
]
AsOfOption = Annotated[str | None, typer.Option("--as-of", help="Date known, YYYY-MM-DD.")]


def _bureau(home: Path | None):
    from openbureau.bootstrap import build_bureau

    return build_bureau(Settings(home=home) if home is not None else Settings())


def _fail(message: str, code: int = 2) -> None:
    err_console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def _date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _print(data: dict) -> None:
    console.print_json(json.dumps(data, default=str))


def _fit_csv(data: Path, target, bad, out, exclude, categorical, inquiries) -> None:
    from openbureau.scoring import development as dev

    if target is None or bad is None or out is None:
        _fail("--data needs --target, --bad and --out")
    try:
        frame = dev.read_csv(data)
        result = dev.develop(
            frame, target, bad, exclude=exclude, categorical=categorical, inquiries=inquiries
        )
    except ValueError as exc:  # DataError, TrainingError
        _fail(str(exc))
    meta = {"data": str(data), "target": target, "bad": bad, "excluded": exclude or []}
    dev.save(result, out, meta)
    _print(
        {
            **{k: v for k, v in result.metrics.items() if k != "folds"},
            "folds": [{k: f[k] for k in ("auc", "gini", "ks")} for f in result.metrics["folds"]],
            "features": result.fitted.card.features,
            "dropped": result.fitted.dropped,
            "out": str(out),
        }
    )


@model_app.command("fit")
def fit(
    as_of: AsOfOption = None,
    data: Annotated[Path | None, typer.Option(help="Develop on this CSV instead.")] = None,
    target: Annotated[str | None, typer.Option(help="With --data: outcome column.")] = None,
    bad: Annotated[str | None, typer.Option(help="With --data: the target's bad value.")] = None,
    out: Annotated[Path | None, typer.Option(help="With --data: folder for the model.")] = None,
    exclude: Annotated[
        list[str] | None, typer.Option(help="With --data: column to leave out.")
    ] = None,
    categorical: Annotated[
        list[str] | None, typer.Option(help="With --data: column to treat as categories.")
    ] = None,
    inquiries: Annotated[
        str | None, typer.Option(help="With --data: the recent-inquiries column.")
    ] = None,
    home: HomeOption = None,
) -> None:
    """Fit the population scorecard on the lake and register it as a candidate (--as-of), or
    develop a scorecard on a CSV (--data FILE --target COL --bad VALUE --out DIR) and print
    its 5-fold cross-validated AUC, Gini and KS."""
    if data is not None:
        _fit_csv(data, target, bad, out, exclude, categorical, inquiries)
        return
    if as_of is None:
        _fail("give --as-of (population model) or --data (a CSV)")
    from openbureau.scoring.governance import fit_model

    try:
        summary = fit_model(_bureau(home), _date(as_of))
    except (FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    _print(asdict(summary))


@model_app.command("validate")
def validate(
    version: Annotated[str | None, typer.Argument(help="Model version (default newest).")] = None,
    as_of: AsOfOption = None,
    home: HomeOption = None,
) -> None:
    """Measure a model out of time (AUC, Gini, KS) on the latest complete outcome window in
    the data known at --as-of (default: the date it was fitted for)."""
    from openbureau.scoring.governance import validate_model

    try:
        summary = validate_model(_bureau(home), version, _date(as_of))
    except (FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    _print(asdict(summary))


@model_app.command("promote")
def promote(
    version: Annotated[str, typer.Argument(help="A validated model version.")],
    reason: Annotated[str, typer.Option(help="Why, for the audit log.")] = "promoted by operator",
    home: HomeOption = None,
) -> None:
    """Make a validated model the champion that `score` uses (audited)."""
    from openbureau.scoring.governance import promote_model

    try:
        previous = promote_model(_bureau(home), version, reason=reason)
    except ValueError as exc:
        _fail(str(exc))
    console.print(f"{version} is the champion (previous: {previous or 'none'})")


@model_app.command("list")
def list_models(home: HomeOption = None) -> None:
    """The registered models, oldest first, with their status and AUCs."""
    from openbureau.scoring.registry import list_models as registered

    table = Table(
        Column("version", no_wrap=True),
        *("status", "train as of", "validate as of", "AUC train", "AUC OOT"),
    )
    with _bureau(home).ledger.connect() as conn:
        for m in registered(conn):
            oot = m.metrics.get("validate", {}).get("auc")
            table.add_row(
                m.model_version,
                m.status,
                str(m.train_as_of),
                str(m.validate_as_of or ""),
                f"{m.metrics['train']['auc']:.4f}",
                "" if oot is None else f"{oot:.4f}",
            )
    console.print(table)


@model_app.command("score")
def score(
    model: Annotated[Path, typer.Option(help="Folder written by `model fit --data`.")],
    data: Annotated[Path, typer.Option(help="CSV to score (the model's columns).")],
    out: Annotated[Path, typer.Option(help="CSV to write.")],
    engine: Annotated[
        str,
        typer.Option(
            help="Where the compiled scorecard runs: duckdb (in this process) or spark "
            "(needs openbureau[spark] and Java 17+)."
        ),
    ] = "duckdb",
    spark_master: Annotated[
        str | None,
        typer.Option(
            help="Spark master URL for --engine spark (default OPENBUREAU_SPARK_MASTER, "
            "else local[*]: this machine's cores)."
        ),
    ] = None,
    home: HomeOption = None,
) -> None:
    """Write the CSV's rows with `score` and `reason_1..reason_4`."""
    from openbureau.bootstrap import build_bureau
    from openbureau.engines import EngineUnavailable
    from openbureau.scoring.development import score_file

    settings = Settings(home=home) if home is not None else Settings()
    if spark_master:
        settings = settings.model_copy(update={"spark_master": spark_master})
    try:
        n = score_file(model, data, out, build_bureau(settings).connect(engine))
    except (ValueError, EngineUnavailable) as exc:
        _fail(str(exc))
    console.print(f"{n} rows scored to {out}")


def _register_report() -> None:
    # the validation report's command lives in its own module (cli_model_report.py)
    from openbureau.cli_model_report import model_report  # noqa: PLC0415

    model_app.command("report")(model_report)


_register_report()
