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

from openbureau.features.rules import FEATURES_BY_NAME, feature_names
from openbureau.scoring.rules import Characteristic, Scaling
from openbureau.scoring.scorecard import CompiledScorecard

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


def _binning_process(names: list[str]) -> BinningProcess:
    params = {n: {"monotonic_trend": FEATURES_BY_NAME[n].trend} for n in names}
    return BinningProcess(
        variable_names=names,
        binning_fit_params=params,
        min_prebin_size=0.005,
        min_bin_size=0.005,
        max_n_bins=6,
    )


def _compile(sc: Scorecard, scaling: Scaling) -> tuple[CompiledScorecard, dict[str, float]]:
    """Published bins and points from a fitted optbinning scorecard, and each selected
    variable's coefficient."""
    table = sc.table(style="detailed")
    intercept = float(np.ravel(sc.estimator_.intercept_)[0])
    chars, coefs = [], {}
    for name in sorted(str(n) for n in sc.binning_process_.get_support(names=True)):
        rows = table[table["Variable"] == name]
        optb = sc.binning_process_.get_binned_variable(name)
        splits = tuple(float(s) for s in np.asarray(optb.splits, dtype=float))
        regular = rows[~rows["Bin"].astype(str).isin(["Special", "Missing"])]
        missing = rows[rows["Bin"].astype(str) == "Missing"]
        # optbinning's Points are WoE x coefficient: the variable's share of log-odds of bad.
        points = tuple(scaling.points(float(p)) for p in regular["Points"])
        missing_points = scaling.points(float(missing["Points"].iloc[0])) if len(missing) else 0.0
        chars.append(Characteristic(name, splits, points, missing_points))
        coefs[name] = float(regular["Coefficient"].iloc[0])
    card = CompiledScorecard(scaling.base_points(intercept), tuple(chars), scaling)
    return card, coefs


def fit_scorecard(
    X: pd.DataFrame, y: np.ndarray, *, scaling: Scaling | None = None, seed: int = 20
) -> FittedModel:
    """Fit on features `X` (columns named as in FEATURES) and outcomes `y` (1 = bad)."""
    scaling = scaling or Scaling()
    y = np.asarray(y, dtype=int)
    if int(y.sum()) < MIN_BADS or int((1 - y).sum()) < MIN_BADS:
        raise TrainingError(
            f"too few outcomes to fit a scorecard: {int(y.sum())} bad and "
            f"{int((1 - y).sum())} good (need {MIN_BADS} of each)"
        )
    if len(X) > MAX_TRAIN_ROWS:
        take = np.random.default_rng(seed).choice(len(X), MAX_TRAIN_ROWS, replace=False)
        take.sort()
        X, y = X.iloc[take], y[take]
    X = X[feature_names()].apply(pd.to_numeric, errors="coerce").astype(float)
    dropped: dict[str, str] = {}
    names = []
    for n in feature_names():
        if X[n].nunique(dropna=True) < 2:
            dropped[n] = "a single value in the training data"
        else:
            names.append(n)
    if not names:
        raise TrainingError("no characteristic varies in the training data")
    # Bin once, then drop characteristics one at a time on the cheap WoE regression; the
    # binning is deterministic, so the final refit on the kept names finds the same bins.
    binning = _binning_process(names).fit(X[names], y)
    woe = binning.transform(X[names], metric="woe", metric_missing="empirical")
    for n in names:
        if len(binning.get_binned_variable(n).splits) == 0:
            dropped[n] = "no split found (one bin)"
    names = [n for n in names if n not in dropped]
    while names:
        lr = LogisticRegression(max_iter=1000).fit(woe[names], y)
        coefs = dict(zip(names, lr.coef_.ravel(), strict=True))
        # WoE grows as risk falls, so a coherent coefficient is negative.
        worst = max(coefs, key=lambda n: coefs[n])
        if coefs[worst] < 0:
            break
        dropped[worst] = "coefficient against the published direction (collinear)"
        names.remove(worst)
    if not names:
        raise TrainingError("no characteristic separates good from bad in the training data")
    sc = Scorecard(
        binning_process=_binning_process(names), estimator=LogisticRegression(max_iter=1000)
    )
    sc.fit(X[names], y, metric_missing="empirical")
    card, coefs = _compile(sc, scaling)
    against = [n for n, c in coefs.items() if c >= 0]
    if against:
        raise TrainingError(f"refit reversed the direction of {against}")
    return FittedModel(card, sc, dropped)


def evaluate(card: CompiledScorecard, X: pd.DataFrame, y: np.ndarray) -> dict[str, float]:
    """AUC, Gini and KS of the score (higher = better) against outcomes (1 = bad)."""
    y = np.asarray(y, dtype=int)
    if len(y) == 0 or y.min() == y.max():
        return {"auc": float("nan"), "gini": float("nan"), "ks": float("nan"), "n": len(y)}
    risk = -card.total_points(X)
    auc = float(roc_auc_score(y, risk))
    fpr, tpr, _ = roc_curve(y, risk)
    return {
        "auc": round(auc, 4),
        "gini": round(2 * auc - 1, 4),
        "ks": round(float(np.max(tpr - fpr)), 4),
        "n": int(len(y)),
        "bad_rate": round(float(y.mean()), 4),
    }
