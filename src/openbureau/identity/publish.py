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
    named = named.sort_values(["subject_id", "n_records"], ascending=[True, False])
    first = named.drop_duplicates("subject_id")[["subject_id", "subject_kind", "display_name"]]
    masked = named.dropna(subset=["national_id_masked"]).drop_duplicates("subject_id")
    return first.merge(
        masked[["subject_id", "national_id_masked"]], on="subject_id", how="left"
    ).reset_index(drop=True)


def evidence(row: pd.Series) -> dict:
    """What an operator sees of one side of a pair: names, birth date, masked ID, place."""
    keep = (
        "given_name",
        "family_name",
        "org_name",
        "dob",
        "national_id_masked",
        "postcode",
        "city",
    )
    return {k: (None if pd.isna(row[k]) else str(row[k])) for k in keep}


def _review_rows(candidates: pd.DataFrame, everything: pd.DataFrame, now) -> list[dict]:
    by_key = everything.set_index("identity_key")
    subject = by_key["subject_id"]
    rows = []
    for a, b, p in zip(
        candidates["identity_key_l"],
        candidates["identity_key_r"],
        candidates["match_probability"],
        strict=True,
    ):
        if a not in subject.index or b not in subject.index or subject[a] == subject[b]:
            continue
        lo, hi = sorted((a, b))
        rows.append(
            {
                "pair_id": pair_id(lo, hi),
                "variant_l": lo,
                "variant_r": hi,
                "subject_l": subject[lo],
                "subject_r": subject[hi],
                "match_probability": float(p),
                "evidence": {"left": evidence(by_key.loc[lo]), "right": evidence(by_key.loc[hi])},
                "status": "open",
                "created_at": now,
            }
        )
    return rows


def publish(
    bureau,
    *,
    everything: pd.DataFrame,
    merges: pd.DataFrame,
    splits: pd.DataFrame,
    candidates: pd.DataFrame,
    started_at: datetime,
    mode: str,
) -> Outcome:
    now = datetime.now(UTC)
    names = display_names(everything)
    with bureau.ledger.begin() as conn:
        existing = {r[0] for r in conn.execute(select(subjects.c.subject_id))}
        new_rows = names[~names["subject_id"].isin(existing)]
        records = [
            {
                "subject_id": r.subject_id,
                "subject_kind": r.subject_kind,
                "display_name": r.display_name or "(no name)",
                "national_id_masked": None
                if pd.isna(r.national_id_masked)
                else r.national_id_masked,
                "created_at": now,
                "merged_into": None,
            }
            for r in new_rows.itertuples(index=False)
        ]
        for i in range(0, len(records), _CHUNK):
            conn.execute(insert(subjects), records[i : i + _CHUNK])
        for old, survivor in merges.itertuples(index=False):
            conn.execute(
                update(subjects).where(subjects.c.subject_id == old).values(merged_into=survivor)
            )
            audit.append(
                conn,
                actor=audit.LOCAL_OPERATOR,
                action="subject.merged",
                subject_id=str(old),
                purpose=PURPOSE,
                payload={"merged_into": str(survivor)},
                occurred_at=now,
            )
        for old, new in splits.itertuples(index=False):
            audit.append(
                conn,
                actor=audit.LOCAL_OPERATOR,
                action="subject.split",
                subject_id=str(old),
                purpose=PURPOSE,
                payload={"part_moved_to": str(new)},
                occurred_at=now,
            )
        _write_keys(conn, everything)
        # open pairs are recomputed each run; decided ones are kept for ever (they are labels)
        conn.execute(delete(review_pairs).where(review_pairs.c.status == "open"))
        decided = {r[0] for r in conn.execute(select(review_pairs.c.pair_id))}
        queue = [
            r for r in _review_rows(candidates, everything, now) if r["pair_id"] not in decided
        ]
        queue = list({r["pair_id"]: r for r in queue}.values())
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


def _write_keys(conn, everything: pd.DataFrame) -> None:
    """Keys -> subject, so an inquiry naming an identity finds its file at once: every
    validated-ID token, and a person's name + date of birth where exactly one subject has
    them (a key two subjects share identifies neither). Rewritten whole: merges and splits
    move keys."""
    with_id = everything.dropna(subset=["id_key"])
    tokens = pd.DataFrame(
        {
            "key": [token_key(*k.split(":", 1)) for k in with_id["id_key"]],
            "subject_id": with_id["subject_id"].to_numpy(),
        }
    )
    people = everything[(everything["subject_kind"] == "person") & everything["dob"].notna()]
    named = pd.DataFrame(
        {
            "key": [
                person_key(n, d) for n, d in zip(people["name_key"], people["dob"], strict=True)
            ],
            "subject_id": people["subject_id"].to_numpy(),
        }
    )
    keys = pd.concat([tokens, named], ignore_index=True).drop_duplicates()
    holders = keys.groupby("key")["subject_id"].transform("nunique")
    keys = keys[holders == 1].drop_duplicates("key")
    conn.execute(delete(subject_keys))
    rows = keys.to_dict("records")
    for i in range(0, len(rows), _CHUNK):
        conn.execute(insert(subject_keys), rows[i : i + _CHUNK])
