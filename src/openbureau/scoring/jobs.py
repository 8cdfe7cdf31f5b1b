"""The scorecard compiled to an Ibis expression: each characteristic a CASE whose branches are
its bins and whose values are their points, summed into the total.

Engine-neutral (CASE, IN, IS NULL, comparisons and casts only; nothing here opens a
connection), so the same expression runs on DuckDB and on Spark. It gives what the numpy twin
`CompiledScorecard.points_matrix` gives and what optbinning's own `Scorecard.score()` gives on
the same rows (tests hold it to both): a missing value takes the missing bin's points, and a
category never seen in development takes them too, as in optbinning's `score()`.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from openbureau.scoring.rules import Characteristic
from openbureau.scoring.scorecard import CompiledScorecard


def points_column(c: Characteristic, value: ir.Column) -> ir.FloatingValue:
    """The points `value` earns on characteristic `c`, as one CASE expression."""
    missing = ibis.literal(float(c.missing_points), type="float64")
    if c.is_categorical:
        text = value.cast("string")
        branches = [(text.isnull(), missing)] + [
            (text.isin(list(group)), ibis.literal(float(p), type="float64"))
            for group, p in zip(c.categories, c.points, strict=True)
        ]
        return ibis.cases(*branches, else_=missing)
    number = value.cast("float64")
    # NaN counts as missing, as in optbinning (pandas hands missing numbers over as NaN)
    branches = [(number.isnull() | number.isnan(), missing)] + [
        (number < float(split), ibis.literal(float(p), type="float64"))
        for split, p in zip(c.splits, c.points[:-1], strict=True)
    ]
    return ibis.cases(*branches, else_=ibis.literal(float(c.points[-1]), type="float64"))


def missing_column(c: Characteristic, value: ir.Column) -> ir.BooleanValue:
    """True where `value` takes the missing bin (missing, or a category never seen)."""
    if c.is_categorical:
        known = [v for group in c.categories for v in group]
        text = value.cast("string")
        return text.isnull() | ~text.isin(known)
    number = value.cast("float64")
    return number.isnull() | number.isnan()


def score_expression(
    card: CompiledScorecard, table: ir.Table, keep: list[str], *, detail: bool = True
) -> ir.Table:
    """`table`'s `keep` columns plus `total_points` (base points plus every characteristic's
    points) and, with `detail`, `points_<j>` and `missing_<j>` for characteristic j (in the
    card's order), which the reasons are ranked from."""
    points = [points_column(c, table[c.feature]) for c in card.characteristics]
    total = ibis.literal(float(card.base_points), type="float64")
    for p in points:
        total = total + p
    columns: dict[str, ir.Value] = {}
    if detail:
        for j, (c, p) in enumerate(zip(card.characteristics, points, strict=True)):
            columns[f"points_{j}"] = p
            columns[f"missing_{j}"] = missing_column(c, table[c.feature])
    return table.select(*keep, **columns, total_points=total)
