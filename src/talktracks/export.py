"""Exports of stored data as JSONL, CSV or Parquet, for data scientists and other tools."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
from sqlalchemy import select

from talktracks.errors import InputError
from talktracks.store import Call, Store, Tag, Utterance

UTTERANCE_COLUMNS = [
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
TAG_COLUMNS = [
    "call_id",
    "utterance_index",
    "speaker",
    "behaviour",
    "score",
    "source",
    "evidence_start",
    "evidence_end",
    "evidence",
    "model_version",
]


def utterances_frame(store: Store) -> pd.DataFrame:
    """One row per utterance; `tags` lists the behaviour names tagged on it."""
    with store.session() as s:
        rows = s.execute(
            select(
                Utterance.id,
                Utterance.call_id,
                Call.rep_id,
                Call.deal_id,
                Utterance.idx,
                Utterance.speaker,
                Utterance.start,
                Utterance.end,
                Utterance.text,
            )
            .join(Call, Call.call_id == Utterance.call_id)
            .order_by(Utterance.call_id, Utterance.idx)
        ).all()
        tag_rows = s.execute(select(Tag.utterance_id, Tag.behaviour).order_by(Tag.behaviour)).all()
    tags: dict[int, list[str]] = {}
    for uid, behaviour in tag_rows:
        tags.setdefault(uid, []).append(behaviour)
    frame = pd.DataFrame([(*r[1:], tags.get(r[0], [])) for r in rows], columns=UTTERANCE_COLUMNS)
    return frame


def tags_frame(store: Store) -> pd.DataFrame:
    """One row per tag with its score, source, evidence span (and the evidence text)."""
    with store.session() as s:
        rows = s.execute(
            select(
                Tag.call_id,
                Utterance.idx,
                Utterance.speaker,
                Tag.behaviour,
                Tag.score,
                Tag.source,
                Tag.evidence_start,
                Tag.evidence_end,
                Utterance.text,
                Tag.model_version,
            )
            .join(Utterance, Utterance.id == Tag.utterance_id)
            .order_by(Tag.call_id, Utterance.idx, Tag.behaviour)
        ).all()
    return pd.DataFrame([(*r[:8], r[8][r[6] : r[7]], r[9]) for r in rows], columns=TAG_COLUMNS)


def calls_frame(store: Store) -> pd.DataFrame:
    with store.session() as s:
        calls = list(s.scalars(select(Call).order_by(Call.call_id)))
    cols = [c.name for c in Call.__table__.columns]
    return pd.DataFrame([{c: getattr(call, c) for c in cols} for call in calls], columns=cols)


def export_table(store: Store, what: str, fmt: str, out: Path | None) -> int:
    """Write `what` (utterances, tags, calls) as `fmt` to `out` (stdout when None). Returns rows."""
    frame = {"utterances": utterances_frame, "tags": tags_frame, "calls": calls_frame}[what](store)
    if fmt == "parquet":
        if out is None:
            raise InputError("parquet is a binary format: give --out FILE")
        frame.to_parquet(out, index=False)
    elif fmt == "csv":
        if what == "utterances":
            frame = frame.assign(tags=frame["tags"].map(";".join))
        frame.to_csv(out if out is not None else sys.stdout, index=False)
    else:
        handle = out.open("w", encoding="utf-8") if out is not None else sys.stdout
        try:
            for record in frame.to_dict(orient="records"):
                handle.write(json.dumps(record, default=str, ensure_ascii=False) + "\n")
        finally:
            if out is not None:
                handle.close()
    return len(frame)
