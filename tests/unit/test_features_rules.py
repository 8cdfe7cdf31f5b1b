"""The published feature catalogue: consistent with the record catalogue and documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from openbureau.catalogue.model import PILLARS, RECORD_TYPES
from openbureau.catalogue.prohibited import prohibited_category
from openbureau.features.rules import (
    FEATURES,
    SCORED_RECORD_TYPES,
    feature_names,
    pillar_record_types,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "scoring.md"


def test_names_and_codes_are_unique_and_stable():
    assert len(set(feature_names())) == len(FEATURES)
    assert len({f.code for f in FEATURES}) == len(FEATURES)
    prefix = {"commercial": "C", "judicial": "J", "government": "G", "societal": "S"}
    for f in FEATURES:
        assert f.code.startswith(prefix[f.pillar]), f


@pytest.mark.parametrize("feature", FEATURES, ids=lambda f: f.name)
def test_feature_reads_a_scored_record_type_and_says_why(feature):
    assert feature.record_type in SCORED_RECORD_TYPES
    assert feature.pillar in PILLARS
    assert feature.reason and feature.reason[0].isupper() and not feature.reason.endswith(".")
    assert prohibited_category(feature.name) is None


def test_profile_is_never_scored():
    assert "profile" not in SCORED_RECORD_TYPES
    assert set(SCORED_RECORD_TYPES) == set(RECORD_TYPES) - {"profile"}


def test_pillar_record_types_follow_the_catalogue():
    assert pillar_record_types("judicial") == (
        "court_judgment",
        "judgment_default_finding",
        "bankruptcy",
    )
    assert pillar_record_types("societal") == ("social_insurance",)
    with pytest.raises(KeyError):
        pillar_record_types("loyalty")


@pytest.mark.parametrize("feature", FEATURES, ids=lambda f: f.name)
def test_every_feature_is_documented(feature):
    doc = DOC.read_text()
    assert f"| {feature.code} | `{feature.name}` | {feature.pillar} |" in doc
    assert feature.reason in doc
