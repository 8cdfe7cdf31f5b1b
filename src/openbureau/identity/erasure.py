"""Forgetting identities that no record carries any more.

The identity state (state.py: per variant, the names, birth date, address and national-id
token the matcher compares) and the ledger (each subject's display name and masked id, its
keys in `subject_keys`: ID tokens and name + birth date, and the review queue's evidence)
are all taken from furnished records, and none of it may outlive them (SCOPE.md: "No
permanent punishment"; storage limitation in GDPR art. 5(1)(e) and PIPL art. 19). When
record files lose rows (a purge, retention/service.py) or go (a crash's orphan set aside),
`erase_unfurnished` brings both in line with the lake:

- every variant that no record in the lake carries leaves the identity state, and the
  others' record counts are brought up to date;
- a subject left with no variant is *emptied*: its row keeps its id and kind (inquiries,
  consents and the audit chain name it, and its person may still ask who looked) and
  `erased_at`; its name and masked id are replaced, its keys and scores deleted, the words
  of its disputes erased (disputes/: the dispute itself stays), and so are the names (and
  dispute words) of the old ids merged into it;
- a subject that lost some variants, or whose variants' counts changed, takes its name and
  masked id again from what is left (`publish.display_names`), and the subjects that lost
  a variant have their keys rewritten;
- review pairs naming an erased variant, open or decided, are deleted (their evidence is
  that variant's identity);
- one `identity.erased` audit entry gives the counts, and one `subject.emptied` entry per
  emptied subject names it.

Order: the ledger first (one transaction), then the identity state (one atomic replace), all
under the lake's identity lock, which a resolve also holds: an interruption between the two
leaves the state still naming what the ledger forgot, and the next run finishes the work
(the steps are idempotent). A subject furnished again later gets its name back at the resolve
that links it (publish.py).
"""

from __future__ import annotations

import os
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd
from sqlalchemy import bindparam, delete, func, or_, select, update

from openbureau.audit import service as audit
from openbureau.disputes.rules import ERASED_TEXT
from openbureau.identity import state
from openbureau.identity.publish import display_names, ledger_name, write_keys
from openbureau.storage.ledger import disputes, list_entries, review_pairs, scores, subjects

PURPOSE = "retention"
#: The display name an emptied subject keeps (the column is required).
ERASED_NAME = "(erased: no record held)"
_IN_CHUNK = 10_000


@dataclass(frozen=True)
class Plan:
    """What bringing the identity state in line with the lake changes (`plan`)."""

    kept: pd.DataFrame  # the state's variants some record still carries, with their counts
    erased: list[str]  # identity keys no record carries, sorted
    recounted: int  # kept variants whose record count changed
    emptied: list[str]  # subjects left with no variant, sorted
    renamed: pd.DataFrame  # display_names() of the other subjects that lost or recounted
    # (candidates: the ledger is only changed where the name or masked ID differs)
    rekeyed: list[str]  # subjects whose keys are rewritten: those that lost a variant, and
    # those sharing an ID or a name + birth date with an erased variant (a key two subjects
    # held identified neither; it may now identify the one left)

    @property
    def changed(self) -> bool:
        return bool(self.erased or self.recounted)


def plan(known: pd.DataFrame, counts: pd.Series) -> Plan:
    """Pure: what to change in the identity state `known` (state.STATE_COLUMNS) given
    `counts`, the lake's rows per identity key (a key it does not hold has none)."""
    n = known["identity_key"].map(counts).fillna(0).astype("int64")
    carried = (n > 0).to_numpy()
    kept = known[carried].copy()
    kept["n_records"] = n[carried].to_numpy()
    before = pd.to_numeric(known.loc[carried, "n_records"], errors="coerce").to_numpy()
    moved = before != kept["n_records"].to_numpy()  # a missing count (NaN) is a change
    gone = known[~carried]
    lost = set(gone["subject_id"].dropna())
    left = set(kept["subject_id"].dropna())
    emptied = lost - left
    touched = (lost | set(kept.loc[moved, "subject_id"].dropna())) - emptied
    renamed = display_names(kept[kept["subject_id"].isin(touched)])
    sharing = kept["id_key"].isin(gone["id_key"].dropna()) | kept["name_key"].isin(
        gone["name_key"].dropna()
    )
    return Plan(
        kept=kept.reset_index(drop=True),
        erased=sorted(gone["identity_key"]),
        recounted=int(moved.sum()),
        emptied=sorted(emptied),
        renamed=renamed,
        rekeyed=sorted(lost | set(kept.loc[sharing, "subject_id"].dropna())),
    )


@dataclass
class ErasureSummary:
    dry_run: bool = False
    variants_erased: int = 0
    variants_recounted: int = 0
    subjects_emptied: int = 0
    subjects_renamed: int = 0
    review_pairs_deleted: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def lake_counts(
    con: duckdb.DuckDBPyConnection, files: list[Path], *, without: str = "", withdrawn: str = ""
) -> pd.Series:
    """Rows per identity key in `files`; `without` names a table of (furnisher_id,
    record_id) whose rows are not counted, `withdrawn` one of (furnisher_id, record_id,
    withdrawn_on) whose versions reported by withdrawn_on are not counted (a purge's dry
    run: what would be left)."""
    if not files:
        return pd.Series(dtype="int64")
    minus = (
        f"ANTI JOIN {without} e ON r.furnisher_id = e.furnisher_id AND r.record_id = e.record_id"
        if without
        else ""
    )
    if withdrawn:
        minus += (
            f" ANTI JOIN {withdrawn} w ON r.furnisher_id = w.furnisher_id"
            " AND r.record_id = w.record_id AND r.reported_on <= w.withdrawn_on"
        )
    frame = con.execute(
        f"""
        SELECT r.identity_key, count(*) AS n
        FROM read_parquet(?::VARCHAR[], union_by_name = true) r {minus}
        GROUP BY ALL
        """,
        [[str(f) for f in files]],
    ).df()
    return frame.set_index("identity_key")["n"]


def erase_unfurnished(
    bureau, *, counts: pd.Series | None = None, dry_run: bool = False
) -> ErasureSummary:
    """Bring the identity state and the ledger in line with the records in the lake (see
    the module's docstring). `counts` (rows per identity key) defaults to the lake's own;
    with `dry_run`, count what would change and change nothing."""
    started = time.perf_counter()
    lake = bureau.lake
    summary = ErasureSummary(dry_run=dry_run)
    if not lake.links_path.exists():
        return summary
    try:
        _erase(bureau, summary, counts, dry_run)
    finally:
        summary.seconds = round(time.perf_counter() - started, 3)
    return summary


def _erase(bureau, summary: ErasureSummary, counts: pd.Series | None, dry_run: bool) -> None:
    lake = bureau.lake
    with lake.identity_lock() if not dry_run else nullcontext():
        known, resolved = state.read_state(lake)
        if counts is None:
            with duckdb.connect() as con:
                counts = lake_counts(con, lake.record_files())
        todo = plan(known, counts)
        summary.variants_erased = len(todo.erased)
        summary.variants_recounted = todo.recounted
        summary.subjects_emptied = len(todo.emptied)
        if not todo.changed:
            return
        if dry_run:
            with bureau.ledger.connect() as conn:
                summary.subjects_renamed = len(_new_names(conn, todo.renamed))
                summary.review_pairs_deleted = _pairs_naming(conn, todo.erased, count=True)
            return
        with bureau.ledger.begin() as conn:
            # the chain's lock first, as every writer of list entries takes it (no deadlock)
            audit.lock_chain(conn)
            summary.review_pairs_deleted = _apply(conn, todo, summary)
        present = {r for r in resolved if (lake.root / r).exists()}
        staged = state.stage_state(lake, todo.kept, present, f"erase-{os.getpid()}")
        state.commit_state(lake, staged)


def _chunks(values: list[str]):
    for i in range(0, len(values), _IN_CHUNK):
        yield values[i : i + _IN_CHUNK]


def _new_names(conn, renamed: pd.DataFrame) -> list[dict]:
    """The rows of `renamed` (display_names()) whose name or masked ID differs from the
    ledger's, as parameters for one UPDATE: most subjects that lost a variant, or whose
    counts changed, keep the name they had."""
    wanted = {r.subject_id: ledger_name(r) for r in renamed.itertuples(index=False)}
    out = []
    for part in _chunks(list(wanted)):
        query = select(
            subjects.c.subject_id, subjects.c.display_name, subjects.c.national_id_masked
        ).where(subjects.c.subject_id.in_(part))
        for subject_id, name, masked in conn.execute(query):
            if wanted[subject_id] != (name, masked):
                new_name, new_masked = wanted[subject_id]
                out.append({"sid": subject_id, "name": new_name, "masked": new_masked})
    return out


def _pairs_naming(conn, variants: list[str], *, count: bool) -> int:
    """Count (`count`) or delete the review pairs that name one of `variants`."""
    total = 0
    for part in _chunks(variants):
        naming = or_(review_pairs.c.variant_l.in_(part), review_pairs.c.variant_r.in_(part))
        if count:
            total += conn.execute(select(func.count()).where(naming)).scalar_one()
        else:
            total += conn.execute(delete(review_pairs).where(naming)).rowcount
    return total


def _erase_texts(conn, subject_ids: list[str]) -> None:
    """The words of the subjects' disputes (reason, the furnisher's note) and list entries
    (grounds, objection, notes), and the salt of their digests in the audit chain: the
    dispute and the entry stay (when, which record, the outcome, the term)."""
    mine = disputes.c.subject_id.in_(subject_ids)
    conn.execute(update(disputes).where(mine).values(reason=ERASED_TEXT, salt=None))
    conn.execute(
        update(disputes).where(mine, disputes.c.note.is_not(None)).values(note=ERASED_TEXT)
    )
    listed = list_entries.c.subject_id.in_(subject_ids)
    conn.execute(update(list_entries).where(listed).values(grounds=ERASED_TEXT, salt=None))
    for column in (
        "objection", "decision_note", "removal_note", "decision_reference",
        "legal_representative",
    ):  # fmt: skip
        conn.execute(
            update(list_entries)
            .where(listed, list_entries.c[column].is_not(None))
            .values({column: ERASED_TEXT})
        )


def _apply(conn, todo: Plan, summary: ErasureSummary) -> int:
    """The ledger's side, in the caller's transaction; returns review pairs deleted."""
    now = datetime.now(UTC)
    blank = {"display_name": ERASED_NAME, "national_id_masked": None, "erased_at": now}
    for part in _chunks(todo.emptied):
        conn.execute(update(subjects).where(subjects.c.subject_id.in_(part)).values(**blank))
        conn.execute(delete(scores).where(scores.c.subject_id.in_(part)))
        _erase_texts(conn, part)
    # old ids merged into an emptied subject (and into those, and so on) carry old names
    reached = list(todo.emptied)
    while reached:
        redirects: list[str] = []
        for part in _chunks(reached):
            redirects += conn.execute(
                select(subjects.c.subject_id).where(
                    subjects.c.merged_into.in_(part), subjects.c.erased_at.is_(None)
                )
            ).scalars()
        for part in _chunks(redirects):
            conn.execute(update(subjects).where(subjects.c.subject_id.in_(part)).values(**blank))
            _erase_texts(conn, part)
        reached = redirects
    names = _new_names(conn, todo.renamed)
    summary.subjects_renamed = len(names)
    if names:
        conn.execute(
            update(subjects)
            .where(subjects.c.subject_id == bindparam("sid"))
            .values(display_name=bindparam("name"), national_id_masked=bindparam("masked")),
            names,
        )
    if todo.rekeyed:
        write_keys(conn, todo.kept, set(todo.rekeyed))
    deleted = _pairs_naming(conn, todo.erased, count=False)
    for subject_id in todo.emptied:
        audit.append(
            conn,
            actor=audit.LOCAL_OPERATOR,
            action="subject.emptied",
            subject_id=subject_id,
            purpose=PURPOSE,
            payload={"reason": "no record in the lake carries this subject's identities"},
            occurred_at=now,
        )
    audit.append(
        conn,
        actor=audit.LOCAL_OPERATOR,
        action="identity.erased",
        purpose=PURPOSE,
        payload={
            **{k: v for k, v in asdict(summary).items() if k not in ("dry_run", "seconds")},
            "review_pairs_deleted": deleted,
        },
        occurred_at=now,
    )
    return deleted
