"""The model report page: self-contained HTML with inline SVG charts, escaped text."""

from __future__ import annotations

import re
from datetime import date

import numpy as np
import pandas as pd

from openbureau.scoring import svg
from openbureau.scoring import validation as v
from openbureau.scoring.fairness import group_fairness, proxy_checks
from openbureau.scoring.model_report import CharacteristicReport, ModelReport
from openbureau.scoring.report_html import render_model_report
from openbureau.scoring.rules import Characteristic, Scaling

MARKUP = '<script>alert("x")</script>'


def _report(with_fairness: bool) -> ModelReport:
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 600)
    points = rng.normal(620, 90, 600) - 80 * y
    scores = v.final_scores(points)
    util = rng.random(600)
    card = Characteristic("utilisation", (0.3, 0.7), (40.0, 10.0, -30.0), -5.0)
    rows, psi = v.characteristic_rows(card, util, y, util[::-1], y[::-1])
    report = ModelReport(
        model_version="sc-test",
        train_as_of=date(2023, 11, 30),
        oot_as_of=date(2024, 11, 30),
        cutoff=600,
        n_train=600,
        n_oot=600,
        bad_rate_train=float(y.mean()),
        bad_rate_oot=float(y.mean()),
        train=v.discrimination(y, scores),
        oot=v.discrimination(y, scores),
        ceiling_auc=0.81,
        bands_train=v.bands(y, points, Scaling()),
        bands_oot=v.bands(y, points, Scaling()),
        score_psi=0.02,
        ks_grid=list(range(300, 901, 10)),
        ks_bads=v.cumulative_shares(y, scores, np.arange(300, 901, 10))[0],
        ks_goods=v.cumulative_shares(y, scores, np.arange(300, 901, 10))[1],
        approval_rate=float((scores >= 600).mean()),
        characteristics=[
            CharacteristicReport(
                "utilisation", "C08", "commercial", "Balance over limit.", rows, psi
            )
        ],
        dropped={"bankruptcies_10y": "no split found (one bin)"},
    )
    if with_fairness:
        groups = pd.Series(rng.choice(["north", MARKUP], 600))
        report.protected_source = f"truth {MARKUP}"
        report.fairness = [group_fairness("region", groups, y, scores >= 600)]
        report.proxies = proxy_checks(
            pd.DataFrame({"utilisation": groups.map({"north": 0, MARKUP: 1})}),
            pd.DataFrame({"region": groups}),
        )
    return report


def test_page_holds_five_inline_charts_and_nothing_fetched():
    page = render_model_report(_report(with_fairness=True))
    assert page.count("<svg") == 5
    for title in (
        "ROC curve",
        "KS ",
        "Scores of goods and bads",
        "Predicted and observed",
        "Stability",
    ):
        assert f"<title>{title}" in page
    assert "<script" not in page
    # no stylesheet, font, image or script from anywhere else
    assert not re.search(r"""(src|href)=["']?https?:""", page)
    assert "@import" not in page and "url(" not in page


def test_page_shows_bins_dropped_features_and_fairness():
    page = render_model_report(_report(with_fairness=True))
    assert "C08 utilisation" in page and "0.3 to below 0.7" in page
    assert "bankruptcies_10y" in page and "no split found" in page
    assert "Default rate among approved" in page
    # the copied attribute is flagged, and every furnished text is escaped
    assert "proxy: review" in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page


def test_without_protected_attributes_fairness_says_it_was_not_measured():
    page = render_model_report(_report(with_fairness=False))
    assert "so fairness was not measured" in page
    assert "proxy: review" not in page


def test_svg_escapes_text_and_breaks_lines_at_gaps():
    chart = svg.line_chart(
        "a < b & c",
        [svg.Series("s", [0, 1, 2, 3, 4], [0.1, 0.2, None, 0.3, 0.4])],
        x_label="x",
        y_label="y",
        x_range=(0, 4),
    )
    assert "<title>a &lt; b &amp; c</title>" in chart
    assert chart.count("<polyline") == 2
    bars = svg.bar_chart(
        "t", ["300–349", "350–399"], [("goods", [0.5, None])], x_label="x", y_label="y"
    )
    assert bars.count("<rect") == 2  # one bar and one legend swatch
    assert "goods, 300–349: 50.0%" in bars
