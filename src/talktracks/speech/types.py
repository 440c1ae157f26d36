"""Plain result types of the speech stage, shaped like faster-whisper's own dataclasses.

They are frozen so a transcript can be passed around (store, behaviours, review) without anyone
editing it in place; the store serialises them as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from talktracks.speech.diarize import Diarization
    from talktracks.speech.voiceprint import VoicePrint

Speaker = Literal["rep", "customer", "unknown"]
SPEAKERS: tuple[Speaker, ...] = ("rep", "customer", "unknown")


@dataclass(frozen=True)
class Word:
    """One recognised word; times are seconds from the start of the recording."""

    start: float
    end: float
    word: str
    """As faster-whisper emits it, usually with its leading space (" hello")."""
    probability: float


@dataclass(frozen=True)
class Utterance:
    """A run of one speaker's words, ended by a speaker change, a pause or a sentence end."""

    speaker: str
    """One of SPEAKERS, or speaker_1, speaker_2, ... for voices of a mono call that were not
    named (the analysis counts those as unknown)."""
    start: float
    end: float
    text: str
    confidence: float
    """Mean word probability."""
    words: tuple[Word, ...]


@dataclass(frozen=True)
class Transcript:
    """Everything the speech stage knows about one call."""

    utterances: list[Utterance]
    duration: float
    """Seconds of audio (decoded samples / 16 kHz)."""
    language: str
    model_name: str
    model_hash: str
    """SHA-256 of the model's model.bin, so every transcript can be traced to exact weights."""
    processing_seconds: float
    """Wall time of decoding and transcription."""
    diarization: Diarization | None = None
    """Mono calls: who spoke when, how the rep was named and how sure (None for stereo)."""
    rep_voice: VoicePrint | None = None
    """Dual-channel calls transcribed with enrol_rep_voice: the rep channel's voice print."""
