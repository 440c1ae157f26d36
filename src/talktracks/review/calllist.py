"""The list of every call, with filters, and full-text search over the transcripts.

Filters are plain SQL conditions on Call, so the same set narrows the list and the search,
and a drill-down link from the team page is just a query string of them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup, escape
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import aliased

from talktracks.review.audio import AudioUnavailable, recording_path
from talktracks.store import Call, Deal, Flag, Store, Tag, Utterance
from talktracks.store.search import SearchHit, query_words, search_utterances, word_spans

OUTCOMES: tuple[str, ...] = ("won", "lost", "open", "closed", "none")
FLAG_STATES: tuple[str, ...] = ("open", "resolved", "any", "none")
SCOPES: tuple[str, ...] = ("call", "deal")
CHANNELS: tuple[str, ...] = ("rep-left", "rep-right", "mono")


@dataclass(frozen=True)
class CallFilters:
    """What the call list shows. `has`/`lacks` name a behaviour tagged (or not) in the call,
    or with scope "deal" in any call of the call's deal (how the analysis counts deals)."""

    q: str = ""
    rep: str = ""
    deal: str = ""
    date_from: date | None = None
    date_to: date | None = None
    outcome: str = ""
    has: str = ""
    lacks: str = ""
    scope: str = "call"
    flag: str = ""
    rule: str = ""
    channels: str = ""
    track: str = ""  # a talk track as the analysis names it ("a → b"), or NO_TRACK

    def conditions(self) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if self.rep:
            where.append(Call.rep_id == self.rep)
        if self.deal:
            where.append(Call.deal_id == self.deal)
        if self.date_from:
            where.append(Call.started_at >= datetime.combine(self.date_from, time(), UTC))
        if self.date_to:
            end = datetime.combine(self.date_to + timedelta(days=1), time(), UTC)
            where.append(Call.started_at < end)
        if self.outcome == "none":
            where.append(
                ~select(Deal.deal_id).where(Deal.deal_id == Call.deal_id).correlate(Call).exists()
            )
        elif self.outcome:
            wanted = ("won", "lost") if self.outcome == "closed" else (self.outcome,)
            where.append(
                select(Deal.deal_id)
                .where(Deal.deal_id == Call.deal_id, Deal.outcome.in_(wanted))
                .correlate(Call)
                .exists()
            )
        for behaviour, present in ((self.has, True), (self.lacks, False)):
            if behaviour:
                shown = self._tagged(behaviour)
                where.append(shown if present else ~shown)
        if self.flag in ("open", "resolved", "any"):
            flagged = select(Flag.id).where(Flag.call_id == Call.call_id)
            if self.flag != "any":
                flagged = flagged.where(Flag.status == self.flag)
            if self.rule:
                flagged = flagged.where(Flag.rule == self.rule)
            where.append(flagged.exists())
        elif self.flag == "none":
            where.append(~select(Flag.id).where(Flag.call_id == Call.call_id).exists())
        if self.channels:
            where.append(Call.channels == self.channels)
        if self.track:
            where.extend(track_conditions(self.track))
        return where

    def _tagged(self, behaviour: str) -> ColumnElement[bool]:
        if self.scope == "deal":
            other = aliased(Call)
            return (
                select(Tag.id)
                .join(other, other.call_id == Tag.call_id)
                .where(
                    other.deal_id == Call.deal_id,
                    Call.deal_id.is_not(None),
                    Tag.behaviour == behaviour,
                )
                .exists()
            )
        return (
            select(Tag.id).where(Tag.call_id == Call.call_id, Tag.behaviour == behaviour).exists()
        )

    def query(self, **changes: Any) -> str:
        """These filters (with `changes`) as a query string, for links that keep them."""
        page = changes.pop("page", 1)
        f = replace(self, **changes)
        params: dict[str, str] = {}
        for fld in fields(f):
            value = getattr(f, fld.name)
            if isinstance(value, date):
                value = value.isoformat()
            if value and not (fld.name == "scope" and value == "call"):
                params[fld.name] = str(value)
        if page != 1:
            params["page"] = str(page)
        return urlencode(params)

    @property
    def active(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self) if f.name != "scope")


TRACK_ARROW = " → "
NO_TRACK = "(no tracked behaviour)"


def _rep_first(behaviour: str) -> Any:
    """When the rep first shows `behaviour` in the outer query's call (NULL: never)."""
    return (
        select(func.min(Utterance.start))
        .join(Tag, Tag.utterance_id == Utterance.id)
        .where(Tag.call_id == Call.call_id, Tag.behaviour == behaviour, Utterance.speaker == "rep")
        .correlate(Call)
        .scalar_subquery()
    )


def track_conditions(track: str) -> list[ColumnElement[bool]]:
    """Calls whose talk track is `track`, as talktracks.analysis.tracks defines it: the rep's
    distinct behaviours ordered by first occurrence (ties by name), in transcribed calls."""
    rep_tags = (
        select(Tag.id)
        .join(Utterance, Utterance.id == Tag.utterance_id)
        .where(Tag.call_id == Call.call_id, Utterance.speaker == "rep")
        .correlate(Call)
    )
    where: list[ColumnElement[bool]] = [Call.status == "done"]
    if track == NO_TRACK:
        return [*where, ~rep_tags.exists()]
    names = track.split(TRACK_ARROW)
    where.append(~rep_tags.where(Tag.behaviour.not_in(names)).exists())
    firsts = [_rep_first(name) for name in names]
    where.extend(first.is_not(None) for first in firsts)
    for (a, fa), (b, fb) in pairwise(zip(names, firsts, strict=True)):
        where.append((fa < fb) if a > b else (fa <= fb))  # ties go by name, as in the analysis
    return where


@dataclass(frozen=True)
class CallRow:
    call_id: str
    rep_id: str | None
    deal_id: str | None
    outcome: str | None
    started_at: datetime | None
    duration: float | None
    channels: str
    status: str
    open_flags: int
    behaviours: list[str]
    has_audio: bool


@dataclass(frozen=True)
class HitRow:
    hit: SearchHit
    html: Markup
    has_audio: bool


@dataclass(frozen=True)
class CallList:
    rows: list[CallRow]
    hits: list[HitRow]
    total: int
    page: int
    pages: int
    reps: list[str]


def _playable(recording: str | None, root: Path) -> bool:
    try:
        recording_path(recording, root)
        return True
    except AudioUnavailable:
        return False


def highlight_words(text: str, words: list[str]) -> Markup:
    """`text` escaped, with the words the query matched in <mark>."""
    out: list[Markup] = []
    last = 0
    for a, b in word_spans(text, words):
        out.append(escape(text[last:a]))
        out.append(Markup('<mark class="hit">{}</mark>').format(text[a:b]))
        last = b
    out.append(escape(text[last:]))
    return Markup("").join(out)


def load_call_list(
    store: Store,
    filters: CallFilters,
    visible: ColumnElement[bool],
    audio_root: Path,
    page: int,
    page_size: int,
) -> CallList:
    where = [visible, *filters.conditions()]
    with store.session() as s:
        reps = list(
            s.scalars(
                select(Call.rep_id)
                .where(visible, Call.rep_id.is_not(None))
                .distinct()
                .order_by(Call.rep_id)
            )
        )
        if filters.q.strip():
            hits, total = search_utterances(
                s, filters.q, where=where, limit=page_size, offset=(max(page, 1) - 1) * page_size
            )
            recordings = dict(
                s.execute(
                    select(Call.call_id, Call.recording).where(
                        Call.call_id.in_({h.call_id for h in hits})
                    )
                ).all()
            )
            words = query_words(filters.q)
            hit_rows = [
                HitRow(
                    h,
                    highlight_words(h.text, words),
                    _playable(recordings.get(h.call_id), audio_root),
                )
                for h in hits
            ]
            pages = max(1, -(-total // page_size))
            return CallList([], hit_rows, total, min(max(page, 1), pages), pages, reps)

        total = s.scalar(select(func.count()).select_from(Call).where(*where)) or 0
        pages = max(1, -(-total // page_size))
        page = min(max(1, page), pages)
        calls = s.execute(
            select(Call, Deal.outcome)
            .outerjoin(Deal, Deal.deal_id == Call.deal_id)
            .where(*where)
            .order_by(Call.started_at.desc().nulls_last(), Call.call_id)
            .limit(page_size)
            .offset((page - 1) * page_size)
        ).all()
        ids = [c.call_id for c, _ in calls]
        open_flags = dict(
            s.execute(
                select(Flag.call_id, func.count())
                .where(Flag.call_id.in_(ids), Flag.status == "open")
                .group_by(Flag.call_id)
            ).all()
        )
        behaviours: dict[str, list[str]] = {}
        for call_id, behaviour in s.execute(
            select(Tag.call_id, Tag.behaviour)
            .where(Tag.call_id.in_(ids))
            .distinct()
            .order_by(Tag.call_id, Tag.behaviour)
        ):
            behaviours.setdefault(call_id, []).append(behaviour)
    rows = [
        CallRow(
            c.call_id,
            c.rep_id,
            c.deal_id,
            outcome,
            c.started_at,
            c.duration,
            c.channels,
            c.status,
            open_flags.get(c.call_id, 0),
            behaviours.get(c.call_id, []),
            _playable(c.recording, audio_root),
        )
        for c, outcome in calls
    ]
    return CallList(rows, [], total, page, pages, reps)
