"""Publishing a resolve run to the ledger in one transaction: new subjects, merges (kept as
redirects), splits, national-ID keys, the review queue, the run row and the audit entries."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import delete, insert, select, update

from openbureau.audit import service as audit
from openbureau.identity.rules import person_key, token_key
from openbureau.storage.ledger import review_pairs, runs, subject_keys, subjects

_CHUNK = 50_000
#: Values per IN list: below SQLite's and PostgreSQL's limits on bound parameters.
_IN_CHUNK = 10_000
PURPOSE = "identity-resolution"


@dataclass(frozen=True)
class Outcome:
    new_subjects: int
    merges: int
    review_open: int

    @classmethod
    def empty(cls) -> Outcome:
        return cls(0, 0, 0)


def pair_id(a: str, b: str) -> str:
    """A stable id for an unordered pair of identity variants."""
    lo, hi = sorted((a, b))
    return hashlib.sha256(f"{lo}|{hi}".encode()).hexdigest()[:32]


def display_names(v: pd.DataFrame) -> pd.DataFrame:
    """Per subject: its kind, the name its most-recorded variant carries, and a masked ID."""
    person = v["subject_kind"] == "person"
    org_name = v["org_name"].fillna("").astype(str)
    full = v["given_name"].fillna("").astype(str) + " " + v["family_name"].fillna("").astype(str)
    named = v.assign(display_name=org_name.where(~person, full.str.strip()))
    # ties between variants go to the lowest identity key, so a name never depends on order
    named = named.sort_values(
        ["subject_id", "n_records", "identity_key"], ascending=[True, False, True]
    )
    first = named.drop_duplicates("subject_id")[["subject_id", "subject_kind", "display_name"]]
    masked = named.dropna(subset=["national_id_masked"]).drop_duplicates("subject_id")
    return first.merge(
        masked[["subject_id", "national_id_masked"]], on="subject_id", how="left"
    ).reset_index(drop=True)


def ledger_name(row) -> tuple[str, str | None]:
    """(display_name, national_id_masked) as the ledger stores them, from a row of
    `display_names`: a missing name shown as "(no name)", a missing masked ID as NULL."""
    masked = None if pd.isna(row.national_id_masked) else row.national_id_masked
    return row.display_name or "(no name)", masked


#: What an operator sees of each side of a pair: names, birth date, masked ID, place.
EVIDENCE_COLUMNS = [
    "given_name", "family_name", "org_name", "dob", "national_id_masked", "postcode", "city",
]  # fmt: skip


def evidence(row: pd.Series) -> dict:
    """One side of a pair as an operator sees it (`EVIDENCE_COLUMNS`)."""
    return {k: (None if pd.isna(row[k]) else str(row[k])) for k in EVIDENCE_COLUMNS}


def _review_frame(candidates: pd.DataFrame, everything: pd.DataFrame) -> pd.DataFrame:
    """Candidate pairs whose variants sit in different subjects, one row per pair."""
    ends = set(candidates["identity_key_l"]) | set(candidates["identity_key_r"])
    near = everything[everything["identity_key"].isin(ends)]
    subject = near.set_index("identity_key")["subject_id"]
    lo = candidates[["identity_key_l", "identity_key_r"]].min(axis=1)
    hi = candidates[["identity_key_l", "identity_key_r"]].max(axis=1)
    frame = pd.DataFrame(
        {
            "variant_l": lo.to_numpy(),
            "variant_r": hi.to_numpy(),
            "match_probability": candidates["match_probability"].to_numpy(),
        }
    )
    frame["subject_l"] = frame["variant_l"].map(subject)
    frame["subject_r"] = frame["variant_r"].map(subject)
    frame = frame.dropna(subset=["subject_l", "subject_r"])
    frame = frame[frame["subject_l"] != frame["subject_r"]]
    frame = frame.sort_values("match_probability", ascending=False)
    frame = frame.drop_duplicates(["variant_l", "variant_r"])
    frame["pair_id"] = [
        pair_id(a, b) for a, b in zip(frame["variant_l"], frame["variant_r"], strict=True)
    ]
    return frame


def _review_rows(frame: pd.DataFrame, everything, now, skip: set[str]) -> list[dict]:
    frame = frame[~frame["pair_id"].isin(skip)]
    if frame.empty:
        return []
    cols = [
        "given_name",
        "family_name",
        "org_name",
        "dob",
        "national_id_masked",
        "postcode",
        "city",
    ]
    ends = set(frame["variant_l"]) | set(frame["variant_r"])
    shown = everything[everything["identity_key"].isin(ends)].set_index("identity_key")[cols]
    shown = shown.astype(object).where(shown.notna(), None)
    left = shown.loc[frame["variant_l"]].to_dict("records")
    right = shown.loc[frame["variant_r"]].to_dict("records")
    return [
        {
            "pair_id": pid,
            "variant_l": a,
            "variant_r": b,
            "subject_l": sa,
            "subject_r": sb,
            "match_probability": float(p),
            "evidence": {"left": {k: _text(v) for k, v in lv.items()},
                         "right": {k: _text(v) for k, v in rv.items()}},
            "status": "open",
            "created_at": now,
        }
        for pid, a, b, sa, sb, p, lv, rv in zip(
            frame["pair_id"], frame["variant_l"], frame["variant_r"], frame["subject_l"],
            frame["subject_r"], frame["match_probability"], left, right, strict=True,
        )
    ]  # fmt: skip


def _text(value) -> str | None:
    return None if value is None else str(value)


def publish(
    bureau,
    *,
    everything: pd.DataFrame,
    merges: pd.DataFrame,
    splits: pd.DataFrame,
    candidates: pd.DataFrame,
    started_at: datetime,
    mode: str,
    changed: pd.DataFrame | None = None,
) -> Outcome:
    """Publish a run. `changed` (incremental runs) holds the variants this run re-linked:
    only their subjects' names, keys and review pairs are rewritten; a full run rewrites all."""
    now = datetime.now(UTC)
    scope = everything if changed is None else changed
    names = display_names(scope)
    with bureau.ledger.begin() as conn:
        wanted = names["subject_id"].tolist()
        existing: set[str] = set()
        erased: set[str] = set()
        for i in range(0, len(wanted), _IN_CHUNK):
            part = wanted[i : i + _IN_CHUNK]
            query = select(subjects.c.subject_id, subjects.c.erased_at).where(
                subjects.c.subject_id.in_(part)
            )
            for subject_id, erased_at in conn.execute(query):
                existing.add(subject_id)
                if erased_at is not None:
                    erased.add(subject_id)
        new_rows = names[~names["subject_id"].isin(existing)]
        # a subject erased when its last record went (identity/erasure.py) and furnished
        # again gets its name back
        back = names[names["subject_id"].isin(erased)]
        for r in back.itertuples(index=False):
            name, masked = ledger_name(r)
            conn.execute(
                update(subjects)
                .where(subjects.c.subject_id == r.subject_id)
                .values(display_name=name, national_id_masked=masked, erased_at=None)
            )
        records = []
        for r in new_rows.itertuples(index=False):
            name, masked = ledger_name(r)
            records.append(
                {
                    "subject_id": r.subject_id,
                    "subject_kind": r.subject_kind,
                    "display_name": name,
                    "national_id_masked": masked,
                    "created_at": now,
                    "merged_into": None,
                }
            )
        for i in range(0, len(records), _CHUNK):
            conn.execute(insert(subjects), records[i : i + _CHUNK])
        for old, survivor in merges.itertuples(index=False):
            conn.execute(
                update(subjects).where(subjects.c.subject_id == old).values(merged_into=survivor)
            )
        events = [
            ("subject.merged", o, {"merged_into": str(n)})
            for o, n in merges.itertuples(index=False)
        ]
        events += [
            ("subject.split", o, {"part_moved_to": str(n)})
            for o, n in splits.itertuples(index=False)
        ]
        for action, old, payload in events:
            audit.append(
                conn,
                actor=audit.LOCAL_OPERATOR,
                action=action,
                subject_id=str(old),
                purpose=PURPOSE,
                payload=payload,
                occurred_at=now,
            )
        touched = None if changed is None else set(scope["subject_id"]) | set(merges["old"])
        write_keys(conn, everything, touched)
        # open pairs are recomputed for what this run touched; decided ones are kept for ever
        # (they are labels)
        stale = review_pairs.c.status == "open"
        if touched is None:
            conn.execute(delete(review_pairs).where(stale))
        else:
            touched_ids = list(touched)
            for i in range(0, len(touched_ids), _IN_CHUNK):
                part = touched_ids[i : i + _IN_CHUNK]
                conn.execute(
                    delete(review_pairs).where(
                        stale
                        & (review_pairs.c.subject_l.in_(part) | review_pairs.c.subject_r.in_(part))
                    )
                )
        pairs = _review_frame(candidates, everything)
        ids = pairs["pair_id"].tolist()
        kept: set[str] = set()
        for i in range(0, len(ids), _IN_CHUNK):
            query = select(review_pairs.c.pair_id).where(
                review_pairs.c.pair_id.in_(ids[i : i + _IN_CHUNK])
            )
            kept |= set(conn.execute(query).scalars())
        queue = _review_rows(pairs, everything, now, skip=kept)
        for i in range(0, len(queue), _CHUNK):
            conn.execute(insert(review_pairs), queue[i : i + _CHUNK])
        details = {
            "mode": mode,
            "subjects": int(everything["subject_id"].nunique()),
            "new_subjects": len(records),
            "merges": len(merges),
            "splits": len(splits),
            "review_open": len(queue),
        }
        conn.execute(
            insert(runs).values(
                stage="resolve", started_at=started_at, finished_at=now, details=details
            )
        )
        audit.append(
            conn,
            actor=audit.LOCAL_OPERATOR,
            action="resolve.published",
            purpose=PURPOSE,
            payload=json.loads(json.dumps(details)),
            occurred_at=now,
        )
    return Outcome(len(records), len(merges), len(queue))


def _keys(frame: pd.DataFrame) -> pd.DataFrame:
    """(key, subject_id) for `frame`'s variants: every validated-ID token, and a person's name
    + date of birth."""
    with_id = frame.dropna(subset=["id_key"])
    tokens = pd.DataFrame(
        {
            "key": [token_key(*k.split(":", 1)) for k in with_id["id_key"]],
            "subject_id": with_id["subject_id"].to_numpy(),
        }
    )
    people = frame[(frame["subject_kind"] == "person") & frame["dob"].notna()]
    named = pd.DataFrame(
        {
            "key": [
                person_key(n, d) for n, d in zip(people["name_key"], people["dob"], strict=True)
            ],
            "subject_id": people["subject_id"].to_numpy(),
        }
    )
    return pd.concat([tokens, named], ignore_index=True).drop_duplicates()


def write_keys(conn, everything: pd.DataFrame, touched: set | None) -> None:
    """Keys -> subject, so an inquiry naming an identity finds its file at once: every
    validated-ID token, and a person's name + date of birth, where exactly one subject of the
    whole population holds the key (a key two subjects share identifies neither). A full run
    (`touched` None) rewrites the table. An incremental one rewrites the keys of every variant
    of the subjects it touched, and decides who else holds each of those keys from the whole
    population, not from the table: a name key dropped earlier because two subjects shared it
    has no row left to say so, and must not come back for one of them."""
    if touched is None:
        conn.execute(delete(subject_keys))
        keys = _keys(everything)
    else:
        gone = list(touched)
        for i in range(0, len(gone), _IN_CHUNK):
            conn.execute(
                delete(subject_keys).where(subject_keys.c.subject_id.in_(gone[i : i + _IN_CHUNK]))
            )
        mine = everything[everything["subject_id"].isin(touched)]
        ours = _keys(mine)
        others = everything[~everything["subject_id"].isin(touched)]
        # every other holder of one of our keys (a key is made of an ID or of a name, so they
        # are among the variants with the same ID or name); only our keys are decided here:
        # another key of those variants may be shared beyond them
        others = others[
            others["id_key"].isin(mine["id_key"].dropna())
            | others["name_key"].isin(mine["name_key"].dropna())
        ]
        theirs = _keys(others)
        theirs = theirs[theirs["key"].isin(ours["key"])]
        keys = pd.concat([ours, theirs], ignore_index=True).drop_duplicates()
    holders = keys.groupby("key")["subject_id"].transform("nunique")
    shared = keys.loc[holders > 1, "key"].unique().tolist()
    for i in range(0, len(shared), _IN_CHUNK):
        conn.execute(delete(subject_keys).where(subject_keys.c.key.in_(shared[i : i + _IN_CHUNK])))
    keys = keys[holders == 1].drop_duplicates("key")
    if touched is not None:
        # each is held by a touched subject alone; a row left for it (if any) is stale
        wanted = keys["key"].tolist()
        for i in range(0, len(wanted), _IN_CHUNK):
            conn.execute(
                delete(subject_keys).where(subject_keys.c.key.in_(wanted[i : i + _IN_CHUNK]))
            )
    rows = keys.to_dict("records")
    for i in range(0, len(rows), _CHUNK):
        conn.execute(insert(subject_keys), rows[i : i + _CHUNK])
