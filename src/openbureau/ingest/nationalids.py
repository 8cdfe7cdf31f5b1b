"""National ids of a batch: every distinct (scheme, value) is validated once with the
catalogue's checks, remembered for the life of the process, and turned into token and mask.

Validation is Python (python-stdnum, ~20 us per China RIC), so a batch with many new ids
sends them to worker processes (`idworker`, fed through pipes: no fork of a process running
DuckDB threads, no re-import of the caller's main module) while the caller keeps DuckDB busy
(`start`, then `result`)."""

from __future__ import annotations

import functools
import logging
import os
import pickle
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor

import pyarrow as pa

from openbureau.catalogue.identifiers import token
from openbureau.ingest.rules import NationalIdCheck, check_and_token, check_national_ids

_log = logging.getLogger(__name__)

#: Checked ids of this process, by (scheme, value as sent). Cleared when it grows too big.
_CACHE: dict[tuple[str, str], NationalIdCheck] = {}
_CACHE_LIMIT = 2_000_000
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


class PendingIds:
    """Checks under way for one batch; `result()` waits and returns the ids table."""

    def __init__(self, pairs: list[tuple[str, str]], key: bytes, workers: int) -> None:
        self._key = key
        self._found = {p: _CACHE[p] for p in pairs if p in _CACHE}
        self._tokens: dict[tuple[str, str], str | None] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._futures: list[tuple[list[tuple[str, str]], Future]] = []
        misses = [p for p in pairs if p not in self._found]
        if workers > 1 and len(misses) >= POOL_THRESHOLD:
            self._pool = ThreadPoolExecutor(workers)
            size = -(-len(misses) // workers)
            for i in range(0, len(misses), size):
                chunk = misses[i : i + size]
                self._futures.append((chunk, self._pool.submit(_check_in_worker, chunk, key)))
        else:
            self._found.update(zip(misses, check_national_ids(misses), strict=True))

    def result(self) -> pa.Table:
        """One row per pair: scheme, raw, token (None if invalid), masked, message (None if
        valid). `raw` stays in the caller's memory: it is only for joining back."""
        try:
            for chunk, future in self._futures:
                for pair, (found, tok) in zip(chunk, future.result(), strict=True):
                    self._found[pair] = found
                    self._tokens[pair] = tok
        finally:
            if self._pool is not None:
                self._pool.shutdown()
        _remember(self._found)
        key, tokens = self._key, self._tokens
        pairs = list(self._found)
        checks = list(self._found.values())
        return pa.table(
            {
                "scheme": [s for s, _ in pairs],
                "raw": [r for _, r in pairs],
                "token": [
                    tokens[p] if p in tokens else _token(key, p[0], f.compact)
                    for p, f in zip(pairs, checks, strict=True)
                ],
                "masked": [f.masked for f in checks],
                "message": [f.message for f in checks],
            },
            schema=IDS_SCHEMA,
        )


@functools.lru_cache(maxsize=1 << 20)
def _token(key: bytes, scheme: str, compact: str | None) -> str | None:
    return token(key, scheme, compact) if compact else None


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


def _remember(found: dict[tuple[str, str], NationalIdCheck]) -> None:
    if len(_CACHE) + len(found) > _CACHE_LIMIT:
        _CACHE.clear()
    if len(found) <= _CACHE_LIMIT:
        _CACHE.update(found)


def start(pairs: list[tuple[str, str]], key: bytes, workers: int) -> PendingIds:
    """Begin checking the distinct `pairs` (scheme, value) of a batch."""
    return PendingIds(pairs, key, workers)
