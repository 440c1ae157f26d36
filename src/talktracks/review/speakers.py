"""A coach corrects who is who on a mono call: swap (or name) its two voices.

One transaction: the utterances' speakers and the speaker copied onto their labels change,
the call is re-tagged (rep-only behaviours depend on who spoke), its open flags are
re-evaluated, the voice now named rep enrols as that rep's voice print (source "coach"), and
the audit row records the mapping with the talk ratio before and after.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from talktracks.coaching.flags import check_behaviours, evaluate, write_flags
from talktracks.coaching.rules import load_rules
from talktracks.config import Settings
from talktracks.errors import InputError
from talktracks.review.actions import NotFound
from talktracks.review.audit import record
from talktracks.speech.voiceprint import VoicePrint
from talktracks.store import Call, CallSpeakers, Flag, Label, Store, Utterance
from talktracks.store.voices import save_voice_sample


@dataclass(frozen=True)
class SwapResult:
    mapping: dict[str, str]
    rep_talk_ratio_before: float | None
    rep_talk_ratio_after: float | None
    flags_open: int
    enrolled: bool


def rep_talk_ratio(speakers_and_spans: list[tuple[str, float, float]]) -> float | None:
    """Rep speaking time over rep + customer time (metrics.rep_talk_ratio's definition)."""
    rep = sum(e - s for who, s, e in speakers_and_spans if who == "rep")
    customer = sum(e - s for who, s, e in speakers_and_spans if who == "customer")
    return round(rep / (rep + customer), 4) if rep + customer > 0 else None


def swap_mapping(present: set[str], rep: str) -> dict[str, str]:
    """Old label -> new label so that voice `rep` becomes the rep of a two-voice call."""
    voices = sorted(present - {"unknown"})
    if len(voices) != 2 or rep not in voices:
        raise InputError(
            f"speaker swap needs a call with exactly two voices and one of them chosen "
            f"(voices: {', '.join(voices) or 'none'}; chosen: {rep!r})"
        )
    other = next(v for v in voices if v != rep)
    return {rep: "rep", other: "customer"}


def swap_speakers(
    store: Store, settings: Settings, actor: str, call_id: str, rep: str
) -> SwapResult:
    """Make voice `rep` (a current speaker label of the call) the rep; the other the customer."""
    # scikit-learn and spaCy load on the first swap, not when the app starts.
    from talktracks.behaviours.registry import load_current_model
    from talktracks.behaviours.tagging import replace_tags

    model = load_current_model(settings.models_dir)
    rules = load_rules(settings.coaching_rules)
    check_behaviours(rules)
    with store.session() as s:
        call = s.get(Call, call_id)
        if call is None:
            raise NotFound(f"no call {call_id}")
        if call.channels != "mono":
            raise InputError(f"call {call_id} is dual-channel: its speakers come from the channels")
        utts = list(s.scalars(select(Utterance).where(Utterance.call_id == call_id)))
        mapping = swap_mapping({u.speaker for u in utts}, rep)
        if all(old == new for old, new in mapping.items()):
            raise InputError(f"{rep} is already the rep on call {call_id}")
        before = rep_talk_ratio([(u.speaker, u.start, u.end) for u in utts])
        for u in utts:
            u.speaker = mapping.get(u.speaker, u.speaker)
        s.flush()
        speaker_of = {u.id: u.speaker for u in utts}
        for label in s.scalars(select(Label).where(Label.utterance_id.in_(list(speaker_of)))):
            label.speaker = speaker_of[label.utterance_id]  # training reads the label's speaker
        after = rep_talk_ratio([(u.speaker, u.start, u.end) for u in utts])
        replace_tags(s, model, [call_id])
        flags_open = _reflag(s, call_id, rules)
        enrolled = _enrol(s, call, mapping, actor)
        record(
            s,
            actor,
            "speakers.swap",
            f"call:{call_id}",
            {
                "mapping": mapping,
                "rep_talk_ratio_before": before,
                "rep_talk_ratio_after": after,
                "open_flags_after": flags_open,
                "enrolled_voice_print": enrolled,
                "model_version": model.version,
            },
        )
    return SwapResult(mapping, before, after, flags_open, enrolled)


def _reflag(s: Session, call_id: str, rules: Any) -> int:
    """Drop the call's open flags and raise the ones the rules raise now (resolved stay)."""
    s.execute(delete(Flag).where(Flag.call_id == call_id, Flag.status == "open"))
    s.flush()
    candidates, _ = evaluate(s, rules)
    write_flags(s, [c for c in candidates if c.call_id == call_id])
    s.flush()
    return len(
        list(s.scalars(select(Flag.id).where(Flag.call_id == call_id, Flag.status == "open")))
    )


def _enrol(s: Session, call: Call, mapping: dict[str, str], actor: str) -> bool:
    """The voice the coach named rep becomes enrolment data for the call's rep."""
    row = s.get(CallSpeakers, call.call_id)
    if row is None or not row.centroids or not row.extractor:
        return False
    windows = (row.details or {}).get("windows", {})
    old_rep = next(old for old, new in mapping.items() if new == "rep")
    renamed = {mapping.get(k, k): v for k, v in row.centroids.items()}
    row.centroids = renamed
    row.details = dict(row.details or {}) | {
        "windows": {mapping.get(k, k): v for k, v in windows.items()},
        "coach": {"by": actor, "previous_method": row.rep_method},
    }
    row.rep_method, row.rep_confidence = "coach", 1.0
    if not call.rep_id or old_rep not in mapping or renamed.get("rep") is None:
        return False
    import numpy as np

    sample = VoicePrint(
        row.extractor, np.asarray(renamed["rep"], dtype=np.float32), int(windows.get(old_rep, 1))
    )
    save_voice_sample(s, call.call_id, call.rep_id, sample, "coach")
    return True
