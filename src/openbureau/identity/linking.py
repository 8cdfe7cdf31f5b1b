"""From scored pairs to subjects, over plain frames (no I/O).

1. `guard_pairs` drops every pair the mixed-file guard forbids outright: two different IDs of
   one scheme, birth dates further apart than a typo or a day/month exchange, an operator's
   "different" decision.
2. `cluster` joins variants along the pairs at or above the upper threshold. Components with
   no conflict inside are taken whole; a component that would hold a conflict through a chain
   of links (A-B-C where A and C disagree) is re-clustered strongest link first by
   `rules.guarded_clusters`, which never joins two groups that disagree.
3. `assign_subjects` maps clusters to subject ids, keeping every id already issued: a cluster
   keeps the id most of its known variants carry; other ids it absorbs become redirects
   (merges); an old subject whose variants now sit in several clusters keeps its id in the
   largest part and the rest get new ids (a split)."""

from __future__ import annotations

import hashlib
import hmac

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from openbureau.identity.rules import dobs_compatible, guarded_clusters


def guard_pairs(pairs: pd.DataFrame, variants: pd.DataFrame, cannot_link: set) -> pd.DataFrame:
    """`pairs` without those the guard forbids. `variants` is indexed by identity_key with
    columns national_id_scheme, id_key, dob; `cannot_link` holds (key, key) pairs, sorted."""
    if pairs.empty:
        return pairs
    left = variants.loc[pairs["identity_key_l"], ["national_id_scheme", "id_key", "dob"]]
    right = variants.loc[pairs["identity_key_r"], ["national_id_scheme", "id_key", "dob"]]
    ls, rs = left["national_id_scheme"].to_numpy(), right["national_id_scheme"].to_numpy()
    lk, rk = left["id_key"].to_numpy(), right["id_key"].to_numpy()
    both = pd.notna(lk) & pd.notna(rk)
    id_conflict = both & (ls == rs) & (lk != rk)
    ld, rd = left["dob"].to_numpy(), right["dob"].to_numpy()
    differ = pd.notna(ld) & pd.notna(rd) & (ld != rd)
    dob_conflict = np.zeros(len(pairs), dtype=bool)
    idx = np.flatnonzero(differ)
    dob_conflict[idx] = [not dobs_compatible(ld[i], rd[i]) for i in idx]
    keep = ~(id_conflict | dob_conflict)
    if cannot_link:
        lo = np.minimum(pairs["identity_key_l"].to_numpy(), pairs["identity_key_r"].to_numpy())
        hi = np.maximum(pairs["identity_key_l"].to_numpy(), pairs["identity_key_r"].to_numpy())
        keep &= np.array([(a, b) not in cannot_link for a, b in zip(lo, hi, strict=True)])
    return pairs[keep]


def cluster(
    variants: pd.DataFrame, links: pd.DataFrame, cannot_link: set | frozenset = frozenset()
) -> pd.Series:
    """Cluster label (an identity_key of the cluster) for every variant. `variants` is indexed
    by identity_key (columns national_id_scheme, id_key, dob); `links` are guarded pairs at or
    above the upper threshold (identity_key_l, identity_key_r, match_probability)."""
    keys = variants.index.to_numpy()
    pos = pd.Series(np.arange(len(keys)), index=variants.index)
    i = pos.loc[links["identity_key_l"]].to_numpy()
    j = pos.loc[links["identity_key_r"]].to_numpy()
    n = len(keys)
    graph = coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    frame = pd.DataFrame(
        {
            "comp": comp,
            "scheme": variants["national_id_scheme"].to_numpy(),
            "id_key": variants["id_key"].to_numpy(),
            "dob": variants["dob"].to_numpy(),
        }
    )
    ids = frame.dropna(subset=["id_key"]).groupby(["comp", "scheme"])["id_key"].nunique()
    suspect = set(ids[ids > 1].index.get_level_values(0))
    dobs = frame.dropna(subset=["dob"]).groupby("comp")["dob"].nunique()
    suspect |= set(dobs[dobs > 1].index)
    cannot_pos = {tuple(sorted((pos[a], pos[b]))) for a, b in cannot_link if a in pos and b in pos}
    suspect |= {comp[a] for a, _ in cannot_pos}
    label = comp.astype(np.int64).copy()
    if suspect:
        _recluster(label, comp, suspect, frame, i, j, links, cannot_pos)
    # name each cluster by its smallest identity key: stable whatever the numbering
    named = pd.Series(keys, index=keys).groupby(label).transform("min")
    return pd.Series(named.to_numpy(), index=variants.index, name="cluster")


def _recluster(label, comp, suspect, frame, i, j, links, cannot_pos) -> None:
    """Re-cluster each suspect component with `guarded_clusters`, writing new labels (above
    every component number) into `label`. Members and edges are grouped once by component,
    so the cost is linear in the suspects' size, not their number times the graph's."""
    order = np.argsort(comp, kind="stable")
    starts = np.searchsorted(comp[order], np.arange(comp.max() + 2))
    edge_comp = comp[i] if len(i) else np.array([], dtype=np.int64)
    eorder = np.argsort(edge_comp, kind="stable")
    estarts = np.searchsorted(edge_comp[eorder], np.arange(comp.max() + 2))
    prob = links["match_probability"].to_numpy()
    schemes, ids, dobs = (frame[c].to_numpy() for c in ("scheme", "id_key", "dob"))
    offset = int(comp.max()) + 1
    for c in sorted(suspect):
        members = order[starts[c] : starts[c + 1]]
        local = {int(m): k for k, m in enumerate(members)}
        sel = eorder[estarts[c] : estarts[c + 1]]
        edges = [(local[int(i[e])], local[int(j[e])], float(prob[e])) for e in sel]
        tokens = [{schemes[m]: ids[m]} if pd.notna(ids[m]) else {} for m in members]
        births = [dobs[m] if pd.notna(dobs[m]) else None for m in members]
        cl = {(local[a], local[b]) for a, b in cannot_pos if a in local and b in local}
        sub = guarded_clusters(tokens, births, edges, cl)
        label[members] = offset + np.asarray(sub, dtype=np.int64)
        offset += len(members)


def subject_id_for(secret: bytes, cluster_key: str) -> str:
    """A new subject id: keyed hash of the cluster's key, so ids reveal nothing about it."""
    digest = hmac.new(secret, b"subject:" + cluster_key.encode(), hashlib.sha256).hexdigest()
    return "S" + digest[:16].upper()


def assign_subjects(
    clusters: pd.Series, previous: pd.Series, secret: bytes
) -> tuple[pd.Series, pd.DataFrame, pd.DataFrame]:
    """Subject id per variant, given each variant's cluster and its previous subject
    (`previous`, identity_key -> subject_id, for variants linked before).

    Returns (subject_id per variant, merges [old, survivor], splits [old, new])."""
    frame = pd.DataFrame({"cluster": clusters})
    frame["previous"] = previous.reindex(frame.index)
    known = frame.dropna(subset=["previous"])
    votes = known.groupby(["cluster", "previous"]).size().rename("n").reset_index()
    # each old subject goes to the cluster holding most of its variants (ties: lowest key)...
    votes = votes.sort_values(["previous", "n", "cluster"], ascending=[True, False, True])
    home = votes.drop_duplicates("previous")
    # ...and each cluster keeps the oldest-looking (lowest) id among those that chose it
    home = home.sort_values(["cluster", "n", "previous"], ascending=[True, False, True])
    keep = home.drop_duplicates("cluster").set_index("cluster")["previous"]
    survivor_of = frame["cluster"].map(keep)
    fresh = survivor_of.isna()
    new_ids = {c: subject_id_for(secret, c) for c in frame.loc[fresh, "cluster"].unique()}
    subject = survivor_of.where(~fresh, frame["cluster"].map(new_ids))
    absorbed = home[~home["previous"].isin(keep.to_numpy())]
    merges = pd.DataFrame(
        {
            "old": absorbed["previous"].to_numpy(),
            "survivor": absorbed["cluster"].map(keep).to_numpy(),
        }
    )
    # an old subject with variants outside its home cluster was split
    moved = votes.merge(home[["previous", "cluster"]], on="previous", suffixes=("", "_home"))
    moved = moved[moved["cluster"] != moved["cluster_home"]]
    splits = pd.DataFrame(
        {
            "old": moved["previous"].to_numpy(),
            "new": moved["cluster"].map(lambda c: keep.get(c, new_ids.get(c))).to_numpy(),
        }
    ).drop_duplicates()
    merges = merges[merges["old"] != merges["survivor"]].dropna()
    return subject.rename("subject_id"), merges.reset_index(drop=True), splits
