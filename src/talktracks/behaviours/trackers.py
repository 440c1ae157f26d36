"""Keyword trackers: a spaCy pipeline on `spacy.blank("en")` that finds behaviour phrases.

Pipeline: tracker_ruler -> tracker_filters.

- The patterns are data (`patterns.jsonl`, SpanRuler format): `label` is the behaviour, `id`
  the tracker, and token patterns can use LOWER, LEMMA, LIKE_NUM, IS_CURRENCY and so on
  (see ruler.py for how they are matched). String patterns match on lowercase text.
  LIKE_NUM also accepts shorthand amounts ("4k", "1.5M").
- Every match lands in `doc.spans["tracker_matches"]`; the ones that pass their tracker's
  filters (who said it, questions only, within the first N minutes) land in
  `doc.spans["trackers"]`. The context the filters need comes from `doc._.speaker` and
  `doc._.start` (seconds from the start of the call), set before the pipeline runs.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

import spacy
from spacy.attrs import LIKE_NUM, NORM, ORTH
from spacy.lang.en.lex_attrs import like_num as english_like_num
from spacy.language import Language
from spacy.strings import get_string_id
from spacy.tokens import Doc, Span, Token

from talktracks.behaviours.ruler import (  # also registers "tracker_ruler"
    hits,
    hits_key,
    tracker_norm,
)
from talktracks.behaviours.taxonomy import TrackerFilter, speaker_allowed

TRACKER_MATCHES = "tracker_matches"
TRACKERS = "trackers"
TRACKER_KEY = "tracker_key"  # doc.user_data key: which patterns and filters made this doc

# Words an unpunctuated (ASR) question may start with, after any fillers.
QUESTION_OPENERS = frozenset(
    [
        "what",
        "how",
        "why",
        "when",
        "where",
        "who",
        "whom",
        "which",
        "whose",
        "is",
        "are",
        "am",
        "was",
        "were",
        "do",
        "does",
        "did",
        "can",
        "could",
        "would",
        "will",
        "should",
        "shall",
        "may",
        "might",
        "have",
        "has",
        "had",
        "any",
        "anyone",
        "anybody",
        "mind",
        "isn't",
        "aren't",
        "don't",
        "doesn't",
        "didn't",
        "won't",
        "wouldn't",
        "couldn't",
        "can't",
        "shouldn't",
    ]
)
FILLERS = frozenset(
    [
        "so",
        "and",
        "but",
        "um",
        "uh",
        "uhm",
        "erm",
        "er",
        "ah",
        "oh",
        "ok",
        "okay",
        "yeah",
        "yep",
        "yes",
        "well",
        "hey",
        "right",
        "alright",
        "now",
        "also",
        "then",
        "like",
        "hmm",
        "sure",
        "great",
        "cool",
        "perfect",
        "actually",
        "just",
    ]
)

for _name in ("speaker", "start"):
    if not Doc.has_extension(_name):
        Doc.set_extension(_name, default=None)


TERMINALS = frozenset({".", "!", "?", "...", "…", "?!", "!?"})
_NUMBER_SHORTHAND = re.compile(r"^\d+(?:[.,]\d+)*[km]$", re.IGNORECASE)


def number_like(text: str) -> bool:
    """spaCy's English LIKE_NUM ("12", "4,160", "twelve") plus shorthand like "4k" and "1.5M"."""
    return english_like_num(text) or bool(_NUMBER_SHORTHAND.match(text))


def _is_terminal(token: Token) -> bool:
    return token.text in TERMINALS


def sentence_bounds(doc: Doc, i: int) -> tuple[int, int]:
    """(first, last) token index of the sentence around token i, split at . ! ? tokens.

    A sentencizer would do the same for every document; only question filters need it, so
    the scan runs only for their matches.
    """
    first = i
    while first > 0 and not _is_terminal(doc[first - 1]):
        first -= 1
    last = i
    while last < len(doc) - 1 and not _is_terminal(doc[last]):
        last += 1
    return first, last


def is_question(span: Span) -> bool:
    """Whether the sentence holding `span` is a question (see is_question_at)."""
    return is_question_at(span.doc, span.start)


def is_question_at(doc: Doc, i: int) -> bool:
    """Whether the sentence holding token i is a question.

    Punctuated text: the sentence ends with "?". Unpunctuated text (ASR output): the sentence
    opens, after fillers like "so" or "um", with a question word or an inverted auxiliary
    ("what", "how", "would", "is"...).
    """
    if not len(doc):
        return False
    first, last = sentence_bounds(doc, min(i, len(doc) - 1))
    end = doc[last]
    if "?" in end.text:
        return True
    if _is_terminal(end):
        return False
    for token in doc[first : last + 1]:
        if token.is_punct or token.is_space or token.lower_ in FILLERS:
            continue
        return token.lower_ in QUESTION_OPENERS
    return False


_TERMINAL_IDS = frozenset(get_string_id(t) for t in TERMINALS)


def has_question(doc: Doc, text: str | None = None, orths: Any = None) -> bool:
    """Whether any sentence of the document is a question (is_question, done cheaply).

    With no "?" anywhere, only an unpunctuated document (no sentence end at all) can still be
    one, by its opening word. `text` and `orths` (doc.to_array(ORTH)) save recomputing them
    when the caller has them.
    """
    if "?" in (doc.text if text is None else text):
        return True
    if orths is None:
        orths = doc.to_array(ORTH) if len(doc) else ()
    if not len(doc) or not _TERMINAL_IDS.isdisjoint(orths.tolist()):
        return False
    for token in doc:
        if token.is_punct or token.is_space or token.lower_ in FILLERS:
            continue
        return token.lower_ in QUESTION_OPENERS
    return False


class TrackedText(str):
    """An utterance text carrying its tracker-pipeline Doc.

    The n-gram vectorizers see a plain string (no Doc.text rebuilt per vectorizer), and
    TrackerFeatures reads the matches the pipeline already found instead of re-running spaCy.
    """

    doc: Doc
    speaker: str | None

    def __new__(cls, text: str, doc: Doc, speaker: str | None = None) -> TrackedText:
        obj = super().__new__(cls, text)
        obj.doc = doc
        obj.speaker = speaker
        return obj


def passes_text_filters(f: TrackerFilter, doc: Doc, i: int) -> bool:
    """The filters that depend only on the text (questions only), for a match at token i."""
    return not f.questions_only or is_question_at(doc, i)


def passes_filters(
    f: TrackerFilter, doc: Doc, i: int, speaker: str | None, start: float | None
) -> bool:
    """All of a tracker's filters. An unknown start time cannot fail the first-N-minutes filter."""
    if not speaker_allowed(f.speaker, speaker):
        return False
    if f.first_minutes is not None and start is not None and start >= f.first_minutes * 60:
        return False
    return passes_text_filters(f, doc, i)


class TrackerFilters:
    """Copies the matches that pass their tracker's filters into doc.spans["trackers"]."""

    def __init__(self, filters: dict[str, dict[str, dict[str, Any]]]) -> None:
        self.filters = {
            (label, t): TrackerFilter(**f)
            for label, trackers in filters.items()
            for t, f in trackers.items()
        }
        self._default = TrackerFilter()

    def __call__(self, doc: Doc) -> Doc:
        underscore = doc._  # one Underscore object per doc, not one per attribute
        speaker, start = underscore.speaker, underscore.start
        get, default = self.filters.get, self._default
        kept = [
            h
            for h in hits(doc, TRACKER_MATCHES)
            if passes_filters(get((h[0], h[1]), default), doc, h[2], speaker, start)
        ]
        doc.spans[TRACKERS] = [Span(doc, s, e, label=b, span_id=t) for b, t, s, e in kept]
        doc.user_data[hits_key(TRACKERS)] = kept
        return doc


@Language.factory("tracker_filters", default_config={"filters": {}})
def make_tracker_filters(
    nlp: Language, name: str, filters: dict[str, dict[str, dict[str, Any]]]
) -> TrackerFilters:
    return TrackerFilters(filters)


def tracker_key(patterns: Sequence[dict[str, Any]], filters: dict[str, Any]) -> str:
    """A short hash naming a patterns-and-filters combination."""
    blob = json.dumps([list(patterns), filters], sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


_PIPELINES: dict[str, Language] = {}


def tracker_pipeline(patterns: Sequence[dict[str, Any]], filters: dict[str, Any]) -> Language:
    """The tracker pipeline for these patterns and filters, built once per process."""
    key = tracker_key(patterns, filters)
    nlp = _PIPELINES.get(key)
    if nlp is None:
        nlp = spacy.blank("en")
        # Lexical attributes are computed once per word type, when its lexeme is made.
        norm = tracker_norm(number_like)
        nlp.vocab.lex_attr_getters[LIKE_NUM] = number_like
        nlp.vocab.lex_attr_getters[NORM] = norm
        for lexeme in nlp.vocab:  # the few made by spacy.blank itself (tokenizer exceptions)
            lexeme.set_flag(LIKE_NUM, number_like(lexeme.orth_))
            lexeme.norm_ = norm(lexeme.orth_)
        ruler = nlp.add_pipe("tracker_ruler", config={"spans_key": TRACKER_MATCHES})
        ruler.add_patterns(list(patterns))  # type: ignore[attr-defined]
        nlp.add_pipe("tracker_filters", config={"filters": filters})
        nlp.meta["tracker_key"] = key
        _PIPELINES[key] = nlp
    return nlp


def tracker_docs(
    nlp: Language,
    texts: Iterable[str],
    speakers: Iterable[str | None] | None = None,
    starts: Iterable[float | None] | None = None,
) -> list[Doc]:
    """Run the tracker pipeline over texts, with each utterance's speaker and start time."""
    texts = list(texts)
    speakers = list(speakers) if speakers is not None else [None] * len(texts)
    starts = list(starts) if starts is not None else [None] * len(texts)
    key = nlp.meta["tracker_key"]
    pipeline = [proc for _, proc in nlp.pipeline]
    docs: list[Doc] = []
    # The components are called directly: nlp.pipe's batching and error-handler plumbing
    # costs more per short utterance than the components themselves.
    for text, speaker, start in zip(texts, speakers, starts, strict=True):
        doc = nlp.make_doc(text)
        underscore = doc._
        underscore.speaker = speaker
        underscore.start = start
        doc.user_data[TRACKER_KEY] = key
        for proc in pipeline:
            doc = proc(doc)
        docs.append(doc)
    return docs


def tracked_texts(
    nlp: Language,
    texts: Sequence[str],
    speakers: Sequence[str | None] | None = None,
    starts: Sequence[float | None] | None = None,
) -> list[TrackedText]:
    """tracker_docs, each Doc wrapped with its text and speaker for the feature transformers."""
    speakers = list(speakers) if speakers is not None else [None] * len(texts)
    docs = tracker_docs(nlp, texts, speakers, starts)
    return [TrackedText(t, d, s) for t, d, s in zip(texts, docs, speakers, strict=True)]
