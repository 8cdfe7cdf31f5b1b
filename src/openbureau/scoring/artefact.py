"""Reading a published model: its ledger row and the `scorecard.json` that
`scoring.service` saves beside it (bins, points, scaling, dates, metrics, dropped features)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, bindparam, select

from openbureau.scoring.scorecard import CompiledScorecard
from openbureau.storage.ledger import models


class ModelNotFound(LookupError):
    """No such model version, or no champion yet."""


# built once, compiled once per engine: a report reads its model's row on every request
_CHAMPION = (
    select(models).where(models.c.champion.is_(True)).order_by(models.c.created_at.desc()).limit(1)
)
_VERSION = select(models).where(models.c.model_version == bindparam("version")).limit(1)


def model_row(conn: Connection, version: str | None = None) -> dict[str, Any]:
    """The ledger row of `version`, or of the champion (the newest if several) when None."""
    if version is None:
        row = conn.execute(_CHAMPION).first()
    else:
        row = conn.execute(_VERSION, {"version": version}).first()
    if row is None:
        raise ModelNotFound(
            "no champion model yet: run `openbureau score` first"
            if version is None
            else f"no model {version!r} in this bureau"
        )
    return dict(row._mapping)


def read_published(home: Path, artefact_path: str) -> dict[str, Any]:
    """The published `scorecard.json` of a model. A relative artefact path is read from
    `home`, or else from the working directory: a bureau whose home was given as a relative
    path (`make demo`'s `.openbureau`) records its models' folders as `home/models/...`
    relative to where it runs, which is how the registry reads them. Raises ModelNotFound
    when the file is in neither place."""
    folder = Path(artefact_path)
    places = [folder] if folder.is_absolute() else [home / folder, folder]
    for place in places:
        path = place / "scorecard.json"
        if path.is_file():
            return json.loads(path.read_text())
    raise ModelNotFound(
        f"the model's published scorecard is missing: {places[0] / 'scorecard.json'}"
    )


def published_card(published: dict[str, Any]) -> CompiledScorecard:
    return CompiledScorecard.from_dict(published["scorecard"])
