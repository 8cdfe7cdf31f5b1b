"""The foundation ledger: furnishers, batches, subjects, subject keys, models, scores, runs.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "furnishers",
        sa.Column("furnisher_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "batches",
        sa.Column("batch_id", sa.String(40), primary_key=True),
        sa.Column(
            "furnisher_id",
            sa.String(64),
            sa.ForeignKey("furnishers.furnisher_id"),
            nullable=False,
        ),
        sa.Column("file_name", sa.String(500), nullable=False),
        sa.Column("file_format", sa.String(16), nullable=False),
        sa.Column("checksum", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rows_total", sa.Integer, nullable=False),
        sa.Column("rows_accepted", sa.Integer, nullable=False),
        sa.Column("rows_rejected", sa.Integer, nullable=False),
        sa.Column("rows_duplicate", sa.Integer, nullable=False),
        sa.Column("rejected_by_rule", sa.JSON, nullable=False),
        sa.Column("error", sa.String(2000)),
        sa.Column("lake_path", sa.String(500)),
        sa.Column("quarantine_path", sa.String(500)),
    )
    op.create_index("ix_batches_furnisher_checksum", "batches", ["furnisher_id", "checksum"])
    op.create_table(
        "subjects",
        sa.Column("subject_id", sa.String(24), primary_key=True),
        sa.Column("subject_kind", sa.String(16), nullable=False),
        sa.Column("display_name", sa.String(300), nullable=False),
        sa.Column("national_id_masked", sa.String(40)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("merged_into", sa.String(24)),
    )
    op.create_table(
        "subject_keys",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("subject_id", sa.String(24), nullable=False),
    )
    op.create_index("ix_subject_keys_subject_id", "subject_keys", ["subject_id"])
    op.create_table(
        "models",
        sa.Column("model_version", sa.String(64), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("train_as_of", sa.Date, nullable=False),
        sa.Column("validate_as_of", sa.Date),
        sa.Column("artefact_path", sa.String(500), nullable=False),
        sa.Column("metrics", sa.JSON, nullable=False),
        sa.Column("champion", sa.Boolean, nullable=False),
    )
    op.create_table(
        "scores",
        sa.Column("subject_id", sa.String(24), primary_key=True),
        sa.Column("as_of", sa.Date, primary_key=True),
        sa.Column("model_version", sa.String(64), primary_key=True),
        sa.Column("scorable", sa.Boolean, nullable=False),
        sa.Column("score", sa.Integer),
        sa.Column("not_scorable_reason", sa.String(300)),
        sa.Column("pillar_commercial", sa.Float),
        sa.Column("pillar_judicial", sa.Float),
        sa.Column("pillar_societal", sa.Float),
        sa.Column("pillar_government", sa.Float),
        sa.Column("reasons", sa.JSON, nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "runs",
        sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    for table in ("runs", "scores", "models", "subject_keys", "subjects", "batches", "furnishers"):
        op.drop_table(table)
