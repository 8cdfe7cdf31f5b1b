"""The scorecard compiled to an Ibis expression: each characteristic a CASE whose branches are
its bins and whose values are their points, summed into the total.

Engine-neutral (CASE, =, IN, IS NULL, comparisons and casts only; nothing here opens a
connection), so the same expression runs on DuckDB and on Spark. It gives what the numpy twin
`CompiledScorecard.points_matrix` gives and what optbinning's own `Scorecard.score()` gives on
the same rows (tests hold it to both): a missing value takes the missing bin's points, and a
category never seen in development takes them too, as in optbinning's `score()`.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pandas as pd

from openbureau.scoring.rules import Characteristic
from openbureau.scoring.scorecard import CompiledScorecard

#: Points travel through the engine as whole multiples of 1e-12 (int64): the sum is then exact,
#: the same on every engine whatever the order of addition, and no engine reads a decimal
#: literal as a wide DECIMAL (DuckDB does, and its arithmetic is several times slower).
PICO = 10**12
#: |points| stays below this, so that the pico-points of up to 90 characteristics sum in int64.
MAX_POINTS = 1e5


def _whole_picos(points: float) -> int:
    if not abs(points) < MAX_POINTS:
        raise ValueError(f"points {points} out of range for the compiled scorecard")
    return round(points * PICO)


def _pico(points: float) -> ir.IntegerScalar:
    return ibis.literal(_whole_picos(points), type="int64")


def pico_points(c: Characteristic, value: ir.Column) -> ir.IntegerValue:
    """The points (in 1e-12) `value` earns on characteristic `c`, as one CASE expression:
    one branch per bin; a missing value, and a category never seen, take the missing bin."""
    missing = _pico(c.missing_points)
    if c.is_categorical:
        # One `=` branch per category: DuckDB tests these about twice as fast as IN-lists
        # (BENCHMARKS.md). Missing values are taken out first (see below); a category never
        # seen equals none of the branches and falls to the missing bin.
        text = value.cast("string")
        branches = [(value.isnull(), missing)]
        branches += [
            (text == category, _pico(p))
            for group, p in zip(c.categories, c.points, strict=True)
            for category in group
        ]
        return ibis.cases(*branches, else_=missing)
    number = value.cast("float64")
    # NULL first: once the missing rows have left the CASE, DuckDB tests the rest on rows
    # that are all valid, and the whole card costs about a fifth less (BENCHMARKS.md). NaN
    # fails every `<` (it sorts above all numbers), so it is told apart from the last bin
    # only once the other bins are ruled out: most rows stop earlier.
    branches = [(value.isnull(), missing)]
    branches += [
        (number < float(split), _pico(p)) for split, p in zip(c.splits, c.points[:-1], strict=True)
    ]
    branches.append((number.isnan(), missing))
    return ibis.cases(*branches, else_=_pico(c.points[-1]))


def missing_column(c: Characteristic, value: ir.Column) -> ir.BooleanValue:
    """True where `value` takes the missing bin (missing, or a category never seen)."""
    if c.is_categorical:
        known = [v for group in c.categories for v in group]
        text = value.cast("string")
        return text.isnull() | ~text.isin(known)
    number = value.cast("float64")
    return number.isnull() | number.isnan()


def missing_flag(c: Characteristic, value: ir.Column, picos: ir.IntegerValue) -> ir.BooleanValue:
    """What `missing_column` gives, read off `picos` (`pico_points(c, value)`) when no bin
    earns the missing bin's points: comparing the CASE's result, which the engine computes
    once for the points and the flag, costs less than testing `value` again."""
    missing = _whole_picos(c.missing_points)
    if any(_whole_picos(p) == missing for p in c.points):
        return missing_column(c, value)
    return picos == _pico(c.missing_points)


def score_expression(
    card: CompiledScorecard, table: ir.Table, keep: list[str], *, detail: bool = True
) -> ir.Table:
    """`table`'s `keep` columns plus `total_points` (base points plus every characteristic's
    points, float64) and, with `detail`, `points_<j>` and `missing_<j>` for characteristic j
    (in the card's order), which the reasons are ranked from."""
    picos = [pico_points(c, table[c.feature]) for c in card.characteristics]
    total = _pico(card.base_points)
    for p in picos:
        total = total + p
    columns: dict[str, ir.Value] = {}
    if detail:
        for j, (c, p) in enumerate(zip(card.characteristics, picos, strict=True)):
            columns[f"points_{j}"] = p.cast("float64") / PICO
            columns[f"missing_{j}"] = missing_flag(c, table[c.feature], p)
    return table.select(*keep, **columns, total_points=total.cast("float64") / PICO)


def categories_encoded(frame: pd.DataFrame, card: CompiledScorecard) -> pd.DataFrame:
    """`frame` with each categorical characteristic's column dictionary-encoded (pandas
    `category`, which DuckDB reads in place as an ENUM): the CASE then compares a small code
    per row instead of a string, which halves the categorical characteristics' cost on DuckDB
    (BENCHMARKS.md). Each value is kept as its text and a missing value stays missing, so the
    expression gives the same points; the other columns are shared, not copied."""
    out = frame.copy(deep=False)
    for c in card.characteristics:
        if c.is_categorical and c.feature in out.columns:
            column = out[c.feature]
            text = column.where(column.isna(), column.astype(str))
            out[c.feature] = text.astype("category")
    return out
