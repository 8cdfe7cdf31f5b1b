"""Rescoring one subject (scoring/rescore.py) against the population run: the same row from
the same records, and a dispute's deletion in the published score at once."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from factories import make_bureau, synthetic_population
from openbureau.audit.service import verify
from openbureau.cli import app
from openbureau.disputes.service import answer_dispute, open_dispute
from openbureau.ingest.service import add_furnisher
from openbureau.reports import reads
from openbureau.scoring.rescore import SCORED, recompute, rescore_subject
from openbureau.scoring.service import score_population
from openbureau.storage.ledger import audit_log, scores

AS_OF = date(2024, 12, 31)


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """A scored population (the tests may run in any order: the deletion test's bureau
    still agrees with the population run, which is what the other checks)."""
    bureau = make_bureau(tmp_path_factory.mktemp("rescore"))
    lake = synthetic_population(300, thin=4)
    lake.subject("E")  # in the ledger and linked, but no records at all
    lake.write(bureau)
    summary = score_population(bureau, AS_OF)
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
    # every subject not scorable, and a quarter of the others (each costs a report's read)
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


def _late_once(bureau) -> tuple[str, str]:
    """A scorable subject with exactly one month 30 days late or worse in the two years to
    AS_OF, and that month's record id: the card counts such months and the months since the
    last, so deleting it must raise the score."""
    since = date(2023, 1, 1)
    for subject_id, row in sorted(_published(bureau).items()):
        if not row["scorable"]:
            continue
        keys = reads.subject_identity_keys(bureau.lake, subject_id)
        late = [
            r["record_id"]
            for r in reads.subject_records(bureau.lake, keys, AS_OF)
            if r["record_type"] == "credit_account"
            and (r["days_past_due"] or 0) >= 30
            and r["reporting_month"] >= since
        ]
        if len(late) == 1:
            return subject_id, late[0]
    raise AssertionError("the synthetic population has nobody late exactly once")


def test_a_deleted_record_leaves_the_published_score_at_once(scored):
    bureau, version = scored
    subject_id, record_id = _late_once(bureau)
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
    # recorded: who, why, the score before and after
    with bureau.ledger.connect() as conn:
        entry = conn.execute(select(audit_log).where(audit_log.c.action == "score.rescored")).one()
    assert entry.subject_id == subject_id and entry.actor == "party:bank-1/key:k"
    assert f'"score_before":{before["score"]}' in entry.payload
    assert f'"score_after":{after["score"]}' in entry.payload
    assert dispute.dispute_id in entry.payload
    assert verify(bureau.ledger).ok


def test_the_command_rescores_one_subject_and_refuses_an_unknown_one(scored):
    bureau, _ = scored
    home = str(bureau.settings.home)
    done = CliRunner().invoke(app, ["rescore", "P00002", "--home", home])
    assert done.exit_code == 0, done.output
    shown = json.loads(done.output)
    assert shown["subject_id"] == "P00002" and shown["as_of"] == AS_OF.isoformat()
    assert shown["changed"] is False and shown["before"] == shown["after"]
    missing = CliRunner().invoke(app, ["rescore", "NOBODY", "--home", home])
    assert missing.exit_code == 2 and "no subject 'NOBODY'" in missing.output
