"""Validation metrics of a published scorecard on an out-of-time sample: ROC, KS, score
distributions, calibration per score band, population stability against training, and each
characteristic's bins with counts, bad rates and points.

Pure functions over arrays (no files, no clock). Scores are "higher is better"; outcomes are
1 for bad. The gradient-boosting ceiling (`ceiling_auc`) is the one place that fits a model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score, roc_curve

from openbureau.scoring.rules import SCORE_MAX, SCORE_MIN, Characteristic, Scaling
from openbureau.scoring.scorecard import final_scores

#: Score bands for distributions, calibration and stability: 50 points wide (one PDO).
BAND_WIDTH = 50
#: A share below this counts as this much in PSI, so an empty band does not give infinity.
PSI_FLOOR = 1e-4
#: Conventional reading of a PSI: under 0.10 stable, 0.10-0.25 a shift to watch, above major.
PSI_WATCH, PSI_MAJOR = 0.10, 0.25

#: The ceiling model: shallow, regularised trees with early stopping on a slice of the
#: training rows; the out-of-time sample is never seen while fitting.
CEILING_PARAMS = {
    "learning_rate": 0.05,
    "max_iter": 400,
    "max_depth": 3,
    "min_samples_leaf": 80,
    "early_stopping": True,
    "validation_fraction": 0.1,
}
#: Training rows above this are sampled (fixed seed) before fitting the ceiling.
CEILING_MAX_ROWS = 200_000


def predicted_bad_rate(total_points: np.ndarray, scaling: Scaling) -> np.ndarray:
    """The default probability the scorecard's points stand for (the inverse of the scaling:
    points = offset + factor * ln(good:bad odds))."""
    odds = np.exp((np.asarray(total_points, float) - scaling.offset) / scaling.factor)
    return 1.0 / (1.0 + odds)


@dataclass(frozen=True)
class Discrimination:
    auc: float
    gini: float
    ks: float
    ks_score: float  # the score at which goods and bads are furthest apart
    fpr: list[float]  # ROC: share of goods / bads scoring at or below each threshold
    tpr: list[float]


def discrimination(y: np.ndarray, score: np.ndarray, max_points: int = 150) -> Discrimination:
    """AUC, Gini, KS and a thinned ROC curve (at most `max_points` points) of a score."""
    y, score = np.asarray(y, int), np.asarray(score, float)
    if len(y) == 0 or y.min() == y.max():
        raise ValueError("the sample needs both good and bad outcomes")
    fpr, tpr, thresholds = roc_curve(y, -score)
    k = int(np.argmax(tpr - fpr))
    keep = np.unique(np.linspace(0, len(fpr) - 1, min(max_points, len(fpr))).astype(int))
    auc = float(roc_auc_score(y, -score))
    return Discrimination(
        auc=auc,
        gini=2 * auc - 1,
        ks=float(tpr[k] - fpr[k]),
        ks_score=float(-thresholds[k]) if np.isfinite(thresholds[k]) else float(SCORE_MAX),
        fpr=[float(v) for v in fpr[keep]],
        tpr=[float(v) for v in tpr[keep]],
    )


def cumulative_shares(
    y: np.ndarray, score: np.ndarray, grid: np.ndarray
) -> tuple[list[float], list[float]]:
    """For each score in `grid`: the share of bads and the share of goods scoring at or below
    it (the two curves whose widest gap is the KS)."""
    y, score = np.asarray(y, int), np.asarray(score, float)
    bads, goods = np.sort(score[y == 1]), np.sort(score[y == 0])
    at_or_below = [np.searchsorted(s, grid, side="right") / max(len(s), 1) for s in (bads, goods)]
    return [float(v) for v in at_or_below[0]], [float(v) for v in at_or_below[1]]


def band_edges(width: int = BAND_WIDTH) -> list[int]:
    """Band edges from 300 to 900; the last band includes 900."""
    return list(range(SCORE_MIN, SCORE_MAX, width)) + [SCORE_MAX + 1]


def band_index(score: np.ndarray, edges: list[int]) -> np.ndarray:
    return np.searchsorted(np.asarray(edges), np.asarray(score, float), side="right") - 1


def band_label(edges: list[int], i: int) -> str:
    return f"{edges[i]}–{edges[i + 1] - 1}"


@dataclass(frozen=True)
class Band:
    label: str
    goods: int
    bads: int
    predicted: float | None  # mean predicted default rate of the band (None when empty)

    @property
    def n(self) -> int:
        return self.goods + self.bads

    @property
    def observed(self) -> float | None:
        return self.bads / self.n if self.n else None


def bands(
    y: np.ndarray, total_points: np.ndarray, scaling: Scaling, width: int = BAND_WIDTH
) -> list[Band]:
    """Goods, bads and the predicted against the observed default rate per score band."""
    y = np.asarray(y, int)
    edges = band_edges(width)
    idx = band_index(final_scores(total_points), edges)
    pd_hat = predicted_bad_rate(total_points, scaling)
    out = []
    for i in range(len(edges) - 1):
        inside = idx == i
        n = int(inside.sum())
        out.append(
            Band(
                band_label(edges, i),
                goods=int((inside & (y == 0)).sum()),
                bads=int((inside & (y == 1)).sum()),
                predicted=float(pd_hat[inside].mean()) if n else None,
            )
        )
    return out


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of two count vectors over the same bins:
    sum over bins of (a - e) * ln(a / e), shares floored at `PSI_FLOOR`."""
    e = np.asarray(expected, float)
    a = np.asarray(actual, float)
    if e.sum() == 0 or a.sum() == 0:
        return math.nan
    e = np.maximum(e / e.sum(), PSI_FLOOR)
    a = np.maximum(a / a.sum(), PSI_FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def psi_reading(value: float) -> str:
    if math.isnan(value):
        return "not measurable"
    if value < PSI_WATCH:
        return "stable"
    return "a shift to watch" if value < PSI_MAJOR else "a major shift"


@dataclass(frozen=True)
class BinRow:
    label: str
    points: float
    train_n: int
    train_bad_rate: float | None
    oot_n: int
    oot_bad_rate: float | None


def _edge(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


def bin_labels(c: Characteristic) -> list[str]:
    """Readable ranges of a characteristic's bins, then "missing"."""
    edges = [-math.inf, *c.splits, math.inf]
    labels = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        if lo == -math.inf:
            labels.append(f"below {_edge(hi)}")
        elif hi == math.inf:
            labels.append(f"{_edge(lo)} or more")
        else:
            labels.append(f"{_edge(lo)} to below {_edge(hi)}")
    return [*labels, "missing"]


def bin_codes(c: Characteristic, values: np.ndarray) -> np.ndarray:
    """Each value's bin index; missing values get the index after the last bin."""
    values = np.asarray(values, float)
    idx = np.searchsorted(np.asarray(c.splits, float), values, side="right")
    return np.where(np.isnan(values), len(c.splits) + 1, idx)


def _counts(codes: np.ndarray, y: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    return np.bincount(codes, minlength=k), np.bincount(codes, weights=y, minlength=k)


def characteristic_rows(
    c: Characteristic,
    train_values: np.ndarray,
    train_y: np.ndarray,
    oot_values: np.ndarray,
    oot_y: np.ndarray,
) -> tuple[list[BinRow], float]:
    """Each bin (and "missing") with its points, count and bad rate in training and out of
    time, and the characteristic's stability index (PSI of its bin counts)."""
    labels = bin_labels(c)
    k = len(labels)
    tn, tb = _counts(bin_codes(c, train_values), np.asarray(train_y, float), k)
    on, ob = _counts(bin_codes(c, oot_values), np.asarray(oot_y, float), k)
    rows = []
    for i, label in enumerate(labels):
        if label == "missing" and tn[i] == 0 and on[i] == 0:
            continue
        rows.append(
            BinRow(
                label,
                c.missing_points if label == "missing" else c.points[i],
                int(tn[i]),
                float(tb[i] / tn[i]) if tn[i] else None,
                int(on[i]),
                float(ob[i] / on[i]) if on[i] else None,
            )
        )
    return rows, psi(tn, on)


def ceiling_auc(
    X_train: np.ndarray, y_train: np.ndarray, X_oot: np.ndarray, y_oot: np.ndarray, seed: int = 0
) -> float:
    """Out-of-time AUC of a gradient-boosting model fitted on the same training rows and
    features as the scorecard, unconstrained (no monotonicity, no binning): how much a
    black box could add. A feature nobody in training has a value for is left out (it can
    add nothing, and the trees cannot bin it)."""
    X_train, y_train = np.asarray(X_train, float), np.asarray(y_train, int)
    known = ~np.isnan(X_train).all(axis=0)
    X_train, X_oot = X_train[:, known], np.asarray(X_oot, float)[:, known]
    if len(y_train) > CEILING_MAX_ROWS:
        take = np.sort(np.random.default_rng(seed).choice(len(y_train), CEILING_MAX_ROWS, False))
        X_train, y_train = X_train[take], y_train[take]
    model = HistGradientBoostingClassifier(random_state=seed, **CEILING_PARAMS)
    model.fit(X_train, y_train)
    return float(roc_auc_score(y_oot, model.predict_proba(X_oot)[:, 1]))
