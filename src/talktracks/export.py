"""Exports of stored data as JSONL, CSV or Parquet, for data scientists and other tools."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import select

from talktracks.errors import InputError
from talktracks.store import Call, Deal, Flag, Label, Store, Tag, Utterance

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


def _typed(frame: pd.DataFrame, dtypes: dict[str, str]) -> pd.DataFrame:
    """Give each column its real type even when the table is empty or a column is all NULL:
    text as `string`, nullable integers as `Int64`, times as UTC datetimes, dates as dates."""
    for col, dtype in dtypes.items():
        if dtype == "utc":
            frame[col] = pd.to_datetime(frame[col], utc=True)
        elif dtype == "date":
            frame[col] = pd.to_datetime(frame[col]).astype("datetime64[ns]")
        else:
            frame[col] = frame[col].astype(dtype)
    return frame


DEAL_DTYPES = {
    "deal_id": "string",
    "outcome": "string",
    "amount": "Float64",
    "closed_at": "date",
    "updated_at": "utc",
}


def deals_frame(store: Store) -> pd.DataFrame:
    """One row per CRM deal; extra CSV columns (segment, region...) become columns of their own
    (prefixed `attr_` only where a name clashes with a deal column)."""
    with store.session() as s:
        deals = list(s.scalars(select(Deal).order_by(Deal.deal_id)))
    rows = []
    for d in deals:
        row: dict[str, object] = {c: getattr(d, c) for c in DEAL_DTYPES}
        for key, value in (d.attributes or {}).items():
            row[f"attr_{key}" if key in DEAL_DTYPES else key] = value
        rows.append(row)
    frame = pd.DataFrame(rows, columns=list(DEAL_DTYPES)) if not rows else pd.DataFrame(rows)
    return _typed(frame, DEAL_DTYPES)


LABEL_DTYPES = {
    "id": "Int64",
    "utterance_id": "Int64",
    "call_id": "string",
    "text": "string",
    "speaker": "string",
    "behaviour": "string",
    "value": "bool",
    "author": "string",
    "origin": "string",
    "created_at": "utc",
}


def _rows_frame(store: Store, table: type, dtypes: dict[str, str]) -> pd.DataFrame:
    """Every row of `table` in id order, one column per `dtypes` key, typed."""
    with store.session() as s:
        rows = list(s.scalars(select(table).order_by(table.id)))
    frame = pd.DataFrame(
        [{c: getattr(row, c) for c in dtypes} for row in rows], columns=list(dtypes)
    )
    return _typed(frame, dtypes)


def labels_frame(store: Store) -> pd.DataFrame:
    """Every label (seed, coach, import): the text it judged, the behaviour and true/false."""
    return _rows_frame(store, Label, LABEL_DTYPES)


FLAG_DTYPES = {
    "id": "Int64",
    "call_id": "string",
    "rule": "string",
    "severity": "string",
    "reason": "string",
    "at_seconds": "Float64",
    "utterance_id": "Int64",
    "status": "string",
    "resolved_by": "string",
    "resolved_at": "utc",
    "created_at": "utc",
}


def flags_frame(store: Store) -> pd.DataFrame:
    """Every coaching flag with its rule, reason, position in the call and review status."""
    return _rows_frame(store, Flag, FLAG_DTYPES)


def deal_features_frame(store: Store) -> pd.DataFrame:
    """Per deal: outcome, amount, rep and the behaviour features the effects are computed on."""
    from talktracks.analysis import deal_features

    return deal_features(store)


def effects_frame(store: Store) -> pd.DataFrame:
    """Per feature: odds ratio with its 95% interval, p and q values (default analysis options)."""
    from talktracks.analysis import effects

    return effects(store)


TABLES = {
    "utterances": utterances_frame,
    "tags": tags_frame,
    "calls": calls_frame,
    "deals": deals_frame,
    "labels": labels_frame,
    "flags": flags_frame,
    "deal_features": deal_features_frame,
    "effects": effects_frame,
}


def _json_value(value: object) -> object:
    """JSON for one cell: NaN and NA become null, times ISO 8601 (not str()'s space form)."""
    if isinstance(value, list | dict | str | bool | int):
        return value
    if value is None or (not hasattr(value, "__len__") and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp | datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        return value
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return value.tolist()
    return str(value)


def export_table(store: Store, what: str, fmt: str, out: Path | None) -> int:
    """Write the table `what` (a key of TABLES) as `fmt` to `out` (stdout when None).

    Returns the number of rows written.
    """
    if what not in TABLES:
        raise InputError(f"unknown export {what!r}: choose one of {', '.join(TABLES)}")
    frame = TABLES[what](store)
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
                clean = {k: _json_value(v) for k, v in record.items()}
                handle.write(json.dumps(clean, ensure_ascii=False) + "\n")
        finally:
            if out is not None:
                handle.close()
    return len(frame)
