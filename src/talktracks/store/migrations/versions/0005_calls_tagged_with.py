"""calls.tagged_with: which model's machine tags a call carries, even when it found none

Without it the nightly catch-up could only ask "does the call have a tag from the current
model?", so every call on which the model found nothing was re-tagged every night.
Backfill: a call whose machine tags all come from one model version gets that version; any
other call (no tags, or mixed versions) stays NULL and is re-tagged once.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("tagged_with", sa.String(64), nullable=True))
    op.execute(
        "UPDATE calls SET tagged_with = ("
        " SELECT MIN(tags.model_version) FROM tags"
        " WHERE tags.call_id = calls.call_id AND tags.source IN ('rule', 'model', 'both')"
        " HAVING COUNT(DISTINCT tags.model_version) = 1)"
    )


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("tagged_with")
