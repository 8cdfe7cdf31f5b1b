"""An organisation's list entry names its legal representative where the list's law does.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("list_entries", sa.Column("legal_representative", sa.String(200)))


def downgrade() -> None:
    with op.batch_alter_table("list_entries") as batch:
        batch.drop_column("legal_representative")
