"""The review queue: pairs the matcher scored between the two thresholds wait here for an
operator, whose decision ("same" or "different") is recorded, audited, obeyed by every later
run (as a link or a cannot-link constraint) and kept as a label."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import func, select, update

from openbureau.audit import service as audit
from openbureau.identity.publish import PURPOSE
from openbureau.identity.rules import dobs_compatible
from openbureau.storage.ledger import review_pairs

DECISIONS = ("same", "different")


class ReviewError(ValueError):
    """A decision that cannot be taken, with the reason."""


def decisions(bureau) -> pd.DataFrame:
    """Every decided pair: variant_l, variant_r, status."""
    query = select(review_pairs.c.variant_l, review_pairs.c.variant_r, review_pairs.c.status).where(
        review_pairs.c.status.in_(DECISIONS)
    )
    with bureau.ledger.connect() as conn:
        rows = conn.execute(query).all()
    return pd.DataFrame(rows, columns=["variant_l", "variant_r", "status"])


def open_pairs(bureau, limit: int = 50) -> list[dict]:
    """Open pairs, strongest first (the likeliest to be one identity)."""
    query = (
        select(review_pairs)
        .where(review_pairs.c.status == "open")
        .order_by(review_pairs.c.match_probability.desc(), review_pairs.c.pair_id)
        .limit(limit)
    )
    with bureau.ledger.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def count_open(bureau) -> int:
    with bureau.ledger.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(review_pairs).where(review_pairs.c.status == "open")
        ).scalar_one()


def decide(bureau, pair_id: str, decision: str, *, actor: str, now: datetime | None = None) -> dict:
    """Record an operator's decision on an open pair; the next `resolve` applies it."""
    if decision not in DECISIONS:
        raise ReviewError(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
    now = now or datetime.now(UTC)
    with bureau.ledger.begin() as conn:
        row = conn.execute(select(review_pairs).where(review_pairs.c.pair_id == pair_id)).first()
        if row is None:
            raise ReviewError(f"no review pair {pair_id!r}: see `openbureau review list`")
        if row.status != "open":
            raise ReviewError(f"pair {pair_id} was already decided: {row.status}")
        if decision == "same":
            _refuse_mixed(row.evidence)
        conn.execute(
            update(review_pairs)
            .where(review_pairs.c.pair_id == pair_id)
            .values(status=decision, decided_at=now, decided_by=actor)
        )
        for subject in {row.subject_l, row.subject_r} - {None}:
            audit.append(
                conn,
                actor=actor,
                action="identity.review_decided",
                subject_id=subject,
                purpose=PURPOSE,
                payload={"pair_id": pair_id, "decision": decision},
                occurred_at=now,
            )
    return {"pair_id": pair_id, "decision": decision, "decided_by": actor}


def _refuse_mixed(evidence: dict) -> None:
    """Even an operator cannot join two birth dates no typo explains. (Two different IDs of
    one scheme are refused by the guard at the next run, which compares the ID tokens.)"""
    left, right = evidence.get("left", {}), evidence.get("right", {})
    if not dobs_compatible(left.get("dob"), right.get("dob")):
        raise ReviewError(
            f"dates of birth {left.get('dob')} and {right.get('dob')} cannot be one person's"
        )


def add_pair(bureau, variant_a: str, variant_b: str, *, actor: str) -> dict:
    """Put any two linked identity variants before review (e.g. after a subject disputes a
    link the matcher made automatically); returns the open pair."""
    from openbureau.identity import state  # noqa: PLC0415
    from openbureau.identity.publish import evidence, pair_id  # noqa: PLC0415

    known, _ = state.read_state(bureau.lake)
    by_key = known.set_index("identity_key")
    for v in (variant_a, variant_b):
        if v not in by_key.index:
            raise ReviewError(f"no identity variant {v!r}: see links.parquet or export links")
    if variant_a == variant_b:
        raise ReviewError("a pair needs two different variants")
    lo, hi = sorted((variant_a, variant_b))
    pid = pair_id(lo, hi)
    now = datetime.now(UTC)
    row = {
        "pair_id": pid,
        "variant_l": lo,
        "variant_r": hi,
        "subject_l": by_key.at[lo, "subject_id"],
        "subject_r": by_key.at[hi, "subject_id"],
        "match_probability": 1.0,
        "evidence": {"left": evidence(by_key.loc[lo]), "right": evidence(by_key.loc[hi])},
        "status": "open",
        "created_at": now,
    }
    with bureau.ledger.begin() as conn:
        if conn.execute(select(review_pairs.c.status).where(review_pairs.c.pair_id == pid)).first():
            raise ReviewError(f"pair {pid} is already in the review table")
        conn.execute(review_pairs.insert().values(**row))
        audit.append(
            conn,
            actor=actor,
            action="identity.review_requested",
            subject_id=row["subject_l"],
            purpose=PURPOSE,
            payload={"pair_id": pid},
            occurred_at=now,
        )
    return {"pair_id": pid, "subject_l": row["subject_l"], "subject_r": row["subject_r"]}
