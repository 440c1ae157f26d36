"""The store: migrations (including upgrading an old database), SQLite pragmas, bad URLs.

Tests taking `db_url` run twice: on a SQLite file and on a real PostgreSQL server."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text

from stores import both_stores
from talktracks.errors import StoreUnavailable
from talktracks.store import Call, Utterance, open_store
from talktracks.store.engine import alembic_config, make_engine, upgrade


def test_fresh_database_gets_every_table_and_wal(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'tt.db'}")
    tables = set(inspect(store.engine).get_table_names())
    assert {"calls", "utterances", "runs", "tags", "labels", "deals", "users", "flags"} <= tables
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


@both_stores
def test_old_database_is_upgraded_on_open_and_keeps_its_rows(db_url):
    url = db_url
    engine = make_engine(url)
    upgrade(engine, "0001")  # the schema as the first release shipped it
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO calls (call_id, channels, status, attempts, source, created_at, updated_at)"
                " VALUES ('c1', 'mono', 'done', 0, 'audio', '2026-01-01', '2026-01-01')"
            )
        )
        conn.execute(
            text(
                'INSERT INTO utterances (call_id, idx, speaker, start, "end", text)'
                " VALUES ('c1', 0, 'unknown', 0.0, 1.5, 'hello there')"
            )
        )
    assert "tags" not in inspect(engine).get_table_names()
    engine.dispose()

    store = open_store(url)  # upgrades to head automatically
    assert {"tags", "labels", "flags", "audit"} <= set(inspect(store.engine).get_table_names())
    with store.session() as s:
        assert s.get(Call, "c1").status == "done"
        assert s.scalars(select(Utterance.text)).one() == "hello there"
    head = ScriptDirectory.from_config(alembic_config(store.engine)).get_current_head()
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head
    assert head >= "0006"  # the branches' revisions are re-linked into one chain on merge
    assert {"review_sessions", "sign_in_buckets"} <= set(inspect(store.engine).get_table_names())


@both_stores
def test_tagged_with_is_backfilled_from_single_version_machine_tags(db_url):
    url = db_url
    engine = make_engine(url)
    upgrade(engine, "0004")
    with engine.begin() as conn:
        for call_id in ("one", "mixed", "none", "coach"):
            conn.execute(
                text(
                    "INSERT INTO calls (call_id, channels, status, attempts, source, created_at,"
                    " updated_at) VALUES (:c, 'mono', 'done', 0, 'audio', '2026-01-01', '2026-01-01')"
                ),
                {"c": call_id},
            )
            conn.execute(
                text(
                    'INSERT INTO utterances (call_id, idx, speaker, start, "end", text)'
                    " VALUES (:c, 0, 'rep', 0.0, 1.5, 'it is $40 a month')"
                ),
                {"c": call_id},
            )
        tags = [("one", "v1", "model"), ("one", "v1", "rule"), ("mixed", "v1", "both")]
        tags += [("mixed", "v2", "model"), ("coach", "coach", "coach")]
        for call_id, version, source in tags:
            conn.execute(
                text(
                    "INSERT INTO tags (utterance_id, call_id, behaviour, score, source,"
                    " evidence_start, evidence_end, model_version) VALUES ("
                    " (SELECT id FROM utterances WHERE call_id = :c), :c, 'price_mention', 0.9,"
                    " :s, 6, 9, :v)"
                ),
                {"c": call_id, "v": version, "s": source},
            )
    engine.dispose()
    store = open_store(url)
    with store.session() as s:
        got = {c.call_id: c.tagged_with for c in s.scalars(select(Call))}
    # Only a call whose machine tags come from one version is known to be tagged by it.
    assert got == {"one": "v1", "mixed": None, "none": None, "coach": None}


@both_stores
def test_timestamps_round_trip_as_aware_utc(db_url):
    store = open_store(db_url)
    when = datetime.fromisoformat("2026-03-01T09:30:00-05:00")
    with store.session() as s:
        s.add(
            Call(
                call_id="c",
                channels="mono",
                status="done",
                attempts=0,
                source="audio",
                started_at=when,
            )
        )
    with store.session() as s:
        got = s.get(Call, "c").started_at
    assert got == when and got.tzinfo == UTC


@both_stores
def test_deleting_a_call_cascades_to_utterances(db_url):
    store = open_store(db_url)
    with store.session() as s:
        s.add(Call(call_id="c", channels="mono", status="done", attempts=0, source="audio"))
        s.flush()
        s.add(Utterance(call_id="c", idx=0, speaker="unknown", start=0, end=1, text="hi"))
    with store.session() as s:
        s.delete(s.get(Call, "c"))
    with store.session() as s:
        assert s.scalars(select(Utterance)).all() == []


def test_unreachable_url_is_one_line_with_password_masked():
    with pytest.raises(StoreUnavailable) as info:
        open_store("postgresql+psycopg://sales:hunter2@127.0.0.1:1/talktracks")
    message = str(info.value)
    assert "hunter2" not in message and "***" in message
    assert "\n" not in message


def test_database_in_missing_unwritable_location(tmp_path):
    with pytest.raises(StoreUnavailable, match="cannot"):
        open_store("sqlite:////proc/talktracks/tt.db")


def test_read_only_database_is_refused_and_keeps_its_data(tmp_path):
    # Root bypasses file modes, so open the file read-only at the SQLite level instead.
    path = tmp_path / "ro.db"
    store = open_store(f"sqlite:///{path}")
    with store.session() as s:
        s.add(Call(call_id="keep", channels="mono", status="done", attempts=0, source="audio"))
    store.dispose()
    with pytest.raises(StoreUnavailable) as info:
        open_store(f"sqlite:///file:{path}?mode=ro&uri=true")
    assert "readonly" in str(info.value) or "read-only" in str(info.value)
    con = sqlite3.connect(path)
    assert con.execute("select call_id from calls").fetchall() == [("keep",)]
    con.close()


def test_invalid_url():
    with pytest.raises(StoreUnavailable, match="not a valid"):
        open_store("not a url at all")


@both_stores
def test_audit_trail_cannot_be_rewritten_or_deleted(db_url):
    # SQLite's RAISE(ABORT) surfaces as IntegrityError, PL/pgSQL's RAISE as ProgrammingError.
    from sqlalchemy.exc import DatabaseError

    from talktracks.store import AuditEvent

    store = open_store(db_url)
    with store.session() as s:
        s.add(AuditEvent(actor="coach1", action="reject_tag", target="tag:1"))
    for statement in ("UPDATE audit SET actor = 'someone-else'", "DELETE FROM audit"):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            store.engine.begin() as conn,
        ):
            conn.execute(text(statement))
    with store.session() as s:
        assert s.scalars(select(AuditEvent.actor)).all() == ["coach1"]
