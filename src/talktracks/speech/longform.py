"""Long recordings in bounded memory: decode in blocks, transcribe in chunks cut at quiet points.

`transcribe_call` decodes a whole recording before transcribing it, so an hour of stereo audio
took 3.6 GB. Here the recording streams through `iter_audio_blocks`, and each channel is
transcribed in chunks of about `chunk_s` seconds. A chunk ends at the quietest 0.1 s within
the last `search_s` seconds before its nominal end, so a cut falls in a pause rather than
through a word; word times are shifted back to the recording's clock and merged as usual.

A recording no longer than `chunk_s + search_s` is one chunk per channel, transcribed exactly
as `transcribe_call` would (same samples, same decisions), so short calls are unaffected.
Peak memory is about one chunk per channel plus the model, whatever the recording's length.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

from talktracks.speech.audio import SAMPLE_RATE, iter_audio_blocks
from talktracks.speech.diarize import UNDECIDED, Diarization, Diarizer
from talktracks.speech.merge import merge_channel_words, merge_turn_words
from talktracks.speech.model import LoadedModel
from talktracks.speech.transcribe import (
    CHANNEL_LAYOUTS,
    SpeechSettings,
    _mix_down,
    _same_signal,
    transcribe_channel,
    transcribe_decoded,
)
from talktracks.speech.types import Transcript, Word
from talktracks.speech.voices import default_diarizer

CHUNK_S = 600.0
SEARCH_S = 30.0
_FRAME = SAMPLE_RATE // 10  # 0.1 s energy frames for finding a pause


class _ChunkedChannel:
    """One speaker's audio arriving in blocks, transcribed a chunk at a time."""

    def __init__(self, transcribe, chunk: int, search: int) -> None:  # noqa: ANN001
        self._transcribe = transcribe
        self._chunk, self._search = chunk, search
        self._buffer: list[np.ndarray] = []
        self._buffered = 0
        self._offset = 0  # samples already transcribed
        self.words: list[Word] = []
        self.languages: Counter[str] = Counter()

    def feed(self, samples: np.ndarray) -> None:
        self._buffer.append(samples)
        self._buffered += len(samples)
        while self._buffered >= self._chunk + self._search:
            audio = np.concatenate(self._buffer)
            cut = _quiet_cut(audio, self._chunk - self._search, self._chunk)
            self._run(audio[:cut])
            rest = audio[cut:]
            self._buffer, self._buffered = [rest], len(rest)

    def finish(self) -> None:
        if self._buffered:
            self._run(np.concatenate(self._buffer))
            self._buffer, self._buffered = [], 0

    def _run(self, audio: np.ndarray) -> None:
        shift = self._offset / SAMPLE_RATE
        words, language = self._transcribe(audio, shift)
        self.words += [Word(w.start + shift, w.end + shift, w.word, w.probability) for w in words]
        self.languages[language] += max(len(words), 1)
        self._offset += len(audio)


def _quiet_cut(audio: np.ndarray, lo: int, hi: int) -> int:
    """The sample index of the quietest 0.1 s frame between lo and hi (a pause, usually)."""
    region = audio[lo:hi]
    n = len(region) // _FRAME
    if n == 0:
        return hi
    energy = np.square(region[: n * _FRAME].reshape(n, _FRAME), dtype=np.float32).sum(axis=1)
    return lo + int(np.argmin(energy)) * _FRAME + _FRAME // 2


def transcribe_recording(
    path: Path,
    channels: str,
    model: LoadedModel,
    settings: SpeechSettings,
    *,
    diarizer: Diarizer | None = None,
    enrol_rep_voice: bool = False,
    chunk_s: float = CHUNK_S,
    search_s: float = SEARCH_S,
) -> Transcript:
    """Like `transcribe_call`, but streaming: memory does not grow with the recording's length.

    A recording that fits in one chunk (almost every call) goes through `transcribe_decoded`,
    exactly as `transcribe_call` would, diarization and rep voice enrolment included. Longer
    ones stream: the stereo "same signal" check looks at the first chunk, and a mono chunk is
    diarized on its own; a chunk whose rep could not be named keeps its words on `unknown`,
    because `speaker_1` of one chunk need not be `speaker_1` of the next. Long dual-channel
    calls enrol no voice print (the short ones enrol plenty).
    """
    if channels not in CHANNEL_LAYOUTS:
        raise ValueError(
            f"{path}: channels must be one of {', '.join(CHANNEL_LAYOUTS)}, got {channels!r}"
        )
    started = time.perf_counter()
    chunk, search = int(chunk_s * SAMPLE_RATE), int(search_s * SAMPLE_RATE)
    diarizer = diarizer or default_diarizer(model, settings)
    unknown_words: list[Word] = []
    by_speaker: dict[str, list[Word]] = {}

    def run(audio: np.ndarray, shift: float = 0.0) -> tuple[list[Word], str]:
        return transcribe_channel(
            model,
            audio,
            beam_size=settings.whisper_beam_size,
            vad_filter=settings.vad_filter,
            language=settings.whisper_language,
        )

    chunk_diarizations: list[Diarization] = []

    def run_mono(audio: np.ndarray, shift: float) -> tuple[list[Word], str]:
        words, language = run(audio)
        found = diarizer.diarize(audio, words)  # on the chunk's own clock
        found = replace(
            found, turns=[replace(t, start=t.start + shift, end=t.end + shift) for t in found.turns]
        )
        chunk_diarizations.append(found)
        named = found.rep_method != UNDECIDED
        for speaker, said in found.words_by_speaker.items():
            keep = named and speaker in ("rep", "customer")
            (by_speaker.setdefault(speaker, []) if keep else unknown_words).extend(
                Word(w.start + shift, w.end + shift, w.word, w.probability) for w in said
            )
        return words, language

    blocks = iter_audio_blocks(Path(path))
    # Hold back the first chunk's worth of audio: the layout decision looks at it.
    head: list[np.ndarray] = []
    held = 0
    for block in blocks:
        head.append(block)
        held += block.shape[1]
        if held >= chunk + search:
            break
    first = np.concatenate(head, axis=1)
    if held < chunk + search:  # the whole recording is in `head`: one chunk, no streaming
        head.clear()
        decoded = [first[i] for i in range(first.shape[0])]
        del first
        return transcribe_decoded(
            decoded,
            channels,
            model,
            settings,
            diarizer=diarizer,
            enrol_rep_voice=enrol_rep_voice,
            started=started,
        )
    stereo = first.shape[0] == 2 and channels != "mono" and not _same_signal(first[0], first[1])
    del first
    total = 0
    if stereo:
        rep_i = 0 if channels == "rep-left" else 1
        rep = _ChunkedChannel(run, chunk, search)
        customer = _ChunkedChannel(run, chunk, search)
        sides = (rep, customer) if rep_i == 0 else (customer, rep)
    else:
        mono = _ChunkedChannel(run_mono, chunk, search)
    for block in _chain(head, blocks):
        total += block.shape[1]
        if stereo:
            sides[0].feed(block[0])
            sides[1].feed(block[1])
        else:
            mono.feed(block[0] if block.shape[0] == 1 else _mix_down(block[0], block[1]))
    if stereo:
        rep.finish()
        customer.finish()
        words_by_speaker = {"rep": rep.words, "customer": customer.words}
        # A call has one language; trust the side that said more.
        side = rep if len(rep.words) >= len(customer.words) else customer
        language = side.languages.most_common(1)[0][0]
    else:
        mono.finish()
        words_by_speaker = dict(by_speaker)
        if unknown_words or not by_speaker:
            words_by_speaker["unknown"] = unknown_words
        language = mono.languages.most_common(1)[0][0]
        diarization = _combined(chunk_diarizations, words_by_speaker)

    merge = merge_channel_words if stereo else merge_turn_words
    return Transcript(
        utterances=merge(words_by_speaker, pause_s=settings.utterance_pause_s),
        duration=total / SAMPLE_RATE,
        language=language,
        model_name=model.name,
        model_hash=model.hash,
        processing_seconds=time.perf_counter() - started,
        diarization=None if stereo else diarization,
    )


def _combined(chunks: list[Diarization], words_by_speaker: dict[str, list[Word]]) -> Diarization:
    """One call-level Diarization from its chunks: named only if every chunk named the rep."""
    if not chunks:
        return Diarization(words_by_speaker=words_by_speaker)
    all_named = all(c.rep_method != UNDECIDED for c in chunks)
    methods = {c.rep_method for c in chunks}
    return Diarization(
        words_by_speaker=words_by_speaker,
        turns=[t for c in chunks for t in c.turns],
        n_speakers=max(c.n_speakers for c in chunks),
        rep_method=(methods.pop() if len(methods) == 1 else "mixed") if all_named else UNDECIDED,
        rep_confidence=min(c.rep_confidence for c in chunks) if all_named else 0.0,
        extractor=chunks[0].extractor,
        details={
            "chunks": len(chunks),
            "chunks_named": sum(c.rep_method != UNDECIDED for c in chunks),
        },
        seconds=sum(c.seconds for c in chunks),
    )


def _chain(head: list[np.ndarray], rest):  # noqa: ANN001, ANN202 - a plain generator
    while head:
        yield head.pop(0)  # drop references as we go, so the held-back audio is freed
    yield from rest
