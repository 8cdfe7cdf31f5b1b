"""Score the population at `as_of` with the champion model, through the compiled scorecard
expression (`scoring.jobs`), and publish all scores in one ledger transaction."""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
from sqlalchemy import BigInteger, Column, MetaData, Table, delete, func, insert, literal, select

from openbureau.audit import service as audit
from openbureau.bootstrap import Bureau
from openbureau.disputes.service import deletions
from openbureau.features.jobs import build_features
from openbureau.progress import Progress, no_progress
from openbureau.reports.reads import surviving_subject
from openbureau.scoring import registry
from openbureau.scoring.governance import Lake, fit_on, frame_of, read_lake, validate_on
from openbureau.scoring.jobs import score_expression
from openbureau.scoring.scorecard import score_frame, score_rows
from openbureau.storage.ledger import runs, scores, subjects

log = logging.getLogger(__name__)
_STEPS = 4
_CHUNK = 20_000


@dataclass
class ScoreRunSummary:
    model_version: str
    as_of: date
    train_as_of: date
    validate_as_of: date
    auc_train: float
    auc_validate: float
    gini: float
    ks: float
    n_train: int
    n_validate: int
    bad_rate_train: float
    n_scored: int
    n_not_scorable: int
    score_quantiles: dict[str, int]
    features_used: list[str]
    artefact_path: str
    elapsed_seconds: float
    promoted_now: bool = False  # no champion existed: this run fitted and promoted one
    seconds_by_step: dict[str, float] = field(default_factory=dict)


def _quantiles(values: np.ndarray) -> dict[str, int]:
    if len(values) == 0:
        return {}
    qs = {"min": 0.0, "p10": 0.1, "p25": 0.25, "p50": 0.5, "p75": 0.75, "p90": 0.9, "max": 1.0}
    return {k: int(np.quantile(values, q)) for k, q in qs.items()}


def _population(bureau: Bureau) -> pd.DataFrame:
    with bureau.ledger.connect() as conn:
        # an emptied subject (identity/erasure.py) has no record left and keeps no score
        query = select(subjects.c.subject_id).where(
            subjects.c.merged_into.is_(None), subjects.c.erased_at.is_(None)
        )
        result = conn.execute(query)
        return pd.DataFrame(result.fetchall(), columns=["subject_id"])


#: Where a run's rows wait before they are published: a temporary table, private to the
#: publishing connection, so writing it holds no lock another writer could wait for (on
#: SQLite its writes go to the temporary database, not the ledger's file).
_staged = Table(
    "scores_staged",
    MetaData(),
    *(Column(c.name, c.type) for c in scores.columns),
    prefixes=["TEMPORARY"],
)


def _publication_lock(conn, as_of: date, version: str) -> None:
    """On PostgreSQL, one publication of a date and model at a time: a second waits for the
    first to commit and then replaces its rows, as publishing a date again does (without it
    both found no rows to replace and the second failed on the scores' primary key). SQLite
    serialises publications by its write lock, taken before the first read."""
    if conn.dialect.name != "postgresql":
        return
    name = f"openbureau.scores|{as_of.isoformat()}|{version}".encode()
    key = int.from_bytes(hashlib.sha256(name).digest()[:8], "big", signed=True)
    conn.execute(select(func.pg_advisory_xact_lock(literal(key, BigInteger))))


def _publish(
    bureau: Bureau,
    as_of: date,
    version: str,
    rows: list[dict],
    run_row: dict,
    progress: Progress,
) -> set[str]:
    """Replace this version's scores at as_of and record the run: all or nothing.

    In one transaction, in steps. The rows are first written to a temporary table, which
    locks nothing. They are then copied into `scores`, under the audit chain's lock taken
    before any row another writer may hold (every writer of score rows takes it so: a
    rescore, an erasure); the rows of subjects an erasure emptied while the run computed are
    taken out again (their records are gone, so is their score); and the run is recorded.
    When: a run that replaces rows already published (`as_of` scored again with this model)
    takes the lock before it deletes them, and so holds it through the copy; on PostgreSQL a
    run at a new date takes it after the copy (its new rows are its own until it commits),
    which leaves every audited action free while they are copied; on SQLite the lock is
    taken before the ledger is first read (the copy holds the ledger's write lock anyway,
    and a read transaction cannot become a write once another writer has committed). So no
    run holds a row another writer wants while it waits for the chain: the other order
    deadlocked on PostgreSQL against an erasure.

    Returns the subjects whose rows were withheld (emptied while the run computed); the run's
    recorded counts leave them out."""
    names = [c.name for c in scores.columns]
    this_run = (scores.c.as_of == as_of, scores.c.model_version == version)
    with bureau.ledger.connect() as conn:
        try:
            with conn.begin():
                _staged.drop(conn, checkfirst=True)  # a failed run's, on a pooled connection
                _staged.create(conn)
                for start in range(0, len(rows), _CHUNK):
                    conn.execute(insert(_staged), rows[start : start + _CHUNK])
                    progress("publish", min(start + _CHUNK, len(rows)), len(rows))
                # SQLite: the write lock before the first read of the ledger (a read transaction
                # another writer commits past cannot become a write: "database is locked")
                locked = conn.dialect.name != "postgresql"
                if locked:
                    audit.lock_chain(conn)
                _publication_lock(conn, as_of, version)
                replacing = conn.scalar(select(select(scores).where(*this_run).exists()))
                if replacing and not locked:
                    audit.lock_chain(conn)
                    locked = True
                if replacing:
                    conn.execute(delete(scores).where(*this_run))
                conn.execute(
                    insert(scores).from_select(names, select(*(_staged.c[n] for n in names)))
                )
                if not locked:
                    audit.lock_chain(conn)
                # under the chain no erasure runs, so what is read here is what goes
                gone = conn.execute(
                    select(scores.c.subject_id, scores.c.scorable).where(
                        *this_run, scores.c.subject_id.in_(_emptied())
                    )
                ).all()
                withheld = {g.subject_id for g in gone}
                if withheld:
                    conn.execute(delete(scores).where(*this_run, scores.c.subject_id.in_(withheld)))
                details = _without_withheld(run_row["details"], [g.scorable for g in gone])
                finished_at = datetime.now(UTC)
                conn.execute(
                    insert(runs), [{**run_row, "details": details, "finished_at": finished_at}]
                )
                payload = {**details, "rows": len(rows) - len(withheld)}
                if withheld:
                    payload["withheld_emptied"] = len(withheld)
                audit.append(
                    conn,
                    actor=audit.LOCAL_OPERATOR,
                    action="scores.published",
                    purpose="score-publication",
                    payload=payload,
                    occurred_at=finished_at,
                )
        finally:
            try:
                with conn.begin():
                    _staged.drop(conn, checkfirst=True)
            except Exception:  # noqa: BLE001 - the run stands (or its own error is raised)
                # the next publication on this pooled connection drops it first
                log.warning("the staged scores were not dropped", exc_info=True)
    return withheld


def _without_withheld(details: dict, scorable: list[bool]) -> dict:
    """A run's recorded counts without the rows withheld (`scorable`: one flag each)."""
    n_scorable = sum(1 for s in scorable if s)
    return {
        **details,
        "n_scored": details["n_scored"] - n_scorable,
        "n_not_scorable": details["n_not_scorable"] - (len(scorable) - n_scorable),
    }


def _emptied():
    """The subjects emptied now. The population leaves out those emptied before the run, so
    any of these among its rows was emptied while it ran."""
    return select(subjects.c.subject_id).where(subjects.c.erased_at.is_not(None))


def _rescore_late_deletions(bureau: Bureau, known: set[str]) -> None:
    """A dispute that deleted a record after this run read the lake (not among `known`, the
    deleting disputes before it did) rescored its subject then, and the run's publication
    has just replaced that score with one still counting the record: rescore those subjects
    again (an unchanged score is left as it is)."""
    from openbureau.scoring.rescore import rescore_quietly  # noqa: PLC0415 - reads reports

    late = {s for d, s in deletions(bureau.ledger).items() if d not in known}
    if not late:
        return
    with bureau.ledger.connect() as conn:
        files = {surviving_subject(conn, s) for s in late}
    for subject_id in sorted(files):
        rescore_quietly(
            bureau, subject_id, actor=audit.LOCAL_OPERATOR, purpose="score-publication",
            why="a dispute deleted a record while the scoring run read the lake",
            now=datetime.now(UTC),
        )  # fmt: skip


def _first_champion(bureau: Bureau, lake: Lake, as_of: date) -> registry.RegisteredModel:
    """No champion yet: fit, validate and promote one (each step registered and audited)."""
    fit = fit_on(bureau, lake, as_of, audit.LOCAL_OPERATOR)
    with bureau.ledger.connect() as conn:
        model = registry.get(conn, fit.model_version)
    if "validate" not in model.metrics:
        validate_on(bureau, lake, model, as_of, audit.LOCAL_OPERATOR)
    with bureau.ledger.begin() as conn:
        registry.promote(
            conn, fit.model_version, actor=audit.LOCAL_OPERATOR, reason="no champion yet"
        )
    with bureau.ledger.connect() as conn:
        return registry.get(conn, fit.model_version)


def score_population(
    bureau: Bureau, as_of: date, *, progress: Progress | None = None
) -> ScoreRunSummary:
    """Score every subject in the ledger at `as_of` with the champion model, and publish a
    score row for each (tagged with the model version) in one transaction; publishing again
    replaces that version's rows for `as_of`. With no champion, first fits, validates and
    promotes one (`fit_model`, `validate_model`, `promote_model` at `as_of`).

    Uses only records reported on or before `as_of`. Raises ValueError (`TrainingError`)
    when a model is needed and the data cannot support one, FileNotFoundError when the lake
    or the links are missing."""
    progress = progress or no_progress
    started_at = datetime.now(UTC)
    t0 = time.perf_counter()
    seconds: dict[str, float] = {}

    def step(name: str, i: int) -> None:
        seconds[name] = round(time.perf_counter() - t0 - sum(seconds.values()), 2)
        progress("score", i, _STEPS)

    progress("score", 0, _STEPS)
    deleted_before = set(deletions(bureau.ledger))  # before the lake is read: see the end
    lake = read_lake(bureau, as_of)
    with bureau.ledger.connect() as conn:
        model = registry.champion(conn)
    promoted_now = model is None
    if model is None:
        model = _first_champion(bureau, lake, as_of)
    card = model.card()
    step("model", 1)

    feats = build_features(lake.records, lake.links, as_of)
    computed = frame_of(lake.con, score_expression(card, feats, feats.columns))
    population = _population(bureau)
    frame = population.merge(computed, on="subject_id", how="left")
    frame["record_count"] = frame["record_count"].fillna(0)
    step("features and points", 2)
    # A subject with no record known at as_of has no feature row: not scorable, no records.
    j = range(len(card.characteristics))
    points = frame[[f"points_{i}" for i in j]].fillna(0.0).to_numpy(dtype=float)
    missing = frame[[f"missing_{i}" for i in j]].fillna(False).to_numpy(dtype=bool)
    scored = score_frame(card, frame, (points, missing))
    step("score", 3)

    version = model.model_version
    n_scorable = int(scored["scorable"].sum())
    values = scored.loc[scored["scorable"], "score"].to_numpy(dtype=np.int64)
    run_row = {
        "stage": "score",
        "started_at": started_at,
        "details": {
            "as_of": as_of.isoformat(),
            "model_version": version,
            "n_scored": n_scorable,
            "n_not_scorable": len(scored) - n_scorable,
        },
    }
    withheld = _publish(
        bureau, as_of, version, score_rows(scored, as_of, version), run_row, progress
    )
    _rescore_late_deletions(bureau, deleted_before)
    step("publish", 4)
    if withheld:  # emptied while the run computed: published for nobody
        scored = scored[~scored["subject_id"].isin(withheld)]
        n_scorable = int(scored["scorable"].sum())
        values = scored.loc[scored["scorable"], "score"].to_numpy(dtype=np.int64)
    m_train, m_valid = model.metrics["train"], model.metrics["validate"]
    return ScoreRunSummary(
        model_version=version,
        as_of=as_of,
        train_as_of=model.train_as_of,
        validate_as_of=model.validate_as_of,
        auc_train=m_train["auc"],
        auc_validate=m_valid["auc"],
        gini=m_valid["gini"],
        ks=m_valid["ks"],
        n_train=m_train["n"],
        n_validate=m_valid["n"],
        bad_rate_train=m_train.get("bad_rate", float("nan")),
        n_scored=n_scorable,
        n_not_scorable=len(scored) - n_scorable,
        score_quantiles=_quantiles(values),
        features_used=card.features,
        artefact_path=model.artefact_path,
        elapsed_seconds=round(time.perf_counter() - t0, 2),
        promoted_now=promoted_now,
        seconds_by_step=seconds,
    )
