"""Tagging stored utterances with the current behaviour model.

Re-tagging is a replacement: in one transaction a call's machine tags (source rule, model or
both, of any model version) are deleted and the current model's tags inserted. Coach tags
(source "coach") are left alone. Running it twice gives the same rows, so the nightly flow can
retry it freely.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, exists, insert, or_, select, update
from sqlalchemy.orm import Session

from talktracks.behaviours.model import BOTH, MODEL, RULE, BehaviourModel
from talktracks.behaviours.registry import load_current_model
from talktracks.store import Call, Store, Tag, Utterance

MACHINE_SOURCES = (RULE, MODEL, BOTH)
CALLS_PER_TRANSACTION = 50


@dataclass
class TagSummary:
    model_version: str
    calls: int = 0
    utterances: int = 0
    tags: int = 0
    removed: int = 0  # machine tags deleted before re-tagging (older versions included)

    def __str__(self) -> str:
        return (
            f"tagged {self.calls} calls, {self.utterances} utterances: {self.tags} tags from "
            f"model {self.model_version} ({self.removed} earlier machine tags replaced)"
        )


def tag_rows(model: BehaviourModel, utterances: Sequence[Any]) -> list[dict[str, Any]]:
    """Tag rows for utterance-like objects (id, call_id, speaker, start, text)."""
    decisions = model.tag(
        [u.text or "" for u in utterances],
        [u.speaker for u in utterances],
        [u.start for u in utterances],
    )
    return [
        {
            "utterance_id": u.id,
            "call_id": u.call_id,
            "behaviour": d.behaviour,
            "score": d.score,
            "source": d.source,
            "evidence_start": d.start,
            "evidence_end": d.end,
            "model_version": model.version,
        }
        for u, found in zip(utterances, decisions, strict=True)
        for d in found
    ]


def replace_tags(session: Session, model: BehaviourModel, call_ids: Sequence[str]) -> TagSummary:
    """Within the caller's transaction: re-tag every utterance of `call_ids`."""
    summary = TagSummary(model.version, calls=len(call_ids))
    if not call_ids:
        return summary
    utterances = session.execute(
        select(Utterance.id, Utterance.call_id, Utterance.speaker, Utterance.start, Utterance.text)
        .where(Utterance.call_id.in_(call_ids))
        .order_by(Utterance.call_id, Utterance.idx)
    ).all()
    rows = tag_rows(model, utterances)
    result = session.execute(
        delete(Tag).where(Tag.call_id.in_(call_ids), Tag.source.in_(MACHINE_SOURCES))
    )
    if rows:
        session.execute(insert(Tag), rows)
    mark_tagged(session, call_ids, model.version)
    summary.utterances = len(utterances)
    summary.tags = len(rows)
    summary.removed = int(result.rowcount or 0)
    return summary


def tag_calls(
    store: Store,
    call_ids: Sequence[str] | None = None,
    *,
    model: BehaviourModel | None = None,
    progress: Callable[[int], None] | None = None,
) -> TagSummary:
    """Re-tag the given calls (None = every call) with `model` (default: the current model).

    Calls are processed CALLS_PER_TRANSACTION at a time, each batch in one transaction, so a
    call never has half its tags replaced. `progress(n)` is called with each batch's size.
    """
    model = model or load_current_model()
    if call_ids is None:
        with store.session() as s:
            call_ids = list(s.scalars(select(Call.call_id).order_by(Call.call_id)))
    ids = list(dict.fromkeys(call_ids))
    total = TagSummary(model.version)
    for i in range(0, len(ids), CALLS_PER_TRANSACTION):
        batch = ids[i : i + CALLS_PER_TRANSACTION]
        with store.session() as s:
            part = replace_tags(s, model, batch)
        total.calls += part.calls
        total.utterances += part.utterances
        total.tags += part.tags
        total.removed += part.removed
        if progress:
            progress(len(batch))
    return total


def mark_tagged(session: Session, call_ids: Sequence[str], model_version: str) -> None:
    """Record that these calls' utterances now carry `model_version`'s machine tags."""
    if call_ids:
        session.execute(
            update(Call).where(Call.call_id.in_(call_ids)).values(tagged_with=model_version)
        )


def calls_needing_tags(store: Store, model_version: str) -> list[str]:
    """Calls with utterances not yet tagged by `model_version` (calls.tagged_with), so a call
    on which the model found nothing is not tagged again every night."""
    has_utterances = exists().where(Utterance.call_id == Call.call_id)
    stale = or_(Call.tagged_with.is_(None), Call.tagged_with != model_version)
    with store.session() as s:
        return list(
            s.scalars(select(Call.call_id).where(has_utterances, stale).order_by(Call.call_id))
        )


def session_tagger(model: BehaviourModel) -> Callable[[Session, Sequence[Utterance]], int]:
    """A hook for writers (transcript import) that tags fresh utterances in their transaction.

    The writer has just inserted the call's utterances (flushed, so they have ids); the hook
    replaces the call's machine tags and returns how many it wrote.
    """

    def tag_in_session(session: Session, utterances: Sequence[Utterance]) -> int:
        call_ids = sorted({u.call_id for u in utterances})
        if call_ids:
            session.execute(
                delete(Tag).where(Tag.call_id.in_(call_ids), Tag.source.in_(MACHINE_SOURCES))
            )
        rows = tag_rows(model, utterances)
        if rows:
            session.execute(insert(Tag), rows)
        mark_tagged(session, call_ids, model.version)
        return len(rows)

    return tag_in_session
