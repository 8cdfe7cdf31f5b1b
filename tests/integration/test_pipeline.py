"""The whole bureau end to end through its command line, on a small synthetic population."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from openbureau.api.app import create_app
from openbureau.bootstrap import build_bureau
from openbureau.cli import app
from openbureau.config import Settings
from openbureau.demo import month_end, pick_examples
from openbureau.storage.ledger import batches, scores, subjects

runner = CliRunner()


def ob(*args: str):
    result = runner.invoke(app, list(args), catch_exceptions=False)
    return result


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("pipeline")
    home, synth = root / "home", root / "synth"
    r = ob("synth", "--persons", "1500", "--orgs", "150", "--seed", "3", "--out", str(synth))
    assert r.exit_code == 0, r.output
    with open(synth / "furnishers.csv", newline="") as fh:
        furnishers = list(csv.DictReader(fh))
    for f in furnishers:
        r = ob("furnisher", "add", f["furnisher_id"], "--kind", f["kind"], "--name", f["name"],
               "--home", str(home))  # fmt: skip
        assert r.exit_code == 0, r.output
    for f in furnishers:
        r = ob("ingest", str(synth / "files" / f["furnisher_id"]), "--furnisher",
               f["furnisher_id"], "--home", str(home))  # fmt: skip
        assert r.exit_code == 0, r.output
    r = ob("resolve", "--home", str(home))
    assert r.exit_code == 0, r.output
    last = max(p.stem for p in (synth / "files").glob("*/*.*"))
    as_of = month_end(__import__("datetime").date.fromisoformat(last + "-01"))
    r = ob("score", "--as-of", as_of.isoformat(), "--home", str(home))
    assert r.exit_code == 0, r.output
    return {"home": home, "synth": synth, "as_of": as_of, "furnishers": furnishers}


def test_every_file_lands_in_the_lake_or_quarantine(pipeline):
    bureau = build_bureau(Settings(home=pipeline["home"]))
    files = list((pipeline["synth"] / "files").glob("*/*.*"))
    with bureau.ledger.connect() as conn:
        rows = conn.execute(select(batches)).all()
    assert len(rows) == len(files)
    assert all(r.status == "accepted" for r in rows)
    accepted = sum(r.rows_accepted for r in rows)
    lake_rows = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{bureau.lake.records_glob()}')"
    ).fetchall()[0][0]
    assert lake_rows == accepted > 0
    # Every furnished row is accounted for: accepted, quarantined or a re-sent duplicate.
    furnished = duckdb.sql(
        f"SELECT count(*) FROM read_csv('{pipeline['synth']}/files/*/*.csv', all_varchar=true,"
        " union_by_name=true)"
    ).fetchall()[0][0]
    assert furnished == sum(r.rows_accepted + r.rows_rejected + r.rows_duplicate for r in rows)


def test_reingesting_a_furnisher_changes_nothing(pipeline):
    home = pipeline["home"]
    bureau = build_bureau(Settings(home=home))
    before = len(bureau.lake.record_files())
    f = pipeline["furnishers"][0]["furnisher_id"]
    r = ob("ingest", str(pipeline["synth"] / "files" / f), "--furnisher", f, "--home", str(home))
    assert r.exit_code == 0
    assert "already ingested" in r.output
    assert len(bureau.lake.record_files()) == before


def test_links_export_covers_every_record(pipeline, tmp_path):
    out = tmp_path / "links.csv"
    r = ob("export", "links", "--out", str(out), "--home", str(pipeline["home"]))
    assert r.exit_code == 0, r.output
    with open(out, newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == [
            "furnisher_id", "record_id", "subject_id", "match_probability", "method"
        ]  # fmt: skip
        rows = list(reader)
    assert rows and all(row["subject_id"].startswith("S") for row in rows)
    # Linking quality against the hidden truth: the first matcher must never mix two people.
    truth = duckdb.sql(
        f"SELECT DISTINCT furnisher_id, record_id, true_subject_id FROM "
        f"read_parquet('{pipeline['synth'] / 'truth' / 'records.parquet'}')"
    ).df()
    links = duckdb.sql(f"SELECT * FROM read_csv('{out}', all_varchar=true)").df()
    joined = links.merge(truth, on=["furnisher_id", "record_id"])
    assert len(joined) == len(links)
    per_subject = joined.groupby("subject_id")["true_subject_id"].nunique()
    mixed_rate = (per_subject > 1).mean()
    assert mixed_rate < 0.001, f"mixed-file rate {mixed_rate:.4f}"


def test_scores_are_published_with_reasons(pipeline):
    bureau = build_bureau(Settings(home=pipeline["home"]))
    with bureau.ledger.connect() as conn:
        n_subjects = conn.execute(
            select(func.count()).select_from(subjects).where(subjects.c.merged_into.is_(None))
        ).scalar()
        rows = conn.execute(select(scores).where(scores.c.as_of == pipeline["as_of"])).all()
    assert len(rows) == n_subjects
    scorable = [r for r in rows if r.scorable]
    assert scorable and all(300 <= r.score <= 900 for r in scorable)
    assert all(r.score is None and r.not_scorable_reason for r in rows if not r.scorable)
    assert any(r.reasons for r in scorable)
    assert all(len(r.reasons) <= 4 for r in rows)


def test_the_report_page_serves_example_subjects(pipeline):
    settings = Settings(home=pipeline["home"])
    bureau = build_bureau(settings)
    examples = pick_examples(bureau, pipeline["as_of"])
    assert set(examples) == {"a good file", "a thin file", "a judgment defaulter"}
    home = str(pipeline["home"])
    added = ob("parties", "add", "ops-1", "--kind", "operator", "--name", "Ops", "--home", home)
    assert added.exit_code == 0, added.output
    made = ob("keys", "create", "--party", "ops-1", "--role", "operator", "--home", home)
    assert made.exit_code == 0, made.output
    key = made.stdout.strip().splitlines()[-1]
    client = TestClient(create_app(settings), headers={"Authorization": f"Bearer {key}"})
    anonymous = TestClient(create_app(settings))
    assert anonymous.get(f"/v1/subjects/{examples['a good file']}/report").status_code == 401
    for subject_id in examples.values():
        page = client.get(f"/subjects/{subject_id}")
        assert page.status_code == 200
        assert subject_id in page.text
        report = client.get(f"/v1/subjects/{subject_id}/report").json()
        assert report["subject_id"] == subject_id
        assert report["records"], "every example file has records"
    thin = client.get(f"/v1/subjects/{examples['a thin file']}/report").json()
    assert thin["score"]["scorable"] is False
    defaulter = client.get(f"/v1/subjects/{examples['a judgment defaulter']}/report").json()
    kinds = {r["record_type"] for r in defaulter["public_records"]}
    assert "judgment_default_finding" in kinds


def test_no_raw_national_id_reaches_the_lake_or_ledger(pipeline):
    synth: Path = pipeline["synth"]
    sample = duckdb.sql(
        f"SELECT DISTINCT national_id FROM read_csv('{synth}/files/*/*.csv', all_varchar=true,"
        " union_by_name=true) WHERE national_id IS NOT NULL LIMIT 50"
    ).fetchall()
    assert sample
    raws = [raw for (raw,) in sample]
    home: Path = pipeline["home"]
    # The lake is compressed Parquet: search its decoded text columns, not its bytes.
    bureau = build_bureau(Settings(home=home))
    con = duckdb.connect()
    con.execute(f"CREATE VIEW lake AS SELECT * FROM read_parquet('{bureau.lake.records_glob()}')")
    text_columns = [r[0] for r in con.execute("DESCRIBE lake").fetchall() if r[1] == "VARCHAR"]
    assert "national_id_masked" in text_columns
    found = con.execute(
        "SELECT count(*) FROM lake WHERE "
        + " OR ".join(f'list_contains($raws, "{c}")' for c in text_columns),
        {"raws": raws},
    ).fetchall()[0][0]
    assert found == 0, "a raw national id was stored in the lake"
    # Everything else the bureau wrote (ledger, quarantine, links, models) is searched as bytes.
    others = [p for p in home.rglob("*") if p.is_file() and "records" not in p.parts]
    blobs = [p.read_bytes() for p in others]
    for raw in raws:
        assert not any(raw.encode() in b for b in blobs), "a raw national id was stored"


def test_ingest_leaves_serving_runs_that_reports_read_as_they_would_every_file(pipeline):
    from openbureau.reports.reads import subject_identity_keys, subject_records
    from openbureau.storage import serving

    bureau = build_bureau(Settings(home=pipeline["home"]))
    current = serving.plan(bureau.lake)
    assert current is not None and current.delta == () and current.runs
    links = pq.read_table(bureau.lake.links_path, columns=["subject_id"]).column(0).to_pylist()
    assert links == sorted(links)  # sorted by subject: one row group a report
    subjects = sorted(set(links))[::97]
    via_runs = {s: subject_records(bureau.lake, subject_identity_keys(bureau.lake, s),
                                   pipeline["as_of"]) for s in subjects}  # fmt: skip
    manifest = serving.manifest_path(bureau.lake)
    manifest.rename(manifest.with_suffix(".aside"))
    try:
        assert serving.plan(bureau.lake) is None
        for s in subjects:
            keys = subject_identity_keys(bureau.lake, s)
            assert via_runs[s] == subject_records(bureau.lake, keys, pipeline["as_of"])
    finally:
        manifest.with_suffix(".aside").rename(manifest)
    assert sum(len(v) for v in via_runs.values()) > len(subjects)  # real files, not empty
