"""Validation metrics of a scorecard: discrimination, calibration, stability, bins, ceiling."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openbureau.scoring import validation as v
from openbureau.scoring.rules import Characteristic, Scaling


def test_perfect_and_reversed_scores():
    y = np.array([1, 1, 0, 0, 0])
    perfect = v.discrimination(y, np.array([300, 350, 700, 720, 800]))
    assert (perfect.auc, perfect.gini, perfect.ks) == (1.0, 1.0, 1.0)
    # every bad at or below 350 and no good: the widest gap is there
    assert perfect.ks_score == 350
    reversed_ = v.discrimination(y, np.array([800, 720, 300, 350, 700]))
    assert reversed_.auc == 0.0 and reversed_.gini == -1.0
    assert perfect.fpr[0] == 0.0 and perfect.tpr[-1] == 1.0


def test_auc_counts_ties_as_half():
    # pairs (bad, good): 500 vs 500 tie, 500 vs 600 right, 400 vs 500 right, 400 vs 600 right
    d = v.discrimination(np.array([1, 1, 0, 0]), np.array([500, 400, 500, 600]))
    assert d.auc == pytest.approx(3.5 / 4)


def test_discrimination_needs_both_outcomes():
    with pytest.raises(ValueError, match="both good and bad"):
        v.discrimination(np.array([0, 0]), np.array([500, 600]))


def test_roc_curve_is_thinned_but_keeps_its_ends():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 5000)
    d = v.discrimination(y, rng.normal(600, 80, 5000) - 60 * y, max_points=50)
    assert len(d.fpr) <= 50
    assert (d.fpr[0], d.tpr[0], d.fpr[-1], d.tpr[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert d.fpr == sorted(d.fpr) and d.tpr == sorted(d.tpr)


def test_predicted_bad_rate_inverts_the_scaling():
    s = Scaling()  # 600 at odds 30:1, 50 points double the odds
    got = v.predicted_bad_rate(np.array([600.0, 650.0, 550.0]), s)
    assert got == pytest.approx([1 / 31, 1 / 61, 1 / 16])


def test_bands_count_goods_bads_and_predicted_rate():
    s = Scaling()
    points = np.array([299.0, 300.4, 349.6, 600.0, 600.0, 899.6, 1200.0])
    y = np.array([1, 1, 0, 0, 1, 0, 0])
    bands = {b.label: b for b in v.bands(y, points, s)}
    assert len(bands) == 12
    # 299 and 300.4 score 300; 349.6 rounds to 350, the next band
    assert (bands["300–349"].goods, bands["300–349"].bads) == (0, 2)
    assert (bands["350–399"].goods, bands["350–399"].bads) == (1, 0)
    assert bands["600–649"].observed == 0.5
    assert bands["600–649"].predicted == pytest.approx(1 / 31)
    # 899.6 rounds to 900 and 1200 is held at 900: the last band includes 900
    assert bands["850–900"].n == 2
    assert bands["450–499"].observed is None and bands["450–499"].predicted is None


def test_cumulative_shares():
    bads, goods = v.cumulative_shares(
        np.array([1, 1, 0, 0]), np.array([300, 500, 500, 700]), np.array([299, 300, 500, 900])
    )
    assert bads == [0.0, 0.5, 1.0, 1.0]
    assert goods == [0.0, 0.0, 0.5, 1.0]


@pytest.mark.parametrize(
    ("expected", "actual", "psi"),
    [
        ([10, 20, 70], [10, 20, 70], 0.0),
        ([50, 50], [25, 75], 0.25 * math.log(0.25 / 0.5) * -1 + 0.25 * math.log(0.75 / 0.5)),
        ([1, 1], [0, 0], math.nan),
    ],
)
def test_psi_cases(expected, actual, psi):
    got = v.psi(np.array(expected), np.array(actual))
    assert (math.isnan(got) and math.isnan(psi)) or got == pytest.approx(psi)


def test_psi_of_an_emptied_bin_is_large_but_finite():
    got = v.psi(np.array([50, 50]), np.array([100, 0]))
    assert math.isfinite(got) and got > v.PSI_MAJOR


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(0, 1000), min_size=2, max_size=10),
    st.lists(st.integers(0, 1000), min_size=2, max_size=10),
)
def test_psi_is_never_negative_and_symmetric(a, b):
    k = min(len(a), len(b))
    a, b = np.array(a[:k]), np.array(b[:k])
    got = v.psi(a, b)
    if a.sum() and b.sum():
        assert got >= 0
        assert got == pytest.approx(v.psi(b, a))


@pytest.mark.parametrize(
    ("value", "reading"),
    [(0.0, "stable"), (0.099, "stable"), (0.1, "a shift to watch"), (0.3, "a major shift")],
)
def test_psi_reading(value, reading):
    assert v.psi_reading(value) == reading


CARD = Characteristic("utilisation", (0.3, 0.7), (40.0, 10.0, -30.0), missing_points=-5.0)


def test_bin_labels_and_codes():
    assert v.bin_labels(CARD) == ["below 0.3", "0.3 to below 0.7", "0.7 or more", "missing"]
    money = Characteristic("total_balance", (1000.0, 44043500.0), (1.0, 2.0, 3.0), 0.0)
    assert v.bin_labels(money)[1] == "1,000 to below 44,043,500"
    codes = v.bin_codes(CARD, np.array([0.0, 0.3, 0.69, 0.7, 5.0, np.nan]))
    assert codes.tolist() == [0, 1, 1, 2, 2, 3]


def test_characteristic_rows_count_bad_rates_and_points():
    train = np.array([0.1, 0.2, 0.5, 0.9, 0.95])
    train_y = np.array([0, 0, 0, 1, 1])
    oot = np.array([0.1, 0.5, 0.5, np.nan])
    oot_y = np.array([0, 1, 0, 1])
    rows, psi = v.characteristic_rows(CARD, train, train_y, oot, oot_y)
    table = [
        (r.label, r.points, r.train_n, r.train_bad_rate, r.oot_n, r.oot_bad_rate) for r in rows
    ]
    assert table == [
        ("below 0.3", 40.0, 2, 0.0, 1, 0.0),
        ("0.3 to below 0.7", 10.0, 1, 0.0, 2, 0.5),
        ("0.7 or more", -30.0, 2, 1.0, 0, None),
        ("missing", -5.0, 0, None, 1, 1.0),
    ]
    assert psi == pytest.approx(v.psi(np.array([2, 1, 2, 0]), np.array([1, 2, 0, 1])))


def test_missing_row_is_left_out_when_nobody_is_missing():
    rows, _ = v.characteristic_rows(
        CARD, np.array([0.1, 0.8]), np.array([0, 1]), np.array([0.5]), np.array([0])
    )
    assert [r.label for r in rows] == ["below 0.3", "0.3 to below 0.7", "0.7 or more"]


def test_ceiling_finds_what_a_monotone_card_cannot():
    # bad when exactly one of two flags is set: no monotone, additive score can sort that
    rng = np.random.default_rng(3)
    X = rng.integers(0, 2, size=(4000, 2)).astype(float)
    y = (X[:, 0] != X[:, 1]).astype(int) ^ (rng.random(4000) < 0.05)
    auc = v.ceiling_auc(X[:3000], y[:3000], X[3000:], y[3000:])
    assert auc > 0.9


def test_ceiling_ignores_a_feature_nobody_has():
    rng = np.random.default_rng(8)
    x = rng.random(600)
    y = (x + 0.3 * rng.random(600) > 0.8).astype(int)
    X = np.column_stack([x, np.full(600, np.nan)])
    assert v.ceiling_auc(X[:400], y[:400], X[400:], y[400:]) > 0.85
