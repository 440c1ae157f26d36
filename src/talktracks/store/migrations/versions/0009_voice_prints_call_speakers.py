"""call_speakers (how a mono call's voices were named, and how sure) and voice_samples (rep
voice prints as numbers with a hash, enrolled from dual-channel calls and coach swaps)

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "call_speakers",
        sa.Column(
            "call_id",
            sa.String(200),
            sa.ForeignKey("calls.call_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("n_speakers", sa.Integer, nullable=False),
        sa.Column("rep_method", sa.String(16), nullable=False),
        sa.Column("rep_confidence", sa.Float, nullable=False),
        sa.Column("extractor", sa.String(64)),
        sa.Column("centroids", sa.JSON),
        sa.Column("details", sa.JSON),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "voice_samples",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("rep_id", sa.String(200), nullable=False, index=True),
        sa.Column(
            "call_id",
            sa.String(200),
            sa.ForeignKey("calls.call_id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("extractor", sa.String(64), nullable=False),
        sa.Column("vector", sa.Text, nullable=False),
        sa.Column("windows", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("call_id", "extractor", name="uq_voice_samples_call"),
    )


def downgrade() -> None:
    op.drop_table("voice_samples")
    op.drop_table("call_speakers")
