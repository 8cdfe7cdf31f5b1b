"""A server's background compaction of the serving runs (storage/serving.py).

The CLI's `ingest` compacts what it added, but files uploaded through `POST /v1/batches` (or
added by any process that does not compact) are read whole by every report until the next
compaction. A server process therefore keeps one thread that compacts:

- soon after an upload (`nudge`): it waits `settle` seconds first, so that a furnisher's
  burst of files becomes one run rather than one run each;
- every `interval` seconds otherwise, for files other processes added.

Either way it compacts only when there is something to do (files no run covers, or runs
that are stale or missing), never on a lake without records. Compaction takes the lake's
maintenance lock, so several server processes, a CLI compaction and a purge take turns; a
compaction that fails is logged and tried again at the next turn, and reports meanwhile read
the uncovered files (slower, never wrong)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from openbureau.storage import serving
from openbureau.storage.lake import Lake

log = logging.getLogger(__name__)


def needs_compaction(lake: Lake) -> bool:
    """Whether a compaction would add or rebuild anything: the lake has records and some
    file is not covered by a run, or the runs cannot be used (missing or stale)."""
    if not lake.has_records():
        return False
    current = serving.plan(lake)
    return current is None or bool(current.delta)


class Compactor:
    """One background thread compacting `lake` when there is work (see the module)."""

    def __init__(
        self,
        lake: Lake,
        *,
        interval: float,
        settle: float = 2.0,
        compact: Callable[[Lake], object] = serving.compact,
        pending: Callable[[Lake], bool] = needs_compaction,
    ) -> None:
        if interval <= 0:
            raise ValueError("the compaction interval must be positive")
        self.lake = lake
        self.interval = interval
        self.settle = settle
        self._compact = compact
        self._pending = pending
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: Turns taken (whether or not there was work), compactions done and failed.
        self.checks = 0
        self.done = 0
        self.failed = 0

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the compactor is already running")
        self._thread = threading.Thread(target=self._run, name="openbureau-compactor", daemon=True)
        self._thread.start()

    def nudge(self) -> None:
        """Files were added: compact once they have settled."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the compaction under way, if any (waiting up to `timeout` seconds; the
        thread is a daemon, so a process that exits does not wait for it longer)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            nudged = self._wake.wait(self.interval)
            if self._stop.is_set():
                return
            if nudged and self._stop.wait(self.settle):  # let a burst of uploads settle
                return
            self._wake.clear()
            self.run_once()

    def run_once(self) -> bool:
        """Compact if there is work; True when a compaction ran and succeeded. Never raises:
        a failure is logged and counted, and the next turn tries again."""
        self.checks += 1
        try:
            if not self._pending(self.lake):
                return False
            summary = self._compact(self.lake)
        except Exception:  # noqa: BLE001 - the thread must outlive a failed compaction
            self.failed += 1
            log.exception(
                "background compaction of the serving runs failed; reports read the new "
                "files whole until it succeeds (or run `openbureau compact`)"
            )
            return False
        self.done += 1
        log.info("serving runs compacted in the background: %s", _describe(summary))
        return True


def _describe(summary: object) -> str:
    to_dict = getattr(summary, "to_dict", None)
    return str(to_dict() if callable(to_dict) else summary)
