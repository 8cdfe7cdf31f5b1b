"""The lake: every accepted record, immutable, as Parquet; read through Ibis.

Layout under `<home>/lake/`:

    records/furnisher=<id>/<batch_id>.parquet  one file per accepted batch (`record_schema()`)
    quarantine/<batch_id>.csv                  rejected rows: row, column, rule, message
    links/links.parquet                        identity_key -> subject_id (from `resolve`),
                                               sorted by subject_id
    serving/                                   the records again, sorted by identity key, for
                                               reports (storage/serving.py)

A file appears only once complete (written to a temporary name, then renamed)."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from uuid import uuid4

import duckdb
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

    def maintenance_lock(self) -> AbstractContextManager[None]:
        """Held by the work that rewrites or copies files already in the lake (purge, the
        serving runs' compaction): one at a time, a second waits for the first. Ingest only
        adds files, so it does not take it."""
        return self._lock(".maintenance.lock")

    def identity_lock(self) -> AbstractContextManager[None]:
        """Held by the work that replaces the identity state (`links/`): a resolve, and the
        erasure of identities no record carries (identity/erasure.py), so that neither
        publishes a state read before the other changed it. Taken after the maintenance
        lock where both are held, never before."""
        return self._lock(".identity.lock")

    def furnisher_lock(self, furnisher_id: str) -> AbstractContextManager[None]:
        """Held by an ingest of one of the furnisher's files, from setting aside its orphaned
        files until the batch's receipt is stored: one batch of a furnisher at a time, across
        threads and processes, so a batch sees every earlier one whole (its duplicates and
        version conflicts) and is never taken for an orphan while it commits. Furnishers have
        a lock each and never wait for each other. No other lake lock is taken under it."""
        return self._lock(f".furnisher={furnisher_id}.lock")

    @contextmanager
    def _lock(self, name: str) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / name, "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def write_table_atomic(
        self, table: pa.Table, path: Path, row_group_size: int | None = None
    ) -> None:
        """Write Parquet to `path` so that readers see the whole file or none."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        pq.write_table(table, tmp, compression="zstd", row_group_size=row_group_size)
        os.replace(tmp, path)


_shared: tuple[int, duckdb.DuckDBPyConnection] | None = None
_shared_lock = threading.Lock()


@contextmanager
def lake_query() -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor on this process's one in-memory DuckDB, for short reads of the lake (a
    report's records): opening a database costs about 14 ms, a cursor about 0.3 ms. What a
    caller registers on its cursor is its own and goes with it. A forked child opens its own."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared[0] != os.getpid():
            _shared = (os.getpid(), duckdb.connect())
        cursor = _shared[1].cursor()
    try:
        yield cursor
    finally:
        cursor.close()


def read_records(con, lake: Lake):
    """An Ibis table over every accepted record (empty-safe: raises if the lake is empty).
    Columns are matched by name, so files written before the catalogue gained a column (a
    record type added since) read with that column empty."""
    files = lake.record_files()
    if not files:
        raise FileNotFoundError(f"the lake at {lake.root} holds no records yet: run ingest first")
    return con.read_parquet([str(p) for p in files], table_name="records", union_by_name=True)


def read_links(con, lake: Lake):
    """An Ibis table over the current identity links."""
    if not lake.links_path.exists():
        raise FileNotFoundError(f"no identity links at {lake.links_path}: run resolve first")
    return con.read_parquet(str(lake.links_path), table_name="links")


#: What the lake jobs (features, outcomes) never read from a record: who it names, bar its
#: kind (a job reaches the subject through `identity_key` and the links), and which row of
#: which batch it was.
NOT_READ_BY_JOBS: frozenset[str] = (frozenset(IDENTITY_KEY_COLUMNS) - {"subject_kind"}) | {
    "national_id_masked",
    "legal_representative",
    "batch_id",
    "row_number",
}
#: About what one kept value costs in DuckDB's memory, with room to spare: a number, a date, a
#: flag or a string of up to 12 bytes fits in 16 (measured: ~330 bytes a row for 29 columns).
BYTES_PER_VALUE = 16


def held_for_jobs(con, records, budget_mb: int):
    """`records` (an Ibis table over the lake, filtered as the job needs) copied once into a
    DuckDB temporary table of the columns the jobs read, when that fits in `budget_mb`
    (estimated from its row count); otherwise `records` itself, read from the files as before.

    A features or outcomes query scans the records about fifteen times (once per record type,
    and again for its superseded versions) and a scoring run makes five such queries. On a
    lake of many small batch files most of a scan is opening every file (0.16 s a scan over
    714 files on the demo's lake, 2-6 ms in memory), so holding them makes those queries
    several times faster (BENCHMARKS.md). The rows and values are the same either way."""
    if budget_mb <= 0 or con.name != "duckdb":
        return records
    keep = [c for c in records.columns if c not in NOT_READ_BY_JOBS]
    rows = int(con.execute(records.count()))
    if rows * len(keep) * BYTES_PER_VALUE > budget_mb * 2**20:
        return records
    return con.create_table(f"records_held_{uuid4().hex}", records.select(*keep), temp=True)
