"""Disputes of a whole account: the group its disputes were opened in, and the account.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("disputes", sa.Column("group_id", sa.String(40)))
    op.add_column("disputes", sa.Column("account_id", sa.String(255)))
    op.create_index("ix_disputes_group_id", "disputes", ["group_id"])


def downgrade() -> None:
    op.drop_index("ix_disputes_group_id", table_name="disputes")
    with op.batch_alter_table("disputes") as batch:
        batch.drop_column("account_id")
        batch.drop_column("group_id")
