"""Identity resolution on a synthetic population with ground truth: the quality floor, the
mixed-file guard on real output, incremental runs with stable ids, and the review queue."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from openbureau.audit.service import verify
from openbureau.bootstrap import build_bureau
from openbureau.cli import app
from openbureau.config import Settings
from openbureau.identity import quality, review
from openbureau.identity.service import resolve
from openbureau.ingest.parallel import FurnisherFiles, ingest_many
from openbureau.ingest.service import add_furnisher
from openbureau.storage.ledger import audit_log, review_pairs, subjects
from openbureau.synth.service import generate_population

runner = CliRunner()
LAST_MONTH = "2026-10"


def _population(root: Path, noise: str) -> tuple[Path, list[dict]]:
    synth = root / "synth"
    generate_population(3000, 300, 5, synth, noise=noise, end_month=date(2026, 10, 1), months=18)
    with open(synth / "furnishers.csv", newline="") as fh:
        return synth, list(csv.DictReader(fh))


def _ingest(settings: Settings, synth: Path, furnishers: list[dict], pick) -> None:
    jobs = [
        FurnisherFiles(
            f["furnisher_id"],
            tuple(p for p in sorted((synth / "files" / f["furnisher_id"]).glob("*.*")) if pick(p)),
        )
        for f in furnishers
    ]
    receipts = ingest_many(settings, [j for j in jobs if j.paths], workers=2)
    assert all(r["status"] == "accepted" for r in receipts)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    """Every month but the last ingested and resolved in full, then the last month ingested
    and resolved incrementally."""
    root = tmp_path_factory.mktemp("identity")
    synth, furnishers = _population(root, "default")
    settings = Settings(home=root / "home")
    bureau = build_bureau(settings)
    for f in furnishers:
        add_furnisher(bureau, f["furnisher_id"], f["kind"], f["name"])
    _ingest(settings, synth, furnishers, lambda p: p.stem != LAST_MONTH)
    first = resolve(bureau)
    before = _links(bureau)
    _ingest(settings, synth, furnishers, lambda p: p.stem == LAST_MONTH)
    second = resolve(bureau)
    return {
        "bureau": bureau,
        "truth": synth / "truth" / "records.parquet",
        "first": first,
        "second": second,
        "before": before,
    }


def _links(bureau) -> dict[str, str]:
    con = duckdb.connect()
    rows = con.execute(
        "SELECT identity_key, subject_id FROM read_parquet($p)", {"p": str(bureau.lake.links_path)}
    ).fetchall()
    return dict(rows)


def test_first_run_is_full_and_the_next_incremental(world):
    assert world["first"].mode == "full"
    second = world["second"]
    assert second.mode == "incremental"
    assert 0 < second.files_read < world["first"].files_read
    assert resolve(world["bureau"]).mode == "up-to-date"


def test_quality_meets_the_floor(world):
    q = quality.measure(world["bureau"].lake, world["truth"])
    assert q.precision >= 0.999, q
    assert q.recall >= 0.99, q
    assert q.mixed_file_rate < 0.001, q


def test_no_subject_holds_two_ids_of_one_scheme(world):
    con = duckdb.connect()
    (bad,) = con.execute(
        """SELECT count(*) FROM (
               SELECT subject_id, national_id_scheme FROM read_parquet($p)
               WHERE id_key IS NOT NULL GROUP BY ALL HAVING count(DISTINCT id_key) > 1)""",
        {"p": str(world["bureau"].lake.links_path)},
    ).fetchone()
    assert bad == 0


def test_issued_ids_are_kept_or_redirected(world):
    bureau = world["bureau"]
    after = _links(bureau)
    with bureau.ledger.connect() as conn:
        redirect = dict(
            conn.execute(
                select(subjects.c.subject_id, subjects.c.merged_into).where(
                    subjects.c.merged_into.is_not(None)
                )
            ).all()
        )
    moved = {k: (old, after[k]) for k, old in world["before"].items() if after[k] != old}
    assert all(redirect.get(old) == new for old, new in moved.values()), moved
    assert len(moved) <= 0.01 * len(world["before"])


def test_review_decisions_are_audited_and_applied(world, tmp_path):
    bureau = world["bureau"]
    pairs = review.open_pairs(bureau, limit=2)
    assert len(pairs) == 2, "the default noise leaves some pairs for review"
    same, different = pairs
    r = runner.invoke(
        app,
        ["review", "decide", same["pair_id"], "same", "--operator", "alice",
         "--home", str(bureau.settings.home)],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    review.decide(bureau, different["pair_id"], "different", actor="bob")
    with pytest.raises(review.ReviewError, match="already decided"):
        review.decide(bureau, different["pair_id"], "same", actor="bob")
    with pytest.raises(review.ReviewError, match="no review pair"):
        review.decide(bureau, "nope", "same", actor="bob")
    summary = resolve(bureau)
    assert summary.mode == "incremental"
    links = _links(bureau)
    assert links[same["variant_l"]] == links[same["variant_r"]]
    assert links[different["variant_l"]] != links[different["variant_r"]]
    with bureau.ledger.connect() as conn:
        actions = (
            conn.execute(
                select(audit_log.c.actor).where(audit_log.c.action == "identity.review_decided")
            )
            .scalars()
            .all()
        )
        status = dict(conn.execute(select(review_pairs.c.pair_id, review_pairs.c.status)).all())
    assert {"alice", "bob"} <= set(actions)
    assert status[same["pair_id"]] == "same" and status[different["pair_id"]] == "different"
    assert verify(bureau.ledger).ok
    # and a full relink keeps obeying them
    resolve(bureau, full=True)
    links = _links(bureau)
    assert links[same["variant_l"]] == links[same["variant_r"]]
    assert links[different["variant_l"]] != links[different["variant_r"]]


def test_review_list_shows_pairs_and_refuses_bad_decisions(world):
    home = str(world["bureau"].settings.home)
    r = runner.invoke(app, ["review", "list", "--limit", "3", "--home", home])
    assert r.exit_code == 0 and "open pairs" in r.output
    r = runner.invoke(app, ["review", "decide", "x", "maybe", "--home", home])
    assert r.exit_code == 2 and "same, different" in r.output


def test_high_noise_is_measured_honestly(tmp_path):
    synth, furnishers = _population(tmp_path, "high")
    settings = Settings(home=tmp_path / "home")
    bureau = build_bureau(settings)
    for f in furnishers:
        add_furnisher(bureau, f["furnisher_id"], f["kind"], f["name"])
    _ingest(settings, synth, furnishers, lambda p: True)
    resolve(bureau)
    q = quality.measure(bureau.lake, synth / "truth" / "records.parquet")
    # precision first: harder data costs recall, never mixed files
    assert q.precision >= 0.995, q
    assert q.mixed_file_rate < 0.005, q
    assert q.recall >= 0.9, q


def test_a_disputed_automatic_link_can_be_split(world):
    """A subject disputes a link the matcher made: an operator puts the two identities before
    review, calls them different, and the next run splits the file (audited)."""
    bureau = world["bureau"]
    links = _links(bureau)
    by_subject: dict[str, list[str]] = {}
    for key, subject in links.items():
        by_subject.setdefault(subject, []).append(key)
    subject, keys = next((s, k) for s, k in sorted(by_subject.items()) if len(k) == 2)
    home = str(bureau.settings.home)
    r = runner.invoke(app, ["review", "add", keys[0], keys[1], "--home", home])
    assert r.exit_code == 0, r.output
    pair = __import__("json").loads(r.output)["pair_id"]
    r = runner.invoke(app, ["review", "add", keys[0], keys[1], "--home", home])
    assert r.exit_code == 2 and "already in the review table" in r.output
    review.decide(bureau, pair, "different", actor="carol")
    resolve(bureau)
    after = _links(bureau)
    assert after[keys[0]] != after[keys[1]]
    assert subject in (after[keys[0]], after[keys[1]])
    with bureau.ledger.connect() as conn:
        splits = (
            conn.execute(
                select(audit_log.c.subject_id).where(audit_log.c.action == "subject.split")
            )
            .scalars()
            .all()
        )
    assert subject in splits
