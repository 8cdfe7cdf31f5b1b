"""`openbureau model report`: the validation, ceiling and fairness report of a published
scorecard, as one HTML file. Registered on the `model` sub-app of `openbureau.cli`:

    model_app.command("report")(model_report)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from openbureau.scoring.rules import DEFAULT_CUTOFF


def model_report(
    out: Annotated[Path, typer.Option("--out", help="The HTML file to write.")] = Path(
        "model-report.html"
    ),
    cutoff: Annotated[
        int,
        typer.Option(
            "--cutoff", min=300, max=900, help="Approve at this score or above (fairness)."
        ),
    ] = DEFAULT_CUTOFF,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Out-of-time date, a month end YYYY-MM-DD whose next 12 months are in the "
            "lake (default: the model's own validation date).",
        ),
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="Model version (default: the champion).")
    ] = None,
    protected: Annotated[
        Path | None,
        typer.Option(
            "--protected",
            help="Protected attributes for the fairness section: a synthetic population's "
            "truth folder, or a CSV/Parquet file with subject_id and one column per attribute.",
        ),
    ] = None,
    home: Annotated[
        Path | None,
        typer.Option("--home", help="Data folder (default $OPENBUREAU_HOME or ./.openbureau)."),
    ] = None,
) -> None:
    """Write the model's validation report: ROC, KS, score distributions, calibration,
    stability, bins, a gradient-boosting ceiling and fairness per protected group."""
    # imported here: openbureau.cli registers this command, so it cannot be imported above
    from openbureau.cli import _bureau, _fail, _parse_date, console, progress_bars
    from openbureau.scoring.artefact import ModelNotFound
    from openbureau.scoring.model_report import (
        ModelReportError,
        build_model_report,
        protected_attributes,
    )
    from openbureau.scoring.report_html import render_model_report

    bureau = _bureau(home)
    oot = _parse_date(as_of) if as_of else None
    try:
        attributes = protected_attributes(bureau, protected) if protected else None
        with progress_bars() as bars:
            report = build_model_report(
                bureau,
                cutoff=cutoff,
                model_version=model,
                oot_as_of=oot,
                protected=attributes,
                protected_source=str(protected) if protected else None,
                progress=bars,
            )
    except (ModelNotFound, ModelReportError, FileNotFoundError) as exc:
        _fail(str(exc), 2)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(render_model_report(report), encoding="utf-8")
    tmp.replace(out)
    summary = {
        "model_version": report.model_version,
        "out_of_time_as_of": report.oot_as_of.isoformat(),
        "auc": round(report.oot.auc, 4),
        "gini": round(report.oot.gini, 4),
        "ks": round(report.oot.ks, 4),
        "ceiling_auc": round(report.ceiling_auc, 4),
        "ceiling_gap": round(report.ceiling_gap, 4),
        "score_psi": round(report.score_psi, 4),
        "approval_rate": round(report.approval_rate, 4),
        "proxies_flagged": [f"{p.feature}~{p.attribute}" for p in report.proxies if p.flagged],
        "report": str(out),
    }
    console.print_json(json.dumps(summary))
