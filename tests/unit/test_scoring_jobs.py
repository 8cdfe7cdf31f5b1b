"""The compiled scorecard expression gives optbinning's own `Scorecard.score()` on the same rows
(missing values and unseen categories included), and what the numpy twin gives."""

from __future__ import annotations

import itertools

import ibis
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openbureau.scoring.development import DATA_BINNING
from openbureau.scoring.jobs import categories_encoded, score_expression
from openbureau.scoring.model import fit_characteristics
from openbureau.scoring.rules import Characteristic, Scaling, final_score
from openbureau.scoring.scorecard import CompiledScorecard

CATEGORIES = ["own", "rent", "free", "council", "other"]


def _development_data(n: int = 3000, seed: int = 5) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    income = rng.normal(50, 15, n)
    income[rng.random(n) < 0.1] = np.nan
    housing = rng.choice(CATEGORIES, n, p=[0.4, 0.3, 0.1, 0.15, 0.05]).astype(object)
    housing[rng.random(n) < 0.05] = None
    months = rng.integers(0, 120, n).astype(float)
    risk = {"own": -0.8, "rent": 0.3, "free": 0.0, "council": 0.5, "other": 0.9}
    logit = (
        -1.0
        - 0.04 * (np.nan_to_num(income, nan=40.0) - 50)
        + np.array([risk.get(h, 0.2) for h in housing])
        - months / 100
    )
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    frame = pd.DataFrame({"income": income, "housing": housing, "months_at_address": months})
    return frame, y


def development_model():
    """A card fitted on `_development_data` (numeric, categorical and missing values)."""
    X, y = _development_data()
    specs = {
        "income": {"monotonic_trend": "auto_asc_desc"},
        "housing": {"dtype": "categorical"},
        "months_at_address": {"monotonic_trend": "auto_asc_desc"},
    }
    model = fit_characteristics(X, y, specs, scaling=Scaling(), kind="data", binning=DATA_BINNING)
    assert {"income", "housing"} <= set(model.card.features)
    return model


@pytest.fixture(scope="module")
def fitted():
    return development_model()


@pytest.fixture(scope="module")
def con():
    return ibis.duckdb.connect()


def _compiled(con, card: CompiledScorecard, frame: pd.DataFrame, encoded: bool) -> pd.DataFrame:
    """The expression's result over `frame` as an Ibis memtable (text categories), or, with
    `encoded`, read in place with the categories dictionary-encoded (what `model score` does)."""
    frame = frame.assign(_row=np.arange(len(frame)))
    if encoded:
        name = f"encoded_{next(_names)}"
        con.con.register(name, categories_encoded(frame, card))
        table = con.table(name)
    else:
        table = ibis.memtable(frame)
    expr = score_expression(card, table, ["_row"]).order_by("_row")
    return con.to_pyarrow(expr).to_pandas()


_names = itertools.count()


def _compiled_totals(con, card, frame, encoded: bool = False) -> np.ndarray:
    return _compiled(con, card, frame, encoded)["total_points"].to_numpy(dtype=float)


rows = st.lists(
    st.fixed_dictionaries(
        {
            "income": st.one_of(st.none(), st.floats(-20, 120, allow_nan=False)),
            "housing": st.one_of(st.none(), st.sampled_from([*CATEGORIES, "boat", "caravan"])),
            "months_at_address": st.one_of(st.none(), st.integers(0, 400).map(float)),
        }
    ),
    min_size=1,
    max_size=40,
)


def _frame(records: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(records, columns=["income", "housing", "months_at_address"])
    frame["income"] = frame["income"].astype(float)
    frame["months_at_address"] = frame["months_at_address"].astype(float)
    frame["housing"] = frame["housing"].astype(object)
    return frame


@pytest.mark.parametrize("encoded", [False, True], ids=["text", "encoded"])
@settings(max_examples=40, deadline=None)
@given(records=rows)
def test_compiled_scores_equal_optbinning_score(fitted, con, records, encoded):
    frame = _frame(records)
    theirs = fitted.scorecard.score(frame)
    ours = _compiled_totals(con, fitted.card, frame, encoded)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-9)
    assert [final_score(t) for t in ours] == [final_score(t) for t in theirs]


@settings(max_examples=25, deadline=None)
@given(records=rows)
def test_encoding_the_categories_changes_no_points_and_no_missing_flag(fitted, con, records):
    frame = _frame(records)
    text = _compiled(con, fitted.card, frame, encoded=False)
    encoded = _compiled(con, fitted.card, frame, encoded=True)
    pd.testing.assert_frame_equal(text, encoded)


def test_encoded_columns_are_categories_of_text_and_the_rest_is_untouched(fitted, con):
    frame = pd.DataFrame(
        {
            "income": [1.0, None, 3.0],
            "housing": pd.Series([None, None, None], dtype=object),
            "months_at_address": [4.0, 5.0, None],
            "other": ["x", "y", "z"],
        }
    )
    out = categories_encoded(frame, fitted.card)
    assert isinstance(out["housing"].dtype, pd.CategoricalDtype)
    assert out["housing"].isna().all()  # no level at all: an empty ENUM, every row missing
    pd.testing.assert_series_equal(out["other"], frame["other"])  # not a characteristic
    pd.testing.assert_series_equal(out["income"], frame["income"])
    assert frame["housing"].dtype == object  # the caller's frame is not changed
    totals = _compiled_totals(con, fitted.card, frame, encoded=True)
    np.testing.assert_allclose(totals, fitted.scorecard.score(frame), rtol=0, atol=1e-9)
    mixed = categories_encoded(frame.assign(housing=["own", 7, None]), fitted.card)
    assert list(mixed["housing"].cat.categories) == ["7", "own"]


@pytest.mark.parametrize("encoded", [False, True], ids=["text", "encoded"])
def test_unseen_category_and_missing_values_score_like_optbinning(fitted, con, encoded):
    frame = _frame(
        [
            {"income": None, "housing": None, "months_at_address": None},
            {"income": 55.0, "housing": "houseboat", "months_at_address": 12.0},
            {"income": 55.0, "housing": "own", "months_at_address": 12.0},
        ]
    )
    theirs = fitted.scorecard.score(frame)
    ours = _compiled_totals(con, fitted.card, frame, encoded)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-9)
    housing = next(c for c in fitted.card.characteristics if c.feature == "housing")
    # an unseen category earns what a missing value earns (optbinning's score() behaviour)
    assert ours[1] - ours[2] == pytest.approx(housing.missing_points - housing.points_for("own"))


def test_on_the_development_sample_too(fitted, con):
    frame, _ = _development_data(2000, seed=9)
    theirs = fitted.scorecard.score(frame)
    np.testing.assert_allclose(_compiled_totals(con, fitted.card, frame), theirs, atol=1e-9)


CARD = CompiledScorecard(
    12.5,
    (
        Characteristic("a", (1.0, 2.0), (3.0, 2.0, 1.0), 9.0),
        Characteristic("b", (), (5.0, -5.0), 0.5, (("x", "y"), ("z",))),
    ),
    kind="data",
)
#: The missing bin earns what a known bin earns, so its flag cannot be read off the points.
SHARED_POINTS = CompiledScorecard(
    -4.0,
    (
        Characteristic("a", (1.0, 2.0), (3.0, 2.0, 1.0), 2.0),
        Characteristic("b", (), (5.0, -5.0), 5.0, (("x", "y"), ("z",))),
    ),
    kind="data",
)


@pytest.mark.parametrize("card", [CARD, SHARED_POINTS], ids=["own-points", "shared-points"])
@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.floats(-3, 5, allow_nan=False)),
            st.one_of(st.none(), st.sampled_from(["x", "y", "z", "w"])),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_compiled_expression_agrees_with_the_numpy_twin(con, card, values):
    frame = pd.DataFrame(values, columns=["a", "b"])
    frame["a"] = frame["a"].astype(float)
    frame["b"] = frame["b"].astype(object)
    table = ibis.memtable(frame.assign(_row=np.arange(len(frame))))
    got = con.to_pyarrow(score_expression(card, table, ["_row"]).order_by("_row")).to_pandas()
    points, missing = card.points_matrix(frame)
    np.testing.assert_allclose(got[["points_0", "points_1"]].to_numpy(), points, atol=1e-11)
    np.testing.assert_array_equal(got[["missing_0", "missing_1"]].to_numpy(), missing)
    np.testing.assert_allclose(got["total_points"], card.total_points(frame))


@pytest.mark.parametrize("dialect", ["postgres", "trino", "datafusion"])
def test_expression_is_not_tied_to_duckdb(dialect):
    """Only CASE, IN, IS NULL, comparisons and casts: other SQL engines compile it too."""
    table = ibis.table({"id": "int64", "a": "float64", "b": "string"}, name="features")
    sql = ibis.to_sql(score_expression(CARD, table, ["id"]), dialect=dialect)
    assert sql.upper().count("CASE") >= 4  # two characteristics, in the detail and the total
    assert "'z'" in sql and "2.0" in sql
