"""The lake: every accepted record, immutable, as Parquet; read through Ibis.

Layout under `<home>/lake/`:

    records/furnisher=<id>/<batch_id>.parquet  one file per accepted batch (`record_schema()`)
    quarantine/<batch_id>.csv                  rejected rows: row, column, rule, message
    links/links.parquet                        identity_key -> subject_id (from `resolve`)

A file appears only once complete (written to a temporary name, then renamed)."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from openbureau.catalogue.model import COMMON_COLUMNS, IDENTITY_COLUMNS, RECORD_TYPES, Field

_ARROW_TYPES = {
    "string": pa.string(),
    "code": pa.string(),
    "currency": pa.string(),
    "date": pa.date32(),
    # a month is stored as its first day
    "month": pa.date32(),
    "int": pa.int64(),
    "money": pa.int64(),
    "bool": pa.bool_(),
}

#: Columns the bureau adds to each accepted record.
LINEAGE_COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    ("furnisher_id", pa.string()),
    ("batch_id", pa.string()),
    ("row_number", pa.int64()),
)

#: Identity columns as stored: the raw `national_id` is replaced by token and mask, and
#: `identity_key` (md5 over the stored identity columns) names the identity variant.
STORED_IDENTITY_EXTRA: tuple[tuple[str, pa.DataType], ...] = (
    ("national_id_token", pa.string()),
    ("national_id_masked", pa.string()),
    ("identity_key", pa.string()),
)


#: The stored identity columns hashed (in this order) into `identity_key`.
IDENTITY_KEY_COLUMNS: tuple[str, ...] = (
    "subject_kind",
    "given_name",
    "family_name",
    "org_name",
    "date_of_birth",
    "national_id_scheme",
    "national_id_token",
    "address_line1",
    "address_line2",
    "city",
    "region",
    "postcode",
    "country",
)


def _type_fields() -> list[Field]:
    seen: dict[str, Field] = {}
    for rt in RECORD_TYPES.values():
        for f in rt.fields:
            seen.setdefault(f.name, f)
    return list(seen.values())


def record_schema() -> pa.Schema:
    """The one schema of every Parquet file under `records/` (all record types, nullable)."""
    cols: list[tuple[str, pa.DataType]] = list(LINEAGE_COLUMNS)
    for f in COMMON_COLUMNS:
        cols.append((f.name, _ARROW_TYPES[f.kind]))
    for f in IDENTITY_COLUMNS:
        if f.name == "national_id":
            continue
        cols.append((f.name, _ARROW_TYPES[f.kind]))
    cols.extend(STORED_IDENTITY_EXTRA)
    for f in _type_fields():
        cols.append((f.name, _ARROW_TYPES[f.kind]))
    return pa.schema(cols)


LINKS_SCHEMA = pa.schema(
    [
        ("identity_key", pa.string()),
        ("subject_id", pa.string()),
        ("match_probability", pa.float64()),
        ("method", pa.string()),
    ]
)


class Lake:
    """Paths and atomic writes under one lake folder. Holds no open connection."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @property
    def records_dir(self) -> Path:
        return self.root / "records"

    @property
    def quarantine_dir(self) -> Path:
        return self.root / "quarantine"

    @property
    def links_path(self) -> Path:
        return self.root / "links" / "links.parquet"

    def batch_path(self, furnisher_id: str, batch_id: str) -> Path:
        return self.records_dir / f"furnisher={furnisher_id}" / f"{batch_id}.parquet"

    def furnisher_files(self, furnisher_id: str) -> list[Path]:
        return sorted((self.records_dir / f"furnisher={furnisher_id}").glob("*.parquet"))

    def record_files(self) -> list[Path]:
        return sorted(self.records_dir.glob("furnisher=*/*.parquet"))

    def records_glob(self) -> str:
        return str(self.records_dir / "furnisher=*" / "*.parquet")

    def has_records(self) -> bool:
        return bool(self.record_files())

    def write_table_atomic(self, table: pa.Table, path: Path) -> None:
        """Write Parquet to `path` so that readers see the whole file or none."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, path)


def read_records(con, lake: Lake):
    """An Ibis table over every accepted record (empty-safe: raises if the lake is empty)."""
    files = lake.record_files()
    if not files:
        raise FileNotFoundError(f"the lake at {lake.root} holds no records yet: run ingest first")
    return con.read_parquet([str(p) for p in files], table_name="records")


def read_links(con, lake: Lake):
    """An Ibis table over the current identity links."""
    if not lake.links_path.exists():
        raise FileNotFoundError(f"no identity links at {lake.links_path}: run resolve first")
    return con.read_parquet(str(lake.links_path), table_name="links")
