"""`talktracks export`: utterances with their tags, one row per tag, in jsonl, csv and parquet."""

from __future__ import annotations

import json

import pandas as pd

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
