"""Batched transcription of one channel: VAD speech regions packed into windows of at most
30 s, decoded together by faster-whisper's BatchedInferencePipeline (beam search, word
timestamps), then every window that fails Whisper's usual quality checks re-decoded on its own
with the ordinary `transcribe()`, which has the temperature fallback the batched pass lacks.

Why the re-decode: measured on the sample calls (issue 13), the batched pass alone decoded two
of 42 windows to almost nothing (63 words lost on one call); the checks below catch exactly
those. Windows are given to the pipeline as `clip_timestamps` in the channel's own seconds,
so every word comes back on the channel's time line and speaker attribution is unchanged.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from talktracks.speech.audio import SAMPLE_RATE
from talktracks.speech.model import LoadedModel
from talktracks.speech.types import Word

WINDOW_S = 30.0
# Whisper's own fallback thresholds (transcribe()'s defaults), applied per window.
LOG_PROB_THRESHOLD = -1.0
COMPRESSION_RATIO_THRESHOLD = 2.4
# A window with this much speech (by VAD) and no words at all is a failed decode, not silence.
SPEECH_WITHOUT_WORDS_S = 2.0


@dataclass(frozen=True)
class Window:
    start: float
    end: float
    speech_s: float


def speech_windows(audio: np.ndarray) -> list[Window]:
    """VAD speech regions, greedily packed in time order into windows of at most 30 s."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    regions = get_speech_timestamps(audio, VadOptions(), sampling_rate=SAMPLE_RATE)
    windows: list[Window] = []
    for r in regions:
        start, end = r["start"] / SAMPLE_RATE, r["end"] / SAMPLE_RATE
        while end - start > WINDOW_S:  # one region longer than a window: cut it
            windows.append(Window(start, start + WINDOW_S, WINDOW_S))
            start += WINDOW_S
        last = windows[-1] if windows else None
        if last is not None and end - last.start <= WINDOW_S:
            windows[-1] = Window(last.start, end, last.speech_s + end - start)
        else:
            windows.append(Window(start, end, end - start))
    return windows


_pipelines: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _batched_pipeline(model: LoadedModel):  # noqa: ANN202 - faster-whisper's class
    from faster_whisper import BatchedInferencePipeline

    pipeline = _pipelines.get(model)
    if pipeline is None:
        pipeline = _pipelines[model] = BatchedInferencePipeline(model.whisper)  # one per model
    return pipeline


def transcribe_channel_batched(
    model: LoadedModel,
    audio: np.ndarray,
    *,
    beam_size: int,
    batch_size: int = 8,
    language: str | None = None,
) -> tuple[list[Word], str, int]:
    """Words (channel times), the language, and how many windows needed the re-decode."""
    windows = speech_windows(audio)
    if not windows:
        return [], language or "en", 0
    segments, info = _batched_pipeline(model).transcribe(
        audio,
        language=language,
        beam_size=beam_size,
        word_timestamps=True,
        vad_filter=False,
        clip_timestamps=[{"start": w.start, "end": w.end} for w in windows],
        batch_size=batch_size,
    )
    by_window: list[list] = [[] for _ in windows]
    for seg in segments:
        i = _window_of(windows, (seg.start + seg.end) / 2)
        by_window[i].append(seg)
    words: list[Word] = []
    redecoded = 0
    for window, segs in zip(windows, by_window, strict=True):
        if _failed(window, segs):
            redecoded += 1
            segs = _redecode(model, audio, window, beam_size=beam_size, language=language)
        words += [
            Word(start=w.start, end=w.end, word=w.word, probability=w.probability)
            for seg in segs
            for w in seg.words or ()
        ]
    words.sort(key=lambda w: w.start)
    return words, info.language, redecoded


def _window_of(windows: list[Window], t: float) -> int:
    best = min(range(len(windows)), key=lambda i: _distance(windows[i], t))
    return best


def _distance(w: Window, t: float) -> float:
    return 0.0 if w.start <= t <= w.end else min(abs(t - w.start), abs(t - w.end))


def _failed(window: Window, segs: list) -> bool:
    n_words = sum(len(s.words or ()) for s in segs)
    if n_words == 0:
        return window.speech_s >= SPEECH_WITHOUT_WORDS_S
    return any(
        s.avg_logprob < LOG_PROB_THRESHOLD or s.compression_ratio > COMPRESSION_RATIO_THRESHOLD
        for s in segs
    )


def _redecode(
    model: LoadedModel, audio: np.ndarray, window: Window, *, beam_size: int, language: str | None
) -> list:
    segments, _ = model.whisper.transcribe(
        audio,
        beam_size=beam_size,
        language=language,
        word_timestamps=True,
        vad_filter=False,
        clip_timestamps=[window.start, window.end],
    )
    return list(segments)
