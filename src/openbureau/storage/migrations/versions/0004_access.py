"""Access: parties, API keys, inquiries, consents and the subject notice outbox.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "parties",
        sa.Column("party_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("furnisher_id", sa.String(64), sa.ForeignKey("furnishers.furnisher_id")),
        sa.Column("subject_id", sa.String(24)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(16), primary_key=True),
        sa.Column("party_id", sa.String(64), sa.ForeignKey("parties.party_id"), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_api_keys_party_id", "api_keys", ["party_id"])
    op.create_table(
        "inquiries",
        sa.Column("inquiry_id", sa.String(40), primary_key=True),
        sa.Column("subject_id", sa.String(24), nullable=False),
        sa.Column("party_id", sa.String(64), sa.ForeignKey("parties.party_id"), nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("hard", sa.Boolean, nullable=False),
        sa.Column("matched_by", sa.String(16), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_inquiries_subject_occurred", "inquiries", ["subject_id", "occurred_at"])
    op.create_table(
        "consents",
        sa.Column("consent_id", sa.String(40), primary_key=True),
        sa.Column("subject_id", sa.String(24), nullable=False),
        sa.Column("party_id", sa.String(64), sa.ForeignKey("parties.party_id"), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("valid_until", sa.Date, nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("evidence", sa.String(200), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_consents_subject_id", "consents", ["subject_id"])
    op.create_table(
        "outbox",
        sa.Column("notice_id", sa.String(40), primary_key=True),
        sa.Column("subject_id", sa.String(24), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_outbox_subject_id", "outbox", ["subject_id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_subject_id", table_name="outbox")
    op.drop_table("outbox")
    op.drop_index("ix_consents_subject_id", table_name="consents")
    op.drop_table("consents")
    op.drop_index("ix_inquiries_subject_occurred", table_name="inquiries")
    op.drop_table("inquiries")
    op.drop_index("ix_api_keys_party_id", table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_table("parties")
