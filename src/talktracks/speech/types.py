"""Plain result types of the speech stage, shaped like faster-whisper's own dataclasses.

They are frozen so a transcript can be passed around (store, behaviours, review) without anyone
editing it in place; the store serialises them as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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
    """One of SPEAKERS."""
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
