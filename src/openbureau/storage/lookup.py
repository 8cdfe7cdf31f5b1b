"""Point reads from a Parquet file sorted by one column: only the row groups whose min/max
statistics can hold one of the values asked for are read and filtered.

A file that is not sorted still reads correctly, only slower (most row groups then admit
most values). Each file's footer is parsed once per process and kept, keyed by its path,
size and modification time, so a file replaced under the same name is read afresh."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq


@dataclass(frozen=True)
class _Footer:
    metadata: pq.FileMetaData
    lows: tuple  # per row group; None where the group has no statistics (always read)
    highs: tuple
    ascending: bool  # every group starts at or after the one before ends: bisect


@lru_cache(maxsize=256)
def _footer(path: str, size: int, mtime_ns: int, column: str) -> _Footer:
    metadata = pq.read_metadata(path)
    index = metadata.schema.to_arrow_schema().get_field_index(column)
    if index < 0:
        raise KeyError(f"{path} has no column {column!r}")
    lows, highs = [], []
    for i in range(metadata.num_row_groups):
        stats = metadata.row_group(i).column(index).statistics
        known = stats is not None and stats.has_min_max
        lows.append(stats.min if known else None)
        highs.append(stats.max if known else None)
    ascending = None not in lows and all(highs[i] <= lows[i + 1] for i in range(len(lows) - 1))
    return _Footer(metadata, tuple(lows), tuple(highs), ascending)


def row_groups_for(footer: _Footer, values: Iterable) -> list[int]:
    """The row groups that may hold any of `values`, in file order."""
    wanted = sorted(set(values))
    n = len(footer.lows)
    if footer.ascending:
        groups: set[int] = set()
        for value in wanted:
            i = bisect_left(footer.highs, value)
            while i < n and footer.lows[i] <= value:
                groups.add(i)
                i += 1
        return sorted(groups)
    return [
        i
        for i in range(n)
        if footer.lows[i] is None or any(footer.lows[i] <= v <= footer.highs[i] for v in wanted)
    ]


def read_matching(
    path: Path, column: str, values: Sequence, columns: list[str] | None = None
) -> pa.Table:
    """The rows of `path` whose `column` is one of `values` (with only `columns`, if given,
    which must include `column`)."""
    stat = path.stat()
    footer = _footer(str(path), stat.st_size, stat.st_mtime_ns, column)
    groups = row_groups_for(footer, values) if values else []
    schema = footer.metadata.schema.to_arrow_schema()
    if columns is not None:
        schema = pa.schema([schema.field(c) for c in columns])
    if not groups:
        return schema.empty_table()
    table = pq.ParquetFile(path, metadata=footer.metadata).read_row_groups(groups, columns=columns)
    wanted = pa.array(list(values), type=table.schema.field(column).type)
    return table.filter(pc.is_in(table[column], value_set=wanted))
