"""What the flag rules look at, read from the store in a few set-based queries.

Utterances are streamed in (call, index) order, so memory stays flat however many calls there
are; tags and labels are read per behaviour, which is far fewer rows.

A coach's judgement beats the machine: a tag a coach rejected does not count as the behaviour,
and a behaviour a coach added to an utterance counts as if it had been tagged.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from talktracks.store.models import Call, Deal, Label, Tag, Utterance

STREAM_BATCH = 5_000
DONE = "done"
"""Only transcribed calls are judged, as in talktracks.analysis: a pending or failed call has no
utterances yet, and 'no referral request' there would be a false alarm."""


@dataclass(frozen=True)
class Moment:
    """A point in a call the reviewer can jump to."""

    utterance_id: int
    idx: int
    start: float


@dataclass
class CallTalk:
    """Speaking time and rep monologues of one call, from its utterances."""

    call_id: str
    duration: float
    speech: dict[str, float] = field(default_factory=dict)
    longest_monologue_s: float = 0.0
    longest_monologue_at: Moment | None = None
    monologues_over: int = 0
    last: Moment | None = None

    @property
    def rep_talk_ratio(self) -> float | None:
        """Rep time / (rep + customer time); None when either side is not attributed."""
        rep, customer = self.speech.get("rep", 0.0), self.speech.get("customer", 0.0)
        return rep / (rep + customer) if rep + customer > 0 else None


@dataclass(frozen=True)
class Occurrence:
    """A behaviour shown in an utterance, by a (not rejected) tag or a coach's label."""

    call_id: str
    behaviour: str
    speaker: str
    moment: Moment


@dataclass(frozen=True)
class UncertainTag:
    tag_id: int
    call_id: str
    behaviour: str
    score: float
    moment: Moment


def call_talk(session: Session, monologue_limit_s: float) -> Iterator[CallTalk]:
    """One CallTalk per call with utterances. `monologues_over` counts monologues longer than
    `monologue_limit_s`.

    Definitions are those of talktracks.analysis.metrics, so a flag quotes the same numbers as
    the report: a rep monologue runs from the start of a rep utterance to the end of the last
    rep utterance before the customer speaks ('unknown' speech neither ends nor extends it);
    the talk ratio leaves 'unknown' speech out of both sides.
    """
    durations = dict(
        session.execute(select(Call.call_id, Call.duration).where(Call.status == DONE)).all()
    )
    rows = session.execute(
        select(
            Utterance.call_id,
            Utterance.id,
            Utterance.idx,
            Utterance.speaker,
            Utterance.start,
            Utterance.end,
        )
        .order_by(Utterance.call_id, Utterance.idx)
        .execution_options(yield_per=STREAM_BATCH)
    )
    talk: CallTalk | None = None
    run_start: Moment | None = None
    run_end = 0.0

    def close_run() -> None:
        assert talk is not None
        if run_start is None:
            return
        length = run_end - run_start.start
        if length > monologue_limit_s:
            talk.monologues_over += 1
        if length > talk.longest_monologue_s:
            talk.longest_monologue_s, talk.longest_monologue_at = length, run_start

    for call_id, uid, idx, speaker, start, end in rows:
        if call_id not in durations:
            continue
        if talk is None or call_id != talk.call_id:
            if talk is not None:
                close_run()
                yield talk
            talk = CallTalk(call_id=call_id, duration=durations.get(call_id) or 0.0)
            run_start = None
        moment = Moment(uid, idx, start)
        talk.speech[speaker] = talk.speech.get(speaker, 0.0) + max(0.0, end - start)
        talk.duration = max(talk.duration, end)
        talk.last = moment
        if speaker == "rep":
            if run_start is None:
                run_start, run_end = moment, end
            else:
                run_end = max(run_end, end)
        elif speaker == "customer":
            close_run()
            run_start = None
    if talk is not None:
        close_run()
        yield talk


def judgements(
    session: Session, behaviours: Iterable[str] | None = None
) -> dict[tuple[int, str], bool]:
    """The latest human label per (utterance id, behaviour)."""
    query = select(Label.utterance_id, Label.behaviour, Label.value).where(
        Label.utterance_id.is_not(None)
    )
    if behaviours is not None:
        query = query.where(Label.behaviour.in_(list(behaviours)))
    latest: dict[tuple[int, str], bool] = {}
    for uid, behaviour, value in session.execute(query.order_by(Label.created_at, Label.id)):
        latest[(uid, behaviour)] = bool(value)
    return latest


def occurrences(session: Session, behaviours: set[str]) -> list[Occurrence]:
    """Every utterance showing one of `behaviours`, machine-tagged or coach-labelled, ordered by
    call and time. Tags a coach rejected are left out."""
    judged = judgements(session, behaviours)
    found: dict[tuple[int, str], Occurrence] = {}
    tagged = session.execute(
        select(
            Tag.behaviour,
            Utterance.call_id,
            Utterance.id,
            Utterance.idx,
            Utterance.speaker,
            Utterance.start,
        )
        .join(Utterance, Tag.utterance_id == Utterance.id)
        .where(Tag.behaviour.in_(behaviours))
    )
    for behaviour, call_id, uid, idx, speaker, start in tagged:
        if judged.get((uid, behaviour), True):
            found[(uid, behaviour)] = Occurrence(
                call_id, behaviour, speaker, Moment(uid, idx, start)
            )
    added = [key for key, value in judged.items() if value and key not in found]
    added_ids = sorted({uid for uid, _ in added})
    where: dict[int, tuple[str, int, str, float]] = {}
    for i in range(0, len(added_ids), 500):
        rows = session.execute(
            select(
                Utterance.id, Utterance.call_id, Utterance.idx, Utterance.speaker, Utterance.start
            ).where(Utterance.id.in_(added_ids[i : i + 500]))
        )
        where.update(
            (uid, (call_id, idx, speaker, start)) for uid, call_id, idx, speaker, start in rows
        )
    for uid, behaviour in added:
        if uid in where:
            call_id, idx, speaker, start = where[uid]
            found[(uid, behaviour)] = Occurrence(
                call_id, behaviour, speaker, Moment(uid, idx, start)
            )
    return sorted(found.values(), key=lambda o: (o.call_id, o.moment.start, o.moment.idx))


def uncertain_tags(session: Session, low: float, high: float) -> list[UncertainTag]:
    """Machine tags scored inside [low, high] that no human has judged yet."""
    judged = judgements(session)
    rows = session.execute(
        select(
            Tag.id,
            Tag.call_id,
            Tag.behaviour,
            Tag.score,
            Utterance.id,
            Utterance.idx,
            Utterance.start,
        )
        .join(Utterance, Tag.utterance_id == Utterance.id)
        .where(and_(Tag.score >= low, Tag.score <= high, Tag.source != "coach"))
        .order_by(Tag.call_id, Utterance.idx)
    )
    return [
        UncertainTag(tag_id, call_id, behaviour, score, Moment(uid, idx, start))
        for tag_id, call_id, behaviour, score, uid, idx, start in rows
        if (uid, behaviour) not in judged
    ]


@dataclass(frozen=True)
class DealCall:
    call_id: str
    started_at: datetime | None


def won_deal_calls(session: Session) -> dict[str, list[DealCall]]:
    """Won deals and their transcribed calls, oldest call first."""
    has_speech = select(Utterance.id).where(Utterance.call_id == Call.call_id).exists()
    rows = session.execute(
        select(Deal.deal_id, Call.call_id, Call.started_at)
        .join(Call, Call.deal_id == Deal.deal_id)
        .where(Deal.outcome == "won", Call.status == DONE, has_speech)
    )
    deals: dict[str, list[DealCall]] = {}
    for deal_id, call_id, started_at in rows:
        deals.setdefault(deal_id, []).append(DealCall(call_id, started_at))
    for calls in deals.values():
        calls.sort(
            key=lambda c: (
                c.started_at is None,
                c.started_at.timestamp() if c.started_at else 0.0,
                c.call_id,
            )
        )
    return deals
