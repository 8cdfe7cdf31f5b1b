"""The lake's serving runs: copies of the records sorted by identity key, so that a report
reads one subject's records from a few row groups instead of opening every batch file.

Layout under `<home>/lake/serving/`:

    manifest.json          the runs, and for each the record files it covers (size, mtime)
    run-<id>.parquet       rows sorted by `cluster_key`, small row groups
    index-<id>.parquet     the run's (record_key, cluster_key), sorted by record

A run covers a set of record files. It holds every row of those files (the national-id
token left out, as in every report read), once per identity key that any version of the
row's record carries (`cluster_key`): a record whose correction moved it to another
identity is found from either. When a record already in an older run gets a new version,
the new run carries the older versions too, so the newest run holding a record holds all of
it.

The runs are a derived copy, never the truth:
- a record file not covered by any run (ingested since the last compaction) is read whole;
- if a covered file has changed or gone (a purge), the runs are not used at all until they
  are rebuilt: reports then read every file, slower but right;
- `compact` (after ingest, resolve and purge, `openbureau compact`, and a server's
  background thread, storage/compactor.py) brings them up to date; a purge deletes them
  before it touches a file, so no copy outlives a purged record.

`candidate_rows` returns rows that include every version of every record with a version
linked to the keys asked for (and possibly other rows, and the same row twice): the report's
rule then chooses exactly as it would over the whole lake. (The rows come with every column
of the lake's schema; a column no file has yet is there, empty.) tests/integration/test_serving.py
holds the two equal."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from openbureau.progress import Progress, no_progress
from openbureau.storage.lake import Lake, lake_query
from openbureau.storage.lookup import read_matching

log = logging.getLogger(__name__)

MANIFEST_FORMAT = 1
#: A compaction that would leave more runs than this merges them all into one.
MAX_RUNS = 8
#: Runs written at once by a compaction (one thread each; DuckDB works outside the GIL).
DEFAULT_WORKERS = min(2, os.cpu_count() or 1)
#: Share of the machine's memory that one compaction's DuckDB connections may use together
#: (DuckDB's own default is 80% for each connection: two at once could ask for 160%).
MEMORY_SHARE = 0.5
#: Rows per row group of a run's record index (two short strings a row).
INDEX_ROW_GROUP_ROWS = 8192
#: Rows per row group of a run: a subject's rows sit in one or two groups of this size.
ROW_GROUP_ROWS = 2048
CLUSTER_KEY = "cluster_key"
#: Uncovered files past this many make every report slow: say so (a server compacts what is
#: uploaded to it, storage/compactor.py, but files added by processes that do not compact
#: wait for its next turn or for `openbureau compact`).
DELTA_WARNING_FILES = 50
#: One row of the lake: its batch and its row in the furnisher's file.
ROW_ID = ("batch_id", "row_number")


@dataclass(frozen=True)
class Run:
    run_id: str
    path: str  # relative to the lake root
    files: dict[str, tuple[int, int]]  # record file (relative) -> (size, mtime_ns)
    rows: int


@dataclass(frozen=True)
class Plan:
    """What to read for a report: the runs (newest last) and the files no run covers."""

    runs: tuple[Path, ...]
    delta: tuple[Path, ...]


@dataclass
class CompactSummary:
    mode: str = "none"  # none, incremental or full
    files: int = 0
    rows: int = 0
    runs: int = 0
    seconds: float = 0.0
    reason: str = ""

    def to_dict(self) -> dict:
        return {
            "mode": self.mode,
            "files": self.files,
            "rows": self.rows,
            "runs": self.runs,
            "seconds": self.seconds,
            "reason": self.reason,
        }


def index_path(run: Path) -> Path:
    """A run's record index: (record_key, cluster_key) sorted by record_key, so the keys a
    record is filed under in that run are found from the record alone."""
    return run.with_name(run.name.replace("run-", "index-", 1))


#: A record as the index names it: furnisher and record id, joined by a unit separator.
RECORD_KEY_SQL = "furnisher_id || chr(31) || record_id"


def _record_key(furnisher_id: str, record_id: str) -> str:
    return f"{furnisher_id}\x1f{record_id}"


def serving_dir(lake: Lake) -> Path:
    return lake.root / "serving"


def manifest_path(lake: Lake) -> Path:
    return serving_dir(lake) / "manifest.json"


def _stat(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def _relative(lake: Lake, path: Path) -> str:
    return str(path.relative_to(lake.root))


def read_manifest(lake: Lake) -> list[Run] | None:
    """The runs, oldest first; None when there is no manifest (never compacted, or dropped)."""
    path = manifest_path(lake)
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    if raw.get("format") != MANIFEST_FORMAT:
        log.warning("serving manifest %s has format %r; ignoring it", path, raw.get("format"))
        return None
    return [
        Run(r["run_id"], r["path"], {k: tuple(v) for k, v in r["files"].items()}, r["rows"])
        for r in raw["runs"]
    ]


def _write_manifest(lake: Lake, runs: list[Run]) -> None:
    path = manifest_path(lake)
    body = {
        "format": MANIFEST_FORMAT,
        "runs": [
            {"run_id": r.run_id, "path": r.path, "files": r.files, "rows": r.rows} for r in runs
        ],
    }
    tmp = path.with_name(f".manifest.json.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(body, sort_keys=True))
    os.replace(tmp, path)


def _stale(lake: Lake, runs: list[Run], current: dict[str, Path]) -> str | None:
    """Why the runs cannot be used with the lake as it is now, or None if they can."""
    for run in runs:
        if not (lake.root / run.path).exists():
            return f"run {run.path} is missing"
        if not index_path(lake.root / run.path).exists():
            return f"the index of run {run.path} is missing"
        for name, stat in run.files.items():
            path = current.get(name)
            if path is None:
                return f"{name} is no longer in the lake"
            if _stat(path) != stat:
                return f"{name} has changed since it was copied"
    return None


def plan(lake: Lake) -> Plan | None:
    """The runs and the uncovered files, or None when the runs cannot be used (missing or
    stale): then every record file must be read."""
    fingerprint = _fingerprint(lake)
    cached = _plans.get(lake.root)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    runs = read_manifest(lake)
    current = {_relative(lake, p): p for p in lake.record_files()}
    result: Plan | None
    if runs is None:
        if current:
            log.warning(
                "the lake has no serving runs: reports read all %d record files; run "
                "`openbureau compact`",
                len(current),
            )
        result = None
    elif reason := _stale(lake, runs, current):
        log.warning("serving runs not used (%s): run `openbureau compact`", reason)
        result = None
    else:
        covered = {name for run in runs for name in run.files}
        result = Plan(
            runs=tuple(lake.root / run.path for run in runs),
            delta=tuple(p for name, p in sorted(current.items()) if name not in covered),
        )
        if len(result.delta) > DELTA_WARNING_FILES:
            log.warning(
                "%d record files are not in the serving runs and are read whole by every "
                "report: run `openbureau compact`",
                len(result.delta),
            )
    _plans[lake.root] = (fingerprint, result)
    return result


#: Per lake root: (fingerprint, plan). A plan is re-made whenever the manifest changes or a
#: records folder gains or loses a file. A file rewritten in place under its name (only a
#: purge does that) goes with a dropped manifest, which changes the fingerprint too.
_plans: dict[Path, tuple[tuple, Plan | None]] = {}


def _fingerprint(lake: Lake) -> tuple:
    """The manifest's identity and every record file's name: folder times alone would miss
    two changes within one tick of the file system's clock."""
    parts: list = []
    try:
        st = manifest_path(lake).stat()
        parts.append((st.st_mtime_ns, st.st_size, st.st_ino))
    except FileNotFoundError:
        parts.append(None)
    if lake.records_dir.exists():
        with os.scandir(lake.records_dir) as folders:
            for folder in sorted(f.name for f in folders if f.is_dir()):
                with os.scandir(lake.records_dir / folder) as entries:
                    names = sorted(e.name for e in entries if e.name.endswith(".parquet"))
                parts.append((folder, tuple(names)))
    return tuple(parts)


def candidate_rows(lake: Lake, keys: list[str]) -> pa.Table | None:
    """Rows that hold every version of every record with a version linked to `keys` (the
    national-id token never among them); None when the runs cannot be used."""
    current = plan(lake)
    if current is None:
        return None
    try:
        parts = [
            read_matching(run, CLUSTER_KEY, keys).drop_columns([CLUSTER_KEY])
            for run in current.runs
        ]
        if current.delta:
            parts.extend(_delta_rows(current, keys))
    except (FileNotFoundError, duckdb.IOException):
        # a compaction in another process replaced the runs, or a purge removed a file, while
        # they were being read: the files are the truth
        log.info("serving runs changed while a report read them; reading the files")
        _plans.pop(lake.root, None)
        return None
    if not parts:
        return None
    return pa.concat_tables(parts, promote_options="permissive")


def _delta_rows(current: Plan, keys: list[str]) -> list[pa.Table]:
    """The uncovered files read whole, and for the records they hold under `keys`, every
    version the runs hold (whatever key it is under): a correction that moved a record to
    these keys after the last compaction."""
    with lake_query() as con:
        delta = con.sql(
            "SELECT * EXCLUDE (national_id_token) "
            "FROM read_parquet($files, union_by_name = true, hive_partitioning = false)",
            params={"files": [str(p) for p in current.delta]},
        ).to_arrow_table()
        out = [delta]
        mine = delta.filter(pc.is_in(delta["identity_key"], value_set=pa.array(keys)))
    if mine.num_rows and current.runs:
        records = sorted(
            {
                _record_key(f, r)
                for f, r in zip(
                    mine["furnisher_id"].to_pylist(), mine["record_id"].to_pylist(), strict=True
                )
            }
        )
        for run in current.runs:
            # the keys these records are filed under in this run, then their rows
            filed = read_matching(index_path(run), "record_key", records)
            others = sorted(set(filed["cluster_key"].to_pylist()) - set(keys))
            if others:
                out.append(read_matching(run, CLUSTER_KEY, others).drop_columns([CLUSTER_KEY]))
    return out


def drop(lake: Lake) -> None:
    """Remove every run and the manifest (reports read the files until the next compact)."""
    folder = serving_dir(lake)
    manifest = manifest_path(lake)
    if manifest.exists():
        manifest.unlink()
    if folder.exists():  # runs, temporary files, and what a killed sort spilled to disk
        for path in folder.iterdir():
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
    _plans.pop(lake.root, None)


def compact(
    lake: Lake,
    *,
    full: bool = False,
    workers: int = DEFAULT_WORKERS,
    progress: Progress | None = None,
    memory_limit: str | None = None,
) -> CompactSummary:
    """Copy the record files no run covers into new runs (or, with `full`, when the runs are
    stale, or when there would be more than MAX_RUNS, every file into new runs replacing the
    rest). With `workers` > 1 a first or full compaction splits the files by furnisher into
    that many runs, written at once (a record never spans furnishers, so the runs stay
    independent); an incremental one always adds one run. Takes the
    lake's maintenance lock: one compaction or purge at a time."""
    progress = progress or no_progress
    started = time.perf_counter()
    summary = CompactSummary()
    with lake.maintenance_lock():
        files = lake.record_files()
        current = {_relative(lake, p): p for p in files}
        runs = read_manifest(lake) or []
        reason = "asked for" if full else None
        if runs and not full and (stale := _stale(lake, runs, current)):
            reason = stale
        elif runs and not full and len(runs) + 1 > MAX_RUNS:
            reason = f"{len(runs)} runs"
        if reason:
            full, runs = True, []
        covered = {name for run in runs for name in run.files}
        new = [p for name, p in sorted(current.items()) if name not in covered]
        if not new:
            if full:  # nothing in the lake: no runs at all
                drop(lake)
            summary.runs = len(runs)
            summary.seconds = round(time.perf_counter() - started, 3)
            return summary
        # several runs at once only when (re)building; an incremental one adds one run
        groups = _by_furnisher(new, workers if full or not runs else 1)
        progress("serving runs", 0, len(groups))
        older = [lake.root / r.path for r in runs]
        # DuckDB releases the GIL while it works: one thread per group of furnishers
        with ThreadPoolExecutor(max_workers=len(groups)) as pool:
            budget = split_budget(len(groups), memory_limit)
            made = list(pool.map(lambda files: _write_run(lake, files, older, budget), groups))
        kept = [*runs, *made]
        _write_manifest(lake, kept)
        _remove_unlisted(lake, kept)
        _plans.pop(lake.root, None)
        progress("serving runs", len(groups), len(groups))
    summary.mode = "full" if full else "incremental"
    summary.reason = reason or ""
    summary.files = len(new)
    summary.rows = sum(run.rows for run in made)
    summary.runs = len(kept)
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


@dataclass(frozen=True)
class Budget:
    """What each of a compaction's DuckDB connections may use, so that together they stay
    within one limit (a sort past it spills to the run folder's `.spill`)."""

    memory_bytes: int
    threads: int

    def config(self) -> dict[str, object]:
        return {
            "memory_limit": f"{max(self.memory_bytes // 2**20, 64)}MiB",
            "threads": self.threads,
        }


_UNITS = {
    "b": 1, "byte": 1, "bytes": 1,
    "k": 10**3, "kb": 10**3, "kilobyte": 10**3, "kilobytes": 10**3,
    "m": 10**6, "mb": 10**6, "megabyte": 10**6, "megabytes": 10**6,
    "g": 10**9, "gb": 10**9, "gigabyte": 10**9, "gigabytes": 10**9,
    "t": 10**12, "tb": 10**12, "terabyte": 10**12, "terabytes": 10**12,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
}  # fmt: skip
_AMOUNT = re.compile(r"(\d+(?:\.\d+)?|\.\d+)\s*([a-z%]*)")


def parse_bytes(text: str, machine_bytes: int | None = None) -> int:
    """An amount of memory as DuckDB's `memory_limit` takes it, in bytes: `12GB`, `12G`,
    `12 gigabytes`, `1.5GiB`, `512MB`, `100B` or `80%` (of this machine's memory,
    or of `machine_bytes`). KB, MB, GB and TB are powers of ten, KiB to TiB of two. Raises
    ValueError naming what it cannot read."""
    found = _AMOUNT.fullmatch(text.strip().lower())
    unit = found.group(2) if found else ""
    if not found or (unit != "%" and unit not in _UNITS):
        raise ValueError(f"cannot read {text!r} as an amount of memory (e.g. 12GB, 1.5GiB or 50%)")
    value = float(found.group(1))
    if unit == "%":
        if not 0 < value <= 100:
            raise ValueError(f"cannot read {text!r} as an amount of memory: a share is 0-100%")
        total = machine_bytes if machine_bytes is not None else _machine_bytes()
        amount = int(total * value / 100)
    else:
        amount = int(value * _UNITS[unit])
    if amount <= 0:
        raise ValueError(f"cannot read {text!r} as an amount of memory: it is no memory at all")
    return amount


def _machine_bytes() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def split_budget(connections: int, memory_limit: str | None = None) -> Budget:
    """One connection's share of `memory_limit` (default: MEMORY_SHARE of this machine's
    memory) and of the cores, for `connections` working at once."""
    connections = max(1, connections)
    if memory_limit:
        total = parse_bytes(memory_limit)
    else:
        total = int(_machine_bytes() * MEMORY_SHARE)
    cores = os.cpu_count() or 1
    return Budget(memory_bytes=total // connections, threads=max(1, cores // connections))


def _by_furnisher(files: list[Path], groups: int) -> list[list[Path]]:
    """`files` in at most `groups` lists, each furnisher's files in one list, the lists about
    equal in bytes (the largest furnisher first into the lightest list)."""
    by: dict[str, list[Path]] = {}
    for path in files:
        by.setdefault(path.parent.name, []).append(path)
    sizes = {name: sum(p.stat().st_size for p in paths) for name, paths in by.items()}
    bins: list[tuple[int, list[Path]]] = [(0, []) for _ in range(max(1, min(groups, len(by))))]
    for name in sorted(by, key=lambda n: -sizes[n]):
        i = min(range(len(bins)), key=lambda j: bins[j][0])
        bins[i] = (bins[i][0] + sizes[name], bins[i][1] + by[name])
    return [sorted(paths) for _, paths in bins if paths]


def _write_run(lake: Lake, files: list[Path], older: list[Path], budget: Budget) -> Run:
    """One run over `files`, carrying from `older` runs the versions of records `files` add
    to. The files' sizes and times are taken before they are read.

    Bounded in memory and disk whatever the lake's size: one sort of every row at once spills
    rows many times their compressed size (a million-person lake: more than 50 GB, and 24 GB
    of memory with two runs at once). So the rows are first copied, one furnisher at a time,
    into buckets by the start of their key (`_bucket_digits`), then each bucket is sorted
    alone and appended to the run in key order; the record index likewise, one furnisher at
    a time (its key starts with the furnisher)."""
    stats = {_relative(lake, p): _stat(p) for p in files}
    run_id = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid4().hex[:6]}"
    path = serving_dir(lake) / f"run-{run_id}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    index = index_path(path)
    index_tmp = index.with_name(f".{index.name}.tmp-{os.getpid()}")
    work = serving_dir(lake) / f"{WORK_PREFIX}{run_id}"
    work.mkdir()
    spill = serving_dir(lake) / ".spill"
    config = {"temp_directory": str(spill), **budget.config()}
    try:
        with duckdb.connect(config=config) as con:
            con.execute("SET enable_progress_bar = false")
            con.execute("SET preserve_insertion_order = false")
            in_table = _stage(con, files, older, work)
            rows = _sorted_copy(con, work, tmp, in_table)
        _concat_index(sorted(work.glob("index-*.parquet")), index_tmp)
    except BaseException:
        tmp.unlink(missing_ok=True)
        index_tmp.unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    # the index first: a run is used only once both are there under their names
    os.replace(index_tmp, index)
    os.replace(tmp, path)
    return Run(run_id, _relative(lake, path), stats, rows)


#: Work folders of a compaction under way (removed when it ends, and by the next one if a
#: compaction was killed).
WORK_PREFIX = ".work-"
#: Rows a bucket should hold at most (sorted in memory where the budget allows): the number
#: of hexadecimal key digits that name a bucket grows with the rows (identity keys are md5
#: digests, so their first digits spread the rows evenly).
BUCKET_ROWS = 2_000_000


def _bucket_digits(rows: int) -> int:
    """How many leading characters of a key name its bucket: 0 (one bucket) up to 3."""
    digits = 0
    while rows > BUCKET_ROWS * 16**digits and digits < 3:
        digits += 1
    return digits


def _stage(con, files: list[Path], older: list[Path], work: Path) -> bool:
    """Copy the rows of `files` (and the versions `older` runs hold of their records) into
    `work`, each row once per key any version of its record carries (`cluster_key`), in
    buckets by the key's first characters, one furnisher at a time (or, when there are few,
    into one temporary table, `staged`: True is returned); write each furnisher's part of
    the record index beside them."""
    everything = _read_sql(files)
    con.execute(f"CREATE TEMP VIEW lake_rows AS {everything}")
    if older:
        # versions already copied of records the new files add to; a row of an older run is
        # there once per key of its record, hence the dedupe by row (one pass over the runs)
        con.execute(
            f"""
            CREATE TEMP TABLE carried AS
            SELECT o.* EXCLUDE ({CLUSTER_KEY})
            FROM read_parquet({_sql_list(older)}, union_by_name = true) o
            SEMI JOIN (SELECT furnisher_id, record_id FROM lake_rows) n
                ON o.furnisher_id = n.furnisher_id AND o.record_id = n.record_id
            QUALIFY row_number() OVER (PARTITION BY {", ".join("o." + c for c in ROW_ID)}) = 1
            """
        )
        everything = "SELECT * FROM lake_rows UNION ALL BY NAME SELECT * FROM carried"
    columns = [(r[0], r[1]) for r in con.execute(f"DESCRIBE {everything}").fetchall()]
    total = sum(pq.read_metadata(p).num_rows for p in files)
    digits = _bucket_digits(total)
    # never an empty folder name; hexadecimal keeps the keys' order in the names' order
    # (a row without a key goes last, as the sort of one bucket puts it: NULLS LAST)
    bucket = f"coalesce('b' || hex(left({CLUSTER_KEY}, {digits})), 'z')"
    for i, furnisher_files in enumerate(_by_folder(files)):
        con.execute(f"CREATE OR REPLACE TEMP VIEW new_part AS {_read_sql(furnisher_files)}")
        source = "SELECT * FROM new_part"
        if older:
            source += (
                " UNION ALL BY NAME SELECT c.* FROM carried c SEMI JOIN new_part n"
                " ON c.furnisher_id = n.furnisher_id AND c.record_id = n.record_id"
            )
        con.execute(f"CREATE OR REPLACE TEMP VIEW part AS {source}")
        present = {r[0] for r in con.execute("DESCRIBE part").fetchall()}
        # every part with the run's columns in one order and type (a file may lack some)
        typed = ", ".join(
            f"CAST({'r.' + _ident(name) if name in present else 'NULL'} AS {kind}) "
            f"AS {_ident(name)}"
            for name, kind in columns
        )
        # the records some of whose versions are filed under more than one key
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE moved AS
            WITH k AS (SELECT DISTINCT furnisher_id, record_id, identity_key FROM part),
            m AS (SELECT furnisher_id, record_id FROM k GROUP BY ALL HAVING count(*) > 1)
            SELECT k.furnisher_id, k.record_id, k.identity_key AS {CLUSTER_KEY}
            FROM k SEMI JOIN m USING (furnisher_id, record_id)
            """
        )
        con.execute(
            f"""
            CREATE OR REPLACE TEMP VIEW keyed AS
            SELECT CASE WHEN m.furnisher_id IS NULL THEN r.identity_key
                        ELSE m.{CLUSTER_KEY} END AS {CLUSTER_KEY}, {typed}
            FROM part r LEFT JOIN moved m USING (furnisher_id, record_id)
            """
        )
        if not digits:  # one bucket: kept in DuckDB (which spills past its memory limit)
            verb = "INSERT INTO staged" if i else "CREATE TEMP TABLE staged AS"
            con.execute(f"{verb} SELECT * FROM keyed")
        else:
            con.execute(
                f"""
                COPY (SELECT *, {bucket} AS bucket FROM keyed)
                TO {_sql_text(work / "rows")}
                (FORMAT parquet, COMPRESSION snappy, PARTITION_BY (bucket),
                 FILENAME_PATTERN 'part-{i}-{{i}}', OVERWRITE_OR_IGNORE)
                """
            )
        con.execute(
            f"""
            COPY (
                SELECT DISTINCT {RECORD_KEY_SQL} AS record_key, {CLUSTER_KEY} FROM keyed
                ORDER BY record_key, {CLUSTER_KEY}
            ) TO {_sql_text(work / f"index-{i:05d}.parquet")} (FORMAT parquet, COMPRESSION snappy)
            """
        )
    return not digits


def _read_sql(files: list[Path]) -> str:
    return (
        f"SELECT * EXCLUDE (national_id_token) FROM read_parquet({_sql_list(files)}, "
        "union_by_name = true, hive_partitioning = false)"
    )


def _by_folder(files: list[Path]) -> list[list[Path]]:
    """`files` by furnisher (their folder), in order."""
    by: dict[Path, list[Path]] = {}
    for path in files:
        by.setdefault(path.parent, []).append(path)
    return list(by.values())


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sorted_copy(con, work: Path, target: Path, in_table: bool) -> int:
    """Each bucket of `work` (or the table `staged`) sorted by key, appended to one Parquet
    file in the buckets' (which is the keys') order, in row groups of ROW_GROUP_ROWS.
    Returns the rows written."""
    buckets = sorted((work / "rows").glob("bucket=*"), key=lambda p: p.name)
    sources = ["staged"] if in_table else [
        f"read_parquet({_sql_text(folder / '*.parquet')}, hive_partitioning = false)"
        for folder in buckets
    ]  # fmt: skip
    rows = 0
    writer: pq.ParquetWriter | None = None
    try:
        for source in sources:
            relation = con.sql(f"SELECT * FROM {source} ORDER BY {CLUSTER_KEY}")
            with relation.to_arrow_reader(batch_size=ROW_GROUP_ROWS * 64) as reader:
                for batch in reader:
                    if writer is None:
                        writer = pq.ParquetWriter(
                            target, _nullable(batch.schema), compression="zstd"
                        )
                    table = pa.Table.from_batches([batch]).cast(writer.schema)
                    writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
                    rows += batch.num_rows
        if writer is None:  # no rows at all: an empty run with the columns
            empty = con.sql("SELECT * FROM keyed LIMIT 0").to_arrow_table()
            writer = pq.ParquetWriter(target, empty.schema, compression="zstd")
    finally:
        if writer is not None:
            writer.close()
    return rows


def _nullable(schema: pa.Schema) -> pa.Schema:
    """`schema` with every field nullable: DuckDB marks a column NOT NULL in one part and not
    in another (a coalesce, a cast of NULL), and one file takes one schema."""
    return pa.schema([f.with_nullable(True) for f in schema])


def _concat_index(parts: list[Path], target: Path) -> None:
    """The furnishers' index parts (each sorted by record key, and no two sharing a
    furnisher, so no two overlapping) as one file sorted by record key."""
    first: list[tuple[str, Path]] = []
    schema = None
    for part in parts:
        meta = pq.read_metadata(part)
        schema = _nullable(meta.schema.to_arrow_schema())
        if meta.num_rows:
            head = pq.ParquetFile(part).read_row_group(0, columns=["record_key"])
            first.append((head.column(0)[0].as_py(), part))
    if schema is None:
        raise ValueError("a run's record index needs at least one part")
    with pq.ParquetWriter(target, schema, compression="zstd") as writer:
        for _, part in sorted(first):
            for batch in pq.ParquetFile(part).iter_batches(batch_size=INDEX_ROW_GROUP_ROWS * 16):
                table = pa.Table.from_batches([batch]).cast(schema)
                writer.write_table(table, row_group_size=INDEX_ROW_GROUP_ROWS)


def _sql_text(path: Path) -> str:
    """`path` as a SQL string literal (COPY TO and a view take no parameters)."""
    return "'" + str(path).replace("'", "''") + "'"


def _sql_list(paths: list[Path]) -> str:
    return "[" + ", ".join(_sql_text(p) for p in paths) + "]"


def _remove_unlisted(lake: Lake, runs: list[Run]) -> None:
    listed = {Path(r.path).name for r in runs} | {manifest_path(lake).name}
    listed |= {index_path(Path(r.path)).name for r in runs}
    for path in serving_dir(lake).iterdir():
        if path.is_file() and path.name not in listed:
            path.unlink()
        elif path.is_dir() and (path.name == ".spill" or path.name.startswith(WORK_PREFIX)):
            shutil.rmtree(path, ignore_errors=True)


__all__ = [
    "CompactSummary",
    "Plan",
    "Run",
    "candidate_rows",
    "compact",
    "drop",
    "plan",
    "read_manifest",
    "serving_dir",
]
