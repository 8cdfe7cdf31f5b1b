"""Scorecard development on someone's own data: a plain CSV with one row per applicant and a
target column, fitted into the same kind of published card as the bureau's own (monotone
optimal binning, logistic regression, 300-900 "points to double the odds"), measured by
5-fold cross-validation, saved to a folder, and used to score other files of the same shape
through the compiled Ibis expression (`scoring.jobs`), as population scoring is.

Every value is read as text first, so a column is numeric only when all its values are
numbers, and scoring a file reads it the same way the fit did.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from openbureau.catalogue.prohibited import prohibited_category
from openbureau.engines import duckdb_connection, frame_table
from openbureau.scoring.jobs import categories_encoded, score_expression
from openbureau.scoring.model import FittedModel, fit_characteristics, separation
from openbureau.scoring.rules import MAX_REASONS, Scaling
from openbureau.scoring.scorecard import CompiledScorecard, final_scores, reasons_for_rows

CARD_FILE = "scorecard.json"
FOLDS = 5
#: Binning of a user's columns: optbinning's defaults, up to 6 bins of at least 5% of rows.
DATA_BINNING = {"max_n_bins": 6, "min_bin_size": 0.05}


class DataError(ValueError):
    """The file, its columns or the model folder cannot be used; the message says which."""


@dataclass
class Development:
    """A card fitted on a CSV, with its cross-validated quality."""

    fitted: FittedModel
    columns: dict[str, str]  # column -> "numeric" or "categorical"
    metrics: dict = field(default_factory=dict)


def read_csv(path: Path) -> pd.DataFrame:
    """Every cell as text (missing as NA), columns in file order. DataError when unreadable."""
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=True)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"cannot read {path} as CSV: {exc}") from None


def _as_numbers(frame: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_numeric(frame[column], errors="coerce").astype(float)


def column_kinds(frame: pd.DataFrame, columns: list[str], categorical: list[str]) -> dict[str, str]:
    """Numeric when every present value is a number (and not named in `categorical`)."""
    kinds = {}
    for c in columns:
        numbers = _as_numbers(frame, c)
        numeric = c not in categorical and numbers.notna().sum() == frame[c].notna().sum()
        kinds[c] = "numeric" if numeric else "categorical"
    return kinds


def prepared(frame: pd.DataFrame, kinds: dict[str, str]) -> pd.DataFrame:
    """The columns of `kinds`, numbers as float and categories as text, missing as NaN/None.
    DataError naming the row and column of a value that should be a number and is not."""
    out = {}
    for c, kind in kinds.items():
        if c not in frame.columns:
            raise DataError(f"the file has no column {c!r}, which the model uses")
        if kind == "categorical":
            out[c] = frame[c].astype(object).where(frame[c].notna(), None)
            continue
        numbers = _as_numbers(frame, c)
        bad = numbers.isna() & frame[c].notna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"row {i + 1} (line {i + 2}), column {c!r}: {frame[c].iloc[i]!r} is not a "
                f"number ({int(bad.sum())} such values in the column)"
            )
        out[c] = numbers
    return pd.DataFrame(out, index=frame.index)


def outcomes(frame: pd.DataFrame, target: str, bad: str) -> np.ndarray:
    """1 where the target equals `bad` (as text), else 0. DataError for a missing target
    column, a bad value that never occurs, or rows without a target."""
    if target not in frame.columns:
        raise DataError(f"no target column {target!r}; the columns are {list(frame.columns)}")
    values = frame[target].str.strip()
    if values.isna().any():
        rows = (np.flatnonzero(values.isna().to_numpy()) + 1)[:5].tolist()
        raise DataError(f"target column {target!r} is empty in rows {rows}")
    if not (values == bad).any():
        seen = sorted(values.unique().tolist())[:10]
        raise DataError(f"bad value {bad!r} does not occur in {target!r}; its values: {seen}")
    return (values == bad).to_numpy(dtype=int)


def _fit(X: pd.DataFrame, y: np.ndarray, kinds: dict[str, str], inquiries: str | None):
    specs = {
        c: {"dtype": "categorical"} if k == "categorical" else {"monotonic_trend": "auto_asc_desc"}
        for c, k in kinds.items()
    }
    return fit_characteristics(
        X, y, specs, scaling=Scaling(), kind="data", binning=DATA_BINNING, inquiries=inquiries
    )


def develop(
    frame: pd.DataFrame,
    target: str,
    bad: str,
    *,
    exclude: list[str] | None = None,
    categorical: list[str] | None = None,
    inquiries: str | None = None,
    seed: int = 0,
) -> Development:
    """Fit a card on every column but the target and `exclude`, and measure it by stratified
    5-fold cross-validation (each fold fitted afresh, scored on the rows it did not see)."""
    y = outcomes(frame, target, bad)
    exclude = exclude or []
    unknown = [c for c in [*exclude, *(categorical or [])] if c not in frame.columns]
    if unknown:
        raise DataError(f"no such columns: {unknown}")
    columns = [c for c in frame.columns if c != target and c not in exclude]
    refused = {c: prohibited_category(c) for c in columns if prohibited_category(c)}
    if refused:
        raise DataError(f"columns in categories the bureau never scores on: {refused}")
    if inquiries is not None and inquiries not in columns:
        raise DataError(f"inquiries column {inquiries!r} is not among the columns used")
    kinds = column_kinds(frame, columns, categorical or [])
    X = prepared(frame, kinds)
    folds = []
    splitter = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=seed)
    for train, test in splitter.split(X, y):
        fold = _fit(X.iloc[train], y[train], kinds, inquiries)
        folds.append(separation(fold.card.total_points(X.iloc[test]), y[test]))
    fitted = _fit(X, y, kinds, inquiries)
    metrics = {
        "cv_folds": FOLDS,
        **{k: round(float(np.mean([f[k] for f in folds])), 4) for k in ("auc", "gini", "ks")},
        "folds": folds,
        "n": len(y),
        "bad_rate": round(float(y.mean()), 4),
    }
    used = {c: k for c, k in kinds.items() if c in fitted.card.features}
    return Development(fitted, used, metrics)


def save(dev: Development, out: Path, meta: dict) -> Path:
    """Write the card (scorecard.json, with column kinds, metrics and `meta`) and the
    optbinning object into folder `out`."""
    out.mkdir(parents=True, exist_ok=True)
    joblib.dump(dev.fitted.scorecard, out / "scorecard.joblib")
    published = {
        **meta,
        "columns": dev.columns,
        "metrics": dev.metrics,
        "dropped": dev.fitted.dropped,
        "scorecard": dev.fitted.card.to_dict(),
    }
    tmp = out / f".{CARD_FILE}.tmp"
    tmp.write_text(json.dumps(published, indent=2, default=str))
    tmp.replace(out / CARD_FILE)
    return out / CARD_FILE


def load(folder: Path) -> tuple[CompiledScorecard, dict[str, str]]:
    """The card and column kinds saved by `save`. DataError when `folder` is not one."""
    path = folder / CARD_FILE
    try:
        data = json.loads(path.read_text())
        card = CompiledScorecard.from_dict(data["scorecard"])
        kinds = dict(data["columns"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{folder} is not a model folder ({CARD_FILE} unusable: {exc})") from None
    if card.kind != "data":
        raise DataError(f"{folder} holds a bureau model; score the population with it instead")
    return card, kinds


def score_file(folder: Path, data: Path, out: Path, con=None) -> int:
    """Write `data`'s rows with `score` (300-900) and `reason_1..reason_4` (`code: text`,
    plus `reason_5` when the card has an inquiries factor) to `out`; returns the row count.
    The compiled card runs on `con`'s engine (an Ibis connection to DuckDB or Spark; by
    default a fresh in-process DuckDB)."""
    card, kinds = load(folder)
    frame = read_csv(data)
    X = prepared(frame, kinds)
    X.insert(0, "_row", np.arange(len(X), dtype=np.int64))
    con = con if con is not None else duckdb_connection()
    if con.name == "duckdb":
        # Read in place (no copy to Arrow), the categories dictionary-encoded (ENUM in DuckDB).
        rows = frame_table(con, categories_encoded(X, card))
    else:
        categorical = [c for c, kind in kinds.items() if kind == "categorical"]
        rows = frame_table(con, X, text_columns=categorical)
    expr = score_expression(card, rows, ["_row"]).order_by("_row")
    result = con.to_pyarrow(expr).to_pandas()
    j = range(len(card.characteristics))
    points = result[[f"points_{i}" for i in j]].to_numpy(dtype=float)
    missing = result[[f"missing_{i}" for i in j]].to_numpy(dtype=bool)
    total = result["total_points"].to_numpy(dtype=float)
    written = frame.copy()
    written["score"] = final_scores(total)
    reasons = reasons_for_rows(card, points, missing, np.ones(len(frame), dtype=bool))
    slots = MAX_REASONS + (1 if card.inquiries else 0)
    for k in range(slots):
        written[f"reason_{k + 1}"] = [
            f"{r[k]['code']}: {r[k]['text']}" if len(r) > k else "" for r in reasons
        ]
    written.to_csv(out, index=False)
    return len(written)
