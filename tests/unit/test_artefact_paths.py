"""Where a model's published scorecard is read from: `scoring.artefact.read_published`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from openbureau.scoring.artefact import ModelNotFound, read_published


def _publish(folder: Path, version: str) -> None:
    folder.mkdir(parents=True)
    (folder / "scorecard.json").write_text(json.dumps({"model_version": version}))


def test_a_path_relative_to_home_is_read_from_home(tmp_path):
    _publish(tmp_path / "home" / "models" / "v1", "v1")
    assert read_published(tmp_path / "home", "models/v1")["model_version"] == "v1"


def test_an_absolute_path_is_read_as_it_is(tmp_path):
    _publish(tmp_path / "elsewhere" / "v2", "v2")
    found = read_published(tmp_path / "home", str(tmp_path / "elsewhere" / "v2"))
    assert found["model_version"] == "v2"


def test_a_bureau_with_a_relative_home_finds_the_folders_it_recorded(tmp_path, monkeypatch):
    """`make demo` runs with home `.openbureau`: a fitted model's folder is recorded as
    `.openbureau/models/VERSION`, relative to where the bureau runs (as the registry reads
    it). Read from home, that would be `.openbureau/.openbureau/...`: the holder's "what
    would raise my score" and a dispute's rescore both read it."""
    monkeypatch.chdir(tmp_path)
    _publish(Path(".openbureau") / "models" / "v3", "v3")
    found = read_published(Path(".openbureau"), ".openbureau/models/v3")
    assert found["model_version"] == "v3"


def test_a_scorecard_in_neither_place_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelNotFound, match="scorecard is missing: home/models/v4"):
        read_published(Path("home"), "models/v4")
