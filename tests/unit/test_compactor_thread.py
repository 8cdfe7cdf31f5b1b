"""The background compactor's timing and failure handling, with a fake compaction: it
compacts after a nudge once uploads settle, on its interval otherwise, only when there is
work, survives a failure, and stops promptly."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from factories import wait_until
from openbureau.storage.compactor import Compactor


class FakeLake:
    """Stands in for a Lake: the compactor only hands it to its two callables."""


class Work:
    """Files waiting (`pending`) and the compactions asked for (`calls`)."""

    def __init__(self, pending: bool = True, fail: int = 0) -> None:
        self.pending = pending
        self.fail = fail
        self.calls: list[float] = []
        self.lock = threading.Lock()

    def has_work(self, _lake) -> bool:
        return self.pending

    def compact(self, _lake) -> str:
        with self.lock:
            self.calls.append(time.monotonic())
            if self.fail:
                self.fail -= 1
                raise OSError("disk full")
        self.pending = False
        return "1 run"


@pytest.fixture
def make():
    made: list[Compactor] = []

    def build(work: Work, **kw) -> Compactor:
        kw.setdefault("interval", 3600)
        compactor = Compactor(FakeLake(), compact=work.compact, pending=work.has_work, **kw)
        compactor.start()
        made.append(compactor)
        return compactor

    yield build
    for compactor in made:
        compactor.stop()


def test_a_nudge_compacts_once_the_uploads_settle(make):
    work = Work()
    compactor = make(work, settle=0.3)
    nudged = time.monotonic()
    for _ in range(5):  # a burst of uploads: one compaction
        compactor.nudge()
    assert wait_until(lambda: compactor.done == 1)
    assert work.calls[0] - nudged >= 0.3
    time.sleep(0.5)
    assert len(work.calls) == 1 and not work.pending


def test_nothing_waiting_means_no_compaction(make):
    work = Work(pending=False)
    compactor = make(work, settle=0.0)
    compactor.nudge()
    time.sleep(0.3)
    assert work.calls == [] and compactor.done == compactor.failed == 0


def test_without_a_nudge_it_looks_on_its_interval(make):
    work = Work()
    compactor = make(work, interval=0.2, settle=0.0)
    assert wait_until(lambda: compactor.done == 1)
    work.pending = True  # another process added a file
    assert wait_until(lambda: compactor.done == 2)


def test_a_failed_compaction_is_logged_and_tried_again(make, caplog):
    work = Work(fail=1)
    with caplog.at_level(logging.ERROR, logger="openbureau.storage.compactor"):
        compactor = make(work, settle=0.0)
        compactor.nudge()
        assert wait_until(lambda: compactor.failed == 1)
    assert "background compaction of the serving runs failed" in caplog.text
    assert "OSError: disk full" in caplog.text and work.pending
    compactor.nudge()
    assert wait_until(lambda: compactor.done == 1) and not work.pending


def test_it_stops_promptly_even_while_settling(make):
    work = Work()
    compactor = make(work, settle=60.0)
    compactor.nudge()
    time.sleep(0.05)
    started = time.monotonic()
    compactor.stop()
    assert time.monotonic() - started < 5.0
    assert work.calls == []


def test_run_once_reports_whether_it_compacted():
    work = Work()
    compactor = Compactor(FakeLake(), interval=1, compact=work.compact, pending=work.has_work)
    assert compactor.run_once() is True
    assert compactor.run_once() is False  # nothing left
    assert len(work.calls) == 1


def test_the_interval_must_be_positive():
    with pytest.raises(ValueError, match="must be positive"):
        Compactor(FakeLake(), interval=0)


def test_it_starts_once(make):
    compactor = make(Work(pending=False))
    with pytest.raises(RuntimeError, match="already running"):
        compactor.start()
