"""The compiled scorecard: published bins and points, applied to a whole frame at once.

A `CompiledScorecard` is plain data (it round-trips through JSON, which is what is published).
`points_matrix` and `score_frame` are the numpy twin of the pure rules in `scoring.rules`
(row by row the same answers); `scoring.jobs` compiles the same card to an Ibis expression,
which is what scores populations and files.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Literal

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

#: "bureau": a card over the published feature catalogue (codes, sentences and pillars come
#: from it). "data": a card fitted on the columns of someone's own file (`model fit --data`).
CardKind = Literal["bureau", "data"]


@dataclass(frozen=True)
class CompiledScorecard:
    """Base points plus one `Characteristic` per feature used, in feature-name order.
    `inquiries` names the characteristic that counts recent inquiries, if any."""

    base_points: float
    characteristics: tuple[Characteristic, ...]
    scaling: Scaling = field(default_factory=Scaling)
    kind: CardKind = "bureau"
    inquiries: str | None = None

    def __post_init__(self) -> None:
        names = [c.feature for c in self.characteristics]
        if names != sorted(names):
            raise ValueError("characteristics must be in feature-name order")
        if self.kind not in ("bureau", "data"):
            raise ValueError(f"unknown scorecard kind {self.kind!r}")
        if self.kind == "bureau":
            unknown = [n for n in names if n not in FEATURES_BY_NAME]
            if unknown:
                raise ValueError(f"features not in the published catalogue: {unknown}")
        if self.inquiries is not None and self.inquiries not in names:
            raise ValueError(f"inquiries feature {self.inquiries!r} is not in the card")

    @property
    def features(self) -> list[str]:
        return [c.feature for c in self.characteristics]

    def code(self, j: int) -> str:
        """The stable reason code of characteristic `j`."""
        if self.kind == "bureau":
            return FEATURES_BY_NAME[self.characteristics[j].feature].code
        return f"V{j + 1:02d}"

    def reason_entries(self) -> tuple[list[dict], list[dict]]:
        """Per characteristic: the reason entry for a value that costs points, and for a
        missing (or unseen) value that costs points; points_lost is filled in per row."""
        known, missing = [], []
        for j, c in enumerate(self.characteristics):
            code = self.code(j)
            if self.kind == "bureau":
                f = FEATURES_BY_NAME[c.feature]
                base = {"feature": f.name, "pillar": f.pillar}
                text, absent = f.reason, f.missing_reason or f.reason
            else:
                base = {"feature": c.feature}
                text = f"Value of {c.feature}"
                absent = f"No value for {c.feature}, or one not seen in development"
            known.append({"code": code, **base, "text": text})
            missing.append({"code": f"{code}N", **base, "text": absent})
        return known, missing

    def to_dict(self) -> dict:
        chars = []
        for j, c in enumerate(self.characteristics):
            entry: dict = {"feature": c.feature, "code": self.code(j)}
            if self.kind == "bureau":
                entry["pillar"] = FEATURES_BY_NAME[c.feature].pillar
            entry.update(splits=list(c.splits), points=list(c.points))
            entry["missing_points"] = c.missing_points
            if c.is_categorical:
                entry["categories"] = [list(g) for g in c.categories]
            chars.append(entry)
        return {
            "kind": self.kind,
            "base_points": self.base_points,
            "scaling": asdict(self.scaling),
            "inquiries": self.inquiries,
            "characteristics": chars,
        }

    @classmethod
    def from_dict(cls, data: dict) -> CompiledScorecard:
        return cls(
            base_points=float(data["base_points"]),
            scaling=Scaling(**data["scaling"]),
            kind=data.get("kind", "bureau"),
            inquiries=data.get("inquiries"),
            characteristics=tuple(
                Characteristic(
                    feature=c["feature"],
                    splits=tuple(float(s) for s in c["splits"]),
                    points=tuple(float(p) for p in c["points"]),
                    missing_points=float(c["missing_points"]),
                    categories=tuple(tuple(str(v) for v in g) for g in c.get("categories", ())),
                )
                for c in data["characteristics"]
            ),
        )

    def points_matrix(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(points, missing): one column per characteristic, one row per frame row; missing
        is True where the value is missing or, categorical, never seen in development."""
        n = len(frame)
        points = np.zeros((n, len(self.characteristics)))
        missing = np.zeros((n, len(self.characteristics)), dtype=bool)
        for j, c in enumerate(self.characteristics):
            if c.is_categorical:
                lookup = {v: c.points[i] for i, group in enumerate(c.categories) for v in group}
                text = frame[c.feature].astype(object).where(frame[c.feature].notna(), None)
                mapped = text.map(lambda v, t=lookup: t.get(str(v)) if v is not None else None)
                miss = mapped.isna().to_numpy()
                points[:, j] = np.where(miss, c.missing_points, mapped.to_numpy(dtype=float))
            else:
                values = pd.to_numeric(frame[c.feature], errors="coerce").to_numpy(
                    dtype=float, na_value=np.nan
                )
                miss = np.isnan(values)
                idx = np.searchsorted(np.asarray(c.splits, dtype=float), values, side="right")
                table = np.asarray(c.points, dtype=float)
                points[:, j] = np.where(
                    miss, c.missing_points, table[np.minimum(idx, len(table) - 1)]
                )
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


def final_scores(total: np.ndarray) -> np.ndarray:
    return np.clip(np.floor(total + 0.5), SCORE_MIN, SCORE_MAX).astype(np.int64)


def reasons_for_rows(
    card: CompiledScorecard, points: np.ndarray, missing: np.ndarray, rows: np.ndarray
) -> list[list[dict]]:
    """The reasons of each row (`rules.rank_reasons` over arrays): for the rows where `rows`
    is True, at most 4 dicts (code, feature, [pillar,] text, points_lost), biggest loss first,
    plus the inquiries factor as a fifth when it cost points; [] for the other rows."""
    n = len(points)
    best = np.array([c.best_points for c in card.characteristics], dtype=float)
    losses = np.maximum(0.0, best[None, :] - points) if len(best) else points
    k = min(MAX_REASONS, losses.shape[1])
    # Stable sort on -loss: ties keep feature-name order, as rules.rank_reasons does.
    order = np.argsort(-losses, axis=1, kind="stable")
    inq = card.features.index(card.inquiries) if card.inquiries else -1
    known, absent = card.reason_entries()
    out: list[list[dict]] = []
    for i in range(n):
        if not rows[i]:
            out.append([])
            continue
        picked = [j for j in order[i, :k] if losses[i, j] >= MIN_REASON_LOSS]
        if inq >= 0 and inq not in picked and losses[i, inq] >= MIN_REASON_LOSS:
            picked.append(inq)
        out.append(
            [
                {
                    **(absent[j] if missing[i, j] else known[j]),
                    "points_lost": round(float(losses[i, j]), 1),
                }
                for j in picked
            ]
        )
    return out


def score_frame(
    card: CompiledScorecard,
    frame: pd.DataFrame,
    computed: tuple[np.ndarray, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Score every row of a feature frame (as built by `features.jobs.build_features`).
    `computed` is (points, missing) already computed for the frame's rows (by the compiled
    expression, `scoring.jobs`); without it they are computed here.

    Returns subject_id, scorable, score (None when not scorable), not_scorable_reason,
    pillar_<name> (0-100 or None) and reasons (list of dicts: code, feature, pillar, text,
    points_lost; see `reasons_for_rows`)."""
    n = len(frame)
    record_count = frame["record_count"].fillna(0).to_numpy(dtype=np.int64)
    history = pd.to_numeric(frame["history_months"], errors="coerce").to_numpy(
        dtype=float, na_value=np.nan
    )
    why = not_scorable_reasons(record_count, history)
    scorable = pd.isna(why)

    points, missing = computed if computed is not None else card.points_matrix(frame)
    total = card.base_points + points.sum(axis=1)
    scores = final_scores(total)

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

    out["reasons"] = reasons_for_rows(card, points, missing, scorable)
    out["total_points"] = total
    return out


def score_rows(scored: pd.DataFrame, as_of: date, version: str) -> list[dict]:
    """Ledger rows for the scores table (plain Python values; NaN and NA become None)."""
    now = datetime.now(UTC)
    columns: dict[str, list] = {}
    for name in (
        "subject_id",
        "scorable",
        "score",
        "not_scorable_reason",
        "reasons",
        *[c for c in scored.columns if c.startswith("pillar_")],
    ):
        col = scored[name]
        values = col.astype(object).where(col.notna(), None) if name != "reasons" else col
        columns[name] = values.tolist()
    columns["score"] = [None if v is None else int(v) for v in columns["score"]]
    columns["scorable"] = [bool(v) for v in columns["scorable"]]
    keys = list(columns)
    return [
        {
            **dict(zip(keys, values, strict=True)),
            "as_of": as_of,
            "model_version": version,
            "published_at": now,
        }
        for values in zip(*columns.values(), strict=True)
    ]
