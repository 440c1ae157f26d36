"""Batched transcription: windows, the re-decode rule, and words on the channel's time line."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from talktracks.speech import decode_channels
from talktracks.speech.batched import (
    WINDOW_S,
    Window,
    _failed,
    speech_windows,
    transcribe_channel_batched,
)


def test_windows_are_at_most_30_s_in_time_order(real_audio_dir):
    left = decode_channels(real_audio_dir / "stereo_diarization.wav")[0]
    long = np.concatenate([left] * 20)  # long enough to need several windows
    windows = speech_windows(long)
    assert len(windows) >= 2
    assert all(0 < w.end - w.start <= WINDOW_S + 1e-6 for w in windows)
    assert all(a.end <= b.start for a, b in zip(windows, windows[1:], strict=False))
    assert all(w.speech_s <= w.end - w.start + 1e-6 for w in windows)


def seg(logprob=-0.3, ratio=1.5, words=3):
    return SimpleNamespace(avg_logprob=logprob, compression_ratio=ratio, words=[0] * words)


def test_failed_windows_are_those_whisper_would_retry():
    speech = Window(0.0, 20.0, speech_s=15.0)
    assert not _failed(speech, [seg()])
    assert _failed(speech, [seg(logprob=-1.2)])
    assert _failed(speech, [seg(ratio=2.6)])
    assert _failed(speech, [])  # 15 s of speech decoded to nothing
    assert not _failed(Window(0.0, 1.0, speech_s=0.5), [])  # a cough, not lost speech


def test_words_keep_the_channels_own_times(whisper_model, real_audio_dir):
    jfk = decode_channels(real_audio_dir / "jfk.flac")[0]
    padded = np.concatenate([np.zeros(16000 * 7, dtype=np.float32), jfk])
    words, language, _ = transcribe_channel_batched(whisper_model, padded, beam_size=5)
    assert language == "en"
    assert words and words[0].start >= 6.5  # the 7 s of silence is not squeezed out
    assert words[-1].end <= len(padded) / 16000 + 0.05
    assert [w.start for w in words] == sorted(w.start for w in words)
    assert "country" in "".join(w.word for w in words).lower()
