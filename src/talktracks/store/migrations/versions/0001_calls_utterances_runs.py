"""calls, utterances and pipeline runs

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calls",
        sa.Column("call_id", sa.String(200), primary_key=True),
        sa.Column("rep_id", sa.String(200), index=True),
        sa.Column("deal_id", sa.String(200), index=True),
        sa.Column("started_at", sa.DateTime()),
        sa.Column("channels", sa.String(16), nullable=False),
        sa.Column("recording", sa.Text()),
        sa.Column("content_hash", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.Column("duration", sa.Float()),
        sa.Column("language", sa.String(16)),
        sa.Column("asr_model", sa.String(200)),
        sa.Column("asr_model_hash", sa.String(64)),
        sa.Column("processing_seconds", sa.Float()),
        sa.Column("processed_at", sa.DateTime()),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "utterances",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "call_id",
            sa.String(200),
            sa.ForeignKey("calls.call_id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("speaker", sa.String(16), nullable=False),
        sa.Column("start", sa.Float(), nullable=False),
        sa.Column("end", sa.Float(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("confidence", sa.Float()),
        sa.Column("words", sa.JSON()),
        sa.UniqueConstraint("call_id", "idx", name="uq_utterances_call_idx"),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("discovered", sa.Integer(), nullable=False),
        sa.Column("processed", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("no_speech", sa.Integer(), nullable=False),
        sa.Column("audio_seconds", sa.Float(), nullable=False),
        sa.Column("warnings", sa.JSON()),
        sa.Column("error", sa.Text()),
        sa.Column("flow_run_id", sa.String(64)),
    )


def downgrade() -> None:
    op.drop_table("runs")
    op.drop_table("utterances")
    op.drop_table("calls")
