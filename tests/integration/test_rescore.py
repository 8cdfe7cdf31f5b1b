"""Rescoring one subject (scoring/rescore.py) against the population run: the same row from
the same records, and a dispute's deletion in the published score at once."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from factories import synthetic_population
from openbureau.audit.service import verify
from openbureau.bootstrap import build_bureau
from openbureau.cli import app
from openbureau.config import Settings
from openbureau.disputes.service import answer_dispute, open_dispute
from openbureau.ingest.service import add_furnisher
from openbureau.reports import reads
from openbureau.reports.service import without_deleted
from openbureau.scoring import rescore
from openbureau.scoring import service as scoring_service
from openbureau.scoring.rescore import SCORED, recompute, rescore_subject
from openbureau.scoring.service import score_population
from openbureau.storage import serving
from openbureau.storage.ledger import audit_log, scores

AS_OF = date(2024, 12, 31)


@pytest.fixture(scope="module")
def scored(tmp_path_factory, ledger_url):
    """A scored population, on each ledger (the tests may run in any order: after each,
    the bureau still agrees with the population run, which is what the others check)."""
    home = tmp_path_factory.mktemp("rescore") / "home"
    bureau = build_bureau(Settings(home=home, ledger_url=ledger_url, environment="test"))
    lake = synthetic_population(300, thin=4)
    lake.subject("E")  # in the ledger and linked, but no records at all
    lake.write(bureau)
    summary = score_population(bureau, AS_OF)
    serving.compact(bureau.lake)  # reports (and so rescores) read a few row groups
    return bureau, summary.model_version


def _published(bureau) -> dict[str, dict]:
    with bureau.ledger.connect() as conn:
        return {r.subject_id: dict(r._mapping) for r in conn.execute(select(scores))}


def _same(a: dict, b: dict) -> bool:
    for column in SCORED:
        x, y = a[column], b[column]
        if isinstance(x, float) and isinstance(y, float):
            if abs(x - y) > 1e-9:
                return False
        elif x != y:
            return False
    return True


def test_recompute_gives_every_subject_the_row_the_population_run_published(scored):
    bureau, version = scored
    published = _published(bureau)
    assert {r["scorable"] for r in published.values()} == {True, False}
    # every subject not scorable, and a quarter of the others (each costs about 0.1 s)
    chosen = [
        s for i, (s, r) in enumerate(sorted(published.items())) if not r["scorable"] or i % 4 == 0
    ]
    for subject_id in chosen:
        row = published[subject_id]
        fresh = recompute(bureau, subject_id, AS_OF, version)
        assert _same(fresh, row), (subject_id, fresh, row)
    # so a rescore with nothing deleted changes nothing, and says so
    untouched = rescore_subject(
        bureau, "P00001", actor="operator-local", purpose="test", why="nothing changed",
        now=datetime.now(UTC),
    )  # fmt: skip
    assert untouched is not None and not untouched.changed
    assert untouched.before == untouched.after == published["P00001"]["score"]
    assert _published(bureau)["P00001"]["published_at"] == published["P00001"]["published_at"]


@pytest.fixture(scope="module")
def late(scored) -> dict[str, list[str]]:
    """Each scorable subject's months 30 days late or worse in the two years to AS_OF, as
    the population came (each test deletes from a subject of its own)."""
    bureau, _ = scored
    return {
        subject_id: _late_records(bureau, subject_id, since=date(2023, 1, 1))
        for subject_id, row in sorted(_published(bureau).items())
        if row["scorable"]
    }


def _late_exactly(late: dict[str, list[str]], n: int, skip: int = 0) -> tuple[str, list[str]]:
    """A subject late exactly `n` times (the `skip`+1-th such), and those months' record
    ids: the card counts such months and the months since the last, so deleting them all
    must raise the score."""
    found = [(s, records) for s, records in late.items() if len(records) == n]
    assert len(found) > skip, f"fewer than {skip + 1} subjects late exactly {n} times"
    return found[skip]


def test_a_deleted_record_leaves_the_published_score_at_once(scored, late):
    bureau, version = scored
    subject_id, (record_id,) = _late_exactly(late, 1)
    add_furnisher(bureau, "bank-1", "bank", "Bank")
    before = _published(bureau)[subject_id]
    now = datetime.now(UTC)
    dispute = open_dispute(
        bureau, subject_id, "bank-1", record_id, "I paid that month on time.",
        actor=f"party:self/{subject_id}", now=now,
    )  # fmt: skip
    # an open dispute changes nothing: the record counts until the furnisher answers
    assert _published(bureau)[subject_id]["score"] == before["score"]
    answer_dispute(
        bureau, dispute.dispute_id, "unverifiable", "We cannot find the statement.",
        actor="party:bank-1/key:k", furnisher_id="bank-1", now=now,
    )  # fmt: skip
    after = _published(bureau)[subject_id]
    assert after["score"] > before["score"]  # a late month only ever costs points
    assert after["pillar_commercial"] > before["pillar_commercial"]
    # what the next population run would publish, from the same lake with the deletion
    others = {s: r for s, r in _published(bureau).items() if s != subject_id}
    score_population(bureau, AS_OF)
    rerun = _published(bureau)
    assert _same(after, rerun[subject_id])
    assert all(_same(row, rerun[s]) for s, row in others.items())
    # recorded: who and why, never the score (the chain outlives an erasure of the file)
    (entry,) = [e for e in _rescored(bureau) if dispute.dispute_id in e.payload]
    assert entry.subject_id == subject_id and entry.actor == "party:bank-1/key:k"
    assert '"scorable_after":true' in entry.payload and "score_after" not in entry.payload
    assert verify(bureau.ledger).ok


def _rescored(bureau) -> list:
    with bureau.ledger.connect() as conn:
        query = select(audit_log).where(audit_log.c.action == "score.rescored")
        return list(conn.execute(query.order_by(audit_log.c.seq)))


def _delete(bureau, subject_id: str, record_id: str, reason: str) -> None:
    now = datetime.now(UTC)
    opened = open_dispute(bureau, subject_id, "bank-1", record_id, reason,
                          actor=f"party:self/{subject_id}", now=now)  # fmt: skip
    answer_dispute(bureau, opened.dispute_id, "unverifiable", "Not on file.",
                   actor="party:bank-1/key:k", furnisher_id="bank-1", now=now)  # fmt: skip


def _late_records(bureau, subject_id: str, since: date) -> list[str]:
    """The subject's months 30 days late or worse from `since`, not deleted, oldest first."""
    keys = reads.subject_identity_keys(bureau.lake, subject_id)
    held = without_deleted(bureau, reads.subject_records(bureau.lake, keys, AS_OF))
    late = [
        r for r in held
        if r["record_type"] == "credit_account" and (r["days_past_due"] or 0) >= 30
        and r["reporting_month"] >= since
    ]  # fmt: skip
    return [r["record_id"] for r in sorted(late, key=lambda r: r["reporting_month"])]


def test_a_deletion_while_a_scoring_run_reads_the_lake_survives_its_publication(
    scored, late, monkeypatch
):
    """The run read the lake before the answer, and publishes a score still counting the
    record over the answer's rescore: it rescores that subject again once it has published."""
    bureau, version = scored
    add_furnisher(bureau, "bank-1", "bank", "Bank")
    subject_id, (record_id,) = _late_exactly(late, 1, skip=1)
    publish = scoring_service._publish

    def answer_then_publish(*args, **kwargs):
        _delete(bureau, subject_id, record_id, "Not my debt.")
        return publish(*args, **kwargs)

    monkeypatch.setattr(scoring_service, "_publish", answer_then_publish)
    score_population(bureau, AS_OF)
    monkeypatch.undo()
    assert _same(_published(bureau)[subject_id], recompute(bureau, subject_id, AS_OF, version))
    # the chain tells it in order: the answer's rescore, the run's publication, the run's
    # rescore of the subject it had just published
    with bureau.ledger.connect() as conn:
        actions = [
            a for (a,) in conn.execute(select(audit_log.c.action).order_by(audit_log.c.seq))
            if a in ("score.rescored", "scores.published")
        ][-3:]  # fmt: skip
    assert actions == ["score.rescored", "scores.published", "score.rescored"]


def test_a_recomputation_overtaken_by_another_deletion_is_not_published(scored, late, monkeypatch):
    """Two answers deleting two records of one file at once: a rescore whose recomputation
    began before the other deletion landed must not publish (it still counts that record);
    it reads the file again. The first recomputation here returns a marked row, which must
    never reach the ledger."""
    bureau, version = scored
    add_furnisher(bureau, "bank-1", "bank", "Bank")
    subject_id, (first, second) = _late_exactly(late, 2, skip=1)
    real = rescore.recompute
    calls = []

    def overtaken(*args):
        row = real(*args)
        calls.append(args)
        if len(calls) == 1:  # the other answer lands while this one recomputes
            monkeypatch.setattr(rescore, "recompute", real)
            _delete(bureau, subject_id, second, "Not mine either.")
            monkeypatch.setattr(rescore, "recompute", overtaken)
            return {**row, "scorable": True, "score": 333}  # stale, and marked
        return row

    monkeypatch.setattr(rescore, "recompute", overtaken)
    _delete(bureau, subject_id, first, "Not mine.")
    monkeypatch.undo()
    assert len(calls) == 2  # read again, recomputed with both deletions
    published = _published(bureau)[subject_id]
    assert published["score"] != 333
    assert _same(published, recompute(bureau, subject_id, AS_OF, version))
    assert verify(bureau.ledger).ok


def test_the_command_rescores_one_subject_and_refuses_an_unknown_one(scored):
    bureau, _ = scored
    home = str(bureau.settings.home)
    env = {"OPENBUREAU_LEDGER_URL": bureau.settings.resolved_ledger_url}
    done = CliRunner().invoke(app, ["rescore", "P00002", "--home", home], env=env)
    assert done.exit_code == 0, done.output
    shown = json.loads(done.output)
    assert shown["subject_id"] == "P00002" and shown["as_of"] == AS_OF.isoformat()
    assert shown["changed"] is False and shown["before"] == shown["after"]
    missing = CliRunner().invoke(app, ["rescore", "NOBODY", "--home", home], env=env)
    assert missing.exit_code == 2 and "no subject 'NOBODY'" in missing.output


def test_a_rescore_while_a_run_publishes_neither_waits_for_it_nor_aborts_it(scored):
    """A rescore during a run's upload publishes at once (the run stages its rows without a
    lock); the run then publishes its own row for the subject, which equals the
    recomputation (both read the same records)."""
    bureau, version = scored
    subject_id = sorted(s for s, r in _published(bureau).items() if r["scorable"])[5]
    with bureau.ledger.begin() as conn:  # a published row its recomputation differs from
        conn.execute(
            update(scores).where(scores.c.subject_id == subject_id).values(score=scores.c.score - 7)
        )
    recompute(bureau, subject_id, AS_OF, version)  # compiled once: the thread is quick
    outcome: dict = {}

    def rescore_now() -> None:
        try:
            outcome["rescore"] = rescore_subject(
                bureau, subject_id, actor="operator-local", purpose="test", why="overlap",
                now=datetime.now(UTC),
            )  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - the test looks at what it was
            outcome["rescore"] = exc

    thread = threading.Thread(target=rescore_now)

    def progress(stage: str, *_: int) -> None:
        if stage == "publish" and not thread.is_alive() and "rescore" not in outcome:
            thread.start()  # inside the run's publishing transaction, its upload begun
            thread.join(timeout=30)
            assert not thread.is_alive(), "the rescore waited for the run"

    score_population(bureau, AS_OF, progress=progress)  # published: not aborted
    found = outcome["rescore"]
    assert not isinstance(found, Exception), found
    assert found.changed  # the row the test had changed, replaced before the run published
    assert _same(_published(bureau)[subject_id], recompute(bureau, subject_id, AS_OF, version))
    assert verify(bureau.ledger).ok
