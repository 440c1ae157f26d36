"""Evidence spans: which characters of an utterance made the tag.

Order of preference, documented in docs/behaviour-model.md:
1. Tracker matches (for rule and both tags, the ones that passed their filters; for model-only
   tags, any match of that behaviour's patterns, e.g. a referral phrase said by a speaker the
   tracker filter ignores). Overlapping or touching matches merge ("$24.95" + "per user" +
   "per month" -> "$24.95 per user per month"); the longest merged run wins, earliest on ties.
2. For a model-only tag with no match: the highest-weight n-gram region. Each word n-gram
   (unigram, bigram) present gives feature value x classifier coefficient to the words it
   covers; the best run of at most MAX_REGION_WORDS consecutive words, trimmed of
   non-positive ends, wins. Character n-grams are left out: they would cost more than the
   whole tagging of the utterance, and a region is readable in words anyway.
3. The whole utterance, only when nothing above scores positive.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Sequence
from typing import Any

from spacy.tokens import Doc

from talktracks.behaviours.features import WORD_TOKEN, word_token

MAX_REGION_WORDS = 8
_WORD = re.compile(r"\S+")
_EDGE_PUNCT = ".,;:!?\"')(]["


def merged_spans(doc: Doc, ranges: Sequence[tuple[int, int]]) -> tuple[int, int] | None:
    """Character offsets of the longest run of overlapping/touching token ranges, earliest on
    ties; None when there are none."""
    if not ranges:
        return None
    ordered = sorted(ranges)
    runs: list[tuple[int, int]] = []
    start, end = ordered[0]
    for s, e in ordered[1:]:
        if s <= end:
            end = max(end, e)
        else:
            runs.append((start, end))
            start, end = s, e
    runs.append((start, end))
    first, stop = max(runs, key=lambda r: (r[1] - r[0], -r[0]))
    last = doc[stop - 1]
    return doc[first].idx, last.idx + len(last.text)


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while end > start and text[end - 1] in _EDGE_PUNCT:
        end -= 1
    while start < end and text[start] in _EDGE_PUNCT:
        start += 1
    return start, end


def whole_text(text: str) -> tuple[int, int]:
    stripped = text.strip()
    start = text.find(stripped) if stripped else 0
    return start, start + len(stripped)


# Word tokens per whitespace word: words repeat across utterances far more than they vary.
_WORD_TOKENS: dict[str, tuple[str, ...]] = {}
_MAX_CACHED_WORDS = 200_000
_GRAMS: weakref.WeakKeyDictionary[Any, list[tuple[str, ...]]] = weakref.WeakKeyDictionary()


def _grams(vectorizer: Any) -> list[tuple[str, ...]]:
    """The vectorizer's features as token tuples, by column (built once per fitted vectorizer)."""
    grams = _GRAMS.get(vectorizer)
    if grams is None:
        grams = _GRAMS[vectorizer] = [
            tuple(name.split(" ")) for name in vectorizer.get_feature_names_out()
        ]
    return grams


def word_scores(
    text: str,
    words: list[tuple[int, int]],
    weights: dict[int, float],
    vectorizer: Any,
    offset: int,
    normalise: Any,
) -> list[float] | None:
    """Per whitespace word: the summed weight of the word n-grams over it.

    `vectorizer` is the fitted word n-gram TfidfVectorizer whose columns start at `offset`;
    `weights` maps the utterance's nonzero columns to classifier coefficient x feature value
    (other columns are ignored). An n-gram's weight is shared by the words it spans (and by
    its occurrences). None when normalising changes the text's length (rare Unicode case
    folds), since offsets would then drift. Works from the row's few nonzero n-grams to their
    positions, not from every n-gram of the text to the vocabulary: this runs for every
    model-only tag.
    """
    norm = normalise(text)
    if len(norm) != len(text):
        return None
    tokens: list[str] = []
    owners: list[int] = []
    positions: dict[str, list[int]] = {}
    cache = _WORD_TOKENS
    if len(cache) > _MAX_CACHED_WORDS:
        cache.clear()
    for k, (start, end) in enumerate(words):  # word tokens never cross whitespace
        chunk = norm[start:end]
        found = cache.get(chunk)
        if found is None:
            found = cache[chunk] = tuple(word_token(t) for t in WORD_TOKEN.findall(chunk))
        for token in found:
            positions.setdefault(token, []).append(len(tokens))
            tokens.append(token)
            owners.append(k)
    grams = _grams(vectorizer)
    n_columns = len(grams)
    scores = [0.0] * len(words)
    get = positions.get
    for j, weight in weights.items():
        column = j - offset
        if not weight or not 0 <= column < n_columns:
            continue
        gram = grams[column]
        found = get(gram[0])
        if found is None:
            continue
        n = len(gram)
        if n == 1:  # a word: its weight is shared by its occurrences
            share = weight / len(found)
            for i in found:
                scores[owners[i]] += share
            continue
        found = [i for i in found if tuple(tokens[i : i + n]) == gram]
        if not found:
            continue
        share = weight / len(found) / n
        for i in found:
            for k in owners[i : i + n]:
                scores[k] += share
    return scores


def best_region(
    scores: Sequence[float], max_words: int = MAX_REGION_WORDS
) -> tuple[int, int] | None:
    """(first, last) word index of the highest-sum run of at most max_words, or None if <= 0."""
    best, best_a, best_b = 0.0, -1, -1
    n = len(scores)
    for a in range(n):
        if scores[a] <= 0:  # a best run never starts on a non-positive word
            continue
        total = 0.0
        for b in range(a, min(n, a + max_words)):
            total += scores[b]
            if total > best:
                best, best_a, best_b = total, a, b
    if best_a < 0:
        return None
    while best_b > best_a and scores[best_b] <= 0:
        best_b -= 1
    return best_a, best_b


def ngram_region(
    text: str,
    weights: dict[int, float],
    vectorizer: Any,
    offset: int,
    normalise: Any,
) -> tuple[int, int] | None:
    """Character offsets of the highest-weight word n-gram region of `text`, or None.

    `weights`: column -> coefficient x feature value for the utterance (see word_scores).
    """
    words = [m.span() for m in _WORD.finditer(text)]
    if not words:
        return None
    scores = word_scores(text, words, weights, vectorizer, offset, normalise)
    if scores is None:
        return None
    region = best_region(scores)
    if region is None:
        return None
    start, end = _trim(text, words[region[0]][0], words[region[1]][1])
    return (start, end) if end > start else None
