"""Point reads from a Parquet file sorted by one column: only the row groups whose min/max
statistics can hold one of the values asked for are read and filtered.

A file that is not sorted still reads correctly, only slower (most row groups then admit
most values). Each file's footer is parsed once per process and kept, keyed by its path,
size, modification time and inode, read from the open file, so a file replaced under the
same name is read afresh and never paired with another file's footer."""

from __future__ import annotations

import os
import threading
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
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


def _read_footer(source, path: str, column: str) -> _Footer:
    metadata = pq.read_metadata(source)
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


#: Footers read, by (path, size, mtime_ns, inode, column) of the open file; the oldest
#: forgotten first. A file replaced under its name is a new inode, so a new entry.
_footers: OrderedDict[tuple, _Footer] = OrderedDict()
_footers_lock = threading.Lock()
MAX_FOOTERS = 256


def _footer(handle, path: str, column: str) -> _Footer:
    st = os.fstat(handle.fileno())
    key = (path, st.st_size, st.st_mtime_ns, st.st_ino, column)
    with _footers_lock:
        found = _footers.get(key)
        if found is not None:
            _footers.move_to_end(key)
            return found
    footer = _read_footer(handle, path, column)
    handle.seek(0)
    with _footers_lock:
        _footers[key] = footer
        while len(_footers) > MAX_FOOTERS:
            _footers.popitem(last=False)
    return footer


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
    # the file is opened first and identified by its open handle: a file replaced under the
    # same name between a stat and an open cannot pair one file's footer with another's rows
    with open(path, "rb") as handle:
        footer = _footer(handle, str(path), column)
        groups = row_groups_for(footer, values) if values else []
        schema = footer.metadata.schema.to_arrow_schema()
        if columns is not None:
            schema = pa.schema([schema.field(c) for c in columns])
        if not groups:
            return schema.empty_table()
        table = pq.ParquetFile(handle, metadata=footer.metadata).read_row_groups(
            groups, columns=columns
        )
    wanted = pa.array(list(values), type=table.schema.field(column).type)
    return table.filter(pc.is_in(table[column], value_set=wanted))
