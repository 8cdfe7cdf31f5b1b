"""The model report and "what would raise my score", end to end on a small scored lake."""

from __future__ import annotations

import json
from datetime import date

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import typer
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from factories import make_bureau, synthetic_population
from keys import bearer, issue_key
from openbureau.api.app import create_app
from openbureau.bootstrap import build_bureau
from openbureau.catalogue.model import PILLARS
from openbureau.cli_model_report import model_report
from openbureau.features.rules import FEATURES_BY_NAME
from openbureau.reports import reads
from openbureau.reports.service import build_report
from openbureau.scoring.artefact import published_card, read_published
from openbureau.scoring.explain import subject_features
from openbureau.scoring.model_report import build_model_report, protected_attributes
from openbureau.scoring.rules import subscore_of
from openbureau.scoring.service import score_population
from openbureau.storage.ledger import scores
from report_fixture import GOOD, build_report_fixture

AS_OF = date(2024, 12, 31)

cli = typer.Typer()
cli.command("report")(model_report)
cli.command("unused")(lambda: None)  # two commands, so "report" is a sub-command as when wired


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    bureau = make_bureau(tmp_path_factory.mktemp("model-report"))
    synthetic_population(300, thin=8).write(bureau)
    summary = score_population(bureau, AS_OF)
    return bureau, summary


def _run(*args: str):
    return CliRunner().invoke(cli, ["report", *args])


def _scorable(bureau) -> list:
    with bureau.ledger.connect() as conn:
        return conn.execute(select(scores).where(scores.c.scorable)).all()


def test_report_repeats_the_models_own_validation(scored, tmp_path):
    bureau, summary = scored
    out = tmp_path / "reports" / "model.html"
    r = _run("--home", str(bureau.settings.home), "--out", str(out))
    assert r.exit_code == 0, r.output
    printed = json.loads(r.output[r.output.index("{") :])
    assert printed["model_version"] == summary.model_version
    assert printed["out_of_time_as_of"] == summary.validate_as_of.isoformat()
    # the published (rounded) scores sort as the points do, up to ties
    assert printed["auc"] == pytest.approx(summary.auc_validate, abs=0.01)
    assert 0.5 < printed["ceiling_auc"] <= 1
    assert printed["ceiling_gap"] == pytest.approx(
        printed["ceiling_auc"] - printed["auc"], abs=2e-4
    )
    page = out.read_text()
    assert page.count("<svg") == 5 and "<script" not in page
    assert "so fairness was not measured" in page
    for c in published_card(read_published(bureau.settings.home, summary.artefact_path)).features:
        assert f" {c} <span" in page


def test_report_measures_fairness_from_a_file_of_attributes(scored, tmp_path):
    bureau, _ = scored
    ids = sorted(r.subject_id for r in _scorable(bureau))
    attrs = pd.DataFrame(
        {"subject_id": ids, "sex": ["female" if i % 2 else "male" for i in range(len(ids))]}
    )
    path = tmp_path / "protected.csv"
    attrs.to_csv(path, index=False)
    report = build_model_report(
        bureau, cutoff=650, protected=protected_attributes(bureau, path), protected_source="x"
    )
    (sex,) = report.fairness
    assert {g.group for g in sex.groups} == {"female", "male"}
    assert sum(g.n for g in sex.groups) <= report.n_oot
    approved = [g.approval_rate * g.n for g in sex.groups]
    assert sum(approved) / sum(g.n for g in sex.groups) == pytest.approx(
        report.approval_rate, abs=0.05
    )
    assert {p.attribute for p in report.proxies} == {"sex"}
    assert len(report.proxies) == len(report.characteristics)


def test_protected_attributes_from_a_truth_folder(scored, tmp_path):
    bureau, _ = scored
    # a truth folder like `openbureau synth` writes: every lake record's true person
    lake = duckdb.sql(
        "SELECT DISTINCT r.furnisher_id, r.record_id, 'T' || l.subject_id AS true_subject_id "
        "FROM read_parquet($files) r JOIN read_parquet($links) l USING (identity_key)",
        params={
            "files": [str(p) for p in bureau.lake.record_files()],
            "links": str(bureau.lake.links_path),
        },
    ).to_arrow_table()
    truth = tmp_path / "truth"
    truth.mkdir()
    pq.write_table(lake, truth / "records.parquet")
    people = sorted(set(lake.column("true_subject_id").to_pylist()))
    pq.write_table(
        pa.table(
            {
                "true_subject_id": people,
                "sex": ["female" if i % 3 else "male" for i in range(len(people))],
                "age_band": ["25-34"] * len(people),
                "region": [None] * len(people),
            }
        ),
        truth / "subjects.parquet",
    )
    got = protected_attributes(bureau, truth).set_index("subject_id")
    assert len(got) == len(people)
    first = people[0]
    assert got.loc[first[1:], "sex"] == "male"
    assert set(got["age_band"]) == {"25-34"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--as-of", "2023-11-15"], "must end a month"),
        (["--as-of", "2024-06-30"], "not all in the lake"),
        (["--model", "sc-nope"], "no model 'sc-nope'"),
    ],
)
def test_bad_requests_are_precise_errors(scored, tmp_path, args, message):
    bureau, _ = scored
    r = _run("--home", str(bureau.settings.home), "--out", str(tmp_path / "x.html"), *args)
    assert r.exit_code == 2
    assert message in " ".join(r.output.split())
    assert not (tmp_path / "x.html").exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id,sex\nS1,female\n", "needs a subject_id column"),
        ("subject_id,sex\nS1,female\nS1,male\n", "subject_id 'S1' appears more than once"),
        ("subject_id,sex\nnobody,female\n", "none of the"),
    ],
)
def test_bad_protected_files_are_refused(scored, tmp_path, text, message):
    bureau, _ = scored
    path = tmp_path / "p.csv"
    path.write_text(text)
    out = tmp_path / "x.html"
    r = _run("--home", str(bureau.settings.home), "--protected", str(path), "--out", str(out))
    assert r.exit_code == 2
    assert message in " ".join(r.output.split())
    assert not out.exists()


def test_no_model_yet(tmp_path):
    bureau = make_bureau(tmp_path)
    r = _run("--home", str(bureau.settings.home), "--out", str(tmp_path / "x.html"))
    assert r.exit_code == 2
    assert "no champion model yet" in r.output


def test_report_says_what_would_raise_the_score(scored):
    bureau, summary = scored
    card = published_card(read_published(bureau.settings.home, summary.artefact_path))
    rows = _scorable(bureau)
    with_suggestions = 0
    for row in rows[:40]:
        report = build_report(bureau, row.subject_id)
        assert report.score is not None and report.score.score == row.score
        for m in report.improvements:
            assert m.feature in card.features
            assert m.points_gained >= 0.5 and m.score_after >= row.score
            assert m.text.endswith(f"would add {m.points_gained:.1f} points.")
        gains = [m.points_gained for m in report.improvements]
        assert gains == sorted(gains, reverse=True)
        with_suggestions += bool(report.improvements)
    assert with_suggestions > 10


def test_improvements_in_the_api_and_on_the_page(scored):
    bureau, _ = scored
    low = min(_scorable(bureau), key=lambda r: r.score)
    key = issue_key(bureau.ledger, "ops-report", "operator", "operator")
    with TestClient(create_app(bureau.settings, today=lambda: AS_OF)) as client:
        body = client.get(f"/v1/subjects/{low.subject_id}/report", headers=bearer(key)).json()
        assert body["improvements"], "the lowest score has something that would raise it"
        first = body["improvements"][0]
        assert set(first) >= {"code", "text", "points_gained", "score_after", "target"}
        client.post("/login", data={"key": key, "next": "/"}, follow_redirects=False)
        html = client.get(f"/subjects/{low.subject_id}").text
    assert "What would raise this score" in html
    assert first["text"] in html


def test_published_pillar_subscores_follow_the_rule(scored):
    """Each published pillar sub-score is the pillar's points placed between the least and
    the most its characteristics can give, recomputed here from the subject's own records."""
    bureau, summary = scored
    card = published_card(read_published(bureau.settings.home, summary.artefact_path))
    checked = 0
    for row in _scorable(bureau)[:25]:
        keys = reads.subject_identity_keys(bureau.lake, row.subject_id)
        records = reads.subject_records(bureau.lake, keys, row.as_of)
        features = subject_features(row.subject_id, records, row.as_of)
        for pillar in PILLARS:
            chars = [
                c for c in card.characteristics if FEATURES_BY_NAME[c.feature].pillar == pillar
            ]
            want = subscore_of(chars, features, features[f"n_{pillar}"] > 0)
            got = getattr(row, f"pillar_{pillar}")
            assert got == (None if want is None else pytest.approx(want)), (row.subject_id, pillar)
            checked += want is not None
    assert checked >= 25  # every file scored here has credit: a commercial sub-score at least


@pytest.mark.parametrize("artefact", [None, "{not json", '{"scorecard": {}}'])
def test_a_missing_or_damaged_artefact_costs_the_suggestions_not_the_report(tmp_path, artefact):
    fixture = build_report_fixture(tmp_path)
    bureau = build_bureau(fixture.settings)
    if artefact is not None:
        folder = fixture.settings.home / "models" / "scorecard-2025.12"
        folder.mkdir(parents=True)
        (folder / "scorecard.json").write_text(artefact)
    report = build_report(bureau, GOOD)
    assert report.score is not None and report.score.score == 781
    assert report.improvements == []
