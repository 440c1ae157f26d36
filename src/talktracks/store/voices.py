"""Rows behind rep voice prints and per-call speaker naming (helpers, no decisions)."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from talktracks.speech.diarize import Diarization
from talktracks.speech.voiceprint import VoicePrint, VoicePrintError, combine
from talktracks.store.models import Call, CallSpeakers, VoiceSample


def rep_print(session: Session, rep_id: str | None, extractor: str) -> VoicePrint | None:
    """The rep's print from their stored samples of this extractor; None without any.

    A sample whose hash does not match is left out (and says so in the log), never trusted.
    The sample's own rep_id records who it was enrolled for; the call's current rep decides.
    """
    if not rep_id:
        return None
    prints = []
    # Joined through calls: a rep id corrected in the manifest (no re-transcription) moves the
    # call's voice sample to the right rep with it.
    for row in session.scalars(
        select(VoiceSample)
        .join(Call, Call.call_id == VoiceSample.call_id)
        .where(Call.rep_id == rep_id, VoiceSample.extractor == extractor)
    ):
        try:
            prints.append(VoicePrint.from_json(row.extractor, row.vector, row.windows, row.sha256))
        except VoicePrintError as exc:
            import logging

            logging.getLogger(__name__).warning("call %s: %s; sample ignored", row.call_id, exc)
    return combine(prints)


def save_voice_sample(
    session: Session, call_id: str, rep_id: str, sample: VoicePrint, source: str
) -> None:
    """Replace the call's sample (a re-transcribed or re-swapped call counts once)."""
    session.execute(
        delete(VoiceSample).where(
            VoiceSample.call_id == call_id, VoiceSample.extractor == sample.extractor
        )
    )
    session.add(
        VoiceSample(
            rep_id=rep_id,
            call_id=call_id,
            source=source,
            extractor=sample.extractor,
            vector=sample.to_json(),
            windows=sample.windows,
            sha256=sample.digest(),
        )
    )


def save_call_speakers(session: Session, call_id: str, diarization: Diarization | None) -> None:
    """Replace the call's speaker-naming row (removed for a call that is no longer mono)."""
    session.execute(delete(CallSpeakers).where(CallSpeakers.call_id == call_id))
    if diarization is None or not diarization.extractor:
        return  # a stereo call, or diarization switched off: nothing was decided
    session.add(
        CallSpeakers(
            call_id=call_id,
            n_speakers=diarization.n_speakers,
            rep_method=diarization.rep_method,
            rep_confidence=round(diarization.rep_confidence, 4),
            extractor=diarization.extractor or None,
            centroids=diarization.centroids,
            details=diarization.details,
        )
    )
