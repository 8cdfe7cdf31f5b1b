"""Readers per format: a file's header, then the file loaded into a DuckDB table as-is.

Every failure to parse raises ReadError with a message fit for a receipt (no data quoted).
DuckDB reads exactly the one file named: a name is never taken as a glob pattern, nor its
folders (`country=IN/`) as hive partition columns."""

from __future__ import annotations

import csv
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from openbureau.ingest import sql
from openbureau.ingest.rules import ColumnSpec, reader_error_message


class ReadError(Exception):
    """The file cannot be read as its format; the message is safe to show and store."""


#: What DuckDB's file readers expand as a glob pattern in a path.
_GLOB = re.compile(r"[*?\[]")


@contextmanager
def _literal(path: Path) -> Iterator[str]:
    """A path DuckDB reads as exactly `path`. A name like `accounts*.csv` would also match
    `accounts-old.csv` beside it, so such a path is read through a symbolic link of a plain
    name in a private folder (no copy, whatever the file system); others are used as they
    are."""
    if not _GLOB.search(str(path)):
        yield str(path)
        return
    folder = tempfile.mkdtemp(prefix="openbureau-read-")
    try:
        link = os.path.join(folder, "file")
        os.symlink(os.path.abspath(path), link)
        yield link
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def read_header(con: duckdb.DuckDBPyConnection, path: Path, fmt: str) -> list[tuple[str, str]]:
    """The file's columns in order (repeats kept), with their DuckDB types (VARCHAR for text
    formats). Empty when the file has no header or keys at all."""
    try:
        if fmt == "csv":
            with path.open(newline="", encoding="utf-8-sig") as fh:
                row = next(csv.reader(fh), [])
            return [(name, "VARCHAR") for name in row]
        if fmt == "jsonl":
            # A key's type is NESTED when any row gives it an object or a list.
            with _literal(path) as source:
                rows = con.execute(
                    "SELECT key, min(n) AS first,"
                    " bool_or(json_type(json, '$.\"' || key || '\"') IN ('OBJECT', 'ARRAY'))"
                    " FROM (SELECT unnest(json_keys(json)) AS key, json, row_number() OVER () AS n"
                    " FROM read_ndjson_objects(?, hive_partitioning = false))"
                    " GROUP BY key ORDER BY first",
                    [source],
                ).fetchall()
            return [(key, "NESTED" if nested else "VARCHAR") for key, _, nested in rows]
        if fmt == "parquet":
            with _literal(path) as source:
                rows = con.execute(
                    "DESCRIBE SELECT * FROM read_parquet(?, hive_partitioning = false)", [source]
                ).fetchall()
            return [(r[0], r[1]) for r in rows]
    except (duckdb.Error, UnicodeDecodeError, csv.Error) as exc:
        raise ReadError(reader_error_message(fmt, str(exc))) from None
    raise ValueError(f"unknown format {fmt!r}")


def nested_columns(header: list[tuple[str, str]]) -> list[str]:
    """Columns whose values are objects, lists or maps. The catalogue is flat: a nested value
    could carry any field past the column checks (a prohibited one, a raw national id)."""
    return [
        name
        for name, typ in header
        if typ == "NESTED" or typ.startswith(("STRUCT", "MAP", "UNION")) or typ.endswith("]")
    ]


def byte_columns(header: list[tuple[str, str]]) -> list[str]:
    """Columns whose values are bytes, not text (a Parquet `binary` column without a string
    annotation): a CSV with bytes that are not UTF-8 is refused whole, and so is this."""
    return [name for name, typ in header if typ == "BLOB"]


def load(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    fmt: str,
    header: list[tuple[str, str]],
    specs: Sequence[ColumnSpec],
) -> pa.Table:
    """The file's rows in file order as an Arrow table: its columns as text, empty as NULL
    (sql.normalise_select), then `_row`, the 1-based data row number.

    `header` has no repeated names (checked before)."""
    sources = {
        # Explicit dialect, every column text: parsing and validation stay ours, and a row with
        # too few or too many fields, or an open quote, fails the whole read.
        "csv": "read_csv(?, header = true, auto_detect = false, columns = ?, delim = ',', "
        "quote = '\"', escape = '\"', strict_mode = true, hive_partitioning = false)",
        "jsonl": "read_json(?, format = 'newline_delimited', columns = ?, "
        "hive_partitioning = false)",
        "parquet": "read_parquet(?, hive_partitioning = false)",
    }
    params: list = []
    if fmt in ("csv", "jsonl"):
        params.append({name: "VARCHAR" for name, _ in header})
    if fmt == "csv":
        # DuckDB reads an empty field, quoted or not, as NULL: nothing to normalise
        query = f"SELECT * FROM {sources[fmt]}"
    else:
        query = sql.normalise_select(sources[fmt], dict(header), specs)
    try:
        with _literal(path) as source:
            # insertion order is preserved (DuckDB's default): position is the file's row order
            table = con.sql(query, params=[source, *params]).to_arrow_table()
    except duckdb.Error as exc:
        raise ReadError(reader_error_message(fmt, str(exc))) from None
    rows = pa.array(np.arange(1, table.num_rows + 1, dtype=np.int64))
    return table.append_column("_row", rows)
