"""End-to-end transcription of real recordings with the real embedded model.

Accuracy is judged by word error rate against the references in real_audio/README.md after
lower-casing and dropping punctuation; tiny.en is not expected to be word-perfect.
"""

from __future__ import annotations

import re
import wave
from pathlib import Path

import jiwer
import numpy as np
import pytest

from talktracks.config import Settings
from talktracks.speech import (
    EMBEDDED_HASHES,
    SAMPLE_RATE,
    Transcript,
    decode_channels,
    probe_channels,
    transcribe_call,
    transcribe_channel,
)
from talktracks.speech.transcribe import _same_signal

JFK = (
    "And so, my fellow Americans, ask not what your country can do for you, "
    "ask what you can do for your country."
)
LEFT = "He began a confused complaint against the wizard, who had vanished behind the curtain on the left."
RIGHT = "The horizon seems extremely distant."
MAX_WER = 0.25


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


def wer(reference: str, hypothesis: str) -> float:
    return jiwer.wer(normalise(reference), normalise(hypothesis))


def write_pcm_wav(path: Path, channels: np.ndarray) -> Path:
    pcm = (np.clip(channels, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as f:
        f.setnchannels(pcm.shape[0])
        f.setsampwidth(2)
        f.setframerate(SAMPLE_RATE)
        f.writeframes(pcm.T.tobytes())
    return path


def speaker_text(transcript: Transcript, speaker: str) -> str:
    return " ".join(u.text for u in transcript.utterances if u.speaker == speaker)


@pytest.fixture(scope="module", params=["sequential", "batched"])
def settings(request) -> Settings:
    # Explicit values so a developer's talktracks.toml or TALKTRACKS_* cannot change the test.
    # Every attribution and WER test runs in both transcription modes (speech/batched.py).
    return Settings(
        whisper_beam_size=5,
        whisper_language=None,
        vad_filter=True,
        utterance_pause_s=1.0,
        transcription=request.param,
    )


def assert_well_formed(transcript: Transcript) -> None:
    starts = [u.start for u in transcript.utterances]
    assert starts == sorted(starts)
    for utterance in transcript.utterances:
        assert 0.0 <= utterance.start <= utterance.end <= transcript.duration + 0.05
        assert 0.0 < utterance.confidence <= 1.0
        assert utterance.text == utterance.text.strip()
        assert utterance.words


def test_mono_recording(whisper_model, real_audio_dir: Path, settings: Settings) -> None:
    transcript = transcribe_call(real_audio_dir / "jfk.flac", "mono", whisper_model, settings)
    assert {u.speaker for u in transcript.utterances} == {"speaker_1"}  # one voice, unnamed
    assert wer(JFK, speaker_text(transcript, "speaker_1")) <= MAX_WER
    assert transcript.language == "en"
    assert transcript.duration == pytest.approx(11.0, abs=0.05)
    assert transcript.model_hash == EMBEDDED_HASHES["model.bin"]
    assert transcript.model_name == whisper_model.name
    assert transcript.processing_seconds > 0
    assert_well_formed(transcript)


def test_stereo_layout_on_mono_file_falls_back_to_unknown(
    whisper_model, real_audio_dir: Path, settings: Settings, tmp_path: Path
) -> None:
    # jfk.flac has two near-identical channels; their mean is a true one-channel recording.
    samples = np.mean(decode_channels(real_audio_dir / "jfk.flac"), axis=0, dtype=np.float32)
    path = write_pcm_wav(tmp_path / "mono.wav", samples[None, :])
    assert probe_channels(path) == 1
    transcript = transcribe_call(path, "rep-left", whisper_model, settings)
    assert {u.speaker for u in transcript.utterances} == {"speaker_1"}  # one voice, unnamed
    assert wer(JFK, speaker_text(transcript, "speaker_1")) <= MAX_WER


def test_dual_mono_file_is_not_attributed_by_channel(
    whisper_model, real_audio_dir: Path, settings: Settings
) -> None:
    # jfk.flac is documented as mono but is two near-identical channels (a mono source saved
    # as stereo): a stereo layout must not credit every word to both rep and customer.
    path = real_audio_dir / "jfk.flac"
    assert probe_channels(path) == 2
    transcript = transcribe_call(path, "rep-left", whisper_model, settings)
    assert {u.speaker for u in transcript.utterances} == {"speaker_1"}  # one voice, unnamed
    assert wer(JFK, speaker_text(transcript, "speaker_1")) <= MAX_WER


@pytest.mark.parametrize(
    ("channels", "rep_ref", "customer_ref"),
    [
        ("rep-left", LEFT, RIGHT),
        ("rep-right", RIGHT, LEFT),
    ],
    ids=["rep-left", "rep-right"],
)
def test_stereo_channels_map_to_speakers(
    whisper_model,
    real_audio_dir: Path,
    settings: Settings,
    channels: str,
    rep_ref: str,
    customer_ref: str,
) -> None:
    path = real_audio_dir / "stereo_diarization.wav"
    transcript = transcribe_call(path, channels, whisper_model, settings)
    assert {u.speaker for u in transcript.utterances} == {"rep", "customer"}
    assert wer(rep_ref, speaker_text(transcript, "rep")) <= MAX_WER
    assert wer(customer_ref, speaker_text(transcript, "customer")) <= MAX_WER
    assert transcript.duration == pytest.approx(len(decode_channels(path)[0]) / SAMPLE_RATE)
    assert_well_formed(transcript)


def test_silence_gives_no_words(whisper_model) -> None:
    words, language = transcribe_channel(
        whisper_model, np.zeros(3 * SAMPLE_RATE, dtype=np.float32), beam_size=5
    )
    assert words == []
    assert language == "en"


def test_words_have_absolute_times(whisper_model, real_audio_dir: Path) -> None:
    # Prepend 2 s of silence: every word must move by about 2 s, VAD or not.
    samples = np.mean(decode_channels(real_audio_dir / "jfk.flac"), axis=0, dtype=np.float32)
    shifted = np.concatenate([np.zeros(2 * SAMPLE_RATE, dtype=np.float32), samples])
    words, _ = transcribe_channel(whisper_model, shifted, beam_size=5, vad_filter=True)
    assert words
    assert words[0].start >= 1.5
    assert words[-1].end <= len(shifted) / SAMPLE_RATE + 0.05


def test_unknown_channel_layout_is_rejected(
    whisper_model, real_audio_dir: Path, settings: Settings
) -> None:
    with pytest.raises(ValueError, match="rep-left, rep-right, mono"):
        transcribe_call(real_audio_dir / "jfk.flac", "left", whisper_model, settings)


def test_channel_similarity_ignores_gain_and_keeps_silent_sides() -> None:
    rng = np.random.default_rng(3)
    speech = rng.normal(0, 0.1, SAMPLE_RATE).astype(np.float32)
    other = rng.normal(0, 0.1, SAMPLE_RATE).astype(np.float32)
    assert _same_signal(speech, 0.5 * speech)
    assert not _same_signal(speech, other + 0.1 * speech)  # another party plus some bleed
    # A customer who never spoke leaves a silent channel; the rep's words stay the rep's.
    assert not _same_signal(speech, np.zeros_like(speech))
