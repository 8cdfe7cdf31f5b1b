"""The model registry on a small synthetic lake: fit registers a candidate, validate measures it
out of time, promote makes it the one champion (audited), and `score` uses the champion."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from factories import make_bureau, synthetic_population
from openbureau.cli import app
from openbureau.scoring import registry
from openbureau.scoring.governance import fit_model, promote_model, validate_model
from openbureau.scoring.model import TrainingError
from openbureau.scoring.service import score_population
from openbureau.storage.ledger import audit_log, scores

AS_OF = date(2024, 12, 31)
EARLIER = date(2024, 6, 30)
runner = CliRunner()


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    bureau = make_bureau(tmp_path_factory.mktemp("registry"))
    synthetic_population(300, thin=4).write(bureau)
    return bureau


def _actions(bureau) -> list[str]:
    with bureau.ledger.connect() as conn:
        return [r.action for r in conn.execute(select(audit_log).order_by(audit_log.c.seq))]


def _models(bureau) -> dict[str, registry.RegisteredModel]:
    with bureau.ledger.connect() as conn:
        return {m.model_version: m for m in registry.list_models(conn)}


def test_lifecycle(lake):
    bureau = lake
    fitted = fit_model(bureau, AS_OF)
    assert fitted.registered and fitted.train_as_of == date(2022, 11, 30)
    model = _models(bureau)[fitted.model_version]
    assert model.status == "candidate" and model.validate_as_of is None
    artefact = json.loads((Path(fitted.artefact_path) / "scorecard.json").read_text())
    assert artefact["data_hash"] and artefact["train_as_of"] == "2022-11-30"
    assert artefact["outcome_window"] == ["2022-11-30", "2023-11-30"]
    assert artefact["scorecard"]["characteristics"]

    # the same data gives the same version, registered once
    again = fit_model(bureau, AS_OF)
    assert again.model_version == fitted.model_version and not again.registered

    with pytest.raises(registry.RegistryError, match="not been validated"):
        promote_model(bureau, fitted.model_version, reason="test")

    checked = validate_model(bureau)  # the newest model, at the date it was fitted for
    assert checked.validate_as_of == date(2023, 11, 30)
    assert checked.metrics["auc"] > 0.6
    model = _models(bureau)[fitted.model_version]
    assert model.status == "validated" and model.validate_as_of == date(2023, 11, 30)
    published = model.artefact()
    assert published["metrics"]["validate"]["auc"] == checked.metrics["auc"]

    assert promote_model(bureau, fitted.model_version, reason="first") is None
    assert _models(bureau)[fitted.model_version].status == "champion"
    actions = _actions(bureau)
    assert actions[-3:] == ["model.registered", "model.validated", "model.promoted"]

    summary = score_population(bureau, AS_OF)
    assert summary.model_version == fitted.model_version and not summary.promoted_now

    # a second model, fitted on what was known six months earlier, takes over
    second = fit_model(bureau, EARLIER)
    assert second.model_version != fitted.model_version
    assert second.train_as_of == date(2022, 5, 31)
    validate_model(bureau, second.model_version)
    assert promote_model(bureau, second.model_version, reason="newer") == fitted.model_version
    statuses = {v: m.status for v, m in _models(bureau).items()}
    assert statuses == {fitted.model_version: "validated", second.model_version: "champion"}

    rescored = score_population(bureau, AS_OF)
    assert rescored.model_version == second.model_version
    with bureau.ledger.connect() as conn:
        versions = {r.model_version for r in conn.execute(select(scores.c.model_version))}
    assert versions == {fitted.model_version, second.model_version}


def test_validation_needs_outcomes_after_training(lake):
    bureau = lake
    fitted = fit_model(bureau, AS_OF)
    with pytest.raises(TrainingError, match="out of time"):
        validate_model(bureau, fitted.model_version, EARLIER)


def test_unknown_version_is_named(lake):
    with pytest.raises(registry.RegistryError, match="no model 'sc-nope'"):
        promote_model(lake, "sc-nope", reason="x")


def test_score_without_champion_fits_validates_and_promotes(tmp_path):
    bureau = make_bureau(tmp_path)
    synthetic_population(200, thin=2).write(bureau)
    summary = score_population(bureau, AS_OF)
    assert summary.promoted_now and summary.auc_validate > 0.6
    (model,) = _models(bureau).values()
    assert model.status == "champion" and model.model_version == summary.model_version
    assert _actions(bureau) == [
        "model.registered",
        "model.validated",
        "model.promoted",
        "scores.published",
    ]


def test_cli_fit_validate_promote_list(tmp_path):
    bureau = make_bureau(tmp_path)
    synthetic_population(200, thin=2).write(bureau)
    home = str(bureau.settings.home)
    r = runner.invoke(app, ["model", "fit", "--as-of", "2024-12-31", "--home", home])
    assert r.exit_code == 0, r.output
    version = json.loads(r.stdout)["model_version"]
    r = runner.invoke(app, ["model", "promote", version, "--home", home])
    assert r.exit_code == 2 and "not been validated" in r.output
    r = runner.invoke(app, ["model", "validate", version, "--home", home])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["validate_as_of"] == "2023-11-30"
    r = runner.invoke(app, ["model", "promote", version, "--reason", "ok", "--home", home])
    assert r.exit_code == 0 and f"{version} is the champion" in r.output
    r = runner.invoke(app, ["model", "list", "--home", home])
    assert r.exit_code == 0 and version in r.output and "champion" in r.output
    r = runner.invoke(app, ["model", "fit", "--home", home])
    assert r.exit_code == 2 and "--as-of" in r.output
