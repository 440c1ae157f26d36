"""full-text search over utterances, snippets and playlists, rep users linked to a rep_id

Search uses the store's own engine: an FTS5 index on SQLite, kept in sync by triggers so every
write path (nightly transcription, transcript import, re-transcription that replaces a call's
utterances, cascading deletes) updates it without code of its own; on PostgreSQL a GIN index
on to_tsvector('english', text), which the database maintains itself.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

SQLITE_FTS = [
    # External-content FTS5: the text lives once, in utterances; the index holds only terms.
    "CREATE VIRTUAL TABLE utterances_fts USING fts5("
    "text, content='utterances', content_rowid='id', tokenize='porter unicode61')",
    "CREATE TRIGGER utterances_fts_insert AFTER INSERT ON utterances BEGIN "
    "INSERT INTO utterances_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER utterances_fts_delete AFTER DELETE ON utterances BEGIN "
    "INSERT INTO utterances_fts(utterances_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "END",
    "CREATE TRIGGER utterances_fts_update AFTER UPDATE OF text ON utterances BEGIN "
    "INSERT INTO utterances_fts(utterances_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO utterances_fts(rowid, text) VALUES (new.id, new.text); END",
    "INSERT INTO utterances_fts(utterances_fts) VALUES ('rebuild')",
]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in SQLITE_FTS:
            op.execute(statement)
    elif dialect == "postgresql":
        op.execute(
            "CREATE INDEX ix_utterances_text_fts ON utterances "
            "USING GIN (to_tsvector('english', text))"
        )

    op.create_table(
        "user_reps",
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("rep_id", sa.String(200), nullable=False, index=True),
    )
    op.create_table(
        "playlists",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "playlist_shares",
        sa.Column(
            "playlist_id",
            sa.Integer,
            sa.ForeignKey("playlists.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
        ),
    )
    op.create_table(
        "snippets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "playlist_id",
            sa.Integer,
            sa.ForeignKey("playlists.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column(
            "call_id",
            sa.String(200),
            sa.ForeignKey("calls.call_id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("start", sa.Float, nullable=False),
        sa.Column("end", sa.Float, nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("snippets")
    op.drop_table("playlist_shares")
    op.drop_table("playlists")
    op.drop_table("user_reps")
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS utterances_fts_{name}")
        op.execute("DROP TABLE IF EXISTS utterances_fts")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_utterances_text_fts")
