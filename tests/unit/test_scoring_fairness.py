"""Fairness at a cut-off per protected group, and proxy features."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from openbureau.scoring.fairness import (
    PROXY_THRESHOLD,
    cramers_v,
    default_rate_among_approved,
    group_fairness,
    proxy_checks,
)


def test_group_rates_gaps_and_ratio():
    groups = pd.Series(["f", "f", "f", "f", "m", "m", "m", "m", None])
    approved = np.array([1, 1, 1, 0, 1, 0, 0, 0, 1])
    y = np.array([1, 0, 0, 1, 0, 1, 1, 0, 1])
    got = group_fairness("sex", groups, y, approved)
    assert [(g.group, g.n, g.approval_rate, g.default_rate_approved) for g in got.groups] == [
        ("f", 4, 0.75, pytest.approx(1 / 3)),
        ("m", 4, 0.25, 0.0),
    ]
    # the row whose sex is unknown is in no group
    assert got.approval_gap == pytest.approx(0.5)
    assert got.approval_ratio == pytest.approx(1 / 3)
    assert got.default_gap == pytest.approx(1 / 3)


def test_no_one_approved_has_no_default_rate():
    assert math.isnan(default_rate_among_approved(np.array([1, 0]), np.array([0, 0])))
    assert default_rate_among_approved(np.array([1, 0, 1]), np.array([1, 1, 0])) == 0.5


def test_an_attribute_nobody_has_is_an_error():
    with pytest.raises(ValueError, match="region"):
        group_fairness("region", pd.Series([None, None]), np.array([0, 1]), np.array([1, 1]))


def test_cramers_v_bounds():
    rng = np.random.default_rng(0)
    a = pd.Series(rng.choice(["x", "y", "z"], 3000))
    assert cramers_v(a, a) == pytest.approx(1.0, abs=1e-3)
    # a relabelling is still a perfect association
    assert cramers_v(a, a.map({"x": 1, "y": 2, "z": 3})) == pytest.approx(1.0, abs=1e-3)
    independent = pd.Series(rng.choice(["p", "q"], 3000))
    assert cramers_v(a, independent) < 0.05
    assert cramers_v(a, pd.Series(["only"] * 3000)) == 0.0


def test_cramers_v_leaves_out_missing_pairs():
    a = pd.Series(["x", "y", "x", "y", None, "x"])
    b = pd.Series(["p", "q", "p", "q", "q", None])
    assert cramers_v(a, b) == pytest.approx(cramers_v(a[:4], b[:4]))


def test_bias_correction_keeps_many_small_groups_from_looking_associated():
    rng = np.random.default_rng(5)
    groups = pd.Series(rng.integers(0, 40, 400))
    feature = pd.Series(rng.integers(0, 6, 400))
    assert cramers_v(groups, feature) < 0.1


def test_proxy_checks_flag_a_copy_of_the_attribute():
    rng = np.random.default_rng(2)
    age = rng.choice(["18-24", "25-34", "65+"], 2000)
    binned = pd.DataFrame(
        {
            "credit_history_months": pd.Series(age).map({"18-24": 0, "25-34": 1, "65+": 2}),
            "utilisation": rng.integers(0, 4, 2000),
        }
    )
    protected = pd.DataFrame({"age_band": age, "sex": rng.choice(["f", "m"], 2000)})
    checks = proxy_checks(binned, protected)
    assert len(checks) == 4
    assert [c.association for c in checks] == sorted((c.association for c in checks), reverse=True)
    flagged = [(c.feature, c.attribute) for c in checks if c.flagged]
    assert flagged == [("credit_history_months", "age_band")]
    assert all(c.association < PROXY_THRESHOLD for c in checks[1:])
