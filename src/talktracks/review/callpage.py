"""Everything the call page shows, gathered in a handful of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from markupsafe import Markup
from sqlalchemy import select

from talktracks.review.audio import AudioUnavailable, recording_path
from talktracks.review.highlight import Span, highlight
from talktracks.store import Call, Comment, Deal, Flag, Label, Store, Tag, Utterance


@dataclass(frozen=True)
class Judgement:
    """The latest human label for a behaviour on an utterance."""

    value: bool
    author: str
    at: datetime


@dataclass(frozen=True)
class TagView:
    id: int
    behaviour: str
    score: float
    source: str
    model_version: str
    judgement: Judgement | None


@dataclass
class UtteranceView:
    id: int
    idx: int
    speaker: str
    start: float
    end: float
    html: Markup
    tags: list[TagView] = field(default_factory=list)
    added: list[tuple[str, Judgement]] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)


@dataclass(frozen=True)
class CallPage:
    call: Call
    deal: Deal | None
    has_audio: bool
    utterances: list[UtteranceView]
    flags: list[Flag]
    call_comments: list[Comment]
    behaviours: list[str]


def load_call_page(
    store: Store, call_id: str, audio_root: Path, behaviours: list[str]
) -> CallPage | None:
    """The call page's data, or None when there is no such call."""
    with store.session() as s:
        call = s.get(Call, call_id)
        if call is None:
            return None
        deal = s.get(Deal, call.deal_id) if call.deal_id else None
        utts = list(
            s.scalars(select(Utterance).where(Utterance.call_id == call_id).order_by(Utterance.idx))
        )
        tags = list(s.scalars(select(Tag).where(Tag.call_id == call_id).order_by(Tag.id)))
        labels = s.scalars(
            select(Label)
            .where(Label.call_id == call_id, Label.utterance_id.is_not(None))
            .order_by(Label.created_at, Label.id)
        )
        judged: dict[int, dict[str, Judgement]] = {}  # utterance id -> behaviour -> latest
        for label in labels:
            assert label.utterance_id is not None
            judged.setdefault(label.utterance_id, {})[label.behaviour] = Judgement(
                label.value, label.author, label.created_at
            )
        flags = list(
            s.scalars(
                select(Flag)
                .where(Flag.call_id == call_id)
                .order_by(Flag.at_seconds.nulls_first(), Flag.id)
            )
        )
        comments = list(
            s.scalars(
                select(Comment)
                .where(Comment.call_id == call_id)
                .order_by(Comment.created_at, Comment.id)
            )
        )

    try:
        recording_path(call.recording, audio_root)
        has_audio = True
    except AudioUnavailable:
        has_audio = False

    tags_by_utt: dict[int, list[Tag]] = {}
    for tag in tags:
        tags_by_utt.setdefault(tag.utterance_id, []).append(tag)
    views: list[UtteranceView] = []
    by_id: dict[int, UtteranceView] = {}
    for u in utts:
        utt_tags = tags_by_utt.get(u.id, [])
        utt_judged = judged.get(u.id, {})
        tag_views = [
            TagView(
                t.id,
                t.behaviour,
                t.score,
                t.source,
                t.model_version,
                utt_judged.get(t.behaviour),
            )
            for t in utt_tags
        ]
        spans = [
            Span(
                t.evidence_start,
                t.evidence_end,
                t.behaviour,
                t.score,
                rejected=bool(v.judgement and not v.judgement.value),
            )
            for t, v in zip(utt_tags, tag_views, strict=True)
        ]
        tagged = {t.behaviour for t in utt_tags}
        added = sorted(
            ((b, j) for b, j in utt_judged.items() if j.value and b not in tagged),
            key=lambda item: item[0],
        )
        view = UtteranceView(
            u.id, u.idx, u.speaker, u.start, u.end, highlight(u.text, spans), tag_views, added
        )
        views.append(view)
        by_id[u.id] = view
    call_comments = []
    for c in comments:
        if c.utterance_id in by_id:
            by_id[c.utterance_id].comments.append(c)
        else:
            call_comments.append(c)
    for f in flags:
        if f.utterance_id in by_id:
            by_id[f.utterance_id].flags.append(f)
    return CallPage(call, deal, has_audio, views, flags, call_comments, behaviours)
