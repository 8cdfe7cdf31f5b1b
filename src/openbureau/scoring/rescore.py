"""Score one subject again: at its published score's date, with that score's model, from its
records as a report reads them now.

A record a dispute deletes leaves the subject's report at once. Without this it would stay
in the published score, and so in every answer a lender gets, until the next
`openbureau score` of the whole population. The score is recomputed the way the population
run computes it (the same features, the same published scorecard, the same rules for
pillars and reasons; tests hold the two equal) and replaces the published row only when it
differs, with an audit entry saying why (not the score itself: the chain outlives an
erasure of the subject's file, the scores do not).

Concurrent writers of one score row (two answers deleting two of a subject's records, a
population run publishing) are settled optimistically, under the audit chain's lock (taken
first, as erasure does): the row is replaced only if no record of the file was deleted
since the recomputation read the file and the row is still the one it started from; else it
is read and recomputed again, up to `ATTEMPTS` times. Every writer of score rows takes the
chain before any row another writer may hold (a run's publication, an erasure; a run at a
new date holds only its own rows, which nobody else sees until it commits), so none waits
for the chain holding a row another waits for: no deadlock on PostgreSQL. A run that read
the lake before a deletion rescores that subject after it publishes
(`scoring.service.score_population`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd
from sqlalchemy import select, update

from openbureau.audit import service as audit
from openbureau.bootstrap import Bureau
from openbureau.catalogue.model import PILLARS
from openbureau.disputes.rules import DELETES
from openbureau.reports import reads
from openbureau.reports.service import without_deleted
from openbureau.scoring.artefact import model_row, published_card, read_published
from openbureau.scoring.explain import subject_features
from openbureau.scoring.scorecard import score_frame, score_rows
from openbureau.storage.ledger import disputes, scores

log = logging.getLogger(__name__)

#: The columns of a published score that a rescore recomputes.
SCORED = (
    "scorable",
    "score",
    "not_scorable_reason",
    *(f"pillar_{p}" for p in PILLARS),
    "reasons",
)


@dataclass(frozen=True)
class Rescore:
    """What a rescore found: the subject's published score before and after (None: not
    scorable), and whether the published row changed."""

    subject_id: str
    as_of: date
    model_version: str
    before: int | None
    after: int | None
    changed: bool


def recompute(bureau: Bureau, subject_id: str, as_of: date, model_version: str) -> dict:
    """The score row (as the population run publishes it) of one subject at `as_of` with the
    model `model_version`, from the subject's records known on `as_of`, deleted ones left
    out. Raises ModelNotFound when the model's published scorecard is gone."""
    with bureau.ledger.connect() as conn:
        artefact = model_row(conn, model_version)["artefact_path"]
    card = published_card(read_published(bureau.settings.home, artefact))
    keys = reads.subject_identity_keys(bureau.lake, subject_id)
    held = without_deleted(bureau, reads.subject_records(bureau.lake, keys, as_of))
    features = subject_features(subject_id, held, as_of) or {"subject_id": subject_id}
    # a subject with no record known at as_of has no feature row: as in the population run,
    # no records (not scorable), every characteristic missing
    frame = pd.DataFrame([features])
    for name in ("record_count", *(f"n_{p}" for p in PILLARS)):
        frame[name] = frame[name].fillna(0) if name in frame else 0
    for name in ("history_months", *card.features):
        if name not in frame:
            frame[name] = float("nan")
    return score_rows(score_frame(card, frame), as_of, model_version)[0]


#: Times a rescore reads, recomputes and tries to replace a row another writer keeps changing.
ATTEMPTS = 3


class RescoreConflict(RuntimeError):
    """The score row kept changing under the rescore."""


def rescore_subject(
    bureau: Bureau, subject_id: str, *, actor: str, purpose: str, why: str, now: datetime
) -> Rescore | None:
    """Recompute the subject's latest published score (its date, its model) and publish the
    result in its place if it differs, with a `score.rescored` audit entry naming `why`.
    None when the subject has no published score. `subject_id` must be a surviving id.
    Raises RescoreConflict when the row changed under it `ATTEMPTS` times."""
    for _ in range(ATTEMPTS):
        with bureau.ledger.connect() as conn:
            row = reads.latest_score_row(conn, subject_id, None)
            known = _deletions(conn, subject_id)
        if row is None:
            return None
        fresh = recompute(bureau, subject_id, row["as_of"], row["model_version"])
        outcome = Rescore(
            subject_id=subject_id,
            as_of=row["as_of"],
            model_version=row["model_version"],
            before=row["score"],
            after=fresh["score"],
            changed=any(_differs(row[c], fresh[c]) for c in SCORED),
        )
        if not outcome.changed:
            return outcome
        with bureau.ledger.begin() as conn:
            # the chain first, then the row; every answer appends to the chain, so while
            # this holds it no deletion can land unseen
            audit.lock_chain(conn)
            if _deletions(conn, subject_id) != known:
                continue  # a record deleted meanwhile: this recomputation still counts it
            if not _row_unchanged(conn, row):
                continue  # replaced meanwhile: read it again
            conn.execute(
                update(scores)
                .where(*_key(row))
                .values(**{c: fresh[c] for c in SCORED}, published_at=now)
            )
            audit.append(
                conn,
                actor=actor,
                action="score.rescored",
                subject_id=subject_id,
                purpose=purpose,
                payload={
                    "as_of": row["as_of"].isoformat(),
                    "model_version": row["model_version"],
                    "scorable_after": fresh["scorable"],
                    "why": why,
                },
                occurred_at=now,
            )
            return outcome
    raise RescoreConflict(f"the score of {subject_id} changed {ATTEMPTS} times while rescored")


def _key(row: dict) -> tuple:
    return (
        scores.c.subject_id == row["subject_id"],
        scores.c.as_of == row["as_of"],
        scores.c.model_version == row["model_version"],
    )


def _row_unchanged(conn, row: dict) -> bool:
    """Whether the score row is still the one read. Every writer of score rows (a run's
    publication, an erasure, a rescore) takes the audit chain's lock before any row another
    writer may hold, as the caller has, so none holds the row now and locking it does not
    wait."""
    query = select(scores.c.published_at).where(*_key(row)).with_for_update()
    current = conn.execute(query).scalar()
    return current is not None and current == row["published_at"]


def _deletions(conn, subject_id: str) -> frozenset[str]:
    """The disputes whose answer deleted a record of the subject's file (ids merged into it
    included)."""
    ids = reads.subject_and_merged_ids(conn, subject_id)
    query = select(disputes.c.dispute_id).where(
        disputes.c.subject_id.in_(ids), disputes.c.outcome == DELETES
    )
    return frozenset(conn.execute(query).scalars())


def rescore_quietly(
    bureau: Bureau, subject_id: str, *, actor: str, purpose: str, why: str, now: datetime
) -> Rescore | None:
    """`rescore_subject` after work already committed (a dispute's answer): a failure is
    logged, never raised, so it cannot hide that work; the next population run publishes the
    score anyway."""
    try:
        return rescore_subject(bureau, subject_id, actor=actor, purpose=purpose, why=why, now=now)
    except Exception:  # noqa: BLE001 - see the docstring
        log.warning("score of %s not recomputed (%s)", subject_id, why, exc_info=True)
        return None


def _differs(stored, fresh) -> bool:
    if isinstance(stored, float) or isinstance(fresh, float):
        if stored is None or fresh is None:
            return stored is not fresh
        return abs(stored - fresh) > 1e-9
    return stored != fresh
