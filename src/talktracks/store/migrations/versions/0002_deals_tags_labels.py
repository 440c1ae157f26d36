"""deals from the CRM, behaviour tags and labels

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deals",
        sa.Column("deal_id", sa.String(200), primary_key=True),
        sa.Column("outcome", sa.String(8), nullable=False),
        sa.Column("amount", sa.Float()),
        sa.Column("closed_at", sa.Date()),
        sa.Column("attributes", sa.JSON()),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "tags",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "utterance_id",
            sa.Integer(),
            sa.ForeignKey("utterances.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column(
            "call_id",
            sa.String(200),
            sa.ForeignKey("calls.call_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("behaviour", sa.String(64), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("evidence_start", sa.Integer(), nullable=False),
        sa.Column("evidence_end", sa.Integer(), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
    )
    op.create_index("ix_tags_call_behaviour", "tags", ["call_id", "behaviour"])
    op.create_table(
        "labels",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "utterance_id",
            sa.Integer(),
            sa.ForeignKey("utterances.id", ondelete="SET NULL"),
            index=True,
        ),
        sa.Column("call_id", sa.String(200), index=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("speaker", sa.String(16), nullable=False),
        sa.Column("behaviour", sa.String(64), nullable=False),
        sa.Column("value", sa.Boolean(), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("labels")
    op.drop_index("ix_tags_call_behaviour", table_name="tags")
    op.drop_table("tags")
    op.drop_table("deals")
