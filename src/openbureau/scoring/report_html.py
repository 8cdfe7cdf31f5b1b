"""The model report as one self-contained HTML page: inline SVG charts, inline CSS, no script
and nothing fetched, so the file can be archived with the model and opened anywhere."""

from __future__ import annotations

import math
from pathlib import Path

import jinja2
from markupsafe import Markup

from openbureau.scoring import svg
from openbureau.scoring.fairness import PROXY_MEASURE, PROXY_THRESHOLD
from openbureau.scoring.model_report import ModelReport
from openbureau.scoring.validation import PSI_MAJOR, PSI_WATCH, psi_reading

TEMPLATES = Path(__file__).parent / "templates"


def _percent(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{100 * value:.{digits}f}%"


def _number(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.{digits}f}"


def charts(report: ModelReport) -> dict[str, Markup]:
    """The report's five charts as inline SVG."""
    oot, train = report.bands_oot, report.bands_train
    labels = [b.label for b in oot]
    goods = sum(b.goods for b in oot) or 1
    bads = sum(b.bads for b in oot) or 1
    n_train = sum(b.n for b in train) or 1
    n_oot = sum(b.n for b in oot) or 1
    o, t = report.oot, report.train
    roc = svg.line_chart(
        "ROC curve",
        [
            svg.Series(f"out of time (AUC {o.auc:.3f})", o.fpr, o.tpr),
            svg.Series(f"training (AUC {t.auc:.3f})", t.fpr, t.tpr),
            svg.Series("chance", [0, 1], [0, 1], dashed=True),
        ],
        x_label="share of goods declined",
        y_label="share of bads declined",
        x_range=(0, 1),
        x_ticks=(0, 0.25, 0.5, 0.75, 1),
    )
    ks = svg.line_chart(
        f"KS {report.oot.ks:.3f} (out of time)",
        [
            svg.Series("bads at or below", report.ks_grid, report.ks_bads),
            svg.Series("goods at or below", report.ks_grid, report.ks_goods),
        ],
        x_label="score",
        y_label="cumulative share",
        x_range=(300, 900),
        x_ticks=(300, 400, 500, 600, 700, 800, 900),
        markers=[(report.oot.ks_score, f"widest gap at {report.oot.ks_score:.0f}")],
    )
    distribution = svg.bar_chart(
        "Scores of goods and bads (out of time)",
        labels,
        [("goods", [b.goods / goods for b in oot]), ("bads", [b.bads / bads for b in oot])],
        x_label="score band",
        y_label="share of the group",
    )
    calibration = svg.bar_chart(
        "Predicted and observed default rate",
        labels,
        [("predicted", [b.predicted for b in oot]), ("observed", [b.observed for b in oot])],
        x_label="score band",
        y_label="default rate",
    )
    stability = svg.bar_chart(
        f"Stability: PSI {report.score_psi:.3f} ({psi_reading(report.score_psi)})",
        labels,
        [("training", [b.n / n_train for b in train]), ("out of time", [b.n / n_oot for b in oot])],
        x_label="score band",
        y_label="share of the sample",
    )
    parts = {
        "roc": roc,
        "ks": ks,
        "distribution": distribution,
        "calibration": calibration,
        "stability": stability,
    }
    # the SVG is built here from numbers and escaped text, so it is safe to inline
    return {name: Markup(text) for name, text in parts.items()}


def render_model_report(report: ModelReport) -> str:
    """The whole page."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(percent=_percent, number=_number)
    return env.get_template("model_report.html").render(
        r=report,
        charts=charts(report),
        psi_reading=psi_reading,
        PSI_WATCH=PSI_WATCH,
        PSI_MAJOR=PSI_MAJOR,
        PROXY_MEASURE=PROXY_MEASURE,
        PROXY_THRESHOLD=PROXY_THRESHOLD,
    )
