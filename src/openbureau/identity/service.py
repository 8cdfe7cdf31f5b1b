"""Use cases: `resolve` (link furnished identities to subjects, incrementally by default) and
`export_links`. Review decisions live in `review.py`; ledger publishing in `publish.py`."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from openbureau.identity import jobs, linker, linking, publish, review, state
from openbureau.progress import Progress, no_progress

KINDS = ("person", "organisation")
#: Pairs at or above link automatically; between LOWER and UPPER they go to review.
UPPER_THRESHOLD = 0.95
LOWER_THRESHOLD = 0.6
#: Fewer variants of a kind than this and the shipped model is used instead of training.
MIN_TRAINING_VARIANTS = 2_000

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ResolveSummary:
    mode: str  # full | incremental | up-to-date
    files_read: int
    variants: int
    new_variants: int
    subjects: int
    new_subjects: int
    merged_subjects: int
    split_subjects: int
    review_open: int
    links_by_method: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    seconds_by_step: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


class _StepTimer:
    """Reports each step to the progress callback and keeps how long each one took."""

    def __init__(self, progress: Progress, steps: int) -> None:
        self.progress, self.steps = progress, steps
        self.seconds: dict[str, float] = {}
        self._last: tuple[str, float] | None = None

    def __call__(self, name: str, i: int) -> None:
        now = time.perf_counter()
        if self._last:
            self.seconds[self._last[0]] = round(now - self._last[1], 2)
        self._last = (name, now)
        self.progress(f"resolve: {name}", i, self.steps)


def _read_variants(con, files: list[Path]) -> pd.DataFrame:
    frame = con.execute(jobs.linkage_input_sql("$files"), {"files": [str(f) for f in files]}).df()
    return linker.add_canonical_names(frame)


def _decided(bureau) -> tuple[pd.DataFrame, set[tuple[str, str]]]:
    """Operators' decisions: "same" pairs as links of probability 1, "different" as
    cannot-link constraints."""
    decisions = review.decisions(bureau)
    same = decisions[decisions["status"] == "same"]
    links = pd.DataFrame(
        {
            "identity_key_l": same["variant_l"].to_numpy(),
            "identity_key_r": same["variant_r"].to_numpy(),
            "match_probability": 1.0,
            "match_weight": float("inf"),
        }
    )
    different = decisions[decisions["status"] == "different"]
    cannot = {
        (min(a, b), max(a, b))
        for a, b in zip(different["variant_l"], different["variant_r"], strict=True)
    }
    return links, cannot


def resolve(bureau, *, full: bool = False, progress: Progress | None = None) -> ResolveSummary:
    """Link the lake's identity variants to subjects and publish the result.

    Incremental by default: only record files not resolved before are read, and their new
    variants are scored against the known ones (and each other) with the stored models.
    `full=True`, or a first run, retrains the models (one per kind of subject present) and
    relinks every variant. Subject ids are stable either way (`linking.assign_subjects`).
    Holds the lake's identity lock, so that an erasure (erasure.py) and a resolve never
    publish over each other; the list check after it reads the files it noted as changed
    (`lists.service.note_pending`)."""
    with bureau.lake.identity_lock():
        summary = _resolve(bureau, full=full, progress=progress)
        from openbureau.lists.service import reconcile_quietly  # noqa: PLC0415 - reads reports

        # records may have moved between files: list entries the files it changed (noted
        # before it published) no longer bear out leave, read while the links just published
        # and the ledger agree (under the lock)
        reconcile_quietly(bureau, pending_only=True)
    return summary


def _resolve(bureau, *, full: bool, progress: Progress | None) -> ResolveSummary:
    progress = progress or no_progress
    started = time.perf_counter()
    started_at = datetime.now(UTC)
    lake = bureau.lake
    files = lake.record_files()
    if not files:
        raise FileNotFoundError(f"the lake at {lake.root} holds no records: run ingest first")
    known, resolved = state.read_state(lake)
    models = {k: state.load_model(lake, k) for k in KINDS}
    # incremental once every kind of variant already linked has its model (a bureau whose
    # furnishers send only persons has no organisation model, and needs none)
    linked_kinds = set(known["subject_kind"]) if len(known) else set()
    incremental = not full and len(known) > 0 and all(models.get(k) for k in linked_kinds)
    same, cannot = _decided(bureau)
    reopen = _pending(known, same, cannot) if incremental else (set(), set())
    todo = (
        [f for f in files if state.relative(lake, [f])[0] not in resolved] if incremental else files
    )
    if incremental and not todo and not any(reopen):
        return _summary("up-to-date", 0, known, 0, publish.Outcome.empty(), 0, started)

    steps = 6
    timer = _StepTimer(progress, steps)
    con = duckdb.connect()
    try:
        timer("read identities", 0)
        read = _read_variants(con, todo) if todo else known.iloc[:0]
        new = read[~read["identity_key"].isin(known["identity_key"])] if incremental else read
        timer("train and score pairs", 1)
        pairs = []
        for kind in KINDS:
            fresh = new[new["subject_kind"] == kind]
            if not incremental:
                if fresh.empty:
                    continue
                models[kind] = _train_or_default(con, fresh, kind)
                pairs.append(linker.predict_within(con, fresh, models[kind]))
                continue
            if models[kind] is None:  # the first variants of this kind: nothing known to link to
                if fresh.empty:
                    continue
                models[kind] = _train_or_default(con, fresh, kind)
                state.save_model(lake, kind, models[kind])
            base = known[known["subject_kind"] == kind]
            reopened = base[base["subject_id"].isin(reopen[1])]
            pairs.append(linker.predict_within(con, pd.concat([fresh, reopened]), models[kind]))
            pairs.append(linker.predict_between(con, fresh, base, models[kind]))
    finally:
        con.close()
    pairs = pd.concat(pairs, ignore_index=True) if pairs else linker.empty_pairs()
    timer("cluster", 2)
    if incremental:
        universe, previous, pairs = _incremental_universe(known, new, pairs, *reopen)
    else:
        universe = new
        previous = known.set_index("identity_key")["subject_id"] if len(known) else pd.Series()
    indexed = universe.set_index("identity_key")
    same = same[
        same["identity_key_l"].isin(indexed.index) & same["identity_key_r"].isin(indexed.index)
    ]
    pairs = pd.concat([pairs, same], ignore_index=True)
    guarded = linking.guard_pairs(pairs, indexed, cannot)
    auto = guarded[guarded["match_probability"] >= UPPER_THRESHOLD]
    clusters = linking.cluster(indexed, auto, cannot)
    subject, merges, splits = linking.assign_subjects(
        clusters, previous, bureau.settings.token_key_bytes
    )
    linked = indexed.assign(subject_id=subject)
    linked["match_probability"], linked["method"] = _how_linked(linked, auto, same)
    linked = linked.reset_index()
    candidates = guarded[
        (guarded["match_probability"] >= LOWER_THRESHOLD)
        & (guarded["match_probability"] < UPPER_THRESHOLD)
    ]
    timer("publish", 4)
    if incremental:
        rest = known[~known["identity_key"].isin(linked["identity_key"])].copy()
        redirect = dict(zip(merges["old"], merges["survivor"], strict=True))
        rest["subject_id"] = rest["subject_id"].replace(redirect)
        everything = pd.concat([rest, linked], ignore_index=True)
        resolved_now = resolved | set(state.relative(lake, todo))
    else:
        everything = linked
        resolved_now = set(state.relative(lake, files))
        for kind in KINDS:
            if models[kind] is not None:
                state.save_model(lake, kind, models[kind])
    # the files whose list entries the check after this run reads: every file, or those
    # holding a variant read from the new batches or one this run re-linked, under its old
    # id or its new one, and those whose entries rest on a record the new batches bring a
    # version of (a corrected finding may have left the file for another); noted first: a
    # run that stops after publishing leaves them noted
    from openbureau.lists import service as lists  # noqa: PLC0415 - reads reports

    noted_at = datetime.now(UTC)
    lists.note_pending(lake, _changed_list_files(bureau, everything, read, linked, previous,
                                                 todo) if incremental else None)  # fmt: skip
    staged = state.stage_state(lake, everything, resolved_now, str(os.getpid()))
    try:
        outcome = publish.publish(
            bureau,
            everything=everything,
            merges=merges,
            splits=splits,
            candidates=candidates,
            started_at=started_at,
            mode="incremental" if incremental else "full",
            changed=linked if incremental else None,
        )
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    state.commit_state(lake, staged)
    if incremental:
        _note_late_proposals(bureau, todo, noted_at)
    timer("done", steps)
    mode = "incremental" if incremental else "full"
    summary = _summary(mode, len(todo), everything, len(new), outcome, len(splits), started)
    return replace(summary, seconds_by_step=timer.seconds)


def _changed_files(
    everything: pd.DataFrame, read: pd.DataFrame, linked: pd.DataFrame, previous: pd.Series
) -> set[str]:
    """The subjects whose files an incremental run may change: those now holding a variant
    of the batches it read (a new version of a record lands in its file), and those holding,
    before or after, a variant it re-clustered (records moved between files: merges, splits).
    A merged id's entries are checked under the surviving id, which is among these."""
    fresh = everything["identity_key"].isin(read["identity_key"])
    return (
        set(everything.loc[fresh, "subject_id"])
        | set(linked["subject_id"])
        | set(previous.dropna())
    )


def _changed_list_files(bureau, everything, read, linked, previous, todo) -> set[str] | None:
    """`_changed_files` and `_files_citing_new`; None (every file) if they cannot be found:
    list bookkeeping never stops a resolve."""
    try:
        return _changed_files(everything, read, linked, previous) | _files_citing_new(bureau, todo)
    except Exception:  # noqa: BLE001 - see the docstring
        log.warning("the files a resolve changed not found: every list entry will be checked",
                    exc_info=True)  # fmt: skip
        return None


#: How far before the note a proposal's time may lie and still be looked at again after
#: publication: a proposal is stamped when its request starts and committed after it has
#: read the file (a report: well under a second, seldom more).
PROPOSAL_LEEWAY = timedelta(minutes=10)


def _note_late_proposals(bureau, todo: list[Path], noted_at: datetime) -> None:
    """Note (for the check after this run) the files of entries proposed while the run
    published, resting on a record its batches bring a version of: they were read against
    the links before this run's, and were not there when the run noted its files. A
    proposal from now on reads the links just published. Logged, never raised."""
    from openbureau.lists import service as lists  # noqa: PLC0415 - reads reports

    try:
        late = _files_citing_new(bureau, todo, since=noted_at - PROPOSAL_LEEWAY)
    except Exception:  # noqa: BLE001 - list bookkeeping never stops a resolve
        log.warning("entries proposed during the resolve not found: every list entry will be "
                    "checked", exc_info=True)  # fmt: skip
        late = None
    if late is None or late:
        lists.note_pending(bureau.lake, late)


def _files_citing_new(bureau, todo: list[Path], since: datetime | None = None) -> set[str]:
    """The files of the open list entries (with `since`, those proposed then or later)
    resting on a record of which the batches `todo` bring a version: a correction that now
    carries another identity takes the record out of the file the entry names, which holds
    no variant of these batches."""
    from openbureau.lists import service as lists  # noqa: PLC0415 - reads reports

    if not todo:
        return set()
    with duckdb.connect() as con:
        return lists.files_citing(
            bureau, con,
            "SELECT furnisher_id, record_id FROM read_parquet(?::VARCHAR[], union_by_name = true)",
            [[str(f) for f in todo]], since,
        )  # fmt: skip


def _pending(known: pd.DataFrame, same: pd.DataFrame, cannot: set) -> tuple[set, set]:
    """Subjects an operator's decision has not reached yet: (subjects to join because a
    "same" pair spans two of them, subjects to re-cluster because a "different" pair sits
    inside one)."""
    subject = known.set_index("identity_key")["subject_id"]
    join: set[str] = set()
    for a, b in zip(same["identity_key_l"], same["identity_key_r"], strict=True):
        if a in subject.index and b in subject.index and subject[a] != subject[b]:
            join |= {subject[a], subject[b]}
    split = {
        subject[a]
        for a, b in cannot
        if a in subject.index and b in subject.index and subject[a] == subject[b]
    }
    return join, split


def _incremental_universe(
    known: pd.DataFrame, new: pd.DataFrame, pairs: pd.DataFrame, join: set, split: set
):
    """The part of the graph this run can change: the new variants, and every variant of each
    known subject they were scored against or a decision names. A subject is held together
    by links of probability 1 (so new evidence joins or leaves it whole), except one an
    operator said holds two different identities: that one was re-scored and re-clusters."""
    touched_keys = (set(pairs["identity_key_l"]) | set(pairs["identity_key_r"])) - set(
        new["identity_key"]
    )
    touched = set(known[known["identity_key"].isin(touched_keys)]["subject_id"]) | join | split
    members = known[known["subject_id"].isin(touched)]
    held_members = members[~members["subject_id"].isin(split)]
    anchors = held_members.groupby("subject_id")["identity_key"].min().rename("anchor")
    star = held_members.merge(anchors, left_on="subject_id", right_index=True)
    star = star[star["identity_key"] != star["anchor"]]
    held = pd.DataFrame(
        {
            "identity_key_l": star["anchor"].to_numpy(),
            "identity_key_r": star["identity_key"].to_numpy(),
            "match_probability": 1.0,
            "match_weight": float("inf"),
        }
    )
    universe = pd.concat([members.drop(columns=["subject_id"]), new], ignore_index=True)
    previous = members.set_index("identity_key")["subject_id"]
    return universe, previous, pd.concat([pairs, held], ignore_index=True)


def _train_or_default(con, frame: pd.DataFrame, kind: str) -> dict:
    """Train on the lake's own variants when there are enough of them; a young bureau uses
    the parameters shipped with OpenBureau (trained on the synthetic population)."""
    if len(frame) >= MIN_TRAINING_VARIANTS:
        return linker.retrain(con, frame, kind)
    return linker.default_model(kind)


def _how_linked(linked: pd.DataFrame, auto: pd.DataFrame, same: pd.DataFrame):
    """Per variant: the strongest automatic link it holds, and how it was linked."""
    ends = pd.concat(
        [
            auto[["identity_key_l", "match_probability"]].rename(columns={"identity_key_l": "k"}),
            auto[["identity_key_r", "match_probability"]].rename(columns={"identity_key_r": "k"}),
        ]
    )
    best = ends.groupby("k")["match_probability"].max()
    prob = best.reindex(linked.index).fillna(1.0).to_numpy()
    decided = set(same["identity_key_l"]) | set(same["identity_key_r"])
    method = [
        "review" if k in decided else ("splink" if k in best.index else "alone")
        for k in linked.index
    ]
    return prob, method


def _summary(mode, files_read, everything, n_new, outcome, n_splits, started) -> ResolveSummary:
    method = everything["method"] if len(everything) else pd.Series(dtype=str)
    return ResolveSummary(
        mode=mode,
        files_read=files_read,
        variants=len(everything),
        new_variants=n_new,
        subjects=int(everything["subject_id"].nunique()) if len(everything) else 0,
        new_subjects=outcome.new_subjects,
        merged_subjects=outcome.merges,
        split_subjects=n_splits,
        review_open=outcome.review_open,
        links_by_method={str(k): int(n) for k, n in method.value_counts().items()},
        seconds=round(time.perf_counter() - started, 3),
    )


def export_links(bureau, out: Path) -> int:
    """Write record-level links as CSV (furnisher_id, record_id, subject_id, match_probability,
    method); returns the number of rows."""
    files = [str(p) for p in bureau.lake.record_files()]
    if not bureau.lake.links_path.exists():
        raise FileNotFoundError("no identity links yet: run resolve first")
    out.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        rel = con.sql(
            jobs.export_links_sql("$files", "$links"),
            params={"files": files, "links": str(bureau.lake.links_path)},
        ).to_arrow_table()
    finally:
        con.close()
    import pyarrow.csv as pacsv  # noqa: PLC0415

    pacsv.write_csv(rel, out)
    return rel.num_rows
