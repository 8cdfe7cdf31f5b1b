"""The model registry: each population model is a versioned artefact folder under
`HOME/models/<version>/` (`scorecard.json`: bins, points, scaling, data hash, dates, metrics;
`scorecard.joblib`: the optbinning object) and one row of the ledger table `models`.

A model is a *candidate* when fitted, *validated* once measured out of time, and the
*champion* when promoted; there is at most one champion, and only a validated model can
become it. Every change of state appends to the audit chain in the same transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import joblib
from sqlalchemy import Connection, insert, select, update

from openbureau.audit import service as audit
from openbureau.scoring.model import FittedModel
from openbureau.scoring.scorecard import CompiledScorecard
from openbureau.storage.ledger import models

CARD_FILE = "scorecard.json"


class RegistryError(ValueError):
    """No such model, or a change the registry refuses (promoting an unvalidated model)."""


@dataclass(frozen=True)
class RegisteredModel:
    model_version: str
    created_at: datetime
    train_as_of: date
    validate_as_of: date | None
    artefact_path: str
    metrics: dict
    champion: bool

    @property
    def status(self) -> str:
        if self.champion:
            return "champion"
        return "validated" if "validate" in self.metrics else "candidate"

    def artefact(self) -> dict:
        """The published `scorecard.json` of this model."""
        return json.loads((Path(self.artefact_path) / CARD_FILE).read_text())

    def card(self) -> CompiledScorecard:
        return CompiledScorecard.from_dict(self.artefact()["scorecard"])


def _write_json(folder: Path, data: dict) -> None:
    tmp = folder / f".{CARD_FILE}.tmp"
    tmp.write_text(json.dumps(data, indent=2, default=str))
    tmp.replace(folder / CARD_FILE)


def save_artefact(models_dir: Path, version: str, fitted: FittedModel, meta: dict) -> str:
    """Write the model's folder (the card, `meta`, dropped characteristics, the optbinning
    object); returns its path. The same version always holds the same card."""
    folder = models_dir / version
    folder.mkdir(parents=True, exist_ok=True)
    joblib.dump(fitted.scorecard, folder / "scorecard.joblib")
    _write_json(folder, {**meta, "scorecard": fitted.card.to_dict(), "dropped": fitted.dropped})
    return str(folder)


def _model(row) -> RegisteredModel:
    return RegisteredModel(
        model_version=row.model_version,
        created_at=row.created_at,
        train_as_of=row.train_as_of,
        validate_as_of=row.validate_as_of,
        artefact_path=row.artefact_path,
        metrics=dict(row.metrics),
        champion=bool(row.champion),
    )


def list_models(conn: Connection) -> list[RegisteredModel]:
    """Every registered model, oldest first."""
    query = select(models).order_by(models.c.created_at, models.c.model_version)
    return [_model(r) for r in conn.execute(query)]


def get(conn: Connection, version: str | None = None) -> RegisteredModel:
    """The model `version`, or the newest when None. RegistryError when there is none."""
    found = list_models(conn)
    if version is None:
        if not found:
            raise RegistryError("no model is registered: run `openbureau model fit` first")
        return found[-1]
    for m in found:
        if m.model_version == version:
            return m
    known = ", ".join(m.model_version for m in found) or "none"
    raise RegistryError(f"no model {version!r} in the registry (registered: {known})")


def champion(conn: Connection) -> RegisteredModel | None:
    row = conn.execute(select(models).where(models.c.champion.is_(True))).first()
    return _model(row) if row is not None else None


def register(conn: Connection, row: dict, *, actor: str) -> bool:
    """Add a candidate model row (champion False). A version already registered is the same
    model fitted on the same data: left as it is (its validation and status kept); returns
    whether a row was added."""
    exists = conn.execute(
        select(models.c.model_version).where(models.c.model_version == row["model_version"])
    ).first()
    if exists is not None:
        return False
    conn.execute(insert(models), [{**row, "champion": False}])
    audit.append(
        conn,
        actor=actor,
        action="model.registered",
        purpose="model-governance",
        payload={"model_version": row["model_version"], "train_as_of": str(row["train_as_of"])},
        occurred_at=datetime.now(UTC),
    )
    return True


def record_validation(
    conn: Connection, version: str, validate_as_of: date, result: dict, *, actor: str
) -> RegisteredModel:
    """Store an out-of-time validation (metrics at `validate_as_of`) in the model's row and
    in its artefact; the latest validation is the one that counts."""
    model = get(conn, version)
    metrics = {**model.metrics, "validate": {**result, "as_of": validate_as_of.isoformat()}}
    conn.execute(
        update(models)
        .where(models.c.model_version == version)
        .values(validate_as_of=validate_as_of, metrics=metrics)
    )
    folder = Path(model.artefact_path)
    published = model.artefact()
    published["validate_as_of"] = validate_as_of.isoformat()
    published.setdefault("metrics", {})["validate"] = metrics["validate"]
    _write_json(folder, published)
    audit.append(
        conn,
        actor=actor,
        action="model.validated",
        purpose="model-governance",
        payload={"model_version": version, **metrics["validate"]},
        occurred_at=datetime.now(UTC),
    )
    return get(conn, version)


def promote(conn: Connection, version: str, *, actor: str, reason: str) -> str | None:
    """Make `version` the only champion; returns the previous champion's version (None if
    there was none). RegistryError unless the model has been validated out of time."""
    model = get(conn, version)
    if "validate" not in model.metrics:
        raise RegistryError(
            f"model {version} has not been validated out of time: run "
            f"`openbureau model validate {version}` first"
        )
    previous = champion(conn)
    conn.execute(update(models).values(champion=False))
    conn.execute(update(models).where(models.c.model_version == version).values(champion=True))
    audit.append(
        conn,
        actor=actor,
        action="model.promoted",
        purpose="model-governance",
        payload={
            "model_version": version,
            "previous_champion": previous.model_version if previous else None,
            "auc_validate": model.metrics["validate"].get("auc"),
            "reason": reason,
        },
        occurred_at=datetime.now(UTC),
    )
    return previous.model_version if previous else None
