"""Streaming transcription: short calls exactly as before, long ones in chunks cut at pauses."""

from __future__ import annotations

import wave
from pathlib import Path

import jiwer
import numpy as np

from talktracks.config import Settings
from talktracks.speech import SAMPLE_RATE, decode_channels, transcribe_call
from talktracks.speech.longform import transcribe_recording

JFK = (
    "And so, my fellow Americans, ask not what your country can do for you, "
    "ask what you can do for your country."
)
RIGHT = "The horizon seems extremely distant."
LEFT = "He began a confused complaint against the wizard, who had vanished behind the curtain on the left."


def norm(text: str) -> str:
    return jiwer.Compose(
        [
            jiwer.ToLowerCase(),
            jiwer.RemovePunctuation(),
            jiwer.RemoveMultipleSpaces(),
            jiwer.Strip(),
        ]
    )(text)


def write_wav(path: Path, channels: np.ndarray) -> Path:
    pcm = (np.clip(channels, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as f:
        f.setnchannels(pcm.shape[0])
        f.setsampwidth(2)
        f.setframerate(SAMPLE_RATE)
        f.writeframes(pcm.T.tobytes())
    return path


def test_short_recordings_transcribe_exactly_as_the_whole_file_path(real_audio_dir, whisper_model):
    settings = Settings()
    for name, channels in (("stereo_diarization.wav", "rep-right"), ("jfk.flac", "mono")):
        path = real_audio_dir / name
        whole = transcribe_call(path, channels, whisper_model, settings)
        streamed = transcribe_recording(path, channels, whisper_model, settings)
        assert [(u.speaker, u.start, u.end, u.text) for u in streamed.utterances] == [
            (u.speaker, u.start, u.end, u.text) for u in whole.utterances
        ]
        assert (streamed.duration, streamed.language) == (whole.duration, whole.language)


def test_long_recording_is_transcribed_in_chunks_on_the_recording_clock(
    tmp_path, real_audio_dir, whisper_model
):
    """Three copies of a stereo call 8 s apart, in 12 s chunks: every copy found at its time."""
    left, right = decode_channels(real_audio_dir / "stereo_diarization.wav")
    gap = np.zeros(8 * SAMPLE_RATE, dtype=np.float32)
    starts = [0.0]
    parts_l, parts_r = [], []
    for _ in range(3):
        parts_l += [left, gap]
        parts_r += [right, gap]
        starts.append(starts[-1] + (len(left) + len(gap)) / SAMPLE_RATE)
    path = write_wav(
        tmp_path / "long.wav", np.stack([np.concatenate(parts_l), np.concatenate(parts_r)])
    )
    t = transcribe_recording(
        path, "rep-right", whisper_model, Settings(), chunk_s=12.0, search_s=4.0
    )
    assert abs(t.duration - starts[3]) < 0.01
    for i in range(3):
        lo, hi = starts[i] - 1.0, starts[i + 1] - 1.0  # word times may lead by a few frames
        rep = " ".join(u.text for u in t.utterances if u.speaker == "rep" and lo <= u.start < hi)
        customer = " ".join(
            u.text for u in t.utterances if u.speaker == "customer" and lo <= u.start < hi
        )
        assert jiwer.wer(norm(RIGHT), norm(rep)) <= 0.25, (i, rep)
        assert jiwer.wer(norm(LEFT), norm(customer)) <= 0.25, (i, customer)
    assert [u.start for u in t.utterances] == sorted(u.start for u in t.utterances)
