"""Shared fixtures: a fresh bureau home per test."""

from __future__ import annotations

import pytest

from openbureau.bootstrap import Bureau, build_bureau
from openbureau.config import Settings


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
