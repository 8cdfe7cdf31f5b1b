"""The Alembic migrations build exactly the schema the code declares (storage/ledger.py)."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from openbureau.storage.ledger import metadata
from openbureau.storage.migrate import current_revision, head_revision, upgrade


def test_migrations_match_the_declared_tables(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_upgrade_is_idempotent(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    upgrade(engine)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
