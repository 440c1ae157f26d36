"""SQL -> DataFrames: the one place the analysis reads the store.

Only the columns the analysis needs are selected. Utterance text never leaves the database: the
number of question marks per utterance is computed in SQL (`length(text) - length(replace(text,
'?', ''))`, portable to SQLite and PostgreSQL), and the words JSON is not read at all. With 3
million utterances that keeps the load to a few numeric columns.

`Dataset` is the in-memory shape every other module consumes. Tests and the benchmark build
one directly from store-shaped frames with `Dataset.from_frames`, skipping the database.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import case, func, select

from talktracks.store import Call, Deal, Store, Tag, Utterance, open_store

SPEAKERS = ("rep", "customer", "unknown")
"""Speaker categories; the category codes (rep=0, customer=1, unknown=2) are used in metrics."""

OUTCOMES = ("won", "lost", "open")
ANALYSED_STATUS = "done"
"""Only transcribed calls are analysed: a pending or failed call has no utterances, and treating
it as 'no behaviour shown' would bias every has_<behaviour> feature toward 'without'."""

_CHUNK = 500_000


@dataclass
class Dataset:
    """The rows the analysis needs, already typed.

    - calls: call_id, rep_id, deal_id, started_at (UTC), duration (s; NaN if unknown); analysed
      (transcribed) calls only, in a fixed order.
    - utterances: call_id (categorical whose categories are calls.call_id, so `.cat.codes` is the
      call's row number), speaker (categorical over SPEAKERS), start, end (s from call start),
      n_questions; sorted by call then start.
    - tags: call_id (same categorical), utterance_id, behaviour, speaker, start (of the tagged
      utterance).
    - deals: deal_id, outcome, amount, closed_at, plus one column per CRM attribute.
    - n_calls_not_analysed: calls in the store that are not transcribed (pending, failed,
      no_speech), reported so nobody wonders where they went.
    """

    calls: pd.DataFrame
    utterances: pd.DataFrame
    tags: pd.DataFrame
    deals: pd.DataFrame
    n_calls_not_analysed: int = 0

    @property
    def call_codes(self) -> np.ndarray:
        """Row number in `calls` of each utterance (int)."""
        return self.utterances["call_id"].cat.codes.to_numpy()

    @classmethod
    def from_frames(
        cls,
        calls: pd.DataFrame,
        utterances: pd.DataFrame,
        tags: pd.DataFrame,
        deals: pd.DataFrame,
    ) -> Dataset:
        """Build a Dataset from frames shaped like the store tables.

        In: calls (call_id, rep_id, deal_id, started_at, duration, optional status), utterances
        (id, call_id, speaker, start, end, text or n_questions), tags (call_id, utterance_id,
        behaviour), deals (deal_id, outcome, amount, closed_at, optional attribute columns or an
        `attributes` dict column). Out: the same Dataset `load_dataset` returns for that data.
        """
        calls = calls.copy()
        n_not = 0
        if "status" in calls.columns:
            keep = calls["status"] == ANALYSED_STATUS
            n_not = int((~keep).sum())
            calls = calls[keep]
        calls = _typed_calls(calls)
        u = utterances
        if "n_questions" not in u.columns:
            u = u.assign(n_questions=u["text"].astype(str).str.count(r"\?"))
        utt = _typed_utterances(u[["call_id", "speaker", "start", "end", "n_questions"]], calls)
        tag_rows = tags[["call_id", "utterance_id", "behaviour"]].merge(
            utterances[["id", "speaker", "start"]].rename(columns={"id": "utterance_id"}),
            on="utterance_id",
            how="inner",
        )
        return cls(
            calls=calls,
            utterances=utt,
            tags=_typed_tags(tag_rows, calls),
            deals=_typed_deals(deals),
            n_calls_not_analysed=n_not,
        )


def _typed_calls(calls: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "call_id": calls["call_id"].astype(str).to_numpy(),
            "rep_id": calls["rep_id"].to_numpy(dtype=object),
            "deal_id": calls["deal_id"].to_numpy(dtype=object),
            # ISO8601: SQLite hands back text, with or without fractional seconds.
            "started_at": pd.to_datetime(calls["started_at"], utc=True, format="ISO8601").array,
            "duration": pd.to_numeric(calls["duration"], errors="coerce").to_numpy(dtype=float),
        }
    )
    for col in ("rep_id", "deal_id"):
        out[col] = out[col].astype("str")
    return out.sort_values("call_id", kind="stable").reset_index(drop=True)


def _call_categorical(values: Any, calls: pd.DataFrame) -> pd.Categorical:
    """call_id values as a categorical over calls.call_id (unknown ids get code -1)."""
    categories = pd.Index(calls["call_id"].to_numpy(dtype=object))
    # Factorise first: a chunk holds a few thousand distinct calls, so only those are looked
    # up, not every one of the million values.
    codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
    lookup = categories.get_indexer(uniques)
    mapped = np.where(codes >= 0, lookup[np.maximum(codes, 0)], -1)
    return pd.Categorical.from_codes(mapped, categories=categories)


def _speakers(values: pd.Series) -> pd.Categorical:
    """Speaker categorical; voices a mono call left unnamed (speaker_1, ...) are 'unknown'."""
    speakers = pd.Categorical(values.to_numpy(dtype=object), categories=SPEAKERS)
    return speakers.fillna("unknown")


def _typed_utterances(u: pd.DataFrame, calls: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "call_id": _call_categorical(u["call_id"].to_numpy(dtype=object), calls),
            "speaker": _speakers(u["speaker"]),
            "start": u["start"].to_numpy(dtype=float),
            "end": u["end"].to_numpy(dtype=float),
            "n_questions": u["n_questions"].fillna(0).to_numpy(dtype=np.int32),
        }
    )
    return _sorted_known_calls(out)


def _sorted_known_calls(u: pd.DataFrame) -> pd.DataFrame:
    """Drop rows of calls not analysed (code -1) and sort by call, then start."""
    codes = u["call_id"].cat.codes.to_numpy()
    keep = codes >= 0
    if not keep.all():
        u = u[keep]
        codes = codes[keep]
    start = u["start"].to_numpy()
    # Rows usually arrive in insertion order, which is already call then time: check in O(n)
    # before paying for a sort of millions of rows.
    same = codes[1:] == codes[:-1]
    if np.all(codes[1:] >= codes[:-1]) and np.all(~same | (start[1:] >= start[:-1])):
        return u.reset_index(drop=True)
    order = np.lexsort((start, codes))
    return u.iloc[order].reset_index(drop=True)


def _typed_tags(t: pd.DataFrame, calls: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "call_id": _call_categorical(t["call_id"].to_numpy(dtype=object), calls),
            "utterance_id": t["utterance_id"].to_numpy(dtype=np.int64),
            "behaviour": t["behaviour"].astype(str).to_numpy(dtype=object),
            "speaker": _speakers(t["speaker"]),
            "start": t["start"].to_numpy(dtype=float),
        }
    )
    return _sorted_known_calls(out)


def _typed_deals(deals: pd.DataFrame) -> pd.DataFrame:
    d = deals.copy()
    if "attributes" in d.columns:
        attrs = pd.DataFrame.from_records(
            [a if isinstance(a, dict) else {} for a in d["attributes"]], index=d.index
        )
        d = d.drop(columns="attributes")
        for col in attrs.columns:
            if col not in d.columns:
                d[col] = attrs[col]
    for col, default in (("amount", np.nan), ("closed_at", None)):
        if col not in d.columns:
            d[col] = default
    d["deal_id"] = d["deal_id"].astype(str)
    d["outcome"] = d["outcome"].astype(str).str.lower()
    d["amount"] = pd.to_numeric(d["amount"], errors="coerce").astype(float)
    d["closed_at"] = pd.to_datetime(d["closed_at"], errors="coerce", format="ISO8601")
    return d.reset_index(drop=True)


def _raw_chunks(conn: Any, stmt: Any, chunk: int = _CHUNK) -> Iterator[list[tuple[Any, ...]]]:
    """Plain DB-API tuples of a Core select, `chunk` rows at a time.

    Millions of rows go through the driver's own cursor: SQLAlchemy's Row objects cost more
    than the query itself at this size (and pandas probes every one of them). Only for columns
    that need no type conversion beyond what the driver does (numbers, text, timestamps that
    pandas parses).
    """
    sql = str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(chunk):
            yield rows
    finally:
        cursor.close()


def _read(conn: Any, stmt: Any, columns: list[str], raw: bool = True) -> pd.DataFrame:
    """Rows of a Core select as a DataFrame, fetched in chunks to bound peak memory.

    raw=False goes through SQLAlchemy's result processing (needed for JSON columns).
    """
    if raw:
        chunks: Iterator[Any] = _raw_chunks(conn, stmt)
    else:
        result = conn.execute(stmt)
        chunks = iter(lambda: [tuple(r) for r in result.fetchmany(_CHUNK)], [])
    parts = [pd.DataFrame.from_records(rows, columns=columns, coerce_float=True) for rows in chunks]
    if not parts:
        return pd.DataFrame({c: [] for c in columns})
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of row tuples are made and dropped.

    Each tuple is a tracked container, so the collector would otherwise walk the growing heap
    again and again; on 3M utterances that cost more than the query. Nothing here creates
    reference cycles, so no garbage is missed.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_dataset(source: Store | str) -> Dataset:
    """Read calls, utterances, tags and deals from a store (or a database URL).

    Out: a Dataset of transcribed calls. Deals are read in full, including deals without calls.
    """
    store = open_store(source, writable=False) if isinstance(source, str) else source
    try:
        with store.engine.connect() as conn, _gc_paused():
            all_calls = _read(
                conn,
                select(
                    Call.call_id,
                    Call.rep_id,
                    Call.deal_id,
                    Call.started_at,
                    Call.duration,
                    Call.status,
                ),
                ["call_id", "rep_id", "deal_id", "started_at", "duration", "status"],
            )
            keep = all_calls["status"] == ANALYSED_STATUS
            calls = _typed_calls(all_calls[keep])
            n_questions = func.length(Utterance.text) - func.length(
                func.replace(Utterance.text, "?", "")
            )
            # Speaker as its category code, computed by the database: no string per row.
            speaker_code = case(
                (Utterance.speaker == SPEAKERS[0], 0),
                (Utterance.speaker == SPEAKERS[1], 1),
                else_=2,
            )
            utt_stmt = select(
                Utterance.call_id, speaker_code, Utterance.start, Utterance.end, n_questions
            )
            parts = []
            cols = ["call_id", "speaker", "start", "end", "n_questions"]
            for rows in _raw_chunks(conn, utt_stmt):
                # Convert each chunk to compact columns straight away, so the Python tuples of
                # 3M rows never sit in memory all at once.
                call_col, spk, start, end, nq = zip(*rows, strict=True)
                del rows
                parts.append(
                    pd.DataFrame(
                        {
                            "call_id": _call_categorical(call_col, calls),
                            "speaker": pd.Categorical.from_codes(
                                np.asarray(spk, dtype=np.int8), categories=SPEAKERS
                            ),
                            "start": np.asarray(start, dtype=float),
                            "end": np.asarray(end, dtype=float),
                            "n_questions": np.asarray(
                                [0 if q is None else q for q in nq], dtype=np.int32
                            ),
                        }
                    )
                )
            if parts:
                utt = _sorted_known_calls(pd.concat(parts, ignore_index=True))
            else:
                utt = _typed_utterances(pd.DataFrame({c: [] for c in cols}), calls)
            del parts
            tags = _read(
                conn,
                select(
                    Tag.call_id, Tag.utterance_id, Tag.behaviour, Utterance.speaker, Utterance.start
                ).join(Utterance, Utterance.id == Tag.utterance_id),
                ["call_id", "utterance_id", "behaviour", "speaker", "start"],
            )
            deals = _read(
                conn,
                select(Deal.deal_id, Deal.outcome, Deal.amount, Deal.closed_at, Deal.attributes),
                ["deal_id", "outcome", "amount", "closed_at", "attributes"],
                raw=False,
            )
    finally:
        if isinstance(source, str):
            store.dispose()
    return Dataset(
        calls=calls,
        utterances=utt,
        tags=_typed_tags(tags, calls),
        deals=_typed_deals(deals),
        n_calls_not_analysed=int((~keep).sum()),
    )
