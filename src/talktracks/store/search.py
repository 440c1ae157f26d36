"""Full-text search over utterance text with the store's own engine.

SQLite: the FTS5 index `utterances_fts` (porter stemming), kept in sync by triggers (migration
0008). PostgreSQL: `to_tsvector('english', text) @@ plainto_tsquery('english', query)`, served
by the GIN expression index of the same migration. Either way the user's words are data, never
query syntax: every word is quoted for FTS5 and plainto_tsquery ignores operators, so a query
such as `price" OR NEAR(` finds utterances with those words instead of failing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, literal_column, select, text
from sqlalchemy.orm import Session

from talktracks.store.models import Call, Tag, Utterance

MAX_QUERY_CHARS = 200
_WORD = re.compile(r"\w+", re.UNICODE)


def query_words(query: str) -> list[str]:
    """The words of a search query (letters and digits; everything else separates them)."""
    return _WORD.findall(query[:MAX_QUERY_CHARS].lower())


def fts5_match(words: list[str]) -> str:
    """An FTS5 MATCH expression that requires every word, each quoted so it is a plain term."""
    return " ".join('"' + w.replace('"', '""') + '"' for w in words)


def matches(session: Session, query: str) -> ColumnElement[bool] | None:
    """A condition on Utterance for "its text matches `query`", or None for an empty query."""
    words = query_words(query)
    if not words:
        return None
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        ids = text("SELECT rowid FROM utterances_fts WHERE utterances_fts MATCH :match")
        return Utterance.id.in_(ids.bindparams(match=fts5_match(words)))
    if dialect == "postgresql":
        # The literal config (not a bound parameter) keeps the expression identical to the
        # index's, so the planner can use the GIN index.
        config = literal_column("'english'::regconfig")
        vector = func.to_tsvector(config, Utterance.text)
        return vector.op("@@")(func.plainto_tsquery(config, " ".join(words)))
    # Any other engine: every word as a case-insensitive substring (no index).
    lowered = func.lower(Utterance.text)
    return and_(*(lowered.contains(w, autoescape=True) for w in words))


@dataclass(frozen=True)
class SearchHit:
    """One matching utterance and where it is: call, moment, speaker, rep."""

    utterance_id: int
    call_id: str
    idx: int
    speaker: str
    start: float
    end: float
    text: str
    rep_id: str | None
    deal_id: str | None
    started_at: datetime | None


def search_utterances(
    session: Session,
    query: str,
    *,
    behaviour: str | None = None,
    where: list[ColumnElement[bool]] | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[SearchHit], int]:
    """Utterances matching `query` (and tagged `behaviour`, and the call conditions `where`),
    newest call first, in call order within a call; with the total number of matches."""
    condition = matches(session, query)
    if condition is None:
        return [], 0
    conditions = [condition, *(where or [])]
    if behaviour:
        conditions.append(
            select(Tag.id)
            .where(Tag.utterance_id == Utterance.id, Tag.behaviour == behaviour)
            .exists()
        )
    base = select(Utterance, Call).join(Call, Call.call_id == Utterance.call_id).where(*conditions)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.execute(
        base.order_by(Call.started_at.desc().nulls_last(), Call.call_id, Utterance.idx)
        .limit(limit)
        .offset(offset)
    ).all()
    hits = [
        SearchHit(
            u.id,
            u.call_id,
            u.idx,
            u.speaker,
            u.start,
            u.end,
            u.text,
            c.rep_id,
            c.deal_id,
            c.started_at,
        )
        for u, c in rows
    ]
    return hits, total


def word_spans(text_: str, words: list[str]) -> list[tuple[int, int]]:
    """Character spans of the words in `text_` that a query's words match (same stem-ish
    prefix), for highlighting; display only, the engine decided what matched."""
    spans = []
    stems = [w[: max(3, len(w) - 3)] if len(w) > 4 else w for w in words]
    for m in _WORD.finditer(text_):
        token = m.group(0).lower()
        if any(token.startswith(s) or s.startswith(token) and len(token) >= 3 for s in stems):
            spans.append((m.start(), m.end()))
    return spans
