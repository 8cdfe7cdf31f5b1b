"""A record its furnisher could not verify is not used by the scoring jobs: `read_lake`, the
one reader of the lake for fitting, validating and scoring, leaves it out."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import insert

from factories import LakeBuilder, make_bureau
from openbureau.features.jobs import build_features
from openbureau.scoring.governance import read_lake
from openbureau.storage.ledger import disputes, furnishers

AS_OF = date(2024, 7, 31)
ANSWERED = datetime(2024, 7, 20, 12, 0, tzinfo=UTC)


def _dispute(record_id: str, outcome: str | None) -> dict:
    return {
        "dispute_id": f"d{record_id:0>24}"[:25],
        "subject_id": "A",
        "furnisher_id": "bank-1",
        "record_id": record_id,
        "record_type": "credit_account",
        "reason": "not mine",
        "opened_at": datetime(2024, 7, 1, tzinfo=UTC),
        "opened_by": "test",
        "due_on": date(2024, 7, 31),
        "status": "open" if outcome is None else "answered",
        "outcome": outcome,
        "note": None if outcome is None else "checked",
        "answered_at": None if outcome is None else ANSWERED,
        "answered_by": None if outcome is None else "test",
    }


def _worst_dpd(bureau) -> dict[str, int]:
    lake = read_lake(bureau, AS_OF)
    frame = lake.con.execute(build_features(lake.records, lake.links, AS_OF))
    return dict(zip(frame["subject_id"], frame["worst_dpd_12m"], strict=True))


def test_scoring_leaves_out_what_a_dispute_deleted_and_nothing_else(tmp_path):
    lake = LakeBuilder()
    late = lake.credit_month("A", "a1", date(2024, 5, 1), days_past_due=90)
    lake.credit_month("A", "a1", date(2024, 6, 1), days_past_due=0)
    disputed = lake.credit_month("B", "b1", date(2024, 5, 1), days_past_due=60)
    lake.credit_month("B", "b1", date(2024, 6, 1), days_past_due=0)
    bureau = make_bureau(tmp_path)
    lake.write(bureau)
    with bureau.ledger.begin() as conn:
        conn.execute(
            insert(furnishers).values(
                furnisher_id="bank-1", kind="bank", name="Bank", created_at=ANSWERED
            )
        )
    assert _worst_dpd(bureau) == {"A": 90, "B": 60}
    with bureau.ledger.begin() as conn:
        # A's late month could not be verified; B's dispute is still open (it still counts)
        conn.execute(insert(disputes), [_dispute(late, "unverifiable"), _dispute(disputed, None)])
    assert _worst_dpd(bureau) == {"A": 0, "B": 60}
