"""The compiled scorecard: published bins and points, applied to a whole feature frame at once.

A `CompiledScorecard` is plain data (it round-trips through JSON, which is what is published);
`score_frame` is the vectorised twin of the pure rules in `scoring.rules` and gives the same
answers row by row.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from openbureau.catalogue.model import PILLARS
from openbureau.features.rules import FEATURES_BY_NAME
from openbureau.scoring.rules import (
    MAX_REASONS,
    MIN_HISTORY_MONTHS,
    MIN_REASON_LOSS,
    NO_RECORDS_REASON,
    SCORE_MAX,
    SCORE_MIN,
    THIN_FILE_REASON,
    Characteristic,
    Scaling,
)


@dataclass(frozen=True)
class CompiledScorecard:
    """Base points plus one `Characteristic` per feature used, in feature-name order."""

    base_points: float
    characteristics: tuple[Characteristic, ...]
    scaling: Scaling = field(default_factory=Scaling)

    def __post_init__(self) -> None:
        names = [c.feature for c in self.characteristics]
        if names != sorted(names):
            raise ValueError("characteristics must be in feature-name order")
        unknown = [n for n in names if n not in FEATURES_BY_NAME]
        if unknown:
            raise ValueError(f"features not in the published catalogue: {unknown}")

    @property
    def features(self) -> list[str]:
        return [c.feature for c in self.characteristics]

    def to_dict(self) -> dict:
        return {
            "base_points": self.base_points,
            "scaling": asdict(self.scaling),
            "characteristics": [
                {
                    "feature": c.feature,
                    "code": FEATURES_BY_NAME[c.feature].code,
                    "pillar": FEATURES_BY_NAME[c.feature].pillar,
                    "splits": list(c.splits),
                    "points": list(c.points),
                    "missing_points": c.missing_points,
                }
                for c in self.characteristics
            ],
        }

    @classmethod
    def from_dict(cls, data: dict) -> CompiledScorecard:
        return cls(
            base_points=float(data["base_points"]),
            scaling=Scaling(**data["scaling"]),
            characteristics=tuple(
                Characteristic(
                    feature=c["feature"],
                    splits=tuple(float(s) for s in c["splits"]),
                    points=tuple(float(p) for p in c["points"]),
                    missing_points=float(c["missing_points"]),
                )
                for c in data["characteristics"]
            ),
        )

    def points_matrix(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(points, missing): one column per characteristic, one row per subject."""
        n = len(frame)
        points = np.zeros((n, len(self.characteristics)))
        missing = np.zeros((n, len(self.characteristics)), dtype=bool)
        for j, c in enumerate(self.characteristics):
            values = pd.to_numeric(frame[c.feature], errors="coerce").to_numpy(
                dtype=float, na_value=np.nan
            )
            miss = np.isnan(values)
            idx = np.searchsorted(np.asarray(c.splits, dtype=float), values, side="right")
            table = np.asarray(c.points, dtype=float)
            points[:, j] = np.where(miss, c.missing_points, table[np.minimum(idx, len(table) - 1)])
            missing[:, j] = miss
        return points, missing

    def total_points(self, frame: pd.DataFrame) -> np.ndarray:
        points, _ = self.points_matrix(frame)
        return self.base_points + points.sum(axis=1)


def not_scorable_reasons(record_count: np.ndarray, history_months: np.ndarray) -> np.ndarray:
    """`rules.not_scorable_reason` over arrays (history NaN when unknown): reason or None."""
    no_records = (record_count <= 0) | np.isnan(history_months)
    thin = ~no_records & (history_months < MIN_HISTORY_MONTHS)
    why = np.full(len(record_count), None, dtype=object)
    why[thin] = THIN_FILE_REASON
    why[no_records] = NO_RECORDS_REASON
    return why


def _final_scores(total: np.ndarray) -> np.ndarray:
    return np.clip(np.floor(total + 0.5), SCORE_MIN, SCORE_MAX).astype(np.int64)


def _reason_entries(card: CompiledScorecard) -> tuple[list[dict], list[dict]]:
    """Per characteristic: the reason entry for a value that costs points, and for a missing
    value that costs points (points_lost filled in per subject)."""
    known, missing = [], []
    for c in card.characteristics:
        f = FEATURES_BY_NAME[c.feature]
        known.append({"code": f.code, "feature": f.name, "pillar": f.pillar, "text": f.reason})
        missing.append(
            {
                "code": f"{f.code}N",
                "feature": f.name,
                "pillar": f.pillar,
                "text": f.missing_reason or f.reason,
            }
        )
    return known, missing


def score_frame(card: CompiledScorecard, frame: pd.DataFrame) -> pd.DataFrame:
    """Score every row of a feature frame (as built by `features.jobs.build_features`).

    Returns subject_id, scorable, score (None when not scorable), not_scorable_reason,
    pillar_<name> (0-100 or None) and reasons (list of at most 4 dicts: code, feature, pillar,
    text, points_lost; only characteristics that cost points, biggest loss first)."""
    n = len(frame)
    record_count = frame["record_count"].fillna(0).to_numpy(dtype=np.int64)
    history = pd.to_numeric(frame["history_months"], errors="coerce").to_numpy(
        dtype=float, na_value=np.nan
    )
    why = not_scorable_reasons(record_count, history)
    scorable = pd.isna(why)

    points, missing = card.points_matrix(frame)
    total = card.base_points + points.sum(axis=1)
    scores = _final_scores(total)

    out = pd.DataFrame({"subject_id": frame["subject_id"].to_numpy()})
    out["scorable"] = scorable
    out["score"] = pd.array(np.where(scorable, scores, 0), dtype="Int64")
    out.loc[~scorable, "score"] = pd.NA
    out["not_scorable_reason"] = pd.Series(why, dtype=object)

    for pillar in PILLARS:
        cols = [
            j
            for j, c in enumerate(card.characteristics)
            if FEATURES_BY_NAME[c.feature].pillar == pillar
        ]
        lo = sum(card.characteristics[j].min_possible for j in cols)
        hi = sum(card.characteristics[j].max_possible for j in cols)
        has = frame[f"n_{pillar}"].fillna(0).to_numpy() > 0
        if not cols or hi - lo <= 1e-9:
            values = np.full(n, np.nan)
        else:
            values = np.round(100.0 * (points[:, cols].sum(axis=1) - lo) / (hi - lo), 1)
        values = np.where(has & scorable, values, np.nan)
        out[f"pillar_{pillar}"] = values

    best = np.array([c.best_points for c in card.characteristics], dtype=float)
    losses = np.maximum(0.0, best[None, :] - points) if len(best) else points
    k = min(MAX_REASONS, losses.shape[1])
    # Stable sort on -loss: ties keep feature-name order, as rules.rank_reasons does.
    order = np.argsort(-losses, axis=1, kind="stable")[:, :k]
    top = np.take_along_axis(losses, order, axis=1)
    top_missing = np.take_along_axis(missing, order, axis=1)
    known, absent = _reason_entries(card)
    reasons: list[list[dict]] = []
    for i in range(n):
        if not scorable[i]:
            reasons.append([])
            continue
        row = []
        for j in range(k):
            loss = top[i, j]
            if loss < MIN_REASON_LOSS:
                break
            entry = absent[order[i, j]] if top_missing[i, j] else known[order[i, j]]
            row.append({**entry, "points_lost": round(float(loss), 1)})
        reasons.append(row)
    out["reasons"] = reasons
    out["total_points"] = total
    return out
