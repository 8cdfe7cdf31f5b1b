"""Black and red list entries, kept through due process.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_OPEN = "status IN ('proposed', 'objected', 'listed')"


def upgrade() -> None:
    op.create_table(
        "list_entries",
        sa.Column("entry_id", sa.String(40), primary_key=True),
        sa.Column("list_id", sa.String(48), nullable=False),
        sa.Column("subject_id", sa.String(24), nullable=False),
        sa.Column("furnisher_id", sa.String(64), sa.ForeignKey("furnishers.furnisher_id")),
        sa.Column("record_id", sa.String(255)),
        sa.Column("record_type", sa.String(32)),
        sa.Column("case_number", sa.String(255)),
        sa.Column("authority", sa.String(200)),
        sa.Column("decision_reference", sa.String(200)),
        sa.Column("decision_date", sa.Date),
        sa.Column("grounds", sa.Text, nullable=False),
        sa.Column("salt", sa.String(32)),
        sa.Column("term_months", sa.Integer, nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("proposed_by", sa.String(200), nullable=False),
        sa.Column("proposed_party", sa.String(64), nullable=False),
        sa.Column("objection_ends_on", sa.Date, nullable=False),
        sa.Column("objection", sa.Text),
        sa.Column("objected_at", sa.DateTime(timezone=True)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("decided_by", sa.String(200)),
        sa.Column("decision_note", sa.Text),
        sa.Column("listed_on", sa.Date),
        sa.Column("ends_on", sa.Date),
        sa.Column("removed_at", sa.DateTime(timezone=True)),
        sa.Column("removed_by", sa.String(200)),
        sa.Column("removal_reason", sa.String(24)),
        sa.Column("removal_note", sa.Text),
    )
    op.create_index("ix_list_entries_subject_id", "list_entries", ["subject_id"])
    op.create_index("ix_list_entries_record", "list_entries", ["furnisher_id", "record_id"])
    op.create_index("ix_list_entries_status", "list_entries", ["status"])
    op.create_index(
        "ux_list_entries_open",
        "list_entries",
        ["list_id", "subject_id"],
        unique=True,
        sqlite_where=sa.text(_OPEN),
        postgresql_where=sa.text(_OPEN),
    )


def downgrade() -> None:
    op.drop_table("list_entries")
