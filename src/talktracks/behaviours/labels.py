"""Writing labels: the one helper the review app (or a script) uses to record a judgement.

Training reads every row of the labels table (see data.py for precedence), so a coach's
correction reaches the next `talktracks train` without any other step.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from talktracks.behaviours.data import ORIGIN_RANK
from talktracks.behaviours.taxonomy import SPEAKERS, Taxonomy, load_taxonomy
from talktracks.errors import InputError
from talktracks.store import Label, Utterance


def record_label(
    session: Session,
    *,
    behaviour: str,
    value: bool,
    author: str,
    utterance_id: int | None = None,
    text: str | None = None,
    speaker: str | None = None,
    call_id: str | None = None,
    origin: str = "coach",
    taxonomy: Taxonomy | None = None,
) -> Label:
    """Add a label row. Give `utterance_id` (text, speaker and call are copied from it, so the
    label survives re-transcription) or `text` and `speaker` directly."""
    taxonomy = taxonomy or load_taxonomy()
    if behaviour not in taxonomy.names:
        raise InputError(f"unknown behaviour {behaviour!r}; known: {', '.join(taxonomy.names)}")
    if origin not in ORIGIN_RANK:
        raise InputError(f"label origin must be one of {', '.join(ORIGIN_RANK)}")
    if utterance_id is not None:
        utterance = session.get(Utterance, utterance_id)
        if utterance is None:
            raise InputError(f"no utterance with id {utterance_id}")
        text = utterance.text if text is None else text
        speaker = utterance.speaker if speaker is None else speaker
        call_id = utterance.call_id if call_id is None else call_id
    if not text or not text.strip():
        raise InputError("a label needs the utterance text")
    speaker = speaker or "unknown"
    if speaker not in SPEAKERS:
        raise InputError(f"speaker must be one of {', '.join(SPEAKERS)}")
    label = Label(
        utterance_id=utterance_id,
        call_id=call_id,
        text=text,
        speaker=speaker,
        behaviour=behaviour,
        value=bool(value),
        author=author,
        origin=origin,
    )
    session.add(label)
    session.flush()
    return label
