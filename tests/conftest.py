"""Shared fixtures: a fresh bureau home per test; ledgers on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from openbureau.bootstrap import Bureau, build_bureau
from openbureau.config import Settings

# A served app compacts the lake's serving runs in a background thread (api/app.py). Tests
# keep the lake as each test leaves it: the compactor runs only where a test turns it on
# (tests/integration/test_compactor.py), by passing compact_seconds to its Settings.
os.environ.setdefault("OPENBUREAU_COMPACT_SECONDS", "0")


@pytest.fixture
def bureau(tmp_path) -> Bureau:
    """A bureau whose home (lake and SQLite ledger) lives under the test's tmp_path."""
    return build_bureau(Settings(home=tmp_path / "home", environment="test"))


POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _postgres_answers() -> bool:
    from sqlalchemy import create_engine, text

    engine = create_engine(POSTGRES_URL)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - any failure means "not up yet"
        return False
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The local PostgreSQL server's test database, started first if it is down."""
    import glob
    import subprocess
    import time

    if not _postgres_answers():
        versions = sorted(p.rsplit("/", 1)[1] for p in glob.glob("/etc/postgresql/*"))
        assert versions, "PostgreSQL is not installed (/etc/postgresql is empty)"
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"],
            check=False,
        )
        deadline = time.monotonic() + 30
        while not _postgres_answers():
            assert time.monotonic() < deadline, "PostgreSQL did not start within 30 s"
            time.sleep(0.5)
    return POSTGRES_URL


# --- the ledger on both databases ----------------------------------------------------------
#
# Tests that take `ledger_url` (one ledger per test module) or `fresh_ledger_url` (one per
# test) run once on SQLite and once on PostgreSQL. A PostgreSQL ledger is a schema of its own
# in the `test` database (search_path in the URL), dropped afterwards.

LEDGER_BACKENDS = ["sqlite", "postgresql"]


@contextmanager
def _new_ledger(backend: str, folder: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'ledger.sqlite'}"
        return
    from sqlalchemy import create_engine, text

    base = request.getfixturevalue("postgres_url")
    schema = f"ledger_{secrets.token_hex(6)}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text("SET lock_timeout = '10s'"))
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="module", params=LEDGER_BACKENDS)
def ledger_backend(request) -> str:
    """ "sqlite" or "postgresql": the modules that use a ledger fixture run on each."""
    return request.param


@pytest.fixture(scope="module")
def ledger_url(ledger_backend, tmp_path_factory, request) -> Iterator[str]:
    """A fresh, empty ledger for the test module, on each backend."""
    with _new_ledger(ledger_backend, tmp_path_factory.mktemp("ledger"), request) as url:
        yield url


@pytest.fixture
def fresh_ledger_url(ledger_backend, tmp_path, request) -> Iterator[str]:
    """A fresh, empty ledger for one test, on each backend."""
    with _new_ledger(ledger_backend, tmp_path, request) as url:
        yield url


@pytest.fixture
def postgres_ledger_url(tmp_path, request) -> Iterator[str]:
    """A fresh, empty ledger for one test, on PostgreSQL only (for what only it can do:
    several processes serving one ledger)."""
    with _new_ledger("postgresql", tmp_path, request) as url:
        yield url
