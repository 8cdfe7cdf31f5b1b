"""Score the population: fit and validate a scorecard out of time, register it, score every
subject at `as_of`, and publish all scores in one ledger transaction."""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import joblib
import numpy as np
import pandas as pd
from sqlalchemy import delete, insert, select, update

from openbureau.audit import service as audit
from openbureau.bootstrap import Bureau
from openbureau.catalogue.model import CATALOGUE_VERSION
from openbureau.features.jobs import build_features, outcomes
from openbureau.features.rules import feature_names
from openbureau.progress import Progress, no_progress
from openbureau.scoring.model import FittedModel, TrainingError, evaluate, fit_scorecard
from openbureau.scoring.rules import model_dates, month_end
from openbureau.scoring.scorecard import not_scorable_reasons, score_frame
from openbureau.storage.lake import read_links, read_records
from openbureau.storage.ledger import models, runs, scores, subjects

_STEPS = 6
_CHUNK = 20_000


@dataclass
class ScoreRunSummary:
    model_version: str
    as_of: date
    train_as_of: date
    validate_as_of: date
    auc_train: float
    auc_validate: float
    gini: float
    ks: float
    n_train: int
    n_validate: int
    bad_rate_train: float
    n_scored: int
    n_not_scorable: int
    score_quantiles: dict[str, int]
    features_used: list[str]
    artefact_path: str
    elapsed_seconds: float
    seconds_by_step: dict[str, float] = field(default_factory=dict)


def _scorable_training_rows(feats: pd.DataFrame, outs: pd.DataFrame) -> pd.DataFrame:
    """Subjects scorable at the date who have an observed outcome, in subject_id order."""
    rows = feats.merge(outs, on="subject_id", how="inner")
    history = pd.to_numeric(rows["history_months"], errors="coerce").to_numpy(dtype=float)
    why = not_scorable_reasons(rows["record_count"].to_numpy(dtype=np.int64), history)
    return rows[pd.isna(why)].sort_values("subject_id", ignore_index=True)


def _frame(con, expr) -> pd.DataFrame:
    """Run an Ibis expression into pandas through Arrow (faster than Ibis's own conversion)."""
    return con.to_pyarrow(expr).to_pandas()


def _frame_hash(*frames: pd.DataFrame) -> str:
    digest = hashlib.sha256()
    for frame in frames:
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _quantiles(values: np.ndarray) -> dict[str, int]:
    if len(values) == 0:
        return {}
    qs = {"min": 0.0, "p10": 0.1, "p25": 0.25, "p50": 0.5, "p75": 0.75, "p90": 0.9, "max": 1.0}
    return {k: int(np.quantile(values, q)) for k, q in qs.items()}


def _save_artefact(bureau: Bureau, version: str, fitted: FittedModel, meta: dict) -> str:
    folder = bureau.settings.models_dir / version
    folder.mkdir(parents=True, exist_ok=True)
    joblib.dump(fitted.scorecard, folder / "scorecard.joblib")
    published = {**meta, "scorecard": fitted.card.to_dict(), "dropped": fitted.dropped}
    tmp = folder / ".scorecard.json.tmp"
    tmp.write_text(json.dumps(published, indent=2, default=str))
    tmp.replace(folder / "scorecard.json")
    return str(folder)


def _population(bureau: Bureau) -> pd.DataFrame:
    with bureau.ledger.connect() as conn:
        result = conn.execute(select(subjects.c.subject_id).where(subjects.c.merged_into.is_(None)))
        return pd.DataFrame(result.fetchall(), columns=["subject_id"])


def _score_rows(scored: pd.DataFrame, as_of: date, version: str) -> list[dict]:
    """Ledger rows for the scores table (plain Python values; NaN and NA become None)."""
    now = datetime.now(UTC)
    columns: dict[str, list] = {}
    for name in (
        "subject_id",
        "scorable",
        "score",
        "not_scorable_reason",
        "reasons",
        *[c for c in scored.columns if c.startswith("pillar_")],
    ):
        col = scored[name]
        values = col.astype(object).where(col.notna(), None) if name != "reasons" else col
        columns[name] = values.tolist()
    columns["score"] = [None if v is None else int(v) for v in columns["score"]]
    columns["scorable"] = [bool(v) for v in columns["scorable"]]
    keys = list(columns)
    return [
        {
            **dict(zip(keys, values, strict=True)),
            "as_of": as_of,
            "model_version": version,
            "published_at": now,
        }
        for values in zip(*columns.values(), strict=True)
    ]


def _publish(
    bureau: Bureau,
    as_of: date,
    version: str,
    rows: list[dict],
    model_row: dict,
    run_row: dict,
    progress: Progress,
) -> None:
    """Register the champion and replace this version's scores at as_of: all or nothing."""
    with bureau.ledger.begin() as conn:
        conn.execute(update(models).values(champion=False))
        conn.execute(delete(models).where(models.c.model_version == version))
        conn.execute(insert(models), [model_row])
        conn.execute(
            delete(scores).where(scores.c.as_of == as_of, scores.c.model_version == version)
        )
        for start in range(0, len(rows), _CHUNK):
            conn.execute(insert(scores), rows[start : start + _CHUNK])
            progress("publish", min(start + _CHUNK, len(rows)), len(rows))
        finished_at = datetime.now(UTC)
        conn.execute(insert(runs), [{**run_row, "finished_at": finished_at}])
        audit.append(
            conn,
            actor=audit.LOCAL_OPERATOR,
            action="scores.published",
            purpose="score-publication",
            payload={**run_row["details"], "rows": len(rows)},
            occurred_at=finished_at,
        )


def score_population(
    bureau: Bureau, as_of: date, *, progress: Progress | None = None
) -> ScoreRunSummary:
    """Fit a scorecard on features at train_as_of with outcomes in the 12 months after it,
    validate it at validate_as_of (see `scoring.rules.model_dates`), register it as the
    champion, and publish a score row for every subject in the ledger at `as_of`.

    Uses only records reported on or before `as_of`. The model version is a hash of the
    training and validation data and dates: the same data gives the same version, and
    publishing again replaces that version's rows for `as_of`. Raises ValueError
    (`TrainingError`) when the data cannot support a model, FileNotFoundError when the lake
    or the links are missing."""
    progress = progress or no_progress
    started_at = datetime.now(UTC)
    t0 = time.perf_counter()
    seconds: dict[str, float] = {}

    def step(name: str, i: int) -> None:
        seconds[name] = round(time.perf_counter() - t0 - sum(seconds.values()), 2)
        progress("score", i, _STEPS)

    con = bureau.batch_engine()
    if con.name == "duckdb":
        # the jobs scan the lake's files some fifty times: keep their footers in memory
        con.raw_sql("SET parquet_metadata_cache = true")
    records = read_records(con, bureau.lake)
    records = records.filter(records.reported_on <= as_of)
    links = read_links(con, bureau.lake)
    credit = records.filter(records.record_type == "credit_account")
    last_month = con.execute(credit.reporting_month.max())
    if last_month is None or pd.isna(last_month):
        raise TrainingError(f"no credit account reported on or before {as_of}: cannot train")
    data_end = month_end(pd.Timestamp(last_month).date())
    train_as_of, validate_as_of = model_dates(as_of, data_end)
    progress("score", 0, _STEPS)

    train = _scorable_training_rows(
        _frame(con, build_features(records, links, train_as_of)),
        _frame(con, outcomes(records, links, train_as_of)),
    )
    step("train features", 1)
    valid = _scorable_training_rows(
        _frame(con, build_features(records, links, validate_as_of)),
        _frame(con, outcomes(records, links, validate_as_of)),
    )
    step("validate features", 2)

    names = feature_names()
    fitted = fit_scorecard(train[names], train["bad"].to_numpy())
    m_train = evaluate(fitted.card, train[names], train["bad"].to_numpy())
    m_valid = evaluate(fitted.card, valid[names], valid["bad"].to_numpy())
    if math.isnan(m_valid["auc"]):
        raise TrainingError(
            f"cannot validate out of time at {validate_as_of}: {len(valid)} subjects with "
            "outcomes, not both good and bad among them"
        )
    data_hash = _frame_hash(
        train[["subject_id", *names, "bad"]], valid[["subject_id", *names, "bad"]]
    )
    card_json = json.dumps(fitted.card.to_dict(), sort_keys=True)
    key = f"{CATALOGUE_VERSION}|{train_as_of}|{validate_as_of}|{data_hash}|{card_json}"
    version = f"sc-{validate_as_of:%Y%m}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"
    metrics = {"train": m_train, "validate": m_valid}
    meta = {
        "model_version": version,
        "catalogue_version": CATALOGUE_VERSION,
        "train_as_of": train_as_of,
        "validate_as_of": validate_as_of,
        "scored_as_of": as_of,
        "data_end": data_end,
        "data_hash": data_hash,
        "outcome": "90+ days past due (outside hardship) or written off on a credit account, "
        "or a judgment default finding, within 12 months after the date",
        "metrics": metrics,
    }
    artefact = _save_artefact(bureau, version, fitted, meta)
    step("fit", 3)

    feats = _frame(con, build_features(records, links, as_of))
    step("score features", 4)
    population = _population(bureau)
    frame = population.merge(feats, on="subject_id", how="left")
    frame["record_count"] = frame["record_count"].fillna(0)
    # A subject with no record known at as_of has no feature row: not scorable, no records.
    scored = score_frame(fitted.card, frame)
    step("score", 5)

    n_scorable = int(scored["scorable"].sum())
    values = scored.loc[scored["scorable"], "score"].to_numpy(dtype=np.int64)
    model_row = {
        "model_version": version,
        "created_at": datetime.now(UTC),
        "train_as_of": train_as_of,
        "validate_as_of": validate_as_of,
        "artefact_path": artefact,
        "metrics": {**metrics, "features": fitted.card.features, "dropped": fitted.dropped},
        "champion": True,
    }
    run_row = {
        "stage": "score",
        "started_at": started_at,
        "details": {
            "as_of": as_of.isoformat(),
            "model_version": version,
            "n_scored": n_scorable,
            "n_not_scorable": len(scored) - n_scorable,
        },
    }
    _publish(
        bureau, as_of, version, _score_rows(scored, as_of, version), model_row, run_row, progress
    )
    step("publish", 6)
    return ScoreRunSummary(
        model_version=version,
        as_of=as_of,
        train_as_of=train_as_of,
        validate_as_of=validate_as_of,
        auc_train=m_train["auc"],
        auc_validate=m_valid["auc"],
        gini=m_valid["gini"],
        ks=m_valid["ks"],
        n_train=len(train),
        n_validate=len(valid),
        bad_rate_train=m_train.get("bad_rate", float("nan")),
        n_scored=n_scorable,
        n_not_scorable=len(scored) - n_scorable,
        score_quantiles=_quantiles(values),
        features_used=fitted.card.features,
        artefact_path=artefact,
        elapsed_seconds=round(time.perf_counter() - t0, 2),
        seconds_by_step=seconds,
    )
