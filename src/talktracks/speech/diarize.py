"""Who spoke which word in a mono recording.

Stereo calls need no diarization: each party has a channel. Mono recordings go through a
Diarizer so a real one can be dropped in later without touching transcription or merging.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from talktracks.speech.types import Word


class Diarizer(Protocol):
    """Splits a mono recording's words by speaker.

    In: the 16 kHz mono samples and the words recognised in them (absolute times).
    Out: words per speaker label ("rep", "customer" or "unknown"); every word appears once.
    """

    def assign_speakers(self, audio: np.ndarray, words: list[Word]) -> dict[str, list[Word]]: ...


class NullDiarizer:
    """Labels every word "unknown".

    A later step replaces this with real diarization plus rep identification; until then mono
    calls are transcribed but not attributed, which the analysis treats as missing talk ratios
    rather than guessing.
    """

    def assign_speakers(self, audio: np.ndarray, words: list[Word]) -> dict[str, list[Word]]:
        return {"unknown": list(words)}
