"""`tracker_ruler`: spaCy's SpanRuler pattern format, compiled into phrase lookups for speed.

The patterns file is plain SpanRuler JSONL (`{"label", "id", "pattern"}`, token or phrase
patterns) and loads into spaCy's own `span_ruler` unchanged (a test checks both find the same
spans). This component compiles the same patterns into PhraseMatcher entries, because tagging
runs over millions of utterances and spaCy's Matcher costs a Python Token per token per doc:

- LEMMA is matched through the word forms of each lemma (the inverse of spacy-lookups-data's
  English lookup table, lowercased), so no lemmatizer runs on every token. A token matches
  LEMMA "refer" when its lowercase form lemmatises to "refer" ("referred", "referring"...)
  or is "refer" itself.
- Word tests (LOWER, LEMMA, lowercase ORTH/TEXT, with `IN` lists) become phrases on LOWER.
- Patterns that test LIKE_NUM or IS_CURRENCY become phrases on NORM, which the tracker
  pipeline sets to "<num>" for number-like words, "<cur>" for currency symbols and the
  lowercase form otherwise. In such patterns a number word given as a LOWER value
  ("hundred") matches any number.
- Operators: "?" becomes with/without; "*" and "+" become 0/1 to MAX_REPEAT repetitions
  (on a single-valued token).
- Whatever cannot be compiled (REGEX, negations, other attributes, a pattern expanding to
  more than MAX_PHRASES_PER_PATTERN phrases) goes to a spaCy Matcher unchanged but for LEMMA.

Matches land in `doc.spans[spans_key]` with `label_` = behaviour and `id_` = tracker, and as
(behaviour, tracker, start, end) tuples for code that reads many docs (see `hits`); with
store_spans false, only as the tuples.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from spacy.lang.lex_attrs import is_currency
from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import load_language_data, registry

from talktracks.errors import InputError

MAX_PHRASES_PER_PATTERN = 20_000
MAX_REPEAT = 5
NUM, CUR = "<num>", "<cur>"
_WORD_KEYS = {"LOWER", "LEMMA", "ORTH", "TEXT"}
_FLAGS = {"LIKE_NUM": NUM, "IS_CURRENCY": CUR}


@lru_cache(maxsize=1)
def lemma_forms_index() -> dict[str, frozenset[str]]:
    """lemma -> the lowercase forms the English lookup table maps to it."""
    table = load_language_data(registry.lookups.get("en")["lemma_lookup"])
    forms: dict[str, set[str]] = defaultdict(set)
    for form, lemma in table.items():
        forms[lemma.lower()].add(form.lower())
    return {lemma: frozenset(f) for lemma, f in forms.items()}


def lemma_forms(lemma: str) -> frozenset[str]:
    lemma = lemma.lower()
    return lemma_forms_index().get(lemma, frozenset()) | {lemma}


def tracker_norm(number_like: Any) -> Any:
    """The NORM getter for the tracker vocabulary: "<num>", "<cur>" or the lowercase form."""

    def norm(text: str) -> str:
        if number_like(text):
            return NUM
        if is_currency(text):
            return CUR
        return text.lower()

    return norm


def _word_set(key: str, value: Any) -> set[str] | None:
    """The lowercase words a LOWER/LEMMA/ORTH/TEXT condition accepts, or None if not a word test."""
    values = value["IN"] if isinstance(value, dict) and set(value) == {"IN"} else [value]
    if not all(isinstance(v, str) for v in values):
        return None
    if key == "LEMMA":
        return set().union(*(lemma_forms(v) for v in values))
    if key == "LOWER":
        return {v.lower() for v in values}
    # ORTH/TEXT are case-sensitive: only all-lowercase values mean the same as LOWER.
    return set(values) if all(v == v.lower() for v in values) else None


def _token_choices(spec: dict[str, Any]) -> tuple[list[tuple[str, ...]], bool] | None:
    """Each way one pattern token can be spelled as words (its repetitions included), and
    whether it needs the NORM attribute; None if the token cannot become phrases."""
    op = spec.get("OP")
    conditions = {k: v for k, v in spec.items() if k != "OP"}
    if len(conditions) != 1:
        return None
    ((key, value),) = conditions.items()
    if key in _FLAGS and value is True:
        words, norm = {_FLAGS[key]}, True
    elif key in _WORD_KEYS:
        found = _word_set(key, value)
        if found is None:
            return None
        words, norm = found, False
    else:
        return None
    counts = {None: (1, 1), "?": (0, 1), "*": (0, MAX_REPEAT), "+": (1, MAX_REPEAT)}.get(op)
    if counts is None or (counts[1] > 1 and len(words) > 1):
        return None
    lo, hi = counts
    choices = [(w,) * n for n in range(lo, hi + 1) for w in sorted(words)] if hi else [()]
    if lo == 0:
        choices = [(), *[c for c in choices if c]]
    return choices, norm


def _lemmas_to_lower(spec: dict[str, Any]) -> dict[str, Any]:
    """A Matcher token with LEMMA rewritten as LOWER over the lemma's forms."""
    if "LEMMA" not in spec or "LOWER" in spec:
        return spec
    words = _word_set("LEMMA", spec["LEMMA"])
    if words is None:
        raise InputError(f"tracker pattern token {spec}: LEMMA needs a word or an IN list of words")
    out = {k: v for k, v in spec.items() if k != "LEMMA"}
    out["LOWER"] = {"IN": sorted(words)}
    return out


def compile_pattern(
    pattern: str | Sequence[dict[str, Any]], tokenize: Any
) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]], list[list[dict[str, Any]]]]:
    """One SpanRuler pattern -> (LOWER phrases, NORM phrases, Matcher token patterns)."""
    if isinstance(pattern, str):
        return [tuple(t.lower_ for t in tokenize(pattern))], [], []
    tokens = [_token_choices(spec) for spec in pattern]
    if all(t is not None for t in tokens):
        size = 1
        for choices, _ in tokens:  # type: ignore[misc]
            size *= len(choices)
        if size <= MAX_PHRASES_PER_PATTERN:
            phrases = {
                tuple(w for part in combo for w in part)
                for combo in itertools.product(*(c for c, _ in tokens))  # type: ignore[misc]
            }
            phrases.discard(())
            if any(norm for _, norm in tokens):  # type: ignore[misc]
                return [], sorted(phrases), []
            return sorted(phrases), [], []
    return [], [], [[_lemmas_to_lower(dict(spec)) for spec in pattern]]


Hit = tuple[str, str, int, int]  # (behaviour, tracker, first token, end token)


def hits_key(spans_key: str) -> str:
    return f"hits:{spans_key}"


def hits(doc: Doc, spans_key: str) -> list[Hit]:
    """The matches stored under `spans_key`, as (behaviour, tracker, start, end) tuples."""
    found = doc.user_data.get(hits_key(spans_key))
    if found is None:  # a doc whose spans were set some other way
        found = [(s.label_, s.id_, s.start, s.end) for s in doc.spans.get(spans_key, [])]
    return found


class TrackerRuler:
    """Finds pattern matches and stores them as spans labelled with behaviour and tracker."""

    def __init__(
        self,
        nlp: Language,
        name: str = "tracker_ruler",
        spans_key: str = "ruler",
        store_spans: bool = True,
    ) -> None:
        self.nlp = nlp
        self.name = name
        self.spans_key = spans_key
        self.store_spans = store_spans
        self.matcher = Matcher(nlp.vocab, validate=True)
        self.lower_phrases = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.norm_phrases = PhraseMatcher(nlp.vocab, attr="NORM")
        self._keys: dict[int, tuple[str, str]] = {}

    def add_patterns(self, patterns: Iterable[dict[str, Any]]) -> None:
        """Add SpanRuler-style patterns: {"label": ..., "id": ..., "pattern": str | [tokens]}."""
        lower: dict[str, list[Doc]] = defaultdict(list)
        norm: dict[str, list[Doc]] = defaultdict(list)
        token_patterns: dict[str, list[list[dict[str, Any]]]] = defaultdict(list)
        vocab = self.nlp.vocab
        for p in patterns:
            label, tracker = str(p["label"]), str(p.get("id") or p["label"])
            key = f"{label}\x1f{tracker}"
            self._keys[vocab.strings.add(key)] = (label, tracker)
            by_lower, by_norm, tokens = compile_pattern(p["pattern"], self.nlp.make_doc)
            lower[key].extend(Doc(vocab, words=list(w)) for w in by_lower)
            norm[key].extend(Doc(vocab, words=list(w)) for w in by_norm)
            token_patterns[key].extend(tokens)
        for key, docs in lower.items():
            if docs:
                self.lower_phrases.add(key, docs)
        for key, docs in norm.items():
            if docs:
                self.norm_phrases.add(key, docs)
        for key, pats in token_patterns.items():
            if pats:
                self.matcher.add(key, pats)

    def __call__(self, doc: Doc) -> Doc:
        matches: set[tuple[int, int, int]] = set()
        for matcher in (self.lower_phrases, self.norm_phrases, self.matcher):
            if len(matcher):
                matches.update(matcher(doc))
        keys = self._keys
        found = sorted((*keys[m], start, end) for m, start, end in matches if start != end)
        if self.store_spans:
            doc.spans[self.spans_key] = [
                Span(doc, start, end, label=label, span_id=tracker)
                for label, tracker, start, end in found
            ]
        # The same matches as plain tuples: reading them back from doc.spans would build a Span
        # object per match per reader, which costs more than finding them did.
        doc.user_data[hits_key(self.spans_key)] = found
        return doc


@Language.factory("tracker_ruler", default_config={"spans_key": "ruler", "store_spans": True})
def make_tracker_ruler(nlp: Language, name: str, spans_key: str, store_spans: bool) -> TrackerRuler:
    return TrackerRuler(nlp, name, spans_key, store_spans)
