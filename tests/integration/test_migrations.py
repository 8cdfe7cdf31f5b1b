"""The Alembic migrations build exactly the schema the code declares (storage/ledger.py), on
SQLite and on PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from openbureau.storage.ledger import metadata
from openbureau.storage.migrate import current_revision, head_revision, upgrade


def test_migrations_match_the_declared_tables(fresh_ledger_url):
    engine = create_engine(fresh_ledger_url)
    assert inspect(engine).get_table_names() == []  # truly from nothing
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert diff == []


def test_upgrade_is_idempotent(fresh_ledger_url):
    engine = create_engine(fresh_ledger_url)
    upgrade(engine)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert set(metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()
