"""Rep voice prints: enrolled from the rep's own channel, matched against mono clusters.

A print is the mean window embedding of one rep's speech, with how many windows went into it
and which extractor made it (prints from another extractor are never compared). Prints are
plain numbers: the store keeps them as JSON lists with a SHA-256 of their canonical form, so a
tampered or truncated print is refused rather than trusted, and nothing is ever unpickled.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from talktracks.errors import TalktracksError

MIN_MARGIN = 0.1
"""Relative distance margin (d_other - d_rep) / (d_other + d_rep) a voice match needs."""


class VoicePrintError(TalktracksError):
    """A stored voice print is malformed or does not match its hash."""


@dataclass(frozen=True)
class VoicePrint:
    extractor: str
    vector: np.ndarray
    """Mean window embedding (float32)."""
    windows: int
    """Windows averaged; the weight when prints are combined."""

    def to_json(self) -> str:
        return json.dumps([round(float(x), 6) for x in self.vector])

    def digest(self) -> str:
        return print_digest(self.extractor, self.to_json(), self.windows)

    @classmethod
    def from_json(cls, extractor: str, vector_json: str, windows: int, digest: str) -> VoicePrint:
        """Rebuild a stored print, refusing it when the hash or the numbers are wrong."""
        if print_digest(extractor, vector_json, windows) != digest:
            raise VoicePrintError(f"voice print ({extractor}): stored hash does not match")
        values = json.loads(vector_json)
        if not isinstance(values, list) or not all(isinstance(v, int | float) for v in values):
            raise VoicePrintError(f"voice print ({extractor}): not a list of numbers")
        vector = np.asarray(values, dtype=np.float32)
        if not np.all(np.isfinite(vector)) or windows < 1:
            raise VoicePrintError(f"voice print ({extractor}): non-finite values or no windows")
        return cls(extractor=extractor, vector=vector, windows=windows)


def print_digest(extractor: str, vector_json: str, windows: int) -> str:
    return hashlib.sha256(f"{extractor}\n{windows}\n{vector_json}".encode()).hexdigest()


def voice_print(extractor: str, embeddings: np.ndarray) -> VoicePrint | None:
    """The print of a set of window embeddings of one voice; None when there are none."""
    if len(embeddings) == 0:
        return None
    vector = np.asarray(embeddings, dtype=np.float32).mean(axis=0)
    return VoicePrint(extractor=extractor, vector=vector, windows=len(embeddings))


def combine(prints: Iterable[VoicePrint]) -> VoicePrint | None:
    """Window-weighted mean of prints of one voice (several calls) from the same extractor."""
    prints = list(prints)
    if not prints:
        return None
    extractors = {p.extractor for p in prints}
    if len(extractors) > 1:
        raise ValueError(f"cannot combine prints from {sorted(extractors)}")
    total = sum(p.windows for p in prints)
    vector = sum(p.vector * p.windows for p in prints) / total
    return VoicePrint(prints[0].extractor, np.asarray(vector, dtype=np.float32), total)


@dataclass(frozen=True)
class VoiceMatch:
    rep_cluster: int
    confidence: float
    """Relative margin between the nearest and the next cluster, 0..1."""
    distances: dict[int, float]


def match_print(
    centroids: dict[int, np.ndarray], scale: np.ndarray, rep_print: VoicePrint
) -> VoiceMatch | None:
    """Which cluster's centroid is nearest the rep's print.

    Distances are Euclidean after dividing each dimension by `scale` (the call's own spread of
    window embeddings), so no single feature dominates, over the mean half of the embedding
    only: the standard-deviation half says how much a voice varies within a window, which the
    codec and the mix change (it put c03's rep on the wrong voice). None with fewer than two
    clusters.
    """
    if len(centroids) < 2:
        return None
    half = len(rep_print.vector) // 2
    scale = np.where(scale > 1e-6, scale, 1.0)[:half]
    distances = {
        label: float(np.linalg.norm((c[:half] - rep_print.vector[:half]) / scale))
        for label, c in centroids.items()
    }
    ranked = sorted(distances, key=distances.__getitem__)
    near, second = distances[ranked[0]], distances[ranked[1]]
    margin = (second - near) / (second + near) if second + near > 0 else 0.0
    return VoiceMatch(rep_cluster=ranked[0], confidence=round(margin, 4), distances=distances)
