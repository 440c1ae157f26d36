"""Speech: recordings in, speaker-attributed utterances out.

decode_channels -> transcribe_channel per channel -> merge_channel_words, wrapped by
transcribe_call (mono: VoiceDiarizer splits words by voice and names the rep);
load_model resolves, verifies and caches the Whisper model.
"""

import os

# huggingface_hub reads this once, when faster-whisper first imports it, so it is set before
# any submodule below imports faster-whisper. Call audio must never leave the machine, and a
# model lookup must not hang on a network that is not there. An explicit user value wins.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from talktracks.hashing import file_sha256 as content_hash  # a recording's identity
from talktracks.speech.audio import (
    SAMPLE_RATE,
    decode_channels,
    probe_channels,
)
from talktracks.speech.diarize import Diarization, Diarizer, NullDiarizer, VoiceDiarizer
from talktracks.speech.merge import join_words, merge_channel_words
from talktracks.speech.model import (
    EMBEDDED_HASHES,
    LoadedModel,
    ResolvedModel,
    load_model,
    resolve_model,
    verify_model_files,
)
from talktracks.speech.transcribe import (
    CHANNEL_LAYOUTS,
    transcribe_call,
    transcribe_channel,
)
from talktracks.speech.types import SPEAKERS, Transcript, Utterance, Word

__all__ = [
    "CHANNEL_LAYOUTS",
    "EMBEDDED_HASHES",
    "SAMPLE_RATE",
    "SPEAKERS",
    "Diarization",
    "Diarizer",
    "LoadedModel",
    "NullDiarizer",
    "ResolvedModel",
    "Transcript",
    "Utterance",
    "VoiceDiarizer",
    "Word",
    "content_hash",
    "decode_channels",
    "join_words",
    "load_model",
    "merge_channel_words",
    "probe_channels",
    "resolve_model",
    "transcribe_call",
    "transcribe_channel",
    "verify_model_files",
]
