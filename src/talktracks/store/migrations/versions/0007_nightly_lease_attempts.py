"""Nightly lease and attempt bookkeeping

- `leases`: one row per exclusive job ("nightly"), so two nightlies never run over one store;
  the holder refreshes its heartbeat and a dead holder's lease expires.
- calls.attempt_started_at: set (and the attempt counted) in its own transaction before a
  recording is decoded, cleared when the attempt ends; still set on the next start means the
  process died mid-call (out-of-memory killer, decoder crash).
- calls.crashes: attempts that ended that way, for the failure reason.
- calls.last_run_id: the run that last worked on the call, so a killed run is closed with its
  real counts.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("attempt_started_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("crashes", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_run_id", sa.Integer(), nullable=True))
    leases = op.create_table(
        "leases",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(64), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("host", sa.String(255), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("acquired_at", sa.DateTime(), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
    )
    # The row always exists, so taking the lease is one conditional UPDATE, never an INSERT race.
    op.bulk_insert(leases, [{"name": "nightly"}])


def downgrade() -> None:
    op.drop_table("leases")
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("last_run_id")
        batch.drop_column("crashes")
        batch.drop_column("attempt_started_at")
