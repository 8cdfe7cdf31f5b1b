"""Group commit: the work of many threads written in one transaction.

Appends to the audit chain are serialised (one writer at a time, see `service.append`), so
under concurrent requests each would wait its turn for a transaction of its own, and on
SQLite the waiting is the busy handler's sleep-and-retry. Here the first thread to arrive
becomes the leader: it takes every item queued so far, writes them all in one transaction,
and wakes their threads; threads that arrived meanwhile form the next group. Each caller
returns only once its own items are committed, and gets an error if they were not: a read
that cannot be recorded is still not served, an inquiry that cannot be recorded is not
answered. When a group's transaction fails, each of its items is tried again in a
transaction of its own, so one bad item fails only its own caller."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Engine


class AuditNotRecorded(RuntimeError):
    """The transaction holding this caller's work failed (its entries are not recorded)."""


class _Item:
    __slots__ = ("done", "error", "work")

    def __init__(self, work: Any) -> None:
        self.work = work
        self.done = False
        self.error: BaseException | None = None


class GroupCommit:
    """Runs `write(conn, works)` for the queued works of many threads in one transaction."""

    def __init__(self, engine: Engine, write: Callable[[Connection, Sequence[Any]], None]) -> None:
        self.engine = engine
        self.write = write
        self._cv = threading.Condition()
        self._queue: list[_Item] = []
        self._leading = False

    def submit(self, work: Any) -> None:
        """Queue `work` and return once it is committed; raise if its transaction failed."""
        item = _Item(work)
        with self._cv:
            self._queue.append(item)
            while self._leading and not item.done:
                self._cv.wait()
            if not item.done:
                # no one is writing and our item is still queued: lead the next group
                self._leading = True
                group, self._queue = self._queue, []
        if not item.done:
            errors = self._write(group)
            with self._cv:
                for member, error in zip(group, errors, strict=True):
                    member.done, member.error = True, error
                self._leading = False
                self._cv.notify_all()
        if item.error is not None:
            raise AuditNotRecorded("the work could not be committed") from item.error

    def _write(self, group: list[_Item]) -> list[BaseException | None]:
        """Each item's error (None: committed): all in one transaction, or, if that fails,
        each in its own, so that a bad item does not take its group down with it."""
        error = self._try([i.work for i in group])
        if error is None or len(group) == 1:
            return [error] * len(group)
        return [self._try([i.work]) for i in group]

    def _try(self, works: list[Any]) -> BaseException | None:
        try:
            with self.engine.begin() as conn:
                self.write(conn, works)
        except Exception as exc:  # noqa: BLE001 - every waiter must learn of it
            return exc
        return None


_groups: weakref.WeakKeyDictionary[Engine, GroupCommit] = weakref.WeakKeyDictionary()
_groups_lock = threading.Lock()


def group_for(engine: Engine, write: Callable[[Connection, Sequence[Any]], None]) -> GroupCommit:
    """The one GroupCommit of `engine` for `write` (made on first use)."""
    with _groups_lock:
        group = _groups.get(engine)
        if group is None or group.write is not write:
            group = _groups[engine] = GroupCommit(engine, write)
        return group
