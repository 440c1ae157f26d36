"""End to end: a synthetic store, `talktracks analyze`, files, stored results, the Python API."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select

from stores import both_stores
from synthetic import generate
from talktracks import analysis
from talktracks.analysis.effects import EFFECT_COLUMNS
from talktracks.cli import main
from talktracks.store import AnalysisResult, open_store

EXPECTED_FILES = {
    "effects.csv",
    "effects_detail.csv",
    "tracks.csv",
    "rep_kpis.csv",
    "call_metrics.csv",
    "deal_features.csv",
    "call_times.csv",
    "hour_slots.csv",
    "price_timing.csv",
    "top_performers.csv",
    "top_reps.csv",
    "behaviour_adoption.csv",
    "monthly_trend.csv",
    "example_calls.csv",
    "summary.json",
    "report.html",
}


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("store") / "talktracks.db"
    url = f"sqlite:///{path}"
    store = open_store(url)
    generate(7, n_deals=400, n_reps=8, utterances_per_call=8).write(store)
    store.dispose()
    return url


def test_analyze_command_writes_files_and_stores_results(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["analyze", "--db", db, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "12 unlinked" in printed and "rep control: conditional" in printed
    assert {p.name for p in out.iterdir()} == EXPECTED_FILES

    with (out / "effects.csv").open(newline="") as f:
        header = next(csv.reader(f))
    assert header == EFFECT_COLUMNS
    effects = pd.read_csv(out / "effects.csv")
    assert "has_referral_request" in set(effects["feature"])
    assert "has_competitor_mention" in set(effects["feature"])  # a behaviour beyond the first three
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_calls_unlinked"] == 12 and summary["n_calls_not_analysed"] == 4
    assert set(summary["stage_seconds"]) >= {"load", "metrics", "effects", "report", "store"}
    assert "associations, not proof of cause" in (out / "report.html").read_text()

    store = open_store(db)
    try:
        with store.session() as s:
            names = set(s.scalars(select(AnalysisResult.name)))
            assert names >= {"summary", "effects", "tracks", "rep_kpis", "call_metrics"}
            stored = s.get(AnalysisResult, "effects").payload
        assert [r["feature"] for r in stored] == list(effects["feature"])
        # A second run replaces the rows instead of adding to them.
        analysis.refresh_analysis(store, tmp_path / "again")
        with store.session() as s:
            assert s.scalar(select(func.count()).select_from(AnalysisResult)) == len(names)
        assert analysis.load_stored_results(store)["summary"]["n_calls_unlinked"] == 12
    finally:
        store.dispose()


def test_python_api_accepts_a_url(db: str) -> None:
    effects = analysis.effects(db)
    assert list(effects.columns[: len(EFFECT_COLUMNS)]) == EFFECT_COLUMNS
    metrics = analysis.call_metrics(db)
    assert {"rep_talk_ratio", "patience_s", "competitor_mention_first_frac"} <= set(metrics.columns)
    assert len(analysis.deal_features(db)) == 400
    assert analysis.talk_tracks(db)["n_deals"].sum() > 0
    assert len(analysis.rep_kpis(db)) == 8


def test_analyze_bad_option_is_one_line(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["analyze", "--db", db, "--out", str(tmp_path), "--control", "planet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "planet" in err


@both_stores
def test_load_reads_rows_written_by_other_tools(db_url: str) -> None:
    """Text timestamps without fractions, a NULL text, an unknown speaker label, a tag on a
    call that is not transcribed: the loader copes with all of them."""
    from sqlalchemy import text

    store = open_store(db_url)
    try:
        with store.engine.begin() as conn:
            for sql in (
                "INSERT INTO calls (call_id, rep_id, deal_id, started_at, channels, status, attempts,"
                " source, created_at, updated_at, duration) VALUES"
                " ('a', 'r', 'D1', '2024-03-04 09:00:00', 'mono', 'done', 0, 'import',"
                " '2024-03-04 09:00:00', '2024-03-04 09:00:00', 60),"
                " ('b', 'r', 'D1', '2024-03-05 09:30:00.250000', 'mono', 'done', 0, 'import',"
                " '2024-03-04 09:00:00', '2024-03-04 09:00:00', NULL),"
                " ('c', 'r', 'D1', NULL, 'mono', 'pending', 0, 'audio',"
                " '2024-03-04 09:00:00', '2024-03-04 09:00:00', NULL)",
                'INSERT INTO utterances (id, call_id, idx, speaker, start, "end", text) VALUES'
                " (1, 'a', 0, 'rep', 0, 10, 'Why? How?'), (2, 'a', 1, 'customer', 11, 20, 'ok'),"
                " (3, 'b', 0, 'Speaker 2', 0, 5, 'hm'), (4, 'c', 0, 'rep', 0, 5, 'stale')",
                "INSERT INTO tags (utterance_id, call_id, behaviour, score, source, evidence_start,"
                " evidence_end, model_version) VALUES (1, 'a', 'price_mention', 1, 'rule', 0, 3, 'v'),"
                " (4, 'c', 'price_mention', 1, 'rule', 0, 3, 'v')",
                "INSERT INTO deals (deal_id, outcome, updated_at) VALUES ('D1', 'won', '2024-03-04')",
            ):
                conn.execute(text(sql))
        ds = analysis.load_dataset(store)
    finally:
        store.dispose()
    assert list(ds.calls["call_id"]) == ["a", "b"] and ds.n_calls_not_analysed == 1
    assert ds.calls["started_at"].dt.second.tolist() == [0, 0]
    assert ds.utterances["speaker"].tolist() == ["rep", "customer", "unknown"]
    assert ds.utterances["n_questions"].tolist() == [2, 0, 0]
    assert len(ds.tags) == 1  # the pending call's tag is not analysed
    m = analysis.call_metrics(ds).set_index("call_id")
    assert m.loc["a", "rep_questions_per_min"] == 2.0 and m.loc["b", "duration_s"] == 5


def test_analysis_on_postgresql_matches_sqlite(db: str, pg_url: str) -> None:
    """The same synthetic store on a real PostgreSQL server gives the same effects and KPIs."""
    store = open_store(pg_url)
    try:
        generate(7, n_deals=400, n_reps=8, utterances_per_call=8).write(store)
    finally:
        store.dispose()
    for table in (analysis.effects, analysis.rep_kpis):
        on_sqlite, on_pg = table(db), table(pg_url)
        assert len(on_pg) > 0
        pd.testing.assert_frame_equal(
            on_pg.reset_index(drop=True), on_sqlite.reset_index(drop=True), check_exact=False
        )
