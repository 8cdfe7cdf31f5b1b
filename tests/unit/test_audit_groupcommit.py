"""Group commit: every caller's work committed before it returns, many callers' work in one
transaction, and a failed transaction reported to each caller whose work it held."""

import threading
import time

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, func, select

from openbureau.audit.groupcommit import AuditNotRecorded, GroupCommit, group_for

metadata = MetaData()
items = Table("items", metadata, Column("n", Integer, primary_key=True))


@pytest.fixture
def engine(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'g.sqlite'}")
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def _count(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(items)).scalar_one()


def test_concurrent_callers_share_transactions_and_each_returns_committed(engine):
    groups: list[int] = []
    seen_committed = []

    def write(conn, works):
        groups.append(len(works))
        time.sleep(0.01)  # a slow commit: callers arriving meanwhile queue up
        conn.execute(items.insert(), [{"n": n} for n in works])

    group = GroupCommit(engine, write)
    start = threading.Barrier(20)

    def caller(n: int) -> None:
        start.wait()
        group.submit(n)
        with engine.connect() as conn:  # committed, so visible to another connection
            found = conn.execute(select(items.c.n).where(items.c.n == n)).first()
        seen_committed.append(found is not None)

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert _count(engine) == 20 and sum(groups) == 20
    assert all(seen_committed) and len(seen_committed) == 20
    assert max(groups) > 1, f"no two callers ever shared a transaction: {groups}"


def test_a_failed_transaction_fails_its_callers_and_no_later_ones(engine):
    def write(conn, works):
        conn.execute(items.insert(), [{"n": n} for n in works])
        if -1 in works:
            raise RuntimeError("disk full")

    group = GroupCommit(engine, write)
    with pytest.raises(AuditNotRecorded) as caught:
        group.submit(-1)
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert _count(engine) == 0  # rolled back whole
    group.submit(5)
    assert _count(engine) == 1


def test_one_group_per_engine(engine):
    def write(conn, works):
        pass

    assert group_for(engine, write) is group_for(engine, write)


def test_a_bad_item_fails_only_its_own_caller_when_its_group_is_retried_item_by_item(engine):
    attempts: list[list[int]] = []

    def write(conn, works):
        attempts.append(list(works))
        conn.execute(items.insert(), [{"n": n} for n in works])
        if -1 in works:
            raise RuntimeError("bad item")

    group = GroupCommit(engine, write)
    entered, release = threading.Event(), threading.Event()
    original = group.write

    def held_first(conn, works):
        # the first leader waits inside its transaction, so the others queue into one group
        if not attempts:
            entered.set()
            assert release.wait(10)
        original(conn, works)

    group.write = held_first
    outcome: dict[int, str] = {}

    def caller(n: int) -> None:
        try:
            group.submit(n)
            outcome[n] = "ok"
        except AuditNotRecorded:
            outcome[n] = "failed"

    first = threading.Thread(target=caller, args=(100,))
    first.start()
    assert entered.wait(10)
    others = [threading.Thread(target=caller, args=(n,)) for n in (1, -1, 2)]
    for t in others:
        t.start()
    deadline = time.monotonic() + 10
    while len(group._queue) < 3 and time.monotonic() < deadline:
        time.sleep(0.001)
    assert len(group._queue) == 3
    release.set()
    for t in [first, *others]:
        t.join()
    assert outcome == {100: "ok", 1: "ok", -1: "failed", 2: "ok"}
    assert _count(engine) == 3
    assert sorted(len(a) for a in attempts) == [1, 1, 1, 1, 3]  # the group, then one by one
