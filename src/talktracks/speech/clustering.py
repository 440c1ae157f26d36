"""Speech windows of a recording clustered into speakers.

In: frame features of the whole recording and the recognised words. Out: one label per window
and the windows' times. Windows are 1.5 s (0.75 s hop) inside speech regions (recognised
words, joined across gaps under 0.25 s), so one window rarely spans two speakers and a short
reply still gets a window of its own.

How many speakers: Ward clustering of the standardised window embeddings gives a tree; a
split is accepted while it explains the frames better than one Gaussian by more than
`min_split_gain` per frame (the Bayesian information criterion, penalty included; a third
or later voice needs MIN_EXTRA_VOICE_GAIN), up to `max_speakers`. Numbers behind the default are in docs/diarization.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from talktracks.speech.embeddings import FrameFeatures
from talktracks.speech.types import Word

WINDOW_S = 1.5
HOP_S = 0.75
REGION_GAP_S = 0.25
MIN_SPLIT_GAIN = 0.35
"""Per-frame BIC gain a split needs. The real one-speaker recordings reach 0.30 (jfk.flac) and
0.01 (each side of stereo_diarization.wav); see docs/diarization.md."""
MIN_EXTRA_VOICE_GAIN = 0.8
"""A third (fourth, ...) voice needs more: sales calls have two, and splitting one of two voices
reached 0.57 on the 16 kHz sample mixes, while a third voice appended to one reached 1.12."""
FULL_EVIDENCE_FRAMES = 4000
"""Below 40 s of speech frames the gain a split needs rises in proportion: covariances from few
frames make any split of one voice look better than it is (jfk.flac, 18 s, reaches 0.73)."""
MIN_CLUSTER_FRAMES = 100
"""A speaker needs at least 1 s of frames; fewer is noise, not a voice."""


@dataclass(frozen=True)
class Windows:
    """Speech windows: times (n, 2) in seconds and their embeddings (n, dims)."""

    times: np.ndarray
    embeddings: np.ndarray


def speech_regions(words: list[Word], gap_s: float = REGION_GAP_S) -> list[tuple[float, float]]:
    """Word spans joined where the gap between them is shorter than gap_s."""
    regions: list[tuple[float, float]] = []
    for word in sorted(words, key=lambda w: w.start):
        if word.end <= word.start:
            continue
        if regions and word.start - regions[-1][1] < gap_s:
            regions[-1] = (regions[-1][0], max(regions[-1][1], word.end))
        else:
            regions.append((word.start, word.end))
    return regions


def speech_windows(features: FrameFeatures, regions: list[tuple[float, float]]) -> Windows:
    """Windows of WINDOW_S every HOP_S in each region (a shorter region is one window)."""
    times: list[tuple[float, float]] = []
    vectors: list[np.ndarray] = []
    for region_start, region_end in regions:
        start = region_start
        while True:
            end = min(start + WINDOW_S, region_end)
            vector = features.window(start, end)
            if vector is not None:
                times.append((start, end))
                vectors.append(vector)
            if end >= region_end:
                break
            start += HOP_S
    dims = 2 * features.values.shape[1] if features.values.ndim == 2 else 0
    return Windows(
        times=np.array(times, dtype=float).reshape(-1, 2),
        embeddings=np.array(vectors, dtype=np.float32).reshape(-1, dims),
    )


def cluster_windows(
    windows: Windows,
    features: FrameFeatures,
    *,
    max_speakers: int = 4,
    min_split_gain: float = MIN_SPLIT_GAIN,
) -> np.ndarray:
    """Speaker label per window (0..k-1, numbered by first appearance)."""
    n = len(windows.times)
    if n < 4 or max_speakers < 2:
        return np.zeros(n, dtype=int)
    from scipy.cluster.hierarchy import fcluster, ward
    from sklearn.preprocessing import StandardScaler

    z = StandardScaler().fit_transform(windows.embeddings)
    tree = ward(z)
    labels = np.zeros(n, dtype=int)
    for k in range(2, min(max_speakers, n - 1) + 1):
        candidate = fcluster(tree, k, criterion="maxclust") - 1
        if len(set(candidate)) < k:
            break
        # The cut at k splits exactly one cluster of the cut at k-1 (the tree is nested).
        parent = _split_parent(labels, candidate)
        if parent is None:
            break
        children = sorted(set(candidate[labels == parent]))
        gain = _bic_gain(features, windows.times, [candidate == c for c in children])
        frames = sum(int(np.ceil((e - s) / features.step)) for s, e in windows.times)
        needed = min_split_gain if k == 2 else max(min_split_gain, MIN_EXTRA_VOICE_GAIN)
        if gain < needed * max(1.0, FULL_EVIDENCE_FRAMES / max(frames, 1)):
            break
        labels = candidate
    return _by_first_appearance(labels)


def _split_parent(old: np.ndarray, new: np.ndarray) -> int | None:
    for parent in set(old):
        if len(set(new[old == parent])) > 1:
            return int(parent)
    return None


def _frames(features: FrameFeatures, times: np.ndarray, mask: np.ndarray) -> np.ndarray:
    rows = [
        features.values[int(s / features.step) : int(np.ceil(e / features.step))]
        for s, e in times[mask]
    ]
    return np.concatenate(rows) if rows else np.zeros((0, features.values.shape[1]))


def _bic_gain(features: FrameFeatures, times: np.ndarray, masks: list[np.ndarray]) -> float:
    """Per-frame BIC gain of modelling two groups' frames with two full-covariance Gaussians
    instead of one; negative when the split does not pay for its extra parameters."""
    parts = [_frames(features, times, m) for m in masks]
    if min(len(p) for p in parts) < MIN_CLUSTER_FRAMES:
        return -np.inf
    both = np.concatenate(parts)
    n, d = both.shape

    def logdet(x: np.ndarray) -> float:
        cov = np.cov(x.T) + 1e-6 * np.eye(d)
        return float(np.linalg.slogdet(cov)[1])

    gain = 0.5 * (n * logdet(both) - sum(len(p) * logdet(p) for p in parts))
    penalty = 0.5 * (d + d * (d + 1) / 2) * np.log(n)
    return (gain - penalty) / n


def _by_first_appearance(labels: np.ndarray) -> np.ndarray:
    order: dict[int, int] = {}
    for label in labels:
        order.setdefault(int(label), len(order))
    return np.array([order[int(label)] for label in labels], dtype=int)
