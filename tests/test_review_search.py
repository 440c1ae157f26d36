"""Transcript search (SQLite FTS5 index kept in sync by triggers), the call list's filters,
the deal page, drill-down links, and `talktracks search` — over real SQLite files and HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import delete, select, text

from talktracks.ingest.transcripts import import_transcripts
from talktracks.review.team import drill_link
from talktracks.store import Call, Utterance
from talktracks.store.search import fts5_match, query_words, search_utterances
from test_review_support import (
    ReviewEnv,
    add_call,
    add_deal,
    add_tag,
    make_store,
    seed_analysis,
    seed_review,
    sign_in,
    use_cheap_argon2,
)


@pytest.fixture()
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ReviewEnv:
    use_cheap_argon2(monkeypatch)
    e = seed_review(tmp_path)
    yield e
    e.store.dispose()


def _ids(store, query: str, **kw) -> list[tuple[str, int]]:
    with store.session() as s:
        hits, total = search_utterances(s, query, **kw)
    assert total == len(hits)
    return [(h.call_id, h.idx) for h in hits]


def test_index_follows_every_write_path(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    lines = tmp_path / "calls.jsonl"

    def write(utterance_text: str) -> None:
        row = {
            "call_id": "imp-1",
            "rep_id": "rep-x",
            "deal_id": None,
            "started_at": "2025-05-01T10:00:00+00:00",
            "utterances": [
                {"speaker": "rep", "start": 0, "end": 2, "text": "Hello there."},
                {"speaker": "rep", "start": 2, "end": 5, "text": utterance_text},
            ],
        }
        lines.write_text(json.dumps(row) + "\n")
        assert import_transcripts(store, lines).imported == 1

    write("Could you introduce me to anyone who needs this? A referral helps.")
    assert _ids(store, "referrals") == [("imp-1", 1)]  # stemmed: referrals ~ referral
    write("Our price is forty dollars.")  # re-import replaces the transcript
    assert _ids(store, "referral") == []
    assert _ids(store, "dollars price") == [("imp-1", 1)]
    with store.session() as s:  # an edit in place (a correction script) is indexed too
        s.execute(text("UPDATE utterances SET text = 'We talked about solar panels' WHERE idx = 1"))
    assert _ids(store, "price") == [] and _ids(store, "solar") == [("imp-1", 1)]
    with store.session() as s:  # deleting the call cascades to its utterances and the index
        s.execute(delete(Call).where(Call.call_id == "imp-1"))
    assert _ids(store, "hello") == []
    with store.session() as s:
        assert (
            s.scalar(text("SELECT count(*) FROM utterances_fts WHERE utterances_fts MATCH 'hello'"))
            == 0
        )
    store.dispose()


def test_index_is_built_for_rows_written_before_the_migration(tmp_path: Path) -> None:
    from alembic import command

    from talktracks.store.engine import alembic_config, make_engine, upgrade

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    upgrade(engine, "0005")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO calls (call_id, channels, status, attempts, source, created_at, updated_at) VALUES ('old', 'mono', 'done', 0, 'import', '2025-01-01', '2025-01-01')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO utterances (call_id, idx, speaker, start, \"end\", text) VALUES ('old', 0, 'rep', 0, 1, 'pricing for the whole team')"
            )
        )
    upgrade(engine)
    store = make_store(tmp_path, "old.db")
    assert _ids(store, "pricing team") == [("old", 0)]
    command.downgrade(alembic_config(engine), "0005")  # and the migration undoes cleanly
    with engine.connect() as conn:
        names = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master"))}
    assert "utterances_fts" not in names and "snippets" not in names
    engine.dispose()
    store.dispose()


@pytest.mark.parametrize(
    "query",
    ['price" OR "x', "NEAR(price dollars)", "price*", "-price", "price AND", "(", '"', "col:price"],
)
def test_query_syntax_is_data_not_fts_operators(env: ReviewEnv, query: str) -> None:
    words = query_words(query)
    ids = _ids(env.store, query)
    if "price" in words and words == ["price"]:
        assert ids == []  # "price" alone occurs in no utterance of the seed
    assert fts5_match(['a"b']) == '"a""b"'


def test_operators_in_a_query_are_plain_words(env: ReviewEnv) -> None:
    assert _ids(env.store, 'dollars" seat* (') == [("c1", 2)]
    assert _ids(env.store, "dollars OR pipeline") == []  # "or" is a word every hit needs


def test_search_with_behaviour_and_call_conditions(env: ReviewEnv) -> None:
    assert _ids(env.store, "dollars seat") == [("c1", 2)]
    assert _ids(env.store, "dollars", behaviour="price_mention") == [("c1", 2)]
    assert _ids(env.store, "dollars", behaviour="referral_request") == []
    assert _ids(env.store, "pipeline", where=[Call.rep_id == "rep-bob"]) == []
    assert _ids(env.store, "") == [] and _ids(env.store, "!!!") == []


def test_call_list_filters(env: ReviewEnv) -> None:
    with env.store.session() as s:
        add_deal(s, "D2", "lost")
        utts = add_call(
            s,
            "c3",
            [("rep", 0, 3, "Would you refer a friend?")],
            rep="rep-ann",
            deal="D2",
            channels="mono",
        )
        add_tag(s, utts[0], "referral_request")
        add_call(s, "c4", [("rep", 0, 3, "Hello.")], rep="rep-ann", deal="D1")
    client = env.client()
    sign_in(client, "cora")

    def listed(query: str) -> list[str]:
        r = client.get(f"/calls?{query}")
        assert r.status_code == 200, r.text
        return [
            part.split('">')[1].split("<")[0]
            for part in r.text.split('class="call-link" href="/calls/')[1:]
        ]

    assert listed("") == ["c2", "c1", "c3", "c4"]  # newest first, then by id
    assert set(listed("rep=rep-bob")) == {"c2"}
    assert set(listed("outcome=won")) == {"c1", "c4"}
    assert set(listed("outcome=lost")) == {"c3"}
    assert set(listed("outcome=none")) == {"c2"}
    assert set(listed("has=referral_request")) == {"c3"}
    assert set(listed("lacks=price_mention")) == {"c2", "c3", "c4"}
    assert set(listed("has=price_mention&scope=deal")) == {"c1", "c4"}  # c4 is on D1 too
    assert set(listed("flag=open")) == {"c1", "c2"}
    assert set(listed("flag=none")) == {"c3", "c4"}
    assert set(listed("flag=open&rule=long_monologue")) == {"c2"}
    assert set(listed("channels=mono")) == {"c3"}
    assert set(listed("date_from=2025-04-01")) == {"c2"}
    assert set(listed("deal=D1")) == {"c1", "c4"}
    page = client.get("/calls?outcome=bogus&date_from=yesterday").text
    assert "is not one of" in page and "is not a date" in page
    # Search mode: the utterance with its moment, a link to that moment, a play button.
    page = client.get("/calls?q=refer+friend").text
    assert 'href="/calls/c3?t=0.0#u-' in page and "<mark" in page
    assert "no recording" in page  # c3 has no audio: no play button
    page = client.get("/calls?q=dollars").text
    assert 'data-src="/calls/c1/audio" data-seek="4.0"' in page


def test_deal_page_lists_calls_in_time_order_and_flags_link_to_it(env: ReviewEnv) -> None:
    from datetime import UTC, datetime

    from talktracks.store import Deal, Flag

    with env.store.session() as s:
        s.get(Deal, "D1").attributes = {"segment": "SMB", "region": "<b>EU</b>"}
        add_call(
            s,
            "c0",
            [("rep", 0, 2, "First contact.")],
            deal="D1",
            started_at=datetime(2025, 2, 1, tzinfo=UTC),
        )
        s.add(
            Flag(
                call_id="c1",
                rule="missed_referral",
                severity="medium",
                reason="Deal D1 was won, but nobody asked for a referral in any of its 2 calls; this is its last call.",
                dedupe_key="missed_referral:D1",
            )
        )
    client = env.client()
    sign_in(client, "cora")
    page = client.get("/deals/D1").text
    assert page.index(">c0<") < page.index(">c1<")  # oldest first
    assert "2 calls, oldest first" in page and "won" in page and "1,000.00" in page
    assert "SMB" in page and "&lt;b&gt;EU&lt;/b&gt;" in page
    assert "product introduction ×1" in page
    call_page = client.get("/calls/c1").text
    assert 'class="deal-link" href="/deals/D1">All calls of deal D1' in call_page
    queue = client.get("/queue").text
    assert 'class="deal-link" href="/deals/D1">See the deal' in queue
    assert client.get("/deals/nope").status_code == 404


def test_team_counts_link_to_the_calls_behind_them(env: ReviewEnv) -> None:
    seed_analysis(env.store)
    client = env.client()
    sign_in(client, "cora")
    page = client.get("/team").text
    assert '<a class="count-link" href="/calls?rep=rep-ann">12</a>' in page
    assert '<a class="count-link" href="/calls?rep=rep-bob&amp;outcome=won">2</a>' in page
    link = drill_link("effects", {"feature": "has_referral_request"}, "n_with")
    assert parse_qs(urlsplit(link).query) == {
        "has": ["referral_request"],
        "scope": ["deal"],
        "outcome": ["closed"],
    }
    assert drill_link("effects", {"feature": "early_price_mention"}, "n_with") is None
    assert drill_link("tracks", {"track": "Price → Product intro"}, "n_calls") is None
    assert drill_link("tracks", {"track": "other"}, "n_calls") is None


def test_search_command_line(env: ReviewEnv, capsys: pytest.CaptureFixture[str]) -> None:
    from talktracks.cli import main

    db = ["--db", env.store.url]
    assert main(["search", "dollars seat", *db]) == 0
    out = capsys.readouterr()
    assert out.out.splitlines() == ["c1\t0:04\trep\trep-ann\tIt is 49 dollars per seat per month."]
    assert "1 matching utterance" in out.err
    assert main(["search", "dollars", "--behaviour", "referral_request", *db]) == 0
    assert capsys.readouterr().out == ""
    assert main(["search", "dollars", "--behaviour", "bogus", *db]) == 2
    assert "unknown behaviour 'bogus'" in capsys.readouterr().err
    assert main(["search", "pipeline", "--rep", "rep-bob", *db]) == 0
    assert capsys.readouterr().out == ""
    assert main(["search", "?!", *db]) == 2
    assert "has no words" in capsys.readouterr().err
    # The real entry point, once, in a fresh interpreter.
    out = subprocess.run(
        [sys.executable, "-m", "talktracks", "search", "pipeline", *db],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0 and out.stdout.startswith("c1\t0:07\trep\trep-ann\tOur platform")


def test_postgresql_full_text_search_uses_its_gin_index(pg_url) -> None:
    """The PostgreSQL branch against the suite's real PostgreSQL server (a fresh database)."""
    url = pg_url
    from alembic import command

    from talktracks.store.engine import alembic_config

    store = make_store_at(url)
    try:
        with store.session() as s:
            s.add(Call(call_id="pg1", rep_id="r", status="done", channels="mono"))
            s.flush()
            s.add_all(
                [
                    Utterance(
                        call_id="pg1",
                        idx=0,
                        speaker="rep",
                        start=0,
                        end=1,
                        text="Could you give me a referral?",
                    ),
                    Utterance(
                        call_id="pg1",
                        idx=1,
                        speaker="rep",
                        start=1,
                        end=2,
                        text="It is 49 dollars per seat.",
                    ),
                ]
            )
        assert _ids(store, "referrals") == [("pg1", 0)]  # English stemming
        assert _ids(store, 'dollars" seat* (') == [("pg1", 1)]  # operators are plain words
        assert _ids(store, "solar") == []
        with store.session() as s:
            s.execute(text("SET LOCAL enable_seqscan = off"))
            plan = " ".join(
                r[0]
                for r in s.execute(
                    text(
                        "EXPLAIN SELECT id FROM utterances WHERE to_tsvector('english'::regconfig,"
                        " text) @@ plainto_tsquery('english'::regconfig, 'x')"
                    )
                )
            )
        assert "ix_utterances_text_fts" in plan
    finally:
        command.downgrade(alembic_config(store.engine), "base")
        store.dispose()


def make_store_at(url: str):
    from talktracks.store import open_store

    return open_store(url)


def test_track_filter_agrees_with_the_analysis_talk_tracks(env: ReviewEnv) -> None:
    """The call list's track filter (SQL) picks exactly the calls the analysis puts on each
    track (pandas), including first-occurrence order, ties and customer-only behaviours."""
    from talktracks.analysis import load_dataset
    from talktracks.analysis.tracks import call_tracks
    from talktracks.review.calllist import NO_TRACK, track_conditions

    with env.store.session() as s:
        specs = {
            "t-price-first": [("rep", "price_mention"), ("rep", "product_introduction")],
            "t-intro-first": [("rep", "product_introduction"), ("rep", "price_mention")],
            "t-customer": [("customer", "price_mention"), ("rep", "referral_request")],
            "t-none": [("customer", "price_mention")],
        }
        for call_id, tags in specs.items():
            utts = add_call(
                s,
                call_id,
                [(sp, float(i), float(i) + 1, f"words {i}") for i, (sp, _) in enumerate(tags)],
            )
            for utt, (_, behaviour) in zip(utts, tags, strict=True):
                add_tag(s, utt, behaviour)
        tie = add_call(s, "t-tie", [("rep", 0.0, 2.0, "both at once")])
        add_tag(s, tie[0], "product_introduction")
        add_tag(s, tie[0], "price_mention")  # same moment: ordered by name, as the analysis does
    ds = load_dataset(env.store.url)
    expected: dict[str, set[str]] = {}
    for call_id, track in zip(ds.calls["call_id"], call_tracks(ds), strict=True):
        expected.setdefault(track, set()).add(call_id)
    assert expected["price_mention → product_introduction"] >= {"t-price-first", "t-tie"}
    assert NO_TRACK in expected
    for track, calls in expected.items():
        with env.store.session() as s:
            got = set(s.scalars(select(Call.call_id).where(*track_conditions(track))))
        assert got == calls, track
    client = env.client()
    sign_in(client, "cora")
    page = client.get("/calls", params={"track": "product_introduction → price_mention"}).text
    assert ">t-intro-first<" in page and ">t-price-first<" not in page
    assert "not a sequence of known behaviours" in client.get("/calls?track=bogus").text
    link = drill_link("tracks", {"track": "price_mention → referral_request"}, "n_deals")
    assert parse_qs(urlsplit(link).query) == {
        "track": ["price_mention → referral_request"],
        "outcome": ["closed"],
    }
    assert drill_link("tracks", {"track": "other"}, "n_calls") is None
