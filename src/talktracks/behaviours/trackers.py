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
- The same matches are kept as (behaviour, tracker, start, end) tuples (read them with
  `hits(doc, key)`); the tagger's pipeline (`spans=False`) keeps only those.
"""

from __future__ import annotations

import hashlib
import json
import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from typing import Any

import spacy
from spacy.attrs import LIKE_NUM, NORM, ORTH
from spacy.lang.en.lex_attrs import like_num as english_like_num
from spacy.language import Language
from spacy.strings import get_string_id
from spacy.tokens import Doc, Span

from talktracks.behaviours.ruler import (  # also registers "tracker_ruler"
    Hit,
    hits,
    hits_key,
    tracker_norm,
)
from talktracks.behaviours.taxonomy import TrackerFilter, speaker_allowed

TRACKER_MATCHES = "tracker_matches"
TRACKERS = "trackers"
TEXT_FILTERED = "tracker_text_filtered"  # matches passing the text-only filters (tuples only)
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

SPEAKER_KEY = "talktracks:speaker"  # doc.user_data keys behind doc._.speaker / doc._.start
START_KEY = "talktracks:start"


def _context_extension(key: str) -> dict[str, Any]:
    # Getter/setter over plain user_data keys: the pipeline reads and writes the keys
    # directly (an Underscore object per access costs more than the filters themselves),
    # while doc._.speaker keeps working for anyone building docs by hand.
    return {
        "getter": lambda doc: doc.user_data.get(key),
        "setter": lambda doc, value: doc.user_data.__setitem__(key, value),
    }


Doc.set_extension("speaker", **_context_extension(SPEAKER_KEY), force=True)
Doc.set_extension("start", **_context_extension(START_KEY), force=True)


TERMINALS = frozenset({".", "!", "?", "...", "…", "?!", "!?"})
_NUMBER_SHORTHAND = re.compile(r"^\d+(?:[.,]\d+)*[km]$", re.IGNORECASE)


def number_like(text: str) -> bool:
    """spaCy's English LIKE_NUM ("12", "4,160", "twelve") plus shorthand like "4k" and "1.5M"."""
    return english_like_num(text) or bool(_NUMBER_SHORTHAND.match(text))


_TERMINAL_IDS = frozenset(get_string_id(t) for t in TERMINALS)
_QUESTION_KEY = "questions"  # doc.user_data: the document's sentences, found once


def _sentences(doc: Doc, orths: Any = None) -> tuple[list[int], list[bool | None]]:
    """(last token index of each sentence, whether it is a question), computed once per doc.

    Sentences split after . ! ? tokens. A sentencizer would do the same for every document;
    only question filters and features need it, so it runs on demand and is cached on the doc
    (trackers and features then share it). None marks a sentence not yet judged. `orths`
    (doc.to_array(ORTH)) saves recomputing it when the caller has it.
    """
    found = doc.user_data.get(_QUESTION_KEY)
    if found is None:
        if orths is None:
            orths = doc.to_array(ORTH)
        ends = [i for i, o in enumerate(orths.tolist()) if o in _TERMINAL_IDS]
        if not ends or ends[-1] != len(orths) - 1:
            ends.append(len(orths) - 1)
        found = doc.user_data[_QUESTION_KEY] = (ends, [None] * len(ends))
    return found


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
    ends, judged = _sentences(doc)
    k = bisect_left(ends, min(i, len(doc) - 1))
    if judged[k] is None:
        judged[k] = _judge_sentence(doc, ends[k - 1] + 1 if k else 0, ends[k])
    return bool(judged[k])


def _judge_sentence(doc: Doc, first: int, last: int) -> bool:
    end = doc[last]
    if "?" in end.text:
        return True
    if end.orth in _TERMINAL_IDS:
        return False
    for token in doc[first : last + 1]:
        if token.is_punct or token.is_space or token.lower_ in FILLERS:
            continue
        return token.lower_ in QUESTION_OPENERS
    return False


def has_question(doc: Doc, text: str | None = None, orths: Any = None) -> bool:
    """Whether any sentence of the document is a question (is_question, done cheaply).

    With no "?" anywhere, only an unpunctuated document (no sentence end at all) can still be
    one, by its opening word. `text` and `orths` (doc.to_array(ORTH)) save recomputing them
    when the caller has them.
    """
    if "?" in (doc.text if text is None else text):
        return True
    if not len(doc):
        return False
    ends, _ = _sentences(doc, orths)
    if len(ends) > 1 or doc[ends[0]].orth in _TERMINAL_IDS:
        return False
    return is_question_at(doc, 0)


class TrackedText(str):
    """An utterance text carrying its tracker-pipeline Doc.

    The n-gram vectorizers see a plain string (no Doc.text rebuilt per vectorizer), and
    TrackerFeatures reads the matches the pipeline already found instead of re-running spaCy.
    `normalised` holds the vectorizers' shared preprocessing once the first one has done it.
    """

    doc: Doc
    speaker: str | None
    normalised: str | None
    amounts: Any  # amounts.find_amounts' result, once AmountFeatures has computed it

    def __new__(cls, text: str, doc: Doc, speaker: str | None = None) -> TrackedText:
        obj = super().__new__(cls, text)
        obj.doc = doc
        obj.speaker = speaker
        obj.normalised = None
        obj.amounts = None
        return obj


def passes_text_filters(f: TrackerFilter, doc: Doc, i: int) -> bool:
    """The filters that depend only on the text (questions only), for a match at token i."""
    return not f.questions_only or is_question_at(doc, i)


def passes_context_filters(f: TrackerFilter, speaker: str | None, start: float | None) -> bool:
    """The filters on who said it and when. An unknown start time cannot fail first-N-minutes."""
    if not speaker_allowed(f.speaker, speaker):
        return False
    return f.first_minutes is None or start is None or start < f.first_minutes * 60


class TrackerFilters:
    """Copies the matches that pass their tracker's filters into doc.spans["trackers"].

    Also keeps, as tuples only, the matches that pass the filters depending on the text alone
    (TEXT_FILTERED: questions only), which the classifier features count; training rows have
    no speaker or time, so the features must not depend on those. With store_spans false only
    the tuples are stored (see `hits`): the tagger never reads Span objects, and making them
    costs more than finding the matches.
    """

    def __init__(
        self, filters: dict[str, dict[str, dict[str, Any]]], store_spans: bool = True
    ) -> None:
        self.filters = {
            (label, t): TrackerFilter(**f)
            for label, trackers in filters.items()
            for t, f in trackers.items()
        }
        self.store_spans = store_spans
        self._default = TrackerFilter()

    def __call__(self, doc: Doc) -> Doc:
        user_data = doc.user_data
        speaker, start = user_data.get(SPEAKER_KEY), user_data.get(START_KEY)
        get, default = self.filters.get, self._default
        kept: list[Hit] = []
        text_kept: list[Hit] = []
        for h in hits(doc, TRACKER_MATCHES):
            f = get((h[0], h[1]), default)
            if not passes_text_filters(f, doc, h[2]):
                continue
            text_kept.append(h)
            if passes_context_filters(f, speaker, start):
                kept.append(h)
        if self.store_spans:
            doc.spans[TRACKERS] = [Span(doc, s, e, label=b, span_id=t) for b, t, s, e in kept]
        doc.user_data[hits_key(TRACKERS)] = kept
        doc.user_data[hits_key(TEXT_FILTERED)] = text_kept
        return doc


@Language.factory("tracker_filters", default_config={"filters": {}, "store_spans": True})
def make_tracker_filters(
    nlp: Language, name: str, filters: dict[str, dict[str, dict[str, Any]]], store_spans: bool
) -> TrackerFilters:
    return TrackerFilters(filters, store_spans)


def tracker_key(patterns: Sequence[dict[str, Any]], filters: dict[str, Any]) -> str:
    """A short hash naming a patterns-and-filters combination."""
    blob = json.dumps([list(patterns), filters], sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


_PIPELINES: dict[tuple[str, bool], Language] = {}


def tracker_pipeline(
    patterns: Sequence[dict[str, Any]], filters: dict[str, Any], *, spans: bool = True
) -> Language:
    """The tracker pipeline for these patterns and filters, built once per process.

    spans=False stores matches only as (behaviour, tracker, start, end) tuples (read them with
    `hits`), not as doc.spans: the tagger's setting, since Span objects cost more than finding
    the matches. Both settings find the same matches.
    """
    key = tracker_key(patterns, filters)
    nlp = _PIPELINES.get((key, spans))
    if nlp is None:
        nlp = spacy.blank("en")
        # Lexical attributes are computed once per word type, when its lexeme is made.
        norm = tracker_norm(number_like)
        nlp.vocab.lex_attr_getters[LIKE_NUM] = number_like
        nlp.vocab.lex_attr_getters[NORM] = norm
        for lexeme in nlp.vocab:  # the few made by spacy.blank itself (tokenizer exceptions)
            lexeme.set_flag(LIKE_NUM, number_like(lexeme.orth_))
            lexeme.norm_ = norm(lexeme.orth_)
        ruler = nlp.add_pipe(
            "tracker_ruler", config={"spans_key": TRACKER_MATCHES, "store_spans": spans}
        )
        ruler.add_patterns(list(patterns))  # type: ignore[attr-defined]
        nlp.add_pipe("tracker_filters", config={"filters": filters, "store_spans": spans})
        nlp.meta["tracker_key"] = key
        _PIPELINES[(key, spans)] = nlp
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
        user_data = doc.user_data
        user_data[SPEAKER_KEY] = speaker  # doc._.speaker
        user_data[START_KEY] = start  # doc._.start
        user_data[TRACKER_KEY] = key
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
