"""What would raise one subject's score: their features recomputed from their own records at
the score's date, measured against the published scorecard that gave the score.

Suggestions are given only when the recomputed score equals the published one, so they always
explain the score the subject sees (a record corrected since then gives none until the next
run)."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Any

import ibis
import pyarrow as pa

from openbureau.bootstrap import Bureau
from openbureau.features.jobs import build_features
from openbureau.scoring.artefact import published_card, read_published
from openbureau.scoring.rules import Improvement, final_score, what_would_raise
from openbureau.storage.lake import lake_query, record_schema


def _schema() -> pa.Schema:
    return pa.schema([f for f in record_schema() if f.name != "national_id_token"])


@lru_cache(maxsize=16)
def _features_sql(as_of: date) -> str:
    """`build_features` at `as_of` over two named tables, compiled once per date: compiling
    the expression costs far more than running it on one subject's records."""
    records = ibis.table(ibis.Schema.from_pyarrow(_schema()), name="subject_records")
    links = ibis.table({"identity_key": "string", "subject_id": "string"}, name="subject_links")
    return ibis.to_sql(build_features(records, links, as_of), dialect="duckdb")


def subject_features(subject_id: str, rows: list[dict[str, Any]], as_of: date) -> dict | None:
    """The feature row of one subject at `as_of`, from the subject's records (as
    `reports.reads.subject_records` returns them); None when none is known at `as_of`."""
    if not rows:
        return None
    schema = _schema()
    subject_records = pa.Table.from_pylist(
        [{name: row.get(name) for name in schema.names} for row in rows], schema=schema
    )
    keys = sorted({row["identity_key"] for row in rows})
    subject_links = pa.table({"identity_key": keys, "subject_id": [subject_id] * len(keys)})
    # the process's in-memory DuckDB as a query engine over two small Arrow tables
    with lake_query() as con:
        con.register("subject_records", subject_records)
        con.register("subject_links", subject_links)
        cur = con.execute(_features_sql(as_of))
        names = [d[0] for d in cur.description]
        found = cur.fetchall()
    return dict(zip(names, found[0], strict=True)) if found else None


def improvements(
    bureau: Bureau, score: dict[str, Any], artefact_path: str, rows: list[dict[str, Any]]
) -> list[Improvement]:
    """The changes that would raise a published score (a `scores` row), biggest gain first;
    empty when the score is "not scorable" or cannot be reproduced from the records."""
    if not score["scorable"]:
        return []
    card = published_card(read_published(bureau.settings.home, artefact_path))
    features = subject_features(score["subject_id"], rows, score["as_of"])
    if features is None:
        return []
    values = {c.feature: _number(features.get(c.feature)) for c in card.characteristics}
    total = card.base_points + sum(c.points_for(values[c.feature]) for c in card.characteristics)
    if final_score(total) != score["score"]:
        return []
    return what_would_raise(card.base_points, card.characteristics, values)


def _number(value: Any) -> float | None:
    return None if value is None else float(value)
