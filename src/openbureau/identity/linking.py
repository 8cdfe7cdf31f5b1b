"""The first matcher's clustering, over a frame of identity variants (pure: no I/O).

Evidence, strongest first:
1. the same validated national-ID token (scheme + HMAC of the number): one subject;
2. a person's normalised name + exact date of birth, or an organisation's normalised name +
   country + postcode: joins the token subject that uses it, but only when exactly one token
   subject does (two different valid IDs are never bridged by a name: precision first);
3. ID-less variants that no single ID holder anchors join each other only on the name key plus
   the same country and postcode (a name key two ID holders share joins nothing);
4. otherwise the variant stands alone.
"""

from __future__ import annotations

import hashlib
import hmac

import pandas as pd

MATCH_PROBABILITY = {
    "national_id": 1.0,
    "name_dob": 0.98,
    "org_name": 0.95,
    "identity_only": 1.0,
}


def cluster_variants(variants: pd.DataFrame) -> pd.DataFrame:
    """Add `cluster_key`, `name_key_full` and `method` to a frame of identity variants.

    Input columns: identity_key, subject_kind, name_key, date_of_birth, national_id_scheme,
    national_id_token, country, postcode."""
    v = variants.copy()
    has_tok = v["national_id_token"].notna() & (v["national_id_token"] != "")
    v["tok"] = pd.Series(pd.NA, index=v.index, dtype="string")
    v.loc[has_tok, "tok"] = (
        "tok:"
        + v.loc[has_tok, "national_id_scheme"].astype(str)
        + ":"
        + v.loc[has_tok, "national_id_token"].astype(str)
    )
    is_person = v["subject_kind"] == "person"
    dob = v["date_of_birth"].astype("string")
    named = v["name_key"].fillna("") != ""
    v["pk"] = pd.Series(pd.NA, index=v.index, dtype="string")
    person_ok = is_person & named & dob.notna()
    v.loc[person_ok, "pk"] = "nd:" + v.loc[person_ok, "name_key"] + "|" + dob[person_ok]
    org_ok = ~is_person & named
    # A firm's name is shared more often than a person's name and birth date: it needs its
    # postcode too (a firm that moves without an ID on file is split, never mixed).
    postcode = v["postcode"].fillna("").astype(str)
    org_ok = org_ok & (postcode != "")
    country = v["country"].fillna("").astype(str)
    v.loc[org_ok, "pk"] = (
        "org:" + v.loc[org_ok, "name_key"] + "|" + country[org_ok] + "|" + postcode[org_ok]
    )

    # For each name key, the token subjects that use it; attach only when there is exactly one.
    both = v[v["tok"].notna() & v["pk"].notna()][["pk", "tok"]].drop_duplicates()
    per_pk = both.groupby("pk")["tok"].agg(["nunique", "first"])
    unique_tok = per_pk.loc[per_pk["nunique"] == 1, "first"]
    attached = v["pk"].map(unique_tok)

    v["cluster_key"] = v["tok"]
    v["method"] = "national_id"
    no_tok = v["tok"].isna()
    via_pk = no_tok & attached.notna()
    v.loc[via_pk, "cluster_key"] = attached[via_pk]
    # Without an ID holder to anchor them, ID-less variants join only on the name key plus
    # the same country and postcode; a name key two ID holders share anchors nobody.
    ambiguous = v["pk"].isin(per_pk.index[per_pk["nunique"] > 1])
    alone_pk = no_tok & attached.isna() & v["pk"].notna() & ~ambiguous & (postcode != "")
    v.loc[alone_pk, "cluster_key"] = (
        v.loc[alone_pk, "pk"] + "|" + country[alone_pk] + "|" + postcode[alone_pk]
    )
    rest = v["cluster_key"].isna()
    v.loc[rest, "cluster_key"] = "id:" + v.loc[rest, "identity_key"]
    v.loc[no_tok & ~rest & is_person, "method"] = "name_dob"
    v.loc[no_tok & ~rest & ~is_person, "method"] = "org_name"
    v.loc[rest, "method"] = "identity_only"
    v["match_probability"] = v["method"].map(MATCH_PROBABILITY)
    return v.drop(columns=["tok"])


def cluster_keys(clustered: pd.DataFrame) -> pd.DataFrame:
    """Every key that identifies each cluster: its own key plus the name keys it absorbed.

    Columns: cluster_key, key, primary (True for the cluster's own key)."""
    own = pd.DataFrame({"cluster_key": clustered["cluster_key"], "key": clustered["cluster_key"]})
    own = own.drop_duplicates()
    absorbed = clustered[clustered["pk"].notna()][["cluster_key", "pk"]].rename(
        columns={"pk": "key"}
    )
    absorbed = absorbed.drop_duplicates()
    # A name key shared by several clusters (two ID holders with one name and birth date)
    # identifies none of them; a key that is some cluster's own key belongs to that cluster.
    holders = absorbed.groupby("key")["cluster_key"].transform("nunique")
    absorbed = absorbed[(holders == 1) & ~absorbed["key"].isin(own["key"])]
    keys = pd.concat([own, absorbed], ignore_index=True)
    keys["primary"] = keys["cluster_key"] == keys["key"]
    return keys


def subject_id_for(secret: bytes, cluster_key: str) -> str:
    """A new subject id: keyed hash of the cluster's key, so ids reveal nothing about it."""
    digest = hmac.new(secret, b"subject:" + cluster_key.encode(), hashlib.sha256).hexdigest()
    return "S" + digest[:16].upper()


def assign_subjects(
    keys: pd.DataFrame, existing: pd.DataFrame, secret: bytes
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Map each cluster to a subject id, reusing ids already issued.

    `existing` has columns key, subject_id (the ledger's subject_keys). Returns
    (cluster_key -> subject_id frame, merges frame of old subject_id -> survivor)."""
    hits = keys.merge(existing, on="key", how="left")
    found = hits[hits["subject_id"].notna()].sort_values(
        ["cluster_key", "primary", "subject_id"], ascending=[True, False, True]
    )
    survivor = found.groupby("cluster_key")["subject_id"].first()
    clusters = pd.Series(keys["cluster_key"].unique(), name="cluster_key")
    assigned = clusters.to_frame().merge(
        survivor.rename("subject_id"), left_on="cluster_key", right_index=True, how="left"
    )
    fresh = assigned["subject_id"].isna()
    assigned.loc[fresh, "subject_id"] = [
        subject_id_for(secret, k) for k in assigned.loc[fresh, "cluster_key"]
    ]
    assigned["new"] = fresh
    merged = found.merge(
        assigned[["cluster_key", "subject_id"]].rename(columns={"subject_id": "survivor"}),
        on="cluster_key",
    )
    merges = merged[merged["subject_id"] != merged["survivor"]][["subject_id", "survivor"]]
    return assigned, merges.drop_duplicates()
