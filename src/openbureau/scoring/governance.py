"""Population model governance: fit a scorecard on the lake and register it as a candidate,
validate it out of time, promote it to champion (`scoring.registry` keeps them)."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime

import ibis.expr.types as ir
import numpy as np
import pandas as pd
from ibis import BaseBackend
from sqlalchemy import select

from openbureau.audit import service as audit
from openbureau.bootstrap import Bureau
from openbureau.catalogue.model import CATALOGUE_VERSION
from openbureau.catalogue.rules import add_months
from openbureau.disputes.service import withdrawn_records
from openbureau.features.jobs import build_features, outcomes, without_withdrawn
from openbureau.features.rules import feature_names
from openbureau.scoring import registry
from openbureau.scoring.model import TrainingError, evaluate, fit_scorecard
from openbureau.scoring.rules import d_first, model_dates, month_end
from openbureau.scoring.scorecard import not_scorable_reasons
from openbureau.storage.lake import held_for_jobs, read_links, read_records

OUTCOME = (
    "90+ days past due (outside hardship) or written off on a credit account, "
    "or a judgment default finding, within 12 months after the date"
)


@dataclass
class ModelFitSummary:
    model_version: str
    registered: bool  # False: the same model was already in the registry
    fitted_as_of: date
    train_as_of: date
    data_end: date
    metrics_train: dict
    features_used: list[str]
    dropped: dict[str, str]
    artefact_path: str


@dataclass
class ValidationSummary:
    model_version: str
    validate_as_of: date
    metrics: dict


@dataclass
class Lake:
    """The lake as known at `as_of` (records reported on or before it)."""

    con: BaseBackend
    records: ir.Table
    links: ir.Table
    as_of: date
    last_credit_month: date | None

    @property
    def data_end(self) -> date:
        """The last month end of credit reporting known: outcomes are observed up to it."""
        if self.last_credit_month is None:
            raise TrainingError(
                f"no credit account reported on or before {self.as_of}: cannot train or validate"
            )
        return month_end(self.last_credit_month)


def read_lake(bureau: Bureau, as_of: date) -> Lake:
    con = bureau.batch_engine()
    if con.name == "duckdb":
        # the jobs scan the lake's files some fifty times: keep their footers in memory
        con.raw_sql("SET parquet_metadata_cache = true")
    records = read_records(con, bureau.lake)
    records = records.filter(records.reported_on <= as_of)
    records = without_withdrawn(records, withdrawn_records(bureau.ledger))
    records = held_for_jobs(con, records, bureau.settings.lake_cache_mb)
    links = read_links(con, bureau.lake)
    credit = records.filter(records.record_type == "credit_account")
    last_month = con.execute(credit.reporting_month.max())
    known = None if last_month is None or pd.isna(last_month) else pd.Timestamp(last_month).date()
    return Lake(con, records, links, as_of, known)


def _scorable_training_rows(feats: pd.DataFrame, outs: pd.DataFrame) -> pd.DataFrame:
    """Subjects scorable at the date who have an observed outcome, in subject_id order."""
    rows = feats.merge(outs, on="subject_id", how="inner")
    history = pd.to_numeric(rows["history_months"], errors="coerce").to_numpy(dtype=float)
    why = not_scorable_reasons(rows["record_count"].to_numpy(dtype=np.int64), history)
    return rows[pd.isna(why)].sort_values("subject_id", ignore_index=True)


def _outcome_rows(lake: Lake, at: date) -> pd.DataFrame:
    return _scorable_training_rows(
        frame_of(lake.con, build_features(lake.records, lake.links, at)),
        frame_of(lake.con, outcomes(lake.records, lake.links, at)),
    )


def frame_of(con, expr) -> pd.DataFrame:
    """Run an Ibis expression into pandas through Arrow (faster than Ibis's own conversion)."""
    return con.to_pyarrow(expr).to_pandas()


def _frame_hash(*frames: pd.DataFrame) -> str:
    digest = hashlib.sha256()
    for frame in frames:
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def fit_on(bureau: Bureau, lake: Lake, as_of: date, actor: str) -> ModelFitSummary:
    train_as_of, _ = model_dates(as_of, lake.data_end)
    train = _outcome_rows(lake, train_as_of)
    names = feature_names()
    fitted = fit_scorecard(train[names], train["bad"].to_numpy())
    m_train = evaluate(fitted.card, train[names], train["bad"].to_numpy())
    data_hash = _frame_hash(train[["subject_id", *names, "bad"]])
    card_json = json.dumps(fitted.card.to_dict(), sort_keys=True)
    key = f"{CATALOGUE_VERSION}|{train_as_of}|{data_hash}|{card_json}"
    version = f"sc-{train_as_of:%Y%m}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"
    meta = {
        "model_version": version,
        "catalogue_version": CATALOGUE_VERSION,
        "fitted_as_of": as_of,
        "train_as_of": train_as_of,
        "outcome_window": [train_as_of, month_end(add_months(d_first(train_as_of), 12))],
        "data_end": lake.data_end,
        "data_hash": data_hash,
        "outcome": OUTCOME,
        "metrics": {"train": m_train},
    }
    with bureau.ledger.begin() as conn:
        known = conn.execute(
            select(registry.models.c.model_version).where(
                registry.models.c.model_version == version
            )
        ).first()
        artefact = str(bureau.settings.models_dir / version)
        if known is None:
            artefact = registry.save_artefact(bureau.settings.models_dir, version, fitted, meta)
        row = {
            "model_version": version,
            "created_at": datetime.now(UTC),
            "train_as_of": train_as_of,
            "validate_as_of": None,
            "artefact_path": artefact,
            "metrics": {
                "train": m_train,
                "features": fitted.card.features,
                "dropped": fitted.dropped,
                "fitted_as_of": as_of.isoformat(),
            },
        }
        added = registry.register(conn, row, actor=actor)
    return ModelFitSummary(
        version, added, as_of, train_as_of, lake.data_end, m_train,
        fitted.card.features, fitted.dropped, artefact,
    )  # fmt: skip


def fit_model(bureau: Bureau, as_of: date, *, actor: str = audit.LOCAL_OPERATOR) -> ModelFitSummary:
    """Fit a scorecard on features at train_as_of (`rules.model_dates`) and outcomes in the
    12 months after, from records reported on or before `as_of`, and register it as a
    candidate. The version is a hash of the catalogue, the date, the training data and the
    card: the same data gives the same version, registered once. Raises TrainingError (a
    ValueError) when the data cannot support a model, FileNotFoundError without a lake."""
    return fit_on(bureau, read_lake(bureau, as_of), as_of, actor)


def validate_on(
    bureau: Bureau, lake: Lake, model: registry.RegisteredModel, as_of: date, actor: str
) -> ValidationSummary:
    _, validate_as_of = model_dates(as_of, lake.data_end)
    earliest = month_end(add_months(d_first(model.train_as_of), 12))
    if validate_as_of < earliest:
        raise TrainingError(
            f"cannot validate {model.model_version} out of time at {as_of}: its training "
            f"outcomes run to {earliest}, and the data known then has no complete 12-month "
            f"window after that (data ends {lake.data_end})"
        )
    valid = _outcome_rows(lake, validate_as_of)
    names = feature_names()
    metrics = evaluate(model.card(), valid[names], valid["bad"].to_numpy())
    if math.isnan(metrics["auc"]):
        raise TrainingError(
            f"cannot validate out of time at {validate_as_of}: {len(valid)} subjects with "
            "outcomes, not both good and bad among them"
        )
    metrics["data_hash"] = _frame_hash(valid[["subject_id", *names, "bad"]])
    with bureau.ledger.begin() as conn:
        registry.record_validation(conn, model.model_version, validate_as_of, metrics, actor=actor)
    return ValidationSummary(model.model_version, validate_as_of, metrics)


def validate_model(
    bureau: Bureau,
    version: str | None = None,
    as_of: date | None = None,
    *,
    actor: str = audit.LOCAL_OPERATOR,
) -> ValidationSummary:
    """Measure model `version` (default: the newest) out of time: on features at the latest
    month end whose 12-month outcome window is complete in the data known at `as_of`
    (default: the date it was fitted for), which must start after its training outcomes
    end. Records AUC, Gini and KS in the registry and the artefact."""
    with bureau.ledger.connect() as conn:
        model = registry.get(conn, version)
    as_of = as_of or date.fromisoformat(model.metrics["fitted_as_of"])
    return validate_on(bureau, read_lake(bureau, as_of), model, as_of, actor)


def promote_model(
    bureau: Bureau, version: str, *, actor: str = audit.LOCAL_OPERATOR, reason: str
) -> str | None:
    """Make a validated model the champion (audited with `reason`); returns the previous
    champion's version. RegistryError for an unknown or unvalidated model."""
    with bureau.ledger.begin() as conn:
        return registry.promote(conn, version, actor=actor, reason=reason)
