"""Identity review queue: record pairs the matcher was unsure of, and operators' decisions.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_pairs",
        sa.Column("pair_id", sa.String(40), primary_key=True),
        sa.Column("variant_l", sa.String(40), nullable=False),
        sa.Column("variant_r", sa.String(40), nullable=False),
        sa.Column("subject_l", sa.String(24)),
        sa.Column("subject_r", sa.String(24)),
        sa.Column("match_probability", sa.Float, nullable=False),
        sa.Column("evidence", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("decided_by", sa.String(200)),
    )
    op.create_index("ix_review_pairs_status", "review_pairs", ["status"])


def downgrade() -> None:
    op.drop_index("ix_review_pairs_status", table_name="review_pairs")
    op.drop_table("review_pairs")
