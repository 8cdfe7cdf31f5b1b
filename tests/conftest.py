"""Shared fixtures: a fresh bureau home per test."""

from __future__ import annotations

import pytest

from openbureau.bootstrap import Bureau, build_bureau
from openbureau.config import Settings


@pytest.fixture
def bureau(tmp_path) -> Bureau:
    """A bureau whose home (lake and SQLite ledger) lives under the test's tmp_path."""
    return build_bureau(Settings(home=tmp_path / "home", environment="test"))
