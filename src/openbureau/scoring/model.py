"""Fit the scorecard (optbinning: monotone optimal binning, WoE, logistic regression), compile
it to published bins and points, and measure it (AUC, Gini, KS).

Every characteristic bins monotonically in the direction published in `features.rules`
(or, for the few marked "auto_asc_desc", a direction the data picks). A characteristic whose
fitted coefficient would reverse that direction (collinearity) is dropped and the model refit,
so a worse value never earns more points.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from optbinning import BinningProcess, Scorecard
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score, roc_curve

from openbureau.features.rules import FEATURES_BY_NAME, INQUIRIES_FEATURE, feature_names
from openbureau.scoring.rules import Characteristic, Scaling
from openbureau.scoring.scorecard import CardKind, CompiledScorecard

log = logging.getLogger(__name__)

#: Training rows are sampled down to this many (deterministically) to bound the fit time.
MAX_TRAIN_ROWS = 250_000
#: Fewer bad outcomes than this and no model is fitted.
MIN_BADS = 20


class TrainingError(ValueError):
    """The data cannot support a scorecard (too few outcomes, no usable characteristic)."""


@dataclass
class FittedModel:
    card: CompiledScorecard
    scorecard: Scorecard
    dropped: dict[str, str] = field(default_factory=dict)


#: Binning of the bureau's features: up to 6 bins of at least 0.5% of the population.
BUREAU_BINNING = {"min_prebin_size": 0.005, "min_bin_size": 0.005, "max_n_bins": 6}


def _binning_process(names: list[str], specs: dict[str, dict], options: dict) -> BinningProcess:
    categorical = [n for n in names if specs[n].get("dtype") == "categorical"]
    return BinningProcess(
        variable_names=names,
        categorical_variables=categorical or None,
        binning_fit_params={n: specs[n] for n in names if n not in categorical},
        **options,
    )


def _n_bins(optb) -> int:
    splits = optb.splits
    return len(splits) if optb.dtype == "categorical" else len(splits) + 1


def _compile(
    sc: Scorecard, scaling: Scaling, kind: CardKind, inquiries: str | None
) -> tuple[CompiledScorecard, dict[str, float]]:
    """Published bins and points from a fitted optbinning scorecard (already scaled by its
    "pdo_odds" method, so base points are 0), and each selected variable's coefficient.

    optbinning's table lists per variable its bins, then "Special", then "Missing"; its
    `score()` gives the last row's points to a missing value and to an unseen category."""
    table = sc.table(style="detailed")
    chars, coefs = [], {}
    for name in sorted(str(n) for n in sc.binning_process_.get_support(names=True)):
        rows = table[table["Variable"] == name]
        optb = sc.binning_process_.get_binned_variable(name)
        points = rows["Points"].to_numpy(dtype=float)
        n = _n_bins(optb)
        if optb.dtype == "categorical":
            groups = tuple(tuple(str(v) for v in group) for group in optb.splits)
            splits: tuple[float, ...] = ()
        else:
            groups, splits = (), tuple(float(s) for s in np.asarray(optb.splits, dtype=float))
        regular = tuple(float(p) for p in points[:n])
        chars.append(Characteristic(name, splits, regular, float(points[-1]), groups))
        coefs[name] = float(rows["Coefficient"].iloc[0])
    card = CompiledScorecard(0.0, tuple(chars), scaling, kind=kind, inquiries=inquiries)
    return card, coefs


def fit_characteristics(
    X: pd.DataFrame,
    y: np.ndarray,
    specs: dict[str, dict],
    *,
    scaling: Scaling,
    kind: CardKind,
    binning: dict,
    inquiries: str | None = None,
) -> FittedModel:
    """Fit a monotone scorecard on the columns named in `specs` (each: optbinning fit
    parameters, `dtype` "categorical" for a categorical column) and outcomes `y` (1 = bad).

    Characteristics with one value or one bin are dropped, and so, one at a time, is any whose
    coefficient would reverse its bins' order (collinearity), so that a riskier bin never
    earns more points. Raises TrainingError when nothing usable is left."""
    y = np.asarray(y, dtype=int)
    if int(y.sum()) < MIN_BADS or int((1 - y).sum()) < MIN_BADS:
        raise TrainingError(
            f"too few outcomes to fit a scorecard: {int(y.sum())} bad and "
            f"{int((1 - y).sum())} good (need {MIN_BADS} of each)"
        )
    dropped: dict[str, str] = {}
    names = []
    for n in specs:
        if X[n].nunique(dropna=True) < 2:
            dropped[n] = "a single value in the training data"
        else:
            names.append(n)
    if not names:
        raise TrainingError("no characteristic varies in the training data")
    names.sort()
    # Bin once, then drop characteristics one at a time on the cheap WoE regression; the
    # binning is deterministic, so the final refit on the kept names finds the same bins.
    process = _binning_process(names, specs, binning).fit(X[names], y)
    woe = process.transform(X[names], metric="woe", metric_missing="empirical")
    for n in names:
        if _n_bins(process.get_binned_variable(n)) < 2:
            dropped[n] = "no split found (one bin)"
    names = [n for n in names if n not in dropped]
    while names:
        lr = LogisticRegression(max_iter=1000).fit(woe[names], y)
        coefs = dict(zip(names, lr.coef_.ravel(), strict=True))
        # WoE grows as risk falls, so a coherent coefficient is negative.
        worst = max(coefs, key=lambda n: coefs[n])
        if coefs[worst] < 0:
            break
        dropped[worst] = "coefficient against the direction of its bins (collinear)"
        names.remove(worst)
    if not names:
        raise TrainingError("no characteristic separates good from bad in the training data")
    sc = Scorecard(
        binning_process=_binning_process(names, specs, binning),
        estimator=LogisticRegression(max_iter=1000),
        scaling_method="pdo_odds",
        scaling_method_params={
            "pdo": scaling.pdo,
            "odds": scaling.base_odds,
            "scorecard_points": scaling.base_score,
        },
    )
    sc.fit(X[names], y, metric_missing="empirical")
    card, coefs = _compile(sc, scaling, kind, inquiries if inquiries in names else None)
    against = [n for n, c in coefs.items() if c >= 0]
    if against:
        raise TrainingError(f"refit reversed the direction of {against}")
    return FittedModel(card, sc, dropped)


def fit_scorecard(
    X: pd.DataFrame, y: np.ndarray, *, scaling: Scaling | None = None, seed: int = 20
) -> FittedModel:
    """Fit on the bureau's features `X` (columns named as in FEATURES) and outcomes `y`
    (1 = bad); each feature binned monotonically in its published direction."""
    y = np.asarray(y, dtype=int)
    if len(X) > MAX_TRAIN_ROWS:
        take = np.random.default_rng(seed).choice(len(X), MAX_TRAIN_ROWS, replace=False)
        take.sort()
        X, y = X.iloc[take], y[take]
    X = X[feature_names()].apply(pd.to_numeric, errors="coerce").astype(float)
    specs = {n: {"monotonic_trend": FEATURES_BY_NAME[n].trend} for n in feature_names()}
    return fit_characteristics(
        X,
        y,
        specs,
        scaling=scaling or Scaling(),
        kind="bureau",
        binning=BUREAU_BINNING,
        inquiries=INQUIRIES_FEATURE,
    )


def evaluate(card: CompiledScorecard, X: pd.DataFrame, y: np.ndarray) -> dict[str, float]:
    """AUC, Gini and KS of the score (higher = better) against outcomes (1 = bad)."""
    return separation(card.total_points(X), y)


def separation(total_points: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """AUC, Gini, KS, n and bad rate of scores (higher = better) against outcomes (1 = bad)."""
    y = np.asarray(y, dtype=int)
    if len(y) == 0 or y.min() == y.max():
        return {"auc": float("nan"), "gini": float("nan"), "ks": float("nan"), "n": len(y)}
    risk = -np.asarray(total_points, dtype=float)
    auc = float(roc_auc_score(y, risk))
    fpr, tpr, _ = roc_curve(y, risk)
    return {
        "auc": round(auc, 4),
        "gini": round(2 * auc - 1, 4),
        "ks": round(float(np.max(tpr - fpr)), 4),
        "n": int(len(y)),
        "bad_rate": round(float(y.mean()), 4),
    }
