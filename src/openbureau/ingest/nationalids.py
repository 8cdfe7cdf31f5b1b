"""National ids of a batch: every distinct (scheme, value) is validated once with the
catalogue's checks and turned into token and mask; what it gives (token, mask, message) is
remembered for the life of the process in a table of the ingest's in-memory DuckDB
database (`MEMORY`, one row per id and token key), so a furnisher's next monthly file, which
names mostly the same people, finds its known ids with one join instead of one Python
look-up each, and only the ids no batch has brought before reach Python.

Validation is Python (python-stdnum, ~20 us per China RIC), so a batch with many new ids
sends them to worker processes (`idworker`, fed through pipes: no fork of a process running
DuckDB threads, no re-import of the caller's main module) while the caller keeps DuckDB busy
(`start`, then `result`).

The batch's cursor works in its own schema (ingest/service.py); `start` fills its tables
`id_pairs` (the batch's distinct ids) and `ids` (scheme, raw, token, masked, message: one row
per pair once `result` has returned). The raw values stay in the process's memory: they are
only for joining back, and never written anywhere."""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import subprocess
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor

import duckdb
import pyarrow as pa

from openbureau.catalogue.identifiers import SCHEMES, token
from openbureau.ingest.rules import NationalIdCheck, check_and_token, check_national_ids

_log = logging.getLogger(__name__)

#: What checking an id gave in this process, by token key (`key_id`): a table of the
#: database's own schema, shared by the batches' cursors. Emptied past `_CACHE_LIMIT` ids.
MEMORY = "memory.main.checked_ids"
_CACHE_LIMIT = 2_000_000
#: Appends to `MEMORY` (and its creation) one at a time, so no id is held twice.
_MEMORY_LOCK = threading.Lock()
#: Fewer new ids than this are checked in-process: a worker costs ~0.2 s to start.
POOL_THRESHOLD = 20_000

IDS_SCHEMA = pa.schema(
    [
        ("scheme", pa.string()),
        ("raw", pa.string()),
        ("token", pa.string()),
        ("masked", pa.string()),
        ("message", pa.string()),
    ]
)


def key_id(key: bytes) -> str:
    """A name for a token key that does not reveal it (the memory's rows are kept per key,
    so two bureaus served by one process never share a token)."""
    return hashlib.sha256(b"openbureau.national-id-memory:" + key).hexdigest()[:16]


class PendingIds:
    """Checks under way for one batch; `result()` waits and completes table `ids`."""

    def __init__(
        self, con: duckdb.DuckDBPyConnection, misses: list[tuple[str, str]], key: bytes,
        workers: int,
    ) -> None:  # fmt: skip
        self._con = con
        self._key = key
        self._misses = misses
        self._checked: list[NationalIdCheck] = []
        self._pool: ThreadPoolExecutor | None = None
        self._futures: list[Future] = []
        if workers > 1 and len(misses) >= POOL_THRESHOLD:
            self._pool = ThreadPoolExecutor(workers)
            size = -(-len(misses) // workers)
            for i in range(0, len(misses), size):
                chunk = misses[i : i + size]
                self._futures.append(self._pool.submit(_check_in_worker, chunk, key))
        else:
            self._checked = check_national_ids(misses)

    def result(self) -> None:
        """Wait for the checks; add the new ids to table `ids` and to the process's memory.
        `ids` then has one row per pair: token None if invalid, message None if valid."""
        key = self._key
        try:
            if self._futures:
                outcomes = [o for future in self._futures for o in future.result()]
            else:
                outcomes = [
                    (f, token(key, scheme, f.compact) if f.compact else None)
                    for (scheme, _), f in zip(self._misses, self._checked, strict=True)
                ]
        finally:
            if self._pool is not None:
                self._pool.shutdown()
        if not self._misses:
            return
        schemes, raws = (list(c) for c in zip(*self._misses, strict=True))
        fresh = pa.table(
            {
                "scheme": schemes,
                "raw": raws,
                "token": [t for _, t in outcomes],
                "masked": [f.masked for f, _ in outcomes],
                "message": [f.message for f, _ in outcomes],
            },
            schema=IDS_SCHEMA,
        )
        con = self._con
        con.register("fresh_ids", fresh)
        try:
            con.execute("INSERT INTO ids SELECT * FROM fresh_ids")
            _remember(con, key_id(key), len(self._misses))
        finally:
            con.unregister("fresh_ids")


def _remember(con: duckdb.DuckDBPyConnection, kid: str, n: int) -> None:
    """Add registered view `fresh_ids` to the memory: ids another batch added meanwhile are
    kept once; another key's rows go (a process serves one bureau); past the limit the
    memory starts afresh."""
    if n > _CACHE_LIMIT:
        return
    with _MEMORY_LOCK:
        held = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE key_id <> ?) FROM {MEMORY}", [kid]
        ).fetchone()
        if held[1] or held[0] + n > _CACHE_LIMIT:
            con.execute(f"DELETE FROM {MEMORY}")
        con.execute(
            f"""
            INSERT INTO {MEMORY}
            SELECT ? AS key_id, f.* FROM fresh_ids f
            ANTI JOIN (SELECT scheme, raw FROM {MEMORY} WHERE key_id = ?) m USING (scheme, raw)
            """,
            [kid, kid],
        )


def _check_in_worker(
    pairs: list[tuple[str, str]], key: bytes
) -> list[tuple[NationalIdCheck, str | None]]:
    """check_and_token in a fresh interpreter; in this process if that fails."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    try:
        done = subprocess.run(
            [sys.executable, "-m", "openbureau.ingest.idworker"],
            input=pickle.dumps((pairs, key), protocol=pickle.HIGHEST_PROTOCOL),
            capture_output=True,
            check=True,
            env=env,
        )
        return [(NationalIdCheck(c, m, e), t) for c, m, e, t in pickle.loads(done.stdout)]
    except (OSError, subprocess.CalledProcessError, pickle.UnpicklingError, EOFError) as exc:
        _log.warning("national-id worker failed (%s); checking in-process", type(exc).__name__)
        return check_and_token(pairs, key)


def _create_memory(con: duckdb.DuckDBPyConnection) -> None:
    with _MEMORY_LOCK:
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {MEMORY} (key_id VARCHAR, scheme VARCHAR, "
            "raw VARCHAR, token VARCHAR, masked VARCHAR, message VARCHAR)"
        )


def forget(con: duckdb.DuckDBPyConnection) -> None:
    """Forget every id the database of `con` has checked (a benchmark's cold start)."""
    _create_memory(con)
    with _MEMORY_LOCK:
        con.execute(f"DELETE FROM {MEMORY}")


def held(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """The (scheme, raw) pairs the memory holds, in order (for tests)."""
    _create_memory(con)
    return con.execute(f"SELECT scheme, raw FROM {MEMORY} ORDER BY ALL").fetchall()


def start(con: duckdb.DuckDBPyConnection, source: str, key: bytes, workers: int) -> PendingIds:
    """Begin checking the national ids of view `source`: fill `id_pairs` and, from the
    memory, `ids` with the ids already known; start checking the others."""
    _create_memory(con)
    con.execute(
        f"CREATE TABLE id_pairs AS SELECT DISTINCT national_id_scheme AS scheme, "
        f"national_id AS raw FROM {source} "
        "WHERE national_id IS NOT NULL AND list_contains(?::VARCHAR[], national_id_scheme)",
        [list(SCHEMES)],
    )
    kid = key_id(key)
    known = f"(SELECT * FROM {MEMORY} WHERE key_id = ?)"
    con.execute(
        f"CREATE TABLE ids AS SELECT p.scheme, p.raw, m.token, m.masked, m.message "
        f"FROM id_pairs p JOIN {known} m USING (scheme, raw)",
        [kid],
    )
    misses = con.execute(
        "SELECT scheme, raw FROM id_pairs ANTI JOIN ids USING (scheme, raw)"
    ).fetchall()
    return PendingIds(con, misses, key, workers)
