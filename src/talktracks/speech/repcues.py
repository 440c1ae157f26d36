"""Which voice is the rep, from what each voice says (used when no voice print decides).

Reps open sales calls by introducing themselves with their company, ask the discovery
questions, and quote the price; customers rarely do any of these. Each cluster's words score
points for those cues; the cluster with the clearly higher score is the rep.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from talktracks.speech.merge import ends_sentence, join_words
from talktracks.speech.types import Word

INTRO_WITHIN_S = 60.0
MIN_SCORE_GAP = 2.0
"""Points the rep's cluster must lead by (an introduction alone is worth 3)."""

_INTRO = re.compile(
    r"\b(this is|my name is|i'm|i am|it's)\s+[a-z]+\s+(from|with|at|calling from)\b"
    r"|\bcalling (you )?from\b|\bon behalf of\b"
)
_MONEY = re.compile(
    r"\$\s?\d|\b\d[\d,.]*\s*(dollars|euros|pounds|percent)\b"
    r"|\b(dollars?|euros?|pounds?|per month|a month|per year|a year|per user)\b"
)
_DISCOVERY = re.compile(
    r"^(can|could|would) you (tell|walk|describe|share)|^(what|how|which|who|when|where)\b"
    r"|^(do|does|are|is|have|has) (you|your|there)\b|^tell me\b"
)
_WEIGHTS = {"introduction": 3.0, "price_quote": 1.0, "discovery_question": 0.5}
_CAPS = {"introduction": 1, "price_quote": 3, "discovery_question": 6}


@dataclass(frozen=True)
class CueScores:
    counts: dict[int, dict[str, int]]
    scores: dict[int, float]


@dataclass(frozen=True)
class CueDecision:
    rep_cluster: int | None
    """None when no cluster leads by MIN_SCORE_GAP."""
    confidence: float
    scores: CueScores


def sentences(words: list[Word]) -> list[tuple[float, str]]:
    """(start, lower-cased text) of each sentence in one voice's words."""
    out: list[tuple[float, str]] = []
    current: list[Word] = []
    for word in words:
        current.append(word)
        if ends_sentence(word.word):
            out.append((current[0].start, join_words(current).lower()))
            current = []
    if current:
        out.append((current[0].start, join_words(current).lower()))
    return out


def cue_counts(words: list[Word]) -> dict[str, int]:
    counts = dict.fromkeys(_WEIGHTS, 0)
    for start, text in sentences(words):
        question = text.rstrip().endswith("?")
        if start <= INTRO_WITHIN_S and _INTRO.search(text):
            counts["introduction"] += 1
        if _MONEY.search(text) and not question:
            counts["price_quote"] += 1
        if question and _DISCOVERY.search(text.lstrip("¿¡ ")):
            counts["discovery_question"] += 1
    return counts


def decide_by_cues(words_by_cluster: dict[int, list[Word]]) -> CueDecision:
    counts = {label: cue_counts(words) for label, words in words_by_cluster.items()}
    scores = {
        label: sum(_WEIGHTS[k] * min(v, _CAPS[k]) for k, v in c.items())
        for label, c in counts.items()
    }
    found = CueScores(counts, scores)
    if len(scores) < 2:
        return CueDecision(None, 0.0, found)
    ranked = sorted(scores, key=scores.__getitem__, reverse=True)
    best, second = scores[ranked[0]], scores[ranked[1]]
    gap = best - second
    confidence = round(gap / best, 4) if best > 0 else 0.0
    if gap < MIN_SCORE_GAP:
        return CueDecision(None, confidence, found)
    return CueDecision(ranked[0], confidence, found)
