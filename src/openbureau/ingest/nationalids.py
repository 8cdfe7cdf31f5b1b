"""National ids of a batch: every distinct (scheme, value) is validated once with the
catalogue's checks and turned into token and mask; what it gives (token, mask, message) is
remembered for the life of the process, so a furnisher's next monthly file, which names
mostly the same people, costs one dictionary look-up per id.

Validation is Python (python-stdnum, ~20 us per China RIC), so a batch with many new ids
sends them to worker processes (`idworker`, fed through pipes: no fork of a process running
DuckDB threads, no re-import of the caller's main module) while the caller keeps DuckDB busy
(`start`, then `result`)."""

from __future__ import annotations

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

#: What checking an id gave in this process: (token, masked, message) by (scheme, value as
#: sent), for the token key `_CACHE_KEY` only. Started afresh past `_CACHE_LIMIT` ids.
_CACHE: dict[tuple[str, str], tuple[str | None, str | None, str | None]] = {}
_CACHE_KEY: bytes | None = None
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
        self._pairs = pairs
        cache = _cache_for(key)
        self._known = [cache.get(p) for p in pairs]
        self._misses = [p for p, known in zip(pairs, self._known, strict=True) if known is None]
        self._checked: list[NationalIdCheck] = []
        self._pool: ThreadPoolExecutor | None = None
        self._futures: list[Future] = []
        misses = self._misses
        if workers > 1 and len(misses) >= POOL_THRESHOLD:
            self._pool = ThreadPoolExecutor(workers)
            size = -(-len(misses) // workers)
            for i in range(0, len(misses), size):
                chunk = misses[i : i + size]
                self._futures.append(self._pool.submit(_check_in_worker, chunk, key))
        else:
            self._checked = check_national_ids(misses)

    def result(self) -> pa.Table:
        """One row per pair: scheme, raw, token (None if invalid), masked, message (None if
        valid). `raw` stays in the caller's memory: it is only for joining back."""
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
        fresh = {
            pair: (tok, found.masked, found.message)
            for pair, (found, tok) in zip(self._misses, outcomes, strict=True)
        }
        _remember(key, fresh)
        rows = [
            known if known is not None else fresh[pair]
            for pair, known in zip(self._pairs, self._known, strict=True)
        ]
        schemes, raws = (list(c) for c in zip(*self._pairs, strict=True)) if rows else ([], [])
        tokens, masks, messages = (list(c) for c in zip(*rows, strict=True)) if rows else ([],) * 3
        return pa.table(
            {"scheme": schemes, "raw": raws, "token": tokens, "masked": masks, "message": messages},
            schema=IDS_SCHEMA,
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


def _cache_for(key: bytes) -> dict:
    """The remembered ids of token key `key`: a process serves one bureau, so another key
    starts the memory afresh rather than keep two."""
    global _CACHE_KEY
    if key != _CACHE_KEY:
        _CACHE.clear()
        _CACHE_KEY = key
    return _CACHE


def _remember(key: bytes, fresh: dict) -> None:
    cache = _cache_for(key)
    if len(cache) + len(fresh) > _CACHE_LIMIT:
        cache.clear()
    if len(fresh) <= _CACHE_LIMIT:
        cache.update(fresh)


def forget() -> None:
    """Forget every id this process has checked (a benchmark's cold start)."""
    _CACHE.clear()


def start(pairs: list[tuple[str, str]], key: bytes, workers: int) -> PendingIds:
    """Begin checking the distinct `pairs` (scheme, value) of a batch."""
    return PendingIds(pairs, key, workers)
