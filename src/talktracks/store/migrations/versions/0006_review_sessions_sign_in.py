"""review app: server-side sessions and sign-in throttle buckets

Sessions move from a signed cookie to rows (the cookie holds a random token, the row its
SHA-256), so sign-out, password changes and disabling a user end them for good. The sign-in
throttle moves from process memory to rows, so it holds across restarts and worker processes.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False, index=True),
        sa.Column("address", sa.String(64)),
        sa.Column("user_agent", sa.String(200)),
        sa.Column("flash", sa.Text()),
    )
    op.create_table(
        "sign_in_buckets",
        sa.Column("key", sa.String(400), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(), nullable=False, index=True),
        sa.Column("locked_until", sa.DateTime()),
    )


def downgrade() -> None:
    op.drop_table("sign_in_buckets")
    op.drop_table("review_sessions")
