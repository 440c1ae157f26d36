"""Recordings to transcripts: decode, transcribe each channel, attribute speakers, merge."""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Protocol

import numpy as np

from talktracks.speech.audio import SAMPLE_RATE, decode_channels
from talktracks.speech.diarize import Diarization, Diarizer
from talktracks.speech.merge import merge_channel_words, merge_turn_words
from talktracks.speech.model import LoadedModel
from talktracks.speech.types import Transcript, Word
from talktracks.speech.voices import default_diarizer, rep_voice_sample

CHANNEL_LAYOUTS = ("rep-left", "rep-right", "mono")

# Channels this correlated carry one signal written twice (a mono bridge saved as stereo; the
# shared jfk.flac is such a file, 0.9996). Transcribing both would credit every word to rep and
# customer alike. Real two-party stereo sits near 0 even with crosstalk bleed.
_SAME_SIGNAL_CORRELATION = 0.95


class SpeechSettings(Protocol):
    """The part of talktracks.config.Settings that transcription reads."""

    whisper_beam_size: int
    whisper_language: str | None
    vad_filter: bool
    utterance_pause_s: float
    diarization: bool
    diarization_max_speakers: int


def transcribe_channel(
    model: LoadedModel,
    audio: np.ndarray,
    *,
    beam_size: int,
    vad_filter: bool = True,
    language: str | None = None,
) -> tuple[list[Word], str]:
    """Words (absolute times) and the detected language of one 16 kHz mono channel."""
    _fixed_blas_threads()  # every path (whole file, streamed chunks, worker, Dask) comes here
    segments, info = model.whisper.transcribe(
        audio,
        beam_size=beam_size,
        vad_filter=vad_filter,
        language=language,
        word_timestamps=True,
    )
    # faster-whisper transcribes lazily: nothing runs until the generator is drained.
    words = [
        Word(start=w.start, end=w.end, word=w.word, probability=w.probability)
        for segment in segments
        for w in segment.words or ()
    ]
    return words, info.language


# A fixed BLAS thread count makes the features the same everywhere; 2 is what the reference
# development machine used before the pin, so transcripts stored and tested there still hold.
BLAS_THREADS = 2


@functools.cache
def _fixed_blas_threads() -> None:
    """Pin NumPy's BLAS to BLAS_THREADS threads for good, in this process.

    faster-whisper's mel features are a BLAS matrix product, and a multi-threaded BLAS sums in
    a thread-count-dependent order: the features then differ in the last bits, and beam search
    can turn that into different words. Measured: the same recording gave different text in a
    Dask worker (which sets OMP/OPENBLAS threads to 1) than in the nightly process. A fixed
    count makes a transcript the same on every machine and runner (OpenBLAS splits the work by
    the count, not by the cores it finds).
    Process-wide and not restored, because a restoring context in one of several concurrent
    calls would change the thread count under the others.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(BLAS_THREADS, user_api="blas")


def transcribe_call(
    path: Path,
    channels: str,
    model: LoadedModel,
    settings: SpeechSettings,
    *,
    diarizer: Diarizer | None = None,
    enrol_rep_voice: bool = False,
) -> Transcript:
    """Transcribe one recording into speaker-attributed utterances.

    channels: "rep-left" (left is the rep, right the customer), "rep-right", or "mono".
    A stereo layout on a mono recording, or on a stereo file whose two channels carry the
    same signal, is transcribed as mono: speakers cannot be told apart from channels there.
    Mono audio goes through the diarizer (default: speech/voices.default_diarizer, voice
    clustering without a rep print; settings.diarization false means everything "unknown").
    With enrol_rep_voice, a dual-channel call also returns the rep channel's voice print.
    """
    if channels not in CHANNEL_LAYOUTS:
        raise ValueError(
            f"{path}: channels must be one of {', '.join(CHANNEL_LAYOUTS)}, got {channels!r}"
        )
    started = time.perf_counter()
    return transcribe_decoded(
        decode_channels(Path(path)),
        channels,
        model,
        settings,
        diarizer=diarizer,
        enrol_rep_voice=enrol_rep_voice,
        started=started,
    )


def transcribe_decoded(
    decoded: list[np.ndarray],
    channels: str,
    model: LoadedModel,
    settings: SpeechSettings,
    *,
    diarizer: Diarizer | None = None,
    enrol_rep_voice: bool = False,
    started: float | None = None,
) -> Transcript:
    """`transcribe_call` on channels already decoded (16 kHz float32, one array a channel)."""
    started = time.perf_counter() if started is None else started
    diarization: Diarization | None
    rep_voice = None
    duration = max(len(samples) for samples in decoded) / SAMPLE_RATE

    def run(audio: np.ndarray) -> tuple[list[Word], str]:
        if getattr(settings, "transcription", "sequential") == "batched":
            from talktracks.speech.batched import transcribe_channel_batched

            words, language, _ = transcribe_channel_batched(
                model,
                audio,
                beam_size=settings.whisper_beam_size,
                batch_size=getattr(settings, "whisper_batch_size", 8),
                language=settings.whisper_language or model.language,
            )
            return words, language
        return transcribe_channel(
            model,
            audio,
            beam_size=settings.whisper_beam_size,
            vad_filter=settings.vad_filter,
            language=settings.whisper_language or model.language,
        )

    if channels == "mono" or len(decoded) == 1 or _same_signal(decoded[0], decoded[1]):
        mono = decoded[0] if len(decoded) == 1 else _mix_down(decoded[0], decoded[1])
        words, language = run(mono)
        diarizer = diarizer or default_diarizer(model, settings)
        diarization = diarizer.diarize(mono, words)
        # One voice after another on one track: a speaker change ends the utterance.
        utterances = merge_turn_words(
            diarization.words_by_speaker, pause_s=settings.utterance_pause_s
        )
    else:
        left, right = decoded
        rep_audio, customer_audio = (left, right) if channels == "rep-left" else (right, left)
        rep_words, rep_language = run(rep_audio)
        customer_words, customer_language = run(customer_audio)
        words_by_speaker = {"rep": rep_words, "customer": customer_words}
        # A call has one language; trust the side that said more.
        language = rep_language if len(rep_words) >= len(customer_words) else customer_language
        utterances = merge_channel_words(words_by_speaker, pause_s=settings.utterance_pause_s)
        diarization = None
        if enrol_rep_voice:
            rep_voice = rep_voice_sample(model, rep_audio, rep_words)

    return Transcript(
        utterances=utterances,
        duration=duration,
        language=language,
        model_name=model.name,
        model_hash=model.hash,
        processing_seconds=time.perf_counter() - started,
        diarization=diarization,
        rep_voice=rep_voice,
    )


def _same_signal(left: np.ndarray, right: np.ndarray) -> bool:
    if left.shape != right.shape:
        return False
    # Cosine similarity rather than a difference, so a channel recorded at another gain still
    # counts as the same signal.
    energy = float(np.dot(left, left)) * float(np.dot(right, right))
    if energy == 0.0:
        # A silent side is a party who said nothing, not a copy: keep channel attribution.
        return False
    return float(np.dot(left, right)) / np.sqrt(energy) >= _SAME_SIGNAL_CORRELATION


def _mix_down(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    # No np.stack: an hour of 16 kHz audio is 230 MB per channel.
    return ((left + right) * 0.5).astype(np.float32, copy=False)
