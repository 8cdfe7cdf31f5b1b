"""score_population end to end on a small synthetic lake whose hidden risk drives defaults."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select

from factories import LakeBuilder, make_bureau, synthetic_population
from openbureau.bootstrap import build_bureau
from openbureau.features.jobs import build_features, outcomes
from openbureau.scoring.governance import frame_of, read_lake
from openbureau.scoring.model import TrainingError
from openbureau.scoring.rules import NO_RECORDS_REASON, THIN_FILE_REASON
from openbureau.scoring.service import score_population
from openbureau.storage.lake import BYTES_PER_VALUE
from openbureau.storage.ledger import models, runs, scores

AS_OF = date(2024, 12, 31)


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    bureau = make_bureau(tmp_path_factory.mktemp("scoring"))
    lake = synthetic_population(300, thin=8)
    lake.subject("E")  # in the ledger and linked, but no records at all
    lake.write(bureau)
    calls: list[tuple] = []
    summary = score_population(bureau, AS_OF, progress=lambda *a: calls.append(a))
    with bureau.ledger.connect() as conn:
        rows = {r.subject_id: r for r in conn.execute(select(scores))}
    return bureau, summary, rows, calls


def test_summary_dates_and_out_of_time_quality(scored):
    _, summary, _, _ = scored
    # December 2024 is reported in January 2025, so the data known at as_of ends in November
    assert summary.validate_as_of == date(2023, 11, 30)
    assert summary.train_as_of == date(2022, 11, 30)
    assert summary.auc_validate > 0.6
    assert summary.gini == pytest.approx(2 * summary.auc_validate - 1, abs=1e-3)
    assert summary.n_scored == 300
    assert summary.n_not_scorable == 9


def test_every_subject_has_one_row(scored):
    _, summary, rows, _ = scored
    assert len(rows) == 309
    assert {r.model_version for r in rows.values()} == {summary.model_version}
    assert {r.as_of for r in rows.values()} == {AS_OF}


def test_scores_in_range_with_reasons(scored):
    _, _, rows, _ = scored
    scorable = [r for r in rows.values() if r.scorable]
    assert all(300 <= r.score <= 900 for r in scorable)
    assert len({r.score for r in scorable}) > 20
    for r in scorable:
        assert len(r.reasons) <= 4
        assert all(x["points_lost"] > 0 and x["text"] and x["code"] for x in r.reasons)
        assert r.pillar_commercial is not None and 0 <= r.pillar_commercial <= 100
        assert r.pillar_societal is None  # this lake holds no social insurance records


def test_not_scorable_files_have_no_score_and_a_reason(scored):
    _, _, rows, _ = scored
    thin = [r for sid, r in rows.items() if sid.startswith("T")]
    assert len(thin) == 8
    assert all(not r.scorable and r.score is None for r in thin)
    assert {r.not_scorable_reason for r in thin} == {THIN_FILE_REASON}
    assert all(r.reasons == [] for r in thin)
    assert rows["E"].score is None and rows["E"].not_scorable_reason == NO_RECORDS_REASON


def test_reasons_account_for_the_points_lost(scored):
    """With fewer than 4 reasons every loss of half a point or more is shown, so the best
    possible total minus the losses shown is (within rounding) the score."""
    bureau, summary, rows, _ = scored
    card = json.loads((Path(summary.artefact_path) / "scorecard.json").read_text())["scorecard"]
    chars = card["characteristics"]
    best = card["base_points"] + sum(max(c["points"]) for c in chars)
    slack = 0.5 * len(chars) + 1
    checked = 0
    for r in rows.values():
        if r.scorable and len(r.reasons) < 4:
            expected = best - sum(x["points_lost"] for x in r.reasons)
            assert r.score >= min(900, max(300, expected - slack)), r
            checked += 1
    assert checked > 10


def test_model_registered_as_champion_with_artefact(scored):
    bureau, summary, _, calls = scored
    with bureau.ledger.connect() as conn:
        model = conn.execute(select(models)).one()
        assert conn.execute(select(func.count()).select_from(runs)).scalar() == 1
    assert model.model_version == summary.model_version and model.champion
    published = json.loads((Path(model.artefact_path) / "scorecard.json").read_text())
    assert published["train_as_of"] == "2022-11-30"
    assert published["metrics"]["validate"]["auc"] == summary.auc_validate
    assert {c["feature"] for c in published["scorecard"]["characteristics"]} == set(
        summary.features_used
    )
    assert calls[-1][0] == "score" and calls[-1][1] == calls[-1][2]


def test_rerun_replaces_the_same_version(scored):
    bureau, summary, _, _ = scored
    again = score_population(bureau, AS_OF)
    assert again.model_version == summary.model_version
    with bureau.ledger.connect() as conn:
        assert conn.execute(select(func.count()).select_from(scores)).scalar() == 309
        assert conn.execute(select(func.count()).select_from(models)).scalar() == 1


def test_too_little_data_is_a_clear_error(tmp_path):
    bureau = make_bureau(tmp_path)
    lake = LakeBuilder()
    lake.credit_month("A", "a", date(2024, 1, 1))
    lake.write(bureau)
    with pytest.raises(TrainingError, match="too few outcomes"):
        score_population(bureau, AS_OF)


def _held(records) -> bool:
    """Whether the jobs' records are the in-memory copy (a table `held_for_jobs` made)."""
    return "records_held_" in getattr(records.op(), "name", "")


def _features_and_outcomes(bureau, at: date):
    lake = read_lake(bureau, AS_OF)
    feats = frame_of(lake.con, build_features(lake.records, lake.links, at))
    outs = frame_of(lake.con, outcomes(lake.records, lake.links, at))
    return (
        lake,
        feats.sort_values("subject_id", ignore_index=True),
        outs.sort_values("subject_id", ignore_index=True),
    )


def test_the_jobs_read_the_same_rows_held_in_memory_or_from_the_files(scored):
    bureau = scored[0]
    held, feats, outs = _features_and_outcomes(bureau, date(2022, 11, 30))
    on_files = build_bureau(bureau.settings.model_copy(update={"lake_cache_mb": 0}))
    files, feats_files, outs_files = _features_and_outcomes(on_files, date(2022, 11, 30))
    assert _held(held.records)
    assert not _held(files.records)  # 0: read from the Parquet files, as before
    assert len(feats) > 250 and outs["bad"].nunique() == 2
    pd.testing.assert_frame_equal(feats, feats_files)
    pd.testing.assert_frame_equal(outs, outs_files)
    # the copy holds no one's name, birth date, address or national id
    who = {"given_name", "family_name", "org_name", "date_of_birth", "national_id_token",
           "national_id_masked", "address_line1", "address_line2", "postcode", "city"}  # fmt: skip
    assert who <= set(files.records.columns)  # the files do hold them
    assert not set(held.records.columns) & who
    assert {"identity_key", "subject_kind", "record_type", "reported_on"} <= set(
        held.records.columns
    )


def test_records_too_large_for_the_budget_stay_on_the_files(scored):
    bureau = scored[0]
    lake = read_lake(bureau, AS_OF)
    rows = int(lake.con.execute(lake.records.count()))
    needed_mb = rows * len(lake.records.columns) * BYTES_PER_VALUE / 2**20
    assert needed_mb > 1  # so a budget of 1 MiB is too small for this lake
    small = build_bureau(bureau.settings.model_copy(update={"lake_cache_mb": 1}))
    assert not _held(read_lake(small, AS_OF).records)
    roomy = build_bureau(bureau.settings.model_copy(update={"lake_cache_mb": int(needed_mb) + 1}))
    assert _held(read_lake(roomy, AS_OF).records)
