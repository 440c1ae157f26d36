"""Who spoke which word in a mono recording, and which voice is the rep.

Stereo calls need no diarization: each party has a channel. Mono recordings go through a
Diarizer. `VoiceDiarizer` (the default) clusters speech windows by voice
(speech/clustering.py), gives every word the speaker of the audio under it, and names the rep:
by the rep's enrolled voice print when it decides clearly, else by what each voice says
(speech/repcues.py), else not at all, leaving `speaker_1`, `speaker_2`, ... which the analysis
counts as unknown speech. The result records which method decided and how sure it was.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from talktracks.speech import clustering
from talktracks.speech.embeddings import FeatureExtractor, FrameFeatures
from talktracks.speech.repcues import decide_by_cues
from talktracks.speech.types import Word
from talktracks.speech.voiceprint import MIN_MARGIN, VoicePrint, match_print

VOICE_PRINT, WORD_CUES, UNDECIDED = "voice_print", "word_cues", "none"


@dataclass(frozen=True)
class SpeakerTurn:
    """One stretch of one speaker (pyannote's annotation segment: who, from, to)."""

    speaker: str
    start: float
    end: float


@dataclass(frozen=True)
class Diarization:
    """What a diarizer found in one mono recording."""

    words_by_speaker: dict[str, list[Word]]
    turns: list[SpeakerTurn] = field(default_factory=list)
    n_speakers: int = 0
    rep_method: str = UNDECIDED
    """voice_print, word_cues or none (no rep named; speakers are speaker_1, speaker_2, ...)."""
    rep_confidence: float = 0.0
    extractor: str = ""
    centroids: dict[str, list[float]] = field(default_factory=dict)
    """Mean window embedding per speaker label: enrolment data once a coach confirms who is who."""
    details: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def rttm(self, uri: str) -> str:
        """The turns as RTTM lines, the format pyannote and dscore read."""
        return "".join(
            f"SPEAKER {uri} 1 {t.start:.3f} {t.end - t.start:.3f} <NA> <NA> {t.speaker} <NA> <NA>\n"
            for t in self.turns
        )


class Diarizer(Protocol):
    """Splits a mono recording's words by speaker.

    In: the 16 kHz mono samples and the words recognised in them (absolute times).
    Out: a Diarization; every word appears once in words_by_speaker.
    """

    def diarize(self, audio: np.ndarray, words: list[Word]) -> Diarization: ...


class NullDiarizer:
    """Labels every word "unknown" (diarization switched off)."""

    def diarize(self, audio: np.ndarray, words: list[Word]) -> Diarization:
        return Diarization(words_by_speaker={"unknown": list(words)})


class VoiceDiarizer:
    """Voice clustering plus rep identification; see the module docstring.

    extractor: frame features (speech/embeddings.py); rep_print: the enrolled print of the
    call's rep, if any; max_speakers: the most voices the clustering may find (two are the
    usual case; more only when the audio clearly holds them).
    """

    def __init__(
        self,
        extractor: FeatureExtractor,
        rep_print: VoicePrint | None = None,
        *,
        max_speakers: int = 4,
        min_margin: float = MIN_MARGIN,
    ) -> None:
        self.extractor = extractor
        self.rep_print = rep_print
        self.max_speakers = max_speakers
        self.min_margin = min_margin

    def diarize(self, audio: np.ndarray, words: list[Word]) -> Diarization:
        started = time.perf_counter()
        if not words:
            return Diarization(words_by_speaker={}, extractor=self.extractor.name)
        features = self.extractor.frames(audio)
        windows = clustering.speech_windows(features, clustering.speech_regions(words))
        if len(windows.times) == 0:
            return Diarization(
                words_by_speaker={"speaker_1": list(words)},
                n_speakers=1,
                extractor=self.extractor.name,
                seconds=time.perf_counter() - started,
            )
        labels = clustering.cluster_windows(windows, features, max_speakers=self.max_speakers)
        word_labels = label_words(words, windows.times, labels, features)
        clusters = sorted(set(labels.tolist()))
        by_cluster = {
            c: [w for w, lab in zip(words, word_labels, strict=True) if lab == c] for c in clusters
        }
        centroids = {c: windows.embeddings[labels == c].mean(axis=0) for c in clusters}
        rep, method, confidence, details = self._identify_rep(centroids, windows, by_cluster)
        names = speaker_names(clusters, by_cluster, rep)
        details["windows"] = {names[c]: int((labels == c).sum()) for c in clusters}
        words_by_speaker = {names[c]: by_cluster[c] for c in clusters}
        return Diarization(
            words_by_speaker=words_by_speaker,
            turns=turns(windows.times, labels, names),
            n_speakers=len(clusters),
            rep_method=method,
            rep_confidence=confidence,
            extractor=self.extractor.name,
            centroids={names[c]: [round(float(x), 6) for x in centroids[c]] for c in clusters},
            details=details,
            seconds=time.perf_counter() - started,
        )

    def _identify_rep(
        self,
        centroids: dict[int, np.ndarray],
        windows: clustering.Windows,
        by_cluster: dict[int, list[Word]],
    ) -> tuple[int | None, str, float, dict[str, Any]]:
        details: dict[str, Any] = {}
        if len(centroids) < 2:
            return None, UNDECIDED, 0.0, {"reason": "one voice"}
        usable = self.rep_print is not None and self.rep_print.extractor == self.extractor.name
        if self.rep_print is None:
            details["voice_print"] = "no print enrolled for this rep"
        elif not usable:
            details["voice_print"] = f"print made by {self.rep_print.extractor}, not comparable"
        if usable:
            assert self.rep_print is not None
            match = match_print(centroids, windows.embeddings.std(axis=0), self.rep_print)
            if match is not None:
                details["voice_print"] = {
                    "confidence": match.confidence,
                    "distances": {str(k): round(v, 3) for k, v in match.distances.items()},
                    "print_windows": self.rep_print.windows,
                }
                if match.confidence >= self.min_margin:
                    return match.rep_cluster, VOICE_PRINT, match.confidence, details
        cues = decide_by_cues(by_cluster)
        details["word_cues"] = {
            "counts": {str(k): v for k, v in cues.scores.counts.items()},
            "scores": {str(k): v for k, v in cues.scores.scores.items()},
            "confidence": cues.confidence,
        }
        if cues.rep_cluster is not None:
            return cues.rep_cluster, WORD_CUES, cues.confidence, details
        return None, UNDECIDED, 0.0, details


def label_words(
    words: list[Word], times: np.ndarray, labels: np.ndarray, features: FrameFeatures
) -> list[int]:
    """Each word's speaker: the majority label of the frames under it.

    A frame takes the label of the covering window whose centre is nearest, so a speaker
    change inside a window (and inside a Whisper segment) falls between the right words. A
    word no window covers takes the nearest window's label.
    """
    step = 0.01
    n_frames = int(np.ceil(max(float(times[:, 1].max()), max(w.end for w in words)) / step)) + 1
    best = np.full(n_frames, np.inf)
    frame_label = np.full(n_frames, -1, dtype=int)
    centres = times.mean(axis=1)
    for (start, end), centre, label in zip(times, centres, labels, strict=True):
        lo, hi = int(start / step), int(np.ceil(end / step))
        idx = np.arange(lo, min(hi, n_frames))
        distance = np.abs(idx * step - centre)
        closer = distance < best[idx]
        best[idx[closer]] = distance[closer]
        frame_label[idx[closer]] = label
    out = []
    for word in words:
        span = frame_label[
            int(word.start / step) : max(int(word.start / step) + 1, int(np.ceil(word.end / step)))
        ]
        span = span[span >= 0]
        if len(span):
            out.append(int(np.bincount(span).argmax()))
        else:
            middle = (word.start + word.end) / 2
            out.append(int(labels[int(np.argmin(np.abs(centres - middle)))]))
    return out


def speaker_names(
    clusters: list[int], by_cluster: dict[int, list[Word]], rep: int | None
) -> dict[int, str]:
    """rep, then customer for the other voice that says most; everyone else speaker_N."""
    if rep is None:
        return {c: f"speaker_{i + 1}" for i, c in enumerate(clusters)}
    names = {rep: "rep"}
    others = sorted((c for c in clusters if c != rep), key=lambda c: -len(by_cluster[c]))
    for i, c in enumerate(others):
        names[c] = "customer" if i == 0 else f"speaker_{i + 2}"
    return names


def turns(times: np.ndarray, labels: np.ndarray, names: dict[int, str]) -> list[SpeakerTurn]:
    """Consecutive windows of one speaker as one turn; overlapping windows split at the middle."""
    out: list[SpeakerTurn] = []
    for (start, end), label in zip(times, labels, strict=True):
        if out and out[-1].speaker == names[int(label)] and start <= out[-1].end + 1e-6:
            out[-1] = SpeakerTurn(out[-1].speaker, out[-1].start, max(out[-1].end, float(end)))
            continue
        if out and start < out[-1].end:
            middle = (start + out[-1].end) / 2
            out[-1] = SpeakerTurn(out[-1].speaker, out[-1].start, middle)
            start = middle
        out.append(SpeakerTurn(names[int(label)], float(start), float(end)))
    return out
