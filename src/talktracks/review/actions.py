"""What a reviewer can change: label behaviours, comment, resolve or reopen flags, re-run flags.

Each action runs in one transaction with its audit row, so an action is never stored without
who did it and when. Labels are what `talktracks train` reads: origin "coach", the utterance's
text and speaker copied in. A coach changing their mind updates their own label for that
utterance and behaviour (the audit keeps the history), so training never sees one person's
contradicting votes.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from talktracks.coaching import FlagSummary, compute_flags
from talktracks.coaching.wording import behaviour_words
from talktracks.config import Settings
from talktracks.errors import InputError
from talktracks.review.audit import record
from talktracks.store import Call, Comment, Flag, Label, Store, Tag, Utterance
from talktracks.store.models import utcnow

MAX_COMMENT_CHARS = 5000


class NotFound(LookupError):
    """The call, utterance or flag does not exist (or not where the request says)."""


def _utterance(s: Session, call_id: str, utterance_id: int) -> Utterance:
    utt = s.get(Utterance, utterance_id)
    if utt is None or utt.call_id != call_id:
        raise NotFound(f"no utterance {utterance_id} in call {call_id}")
    return utt


def label_behaviour(
    store: Store,
    actor: str,
    call_id: str,
    utterance_id: int,
    behaviour: str,
    value: bool,
    known_behaviours: list[str],
) -> str:
    """Record `actor`'s judgement that the utterance does (value) or does not show `behaviour`.

    Returns the audit action: label.confirm / label.reject (a machine tag was judged) or
    label.add / label.remove (a behaviour the machine did not tag).
    """
    with store.session() as s:
        utt = _utterance(s, call_id, utterance_id)
        tag = s.scalar(
            select(Tag).where(Tag.utterance_id == utt.id, Tag.behaviour == behaviour).limit(1)
        )
        if behaviour not in known_behaviours and tag is None:
            raise InputError(f"unknown behaviour {behaviour!r}")
        if tag is not None:
            action = "label.confirm" if value else "label.reject"
        else:
            action = "label.add" if value else "label.remove"
        _set_coach_label(s, utt, call_id, behaviour, value, actor)
        details = {"behaviour": behaviour, "value": value, "utterance_id": utt.id}
        if tag is not None:
            details |= {"tag_id": tag.id, "score": tag.score, "model_version": tag.model_version}
        record(s, actor, action, f"call:{call_id}", details)
    return action


def add_comment(
    store: Store, actor: str, call_id: str, utterance_id: int | None, text: str
) -> None:
    text = text.strip()
    if not text:
        raise InputError("a comment cannot be empty")
    if len(text) > MAX_COMMENT_CHARS:
        raise InputError(f"a comment can have at most {MAX_COMMENT_CHARS} characters")
    with store.session() as s:
        at = None
        if utterance_id is not None:
            at = _utterance(s, call_id, utterance_id).start
        elif s.get(Call, call_id) is None:
            raise NotFound(f"no call {call_id}")
        s.add(
            Comment(
                call_id=call_id, utterance_id=utterance_id, at_seconds=at, author=actor, text=text
            )
        )
        record(s, actor, "comment.add", f"call:{call_id}", {"utterance_id": utterance_id})


def set_flag_status(
    store: Store, actor: str, flag_id: int, resolve: bool, note: str = ""
) -> tuple[str, bool]:
    """Resolve (or reopen) a flag. Returns (its call id, whether anything changed)."""
    note = note.strip()
    if len(note) > MAX_COMMENT_CHARS:
        raise InputError(f"a note can have at most {MAX_COMMENT_CHARS} characters")
    with store.session() as s:
        flag = s.get(Flag, flag_id)
        if flag is None:
            raise NotFound(f"no flag {flag_id}")
        wanted = "resolved" if resolve else "open"
        if flag.status == wanted:
            return flag.call_id, False
        flag.status = wanted
        flag.resolved_by, flag.resolved_at = (actor, utcnow()) if resolve else (None, None)
        if note:
            s.add(
                Comment(
                    call_id=flag.call_id,
                    utterance_id=flag.utterance_id,
                    at_seconds=flag.at_seconds,
                    author=actor,
                    text=f"{'Resolved' if resolve else 'Reopened'} {behaviour_words(flag.rule)}: {note}",
                )
            )
        record(
            s,
            actor,
            "flag.resolve" if resolve else "flag.reopen",
            f"flag:{flag.id}",
            {"call_id": flag.call_id, "rule": flag.rule, "note": note or None},
        )
        return flag.call_id, True


def rerun_flags(store: Store, settings: Settings, actor: str) -> FlagSummary:
    """Re-evaluate the coaching rules now (admin page, `talktracks review flags`), audited."""
    summary = compute_flags(store, settings)
    with store.session() as s:
        details = {"created": summary.created, "refreshed": summary.refreshed}
        record(s, actor, "flags.rerun", None, details)
    return summary


def relabel_behaviour(
    store: Store,
    actor: str,
    call_id: str,
    utterance_id: int,
    behaviour: str,
    to: str,
    known_behaviours: list[str],
) -> None:
    """`actor` says the utterance shows `to`, not `behaviour`: both labels in one transaction,
    with one audit row (label.relabel) naming both."""
    if to not in known_behaviours:
        raise InputError(f"unknown behaviour {to!r}")
    if to == behaviour:
        raise InputError(f"relabelling {behaviour!r} as itself changes nothing")
    with store.session() as s:
        utt = _utterance(s, call_id, utterance_id)
        for name, value in ((behaviour, False), (to, True)):
            _set_coach_label(s, utt, call_id, name, value, actor)
        details = {"from": behaviour, "to": to, "utterance_id": utt.id}
        record(s, actor, "label.relabel", f"call:{call_id}", details)


def _set_coach_label(
    s: Session, utt: Utterance, call_id: str, behaviour: str, value: bool, actor: str
) -> None:
    """This coach's judgement of one behaviour on one utterance: one row, updated in place."""
    label = s.scalar(
        select(Label)
        .where(
            Label.utterance_id == utt.id,
            Label.behaviour == behaviour,
            Label.author == actor,
            Label.origin == "coach",
        )
        .limit(1)
    )
    if label is None:
        label = Label(utterance_id=utt.id, behaviour=behaviour, author=actor, origin="coach")
        s.add(label)
    label.call_id, label.text, label.speaker = call_id, utt.text, utt.speaker
    label.value, label.created_at = value, utcnow()
