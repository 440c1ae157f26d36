"""`talktracks export`: utterances with their tags, one row per tag, in jsonl, csv and parquet."""

from __future__ import annotations

import json

import pandas as pd
from sqlalchemy import select

from talktracks.cli import main
from talktracks.store import Call, Tag, Utterance, open_store


def seeded_store(tmp_path):
    url = f"sqlite:///{tmp_path / 'tt.db'}"
    store = open_store(url)
    with store.session() as s:
        s.add(
            Call(
                call_id="c1",
                rep_id="r1",
                deal_id="d1",
                channels="rep-left",
                status="done",
                attempts=0,
                source="audio",
            )
        )
        s.flush()
        u0 = Utterance(
            call_id="c1", idx=0, speaker="rep", start=0.0, end=2.0, text="It is $49 a month."
        )
        u1 = Utterance(call_id="c1", idx=1, speaker="customer", start=2.5, end=3.0, text="Okay.")
        s.add_all([u0, u1])
        s.flush()
        s.add(
            Tag(
                utterance_id=u0.id,
                call_id="c1",
                behaviour="price_mention",
                score=0.97,
                source="both",
                evidence_start=6,
                evidence_end=17,
                model_version="v1",
            )
        )
    return url


def test_export_utterances_jsonl_has_the_documented_shape(tmp_path):
    url = seeded_store(tmp_path)
    out = tmp_path / "u.jsonl"
    assert main(["export", "utterances", "--format", "jsonl", "--out", str(out), "--db", url]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert list(rows[0]) == [
        "call_id",
        "rep_id",
        "deal_id",
        "utterance_index",
        "speaker",
        "start",
        "end",
        "text",
        "tags",
    ]
    assert rows[0]["tags"] == ["price_mention"] and rows[1]["tags"] == []
    assert (rows[1]["utterance_index"], rows[1]["speaker"]) == (1, "customer")


def test_export_tags_carries_evidence_and_version(tmp_path):
    url = seeded_store(tmp_path)
    out = tmp_path / "t.csv"
    assert main(["export", "tags", "--format", "csv", "--out", str(out), "--db", url]) == 0
    frame = pd.read_csv(out)
    row = frame.iloc[0]
    assert (
        row["evidence"] == "$49 a month"
        and row["source"] == "both"
        and row["model_version"] == "v1"
    )


def test_export_parquet_round_trips(tmp_path):
    url = seeded_store(tmp_path)
    out = tmp_path / "u.parquet"
    assert (
        main(["export", "utterances", "--format", "parquet", "--out", str(out), "--db", url]) == 0
    )
    frame = pd.read_parquet(out)
    assert len(frame) == 2 and list(frame["tags"].iloc[0]) == ["price_mention"]


def test_parquet_to_stdout_is_a_one_line_error(tmp_path, capsys):
    url = seeded_store(tmp_path)
    assert main(["export", "utterances", "--format", "parquet", "--db", url]) == 2
    assert "give --out FILE" in capsys.readouterr().err


def store_with_deals_labels_flags(tmp_path):
    """The seeded call plus a won deal with a CRM extra column, two labels and a flag."""
    from datetime import UTC, date, datetime

    from talktracks.store import Deal, Flag, Label

    url = seeded_store(tmp_path)
    store = open_store(url)
    with store.session() as s:
        s.add_all(
            [
                Deal(
                    deal_id="d1",
                    outcome="won",
                    amount=1200.5,
                    closed_at=date(2026, 11, 20),
                    attributes={"segment": "smb", "outcome": "clash"},
                ),
                Deal(deal_id="d2", outcome="open", amount=None, closed_at=None, attributes={}),
            ]
        )
        u0 = s.scalars(select(Utterance).where(Utterance.idx == 0)).one()
        s.add_all(
            [
                Label(
                    utterance_id=u0.id,
                    call_id="c1",
                    text=u0.text,
                    speaker="rep",
                    behaviour="price_mention",
                    value=True,
                    author="alice",
                    origin="coach",
                ),
                Label(
                    utterance_id=None,
                    call_id=None,
                    text="Send me the brochure.",
                    speaker="customer",
                    behaviour="referral_request",
                    value=False,
                    author="seed",
                    origin="seed",
                ),
            ]
        )
        s.add(
            Flag(
                call_id="c1",
                rule="early_price",
                severity="warning",
                reason="price at 0:00",
                at_seconds=0.0,
                utterance_id=u0.id,
                status="resolved",
                resolved_by="alice",
                resolved_at=datetime(2026, 11, 21, 9, 30, tzinfo=UTC),
                dedupe_key="early_price:c1",
            )
        )
    store.dispose()
    return url


def export(url, what, fmt, out):
    assert main(["export", what, "--format", fmt, "--out", str(out), "--db", url]) == 0
    if fmt == "parquet":
        return pd.read_parquet(out)
    if fmt == "csv":
        return pd.read_csv(out)
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_export_deals_with_types_and_crm_columns(tmp_path):
    url = store_with_deals_labels_flags(tmp_path)
    frame = export(url, "deals", "parquet", tmp_path / "d.parquet")
    assert list(frame["deal_id"]) == ["d1", "d2"]
    assert frame["amount"].dtype == "Float64" and frame["amount"].isna().tolist() == [False, True]
    assert str(frame["closed_at"].dtype).startswith("datetime64")
    assert frame["closed_at"].iloc[0] == pd.Timestamp("2026-11-20")
    assert str(frame["updated_at"].dt.tz) == "UTC"
    # CRM extras are columns of their own; one clashing with a deal column is prefixed.
    assert frame["segment"].iloc[0] == "smb" and frame["attr_outcome"].iloc[0] == "clash"
    assert frame["outcome"].tolist() == ["won", "open"]

    rows = export(url, "deals", "jsonl", tmp_path / "d.jsonl")
    assert rows[0]["amount"] == 1200.5 and rows[1]["amount"] is None  # null, never NaN
    assert rows[0]["closed_at"].startswith("2026-11-20") and rows[1]["closed_at"] is None
    csv_frame = export(url, "deals", "csv", tmp_path / "d.csv")
    assert csv_frame["amount"].iloc[0] == 1200.5


def test_export_labels_and_flags_types(tmp_path):
    url = store_with_deals_labels_flags(tmp_path)
    labels = export(url, "labels", "parquet", tmp_path / "l.parquet")
    assert labels["value"].dtype == bool and labels["value"].tolist() == [True, False]
    assert labels["utterance_id"].dtype == "Int64" and labels["utterance_id"].isna().iloc[1]
    assert str(labels["created_at"].dt.tz) == "UTC"
    assert set(labels["origin"]) == {"coach", "seed"}
    rows = export(url, "labels", "jsonl", tmp_path / "l.jsonl")
    assert rows[0]["value"] is True and rows[1]["utterance_id"] is None

    flags = export(url, "flags", "parquet", tmp_path / "f.parquet")
    assert flags["rule"].tolist() == ["early_price"] and flags["at_seconds"].dtype == "Float64"
    assert flags["resolved_at"].iloc[0] == pd.Timestamp("2026-11-21T09:30:00Z")
    rows = export(url, "flags", "jsonl", tmp_path / "f.jsonl")
    assert rows[0]["resolved_at"] == "2026-11-21T09:30:00+00:00"  # ISO 8601, not str()'s form
    assert rows[0]["status"] == "resolved" and rows[0]["call_id"] == "c1"


def test_export_empty_tables_keep_their_columns_and_types(tmp_path):
    url = seeded_store(tmp_path)
    labels = export(url, "labels", "parquet", tmp_path / "l.parquet")
    assert len(labels) == 0 and labels["value"].dtype == bool
    assert str(labels["created_at"].dtype).startswith("datetime64")


def test_export_deal_features_and_effects(tmp_path):
    from synthetic import generate

    url = f"sqlite:///{tmp_path / 'syn.db'}"
    store = open_store(url)
    generate(5, n_deals=60, n_reps=4, utterances_per_call=4).write(store)
    store.dispose()

    features = export(url, "deal_features", "parquet", tmp_path / "df.parquet")
    assert len(features) > 0 and features["deal_id"].is_unique
    has = [c for c in features.columns if c.startswith("has_")]
    assert has and all(features[c].dtype.kind in "bif" for c in has)
    assert features["amount"].dtype.kind == "f"

    effects = export(url, "effects", "csv", tmp_path / "fx.csv")
    assert {"feature", "odds_ratio", "ci_low", "ci_high", "q_value"} <= set(effects.columns)
    assert effects["odds_ratio"].dtype.kind == "f"
    rows = export(url, "effects", "jsonl", tmp_path / "fx.jsonl")
    assert len(rows) == len(effects) and all("NaN" not in json.dumps(r) for r in rows)


def test_cli_offers_every_export_table():
    from talktracks.cli.pipeline import EXPORTS
    from talktracks.export import TABLES

    assert set(EXPORTS) == set(TABLES)
