"""Fairness of a scorecard at a cut-off, per protected group, and features that act as proxies
for a protected attribute.

Protected attributes (sex, age band, region, ...) come from outside the bureau's features and
are never given to the model: they are joined to the scored sample here, for measurement
only. Nothing here decides anything: a flag asks a person to look.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame, count, selection_rate
from scipy.stats import chi2_contingency

#: How the association of a feature with a protected attribute is measured.
PROXY_MEASURE = "Cramér's V with Bergsma's bias correction"
#: A feature whose association with a protected attribute reaches this is flagged as a proxy
#: (0.3 is the conventional "medium" association; below it a feature carries little of the
#: attribute).
PROXY_THRESHOLD = 0.3


def default_rate_among_approved(y_true, y_pred) -> float:
    """Share of bad outcomes among the approved (y_pred == 1); NaN when none is approved."""
    approved = np.asarray(y_pred) == 1
    return float(np.asarray(y_true)[approved].mean()) if approved.any() else math.nan


@dataclass(frozen=True)
class GroupRow:
    group: str
    n: int
    approval_rate: float
    default_rate_approved: float


@dataclass(frozen=True)
class AttributeFairness:
    """Per group of one attribute, at a cut-off: how many, the approval rate and the default
    rate among the approved; and the largest gap and smallest ratio between groups."""

    attribute: str
    groups: list[GroupRow]
    approval_gap: float
    approval_ratio: float
    default_gap: float


def group_fairness(
    attribute: str, groups: pd.Series, y: np.ndarray, approved: np.ndarray
) -> AttributeFairness:
    """fairlearn's MetricFrame over the rows whose attribute is known."""
    known = groups.notna().to_numpy()
    if not known.any():
        raise ValueError(f"no subject in the sample has a known {attribute!r}")
    frame = MetricFrame(
        metrics={
            "n": count,
            "approval_rate": selection_rate,
            "default_rate_approved": default_rate_among_approved,
        },
        y_true=np.asarray(y, int)[known],
        y_pred=np.asarray(approved, int)[known],
        sensitive_features=groups[known].astype(str).to_numpy(),
    )
    table = frame.by_group
    rows = [
        GroupRow(
            str(name),
            int(row["n"]),
            float(row["approval_rate"]),
            float(row["default_rate_approved"]),
        )
        for name, row in table.iterrows()
    ]
    gaps = frame.difference(method="between_groups")
    ratios = frame.ratio(method="between_groups")
    return AttributeFairness(
        attribute,
        rows,
        approval_gap=float(gaps["approval_rate"]),
        approval_ratio=float(ratios["approval_rate"]),
        default_gap=float(gaps["default_rate_approved"]),
    )


def cramers_v(a: pd.Series, b: pd.Series) -> float:
    """Association of two categorical series, 0 (none) to 1 (one determines the other),
    bias-corrected (Bergsma 2013) so that many small groups do not inflate it. Rows with
    either value missing are left out."""
    keep = (a.notna() & b.notna()).to_numpy()
    table = pd.crosstab(a.to_numpy()[keep], b.to_numpy()[keep]).to_numpy()
    n = table.sum()
    r, k = table.shape
    if n < 2 or r < 2 or k < 2:
        return 0.0
    chi2 = chi2_contingency(table, correction=False)[0]
    phi2 = max(0.0, chi2 / n - (k - 1) * (r - 1) / (n - 1))
    r_corr = r - (r - 1) ** 2 / (n - 1)
    k_corr = k - (k - 1) ** 2 / (n - 1)
    denominator = min(k_corr - 1, r_corr - 1)
    return float(math.sqrt(phi2 / denominator)) if denominator > 0 else 0.0


@dataclass(frozen=True)
class ProxyCheck:
    feature: str
    attribute: str
    association: float
    flagged: bool


def proxy_checks(
    binned: pd.DataFrame, protected: pd.DataFrame, threshold: float = PROXY_THRESHOLD
) -> list[ProxyCheck]:
    """Every (feature, attribute) pair with its association: `binned` holds each feature as
    the scorecard sees it (its bin, missing as a bin of its own), `protected` the attributes,
    row for row (positions, not index labels, are matched). Strongest first."""
    checks = [
        ProxyCheck(feature, attribute, v, v >= threshold)
        for feature in binned.columns
        for attribute in protected.columns
        for v in [cramers_v(binned[feature], protected[attribute])]
    ]
    return sorted(checks, key=lambda c: (-c.association, c.feature, c.attribute))
