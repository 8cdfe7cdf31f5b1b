"""Fitting and compiling the scorecard on a synthetic feature frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from openbureau.features.rules import FEATURES_BY_NAME, feature_names
from openbureau.scoring.model import TrainingError, evaluate, fit_scorecard


def _frame(n: int, seed: int = 3) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(0.0, index=range(n), columns=feature_names())
    late = rng.poisson(0.6, n).astype(float)
    util = rng.random(n)
    util[rng.random(n) < 0.15] = np.nan
    history = rng.integers(6, 240, n).astype(float)
    frame["late30_count_24m"] = late
    frame["utilisation"] = util
    frame["credit_history_months"] = history
    frame["open_accounts"] = rng.integers(0, 5, n).astype(float)
    logit = -3.0 + 0.9 * late + 1.5 * np.nan_to_num(util, nan=0.5) - history / 200
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame, y


@pytest.fixture(scope="module")
def fitted():
    X, y = _frame(4000)
    return fit_scorecard(X, y), X, y


def test_points_follow_the_published_direction(fitted):
    model, _, _ = fitted
    assert {"late30_count_24m", "utilisation", "credit_history_months"} <= set(model.card.features)
    for c in model.card.characteristics:
        pts = np.array(c.points)
        trend = FEATURES_BY_NAME[c.feature].trend
        if trend == "ascending":  # more of it is riskier: never more points
            assert np.all(np.diff(pts) <= 1e-9), c
        elif trend == "descending":
            assert np.all(np.diff(pts) >= -1e-9), c


def test_constant_features_are_dropped_with_a_reason(fitted):
    model, _, _ = fitted
    assert model.dropped["bankruptcies_10y"] == "a single value in the training data"
    assert "bankruptcies_10y" not in model.card.features


def test_compiled_card_reproduces_the_fitted_model(fitted):
    model, X, _ = fitted
    s = model.card.scaling
    expected = s.offset - s.factor * model.scorecard.decision_function(X[model.card.features])
    np.testing.assert_allclose(model.card.total_points(X), expected, atol=1e-6)


def test_model_separates_good_from_bad(fitted):
    model, _, _ = fitted
    X, y = _frame(3000, seed=11)  # fresh sample
    metrics = evaluate(model.card, X, y)
    assert metrics["auc"] > 0.7
    assert metrics["gini"] == pytest.approx(2 * metrics["auc"] - 1, abs=1e-3)
    assert 0 < metrics["ks"] < 1


def test_too_few_bad_outcomes_refuse_to_fit():
    X, _ = _frame(200)
    y = np.zeros(200, dtype=int)
    y[:5] = 1
    with pytest.raises(TrainingError, match="too few outcomes"):
        fit_scorecard(X, y)
