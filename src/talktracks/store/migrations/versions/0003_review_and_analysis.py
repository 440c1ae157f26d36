"""review app (users, flags, comments, audit) and stored analysis results

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "flags",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "call_id",
            sa.String(200),
            sa.ForeignKey("calls.call_id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("rule", sa.String(64), nullable=False, index=True),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at_seconds", sa.Float()),
        sa.Column(
            "utterance_id", sa.Integer(), sa.ForeignKey("utterances.id", ondelete="SET NULL")
        ),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("resolved_by", sa.String(200)),
        sa.Column("resolved_at", sa.DateTime()),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("dedupe_key", sa.String(400), nullable=False, unique=True),
    )
    op.create_table(
        "comments",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "call_id",
            sa.String(200),
            sa.ForeignKey("calls.call_id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column(
            "utterance_id", sa.Integer(), sa.ForeignKey("utterances.id", ondelete="SET NULL")
        ),
        sa.Column("at_seconds", sa.Float()),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(), nullable=False, index=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(400)),
        sa.Column("details", sa.JSON()),
    )
    op.create_table(
        "analysis_results",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.Column("payload", sa.JSON()),
    )


def downgrade() -> None:
    for table in ("analysis_results", "audit", "comments", "flags", "users"):
        op.drop_table(table)
