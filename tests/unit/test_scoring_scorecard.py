"""The vectorised scorer gives, row by row, what the pure rules give."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openbureau.features.rules import FEATURES_BY_NAME
from openbureau.scoring.rules import (
    SCORE_MAX,
    SCORE_MIN,
    Characteristic,
    final_score,
    not_scorable_reason,
    rank_reasons,
    subscore_of,
)
from openbureau.scoring.scorecard import CompiledScorecard, reasons_for_rows, score_frame

CARD = CompiledScorecard(
    base_points=520.0,
    characteristics=(
        Characteristic("late30_count_24m", (0.5, 3.5), (40.0, -10.0, -60.0), 0.0),
        Characteristic("unsatisfied_judgments", (0.5,), (15.0, -80.0), 0.0),
        Characteristic("utilisation", (0.3, 0.7), (45.0, 5.0, -35.0), 12.0),
    ),
)

row = st.fixed_dictionaries(
    {
        "record_count": st.integers(0, 50),
        "history_months": st.one_of(st.none(), st.integers(0, 200)),
        "late30_count_24m": st.integers(0, 10),
        "unsatisfied_judgments": st.integers(0, 3),
        "utilisation": st.one_of(st.none(), st.floats(0, 1.5)),
        "n_commercial": st.integers(0, 3),
        "n_judicial": st.integers(0, 3),
        "n_societal": st.just(0),
        "n_government": st.integers(0, 3),
    }
)


def _frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    frame.insert(0, "subject_id", [f"S{i}" for i in range(len(rows))])
    return frame


@settings(max_examples=60, deadline=None)
@given(st.lists(row, min_size=1, max_size=30))
def test_vectorised_scores_match_pure_rules(rows):
    out = score_frame(CARD, _frame(rows))
    for r, got in zip(rows, out.to_dict("records"), strict=True):
        why = not_scorable_reason(r["record_count"], r["history_months"])
        assert got["not_scorable_reason"] == why
        if why is not None:
            assert got["scorable"] is False or not got["scorable"]
            assert pd.isna(got["score"])
            assert got["reasons"] == []
            continue
        pts = {c.feature: c.points_for(r[c.feature]) for c in CARD.characteristics}
        assert got["score"] == final_score(CARD.base_points + sum(pts.values()))
        assert SCORE_MIN <= got["score"] <= SCORE_MAX
        losses = {c.feature: c.points_lost(r[c.feature]) for c in CARD.characteristics}
        expected = rank_reasons(losses)
        assert [(x["feature"], x["points_lost"]) for x in got["reasons"]] == [
            (name, round(loss, 1)) for name, loss in expected
        ]
        for pillar in ("commercial", "judicial"):
            chars = [
                c for c in CARD.characteristics if FEATURES_BY_NAME[c.feature].pillar == pillar
            ]
            want = subscore_of(chars, r, r[f"n_{pillar}"] > 0)
            value = got[f"pillar_{pillar}"]
            assert (want is None and math.isnan(value)) or value == pytest.approx(want)
        assert math.isnan(got["pillar_societal"]) and math.isnan(got["pillar_government"])


def test_reasons_carry_catalogue_code_and_sentence():
    frame = _frame(
        [
            {
                "record_count": 10,
                "history_months": 30,
                "late30_count_24m": 5,
                "unsatisfied_judgments": 1,
                "utilisation": None,
                "n_commercial": 5,
                "n_judicial": 1,
                "n_societal": 0,
                "n_government": 0,
            }
        ]
    )
    reasons = score_frame(CARD, frame)["reasons"][0]
    assert reasons == [
        {
            "code": "C04",
            "feature": "late30_count_24m",
            "pillar": "commercial",
            "text": "Payments 30 or more days late in the last 24 months",
            "points_lost": 100.0,
        },
        {
            "code": "J01",
            "feature": "unsatisfied_judgments",
            "pillar": "judicial",
            "text": "Unpaid court judgments",
            "points_lost": 95.0,
        },
        {
            "code": "C08N",
            "feature": "utilisation",
            "pillar": "commercial",
            "text": "No credit card or overdraft in use",
            "points_lost": 33.0,
        },
    ]


def test_a_clean_file_has_no_reasons_and_full_pillars():
    frame = _frame(
        [
            {
                "record_count": 10,
                "history_months": 30,
                "late30_count_24m": 0,
                "unsatisfied_judgments": 0,
                "utilisation": 0.1,
                "n_commercial": 5,
                "n_judicial": 0,
                "n_societal": 0,
                "n_government": 0,
            }
        ]
    )
    out = score_frame(CARD, frame).iloc[0]
    assert out["reasons"] == []
    assert out["score"] == final_score(520 + 40 + 15 + 45)
    assert out["pillar_commercial"] == 100.0
    assert math.isnan(out["pillar_judicial"])  # no judicial records: no data, not 100


def test_card_round_trips_through_json():
    data = json.loads(json.dumps(CARD.to_dict()))
    assert CompiledScorecard.from_dict(data) == CARD
    assert data["characteristics"][0]["code"] == "C04"


def test_card_refuses_features_outside_the_catalogue():
    with pytest.raises(ValueError, match="catalogue"):
        CompiledScorecard(0.0, (Characteristic("religion", (), (0.0,), 0.0),))


DATA_CARD = CompiledScorecard(
    0.0,
    (
        Characteristic("a", (1.0,), (10.0, 0.0), -5.0),
        Characteristic("b", (1.0,), (10.0, 0.0), -5.0),
        Characteristic("c", (1.0,), (10.0, 0.0), -5.0),
        Characteristic("d", (1.0,), (10.0, 0.0), -5.0),
        Characteristic("e", (1.0,), (10.0, 0.0), -5.0),
        Characteristic("inquiries_6m", (1.0, 3.0), (4.0, 2.0, 0.0), 4.0),
    ),
    kind="data",
    inquiries="inquiries_6m",
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.one_of(st.none(), st.floats(0, 5)), min_size=6, max_size=6),
        min_size=1,
        max_size=20,
    )
)
def test_vectorised_reasons_follow_the_rule_with_the_inquiries_factor(values):
    frame = pd.DataFrame(values, columns=DATA_CARD.features, dtype=float)
    points, missing = DATA_CARD.points_matrix(frame)
    got = reasons_for_rows(DATA_CARD, points, missing, np.ones(len(frame), dtype=bool))
    for row, reasons in zip(values, got, strict=True):
        losses = {
            c.feature: c.points_lost(v) for c, v in zip(DATA_CARD.characteristics, row, strict=True)
        }
        expected = rank_reasons(losses, inquiries="inquiries_6m")
        assert [(r["feature"], r["points_lost"]) for r in reasons] == [
            (n, round(loss, 1)) for n, loss in expected
        ]
        assert len(reasons) <= 5


def test_data_card_codes_and_sentences_and_json():
    frame = pd.DataFrame([[2.0, 2.0, 2.0, 2.0, None, 5.0]], columns=DATA_CARD.features)
    points, missing = DATA_CARD.points_matrix(frame)
    (reasons,) = reasons_for_rows(DATA_CARD, points, missing, np.array([True]))
    assert [r["code"] for r in reasons] == ["V05N", "V01", "V02", "V03", "V06"]
    assert reasons[0]["text"] == "No value for e, or one not seen in development"
    assert reasons[1]["text"] == "Value of a"
    again = CompiledScorecard.from_dict(json.loads(json.dumps(DATA_CARD.to_dict())))
    assert again == DATA_CARD


def test_categorical_card_round_trips_through_json():
    card = CompiledScorecard(
        1.0, (Characteristic("housing", (), (3.0, -1.0), 0.0, (("own",), ("rent", "free"))),),
        kind="data",
    )  # fmt: skip
    assert CompiledScorecard.from_dict(json.loads(json.dumps(card.to_dict()))) == card
