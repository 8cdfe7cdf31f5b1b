"""Linkage quality against ground truth (the synthetic population's `truth/`, or any labelled
set): pairwise precision, recall and F1 over records, the mixed-file rate (share of subjects
holding records of more than one true identity) and the split rate (share of true identities
spread over more than one subject). Pure functions over frames, plus one reader."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import pandas as pd


@dataclass(frozen=True)
class LinkageQuality:
    records: int
    subjects: int
    true_identities: int
    precision: float
    recall: float
    f1: float
    mixed_file_rate: float
    split_rate: float

    def to_dict(self) -> dict:
        return asdict(self)


def _pairs(counts: pd.Series) -> int:
    n = counts.to_numpy().astype("int64")
    return int((n * (n - 1) // 2).sum())


def linkage_quality(frame: pd.DataFrame) -> LinkageQuality:
    """`frame` has one row per (subject, truth) cell with `n` records:
    columns subject_id, true_id, n. Pairs are pairs of records."""
    both = _pairs(frame["n"])
    predicted = _pairs(frame.groupby("subject_id")["n"].sum())
    actual = _pairs(frame.groupby("true_id")["n"].sum())
    precision = both / predicted if predicted else 1.0
    recall = both / actual if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    per_subject = frame.groupby("subject_id")["true_id"].nunique()
    per_truth = frame.groupby("true_id")["subject_id"].nunique()
    return LinkageQuality(
        records=int(frame["n"].sum()),
        subjects=len(per_subject),
        true_identities=len(per_truth),
        precision=round(precision, 6),
        recall=round(recall, 6),
        f1=round(f1, 6),
        mixed_file_rate=round(float((per_subject > 1).mean()), 6),
        split_rate=round(float((per_truth > 1).mean()), 6),
    )


def measure(lake, truth_records: Path, kind: str | None = None) -> LinkageQuality:
    """Quality of the lake's current links against a truth file with columns furnisher_id,
    record_id, version, true_subject_id (what `openbureau synth` writes to truth/)."""
    files = [str(p) for p in lake.record_files()]
    kind_filter = "AND r.subject_kind = $kind" if kind else ""
    con = duckdb.connect()
    try:
        frame = con.execute(
            f"""
            SELECT l.subject_id, t.true_subject_id AS true_id, count(*) AS n
            FROM read_parquet($files) AS r
            JOIN read_parquet($links) AS l USING (identity_key)
            JOIN read_parquet($truth) AS t USING (furnisher_id, record_id, version)
            WHERE TRUE {kind_filter}
            GROUP BY ALL
            """,
            {"files": files, "links": str(lake.links_path), "truth": str(truth_records)}
            | ({"kind": kind} if kind else {}),
        ).df()
    finally:
        con.close()
    return linkage_quality(frame)
