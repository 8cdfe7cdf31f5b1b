"""Disputes: a subject's contest of one record, until its furnisher answers.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "disputes",
        sa.Column("dispute_id", sa.String(40), primary_key=True),
        sa.Column("subject_id", sa.String(24), nullable=False),
        sa.Column(
            "furnisher_id",
            sa.String(64),
            sa.ForeignKey("furnishers.furnisher_id"),
            nullable=False,
        ),
        sa.Column("record_id", sa.String(255), nullable=False),
        sa.Column("record_type", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("salt", sa.String(32)),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_by", sa.String(200), nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16)),
        sa.Column("note", sa.Text),
        sa.Column("answered_at", sa.DateTime(timezone=True)),
        sa.Column("answered_by", sa.String(200)),
        sa.Column("reinserted_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_disputes_subject_id", "disputes", ["subject_id"])
    op.create_index("ix_disputes_record", "disputes", ["furnisher_id", "record_id"])
    op.create_index("ix_disputes_furnisher_status", "disputes", ["furnisher_id", "status"])
    op.create_index(
        "ux_disputes_open_record",
        "disputes",
        ["furnisher_id", "record_id"],
        unique=True,
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    )


def downgrade() -> None:
    op.drop_table("disputes")
