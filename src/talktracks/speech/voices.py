"""The default diarizer and voice prints, wired to the loaded Whisper model.

The extractor is MFCC statistics (speech/embeddings.py): on the sample calls it put 95 % of
speech windows on the right voice against 63 % for the Whisper encoder's output
(docs/diarization.md has the measurement).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from talktracks.speech import clustering
from talktracks.speech.diarize import Diarizer, NullDiarizer, VoiceDiarizer
from talktracks.speech.embeddings import FeatureExtractor, MfccFeatures
from talktracks.speech.model import LoadedModel
from talktracks.speech.types import Word
from talktracks.speech.voiceprint import VoicePrint, voice_print


class DiarizationSettings(Protocol):
    diarization: bool
    diarization_max_speakers: int


def voice_extractor_name() -> str:
    """The name stored prints are filed under; needs no model (the orchestrator looks prints
    up while the model may live in a worker process)."""
    return MfccFeatures.name


def voice_extractor(model: LoadedModel) -> FeatureExtractor:
    """The feature extractor diarization and voice prints use (one choice for both)."""
    return MfccFeatures(model.whisper)


def default_diarizer(
    model: LoadedModel, settings: DiarizationSettings, rep_print: VoicePrint | None = None
) -> Diarizer:
    if not settings.diarization:
        return NullDiarizer()
    return VoiceDiarizer(
        voice_extractor(model), rep_print, max_speakers=settings.diarization_max_speakers
    )


def rep_voice_sample(model: LoadedModel, audio: np.ndarray, words: list[Word]) -> VoicePrint | None:
    """The voice print of one clean channel (a rep's side of a dual-channel call)."""
    if not words:
        return None
    extractor = voice_extractor(model)
    features = extractor.frames(audio)
    windows = clustering.speech_windows(features, clustering.speech_regions(words))
    return voice_print(extractor.name, windows.embeddings)
