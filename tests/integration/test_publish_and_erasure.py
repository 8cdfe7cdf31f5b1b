"""A scoring run's publication against an erasure (identity/erasure.py) on both ledgers.

An erasure takes the audit chain, then deletes the emptied subject's score rows. A run used
to take its score rows, then the chain: on PostgreSQL the two deadlocked and one was aborted,
on SQLite the erasure waited out the whole upload. And a run that read the lake before the
erasure published a score for a subject whose records were gone. The run now stages its rows
without a lock and publishes them under the chain, leaving out subjects emptied meanwhile."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import date

import duckdb
import numpy as np
import pytest
from sqlalchemy import func, select

from factories import synthetic_population
from openbureau.audit.service import verify
from openbureau.bootstrap import build_bureau
from openbureau.config import Settings
from openbureau.identity import erasure
from openbureau.scoring.service import _quantiles, score_population
from openbureau.storage.ledger import audit_log, runs, scores, subjects

AS_OF = date(2024, 12, 31)


@pytest.fixture
def bureau(tmp_path, fresh_ledger_url):
    bureau = build_bureau(
        Settings(home=tmp_path / "home", ledger_url=fresh_ledger_url, environment="test")
    )
    synthetic_population(160, thin=2).write(bureau)
    score_population(bureau, AS_OF)  # fits and promotes a champion; rows at AS_OF exist
    return bureau


def _empty(bureau, subject_id: str) -> erasure.ErasureSummary:
    """The erasure a purge runs once the subject's last record has gone from the lake."""
    own = hashlib.md5(f"{subject_id}|0".encode()).hexdigest()  # the builder's identity key
    with duckdb.connect() as con:
        counts = erasure.lake_counts(con, bureau.lake.record_files())
    return erasure.erase_unfurnished(bureau, counts=counts.drop(own))


def _scores_of(bureau, subject_id: str) -> list:
    with bureau.ledger.connect() as conn:
        return conn.execute(select(scores).where(scores.c.subject_id == subject_id)).all()


def _last_publication(bureau) -> dict:
    with bureau.ledger.connect() as conn:
        payload = conn.scalar(
            select(audit_log.c.payload)
            .where(audit_log.c.action == "scores.published")
            .order_by(audit_log.c.seq.desc())
            .limit(1)
        )
    return json.loads(payload)


def _last_run_details(bureau) -> dict:
    with bureau.ledger.connect() as conn:
        details = conn.scalar(
            select(runs.c.details)
            .where(runs.c.stage == "score")
            .order_by(runs.c.finished_at.desc())
            .limit(1)
        )
    return details if isinstance(details, dict) else json.loads(details)


def _quantiles_published(bureau, as_of: date) -> dict:
    with bureau.ledger.connect() as conn:
        values = conn.scalars(
            select(scores.c.score).where(scores.c.as_of == as_of, scores.c.scorable)
        ).all()
    return _quantiles(np.array(values, dtype=np.int64))


@pytest.mark.parametrize(
    "as_of",
    [AS_OF, date(2025, 1, 31)],
    ids=["the same date again (the chain before the old rows)", "a new date (the chain after)"],
)
def test_an_erasure_during_a_publication_neither_waits_for_it_nor_aborts_it(bureau, as_of):
    subject_id = "P00011"
    assert len(_scores_of(bureau, subject_id)) == 1
    outcome: dict = {}

    def erase() -> None:
        try:
            outcome["erasure"] = _empty(bureau, subject_id)
        except Exception as exc:  # noqa: BLE001 - the test looks at what it was
            outcome["erasure"] = exc

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "publish" and "erasure" not in outcome:
            thread = threading.Thread(target=erase)
            thread.start()
            # inside the run's publishing transaction, its rows uploaded in part: the
            # erasure takes the chain and deletes the subject's row without waiting
            thread.join(timeout=30)
            assert not thread.is_alive(), "the erasure waited for the run's publication"

    summary = score_population(bureau, as_of, progress=progress)  # published, not aborted
    found = outcome["erasure"]
    assert isinstance(found, erasure.ErasureSummary), found
    assert found.subjects_emptied == 1
    # the run computed a score from the records it read; the subject has none now
    assert _scores_of(bureau, subject_id) == []
    published = _last_publication(bureau)
    assert published["withheld_emptied"] == 1
    # the run's counts leave the withheld row out, in the chain, the run row and the summary
    assert published["rows"] == summary.n_scored + summary.n_not_scorable
    assert published["rows"] == published["n_scored"] + published["n_not_scorable"]
    assert _last_run_details(bureau) == {
        k: published[k] for k in ("as_of", "model_version", "n_scored", "n_not_scorable")
    }
    assert summary.score_quantiles == _quantiles_published(bureau, as_of)
    with bureau.ledger.connect() as conn:
        count = conn.scalar(select(func.count()).select_from(scores).where(scores.c.as_of == as_of))
        erased_at = conn.scalar(
            select(subjects.c.erased_at).where(subjects.c.subject_id == subject_id)
        )
    assert erased_at is not None
    assert count == published["rows"]
    assert verify(bureau.ledger).ok


def test_a_subject_emptied_before_a_run_is_not_in_its_population(bureau):
    before = score_population(bureau, AS_OF)
    assert _empty(bureau, "P00012").subjects_emptied == 1
    assert _scores_of(bureau, "P00012") == []  # the erasure deleted its score
    after = score_population(bureau, AS_OF)
    assert _scores_of(bureau, "P00012") == []  # and the next run does not bring one back
    assert after.n_scored + after.n_not_scorable == before.n_scored + before.n_not_scorable - 1
    assert "withheld_emptied" not in _last_publication(bureau)
    assert _scores_of(bureau, "P00013") != []


def test_two_publications_of_one_date_at_once_both_land_and_the_later_replaces(bureau):
    """Two runs publishing the same date with the same model at once: before, on PostgreSQL
    neither found rows to replace and the second failed on the scores' primary key."""
    as_of = date(2025, 1, 31)
    staged = threading.Event()
    outcome: dict = {}

    def second() -> None:
        def signal(stage: str, done: int, total: int) -> None:
            if stage == "publish":
                staged.set()

        try:
            outcome["second"] = score_population(bureau, as_of, progress=signal)
        except Exception as exc:  # noqa: BLE001 - the test looks at what it was
            outcome["second"] = exc
            staged.set()

    thread = threading.Thread(target=second)

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "publish" and not thread.is_alive() and "second" not in outcome:
            thread.start()
            # the first run is inside its publishing transaction, its rows staged; the
            # second stages its own before either copies
            assert staged.wait(timeout=120)

    first = score_population(bureau, as_of, progress=progress)
    thread.join(timeout=120)
    second_summary = outcome["second"]
    assert not isinstance(second_summary, Exception), second_summary
    assert second_summary.n_scored == first.n_scored
    with bureau.ledger.connect() as conn:
        count = conn.scalar(select(func.count()).select_from(scores).where(scores.c.as_of == as_of))
        published = conn.scalar(
            select(func.count())
            .select_from(audit_log)
            .where(audit_log.c.action == "scores.published")
        )
    assert count == first.n_scored + first.n_not_scorable  # one row a subject, not two
    assert published == 3  # the fixture's run and these two
    assert verify(bureau.ledger).ok
