"""Text features for the behaviour classifiers: word and character n-grams plus tracker matches.

Every transformer here accepts plain strings, or TrackedText strings that carry the Doc the
tracker pipeline made, so the tagger runs spaCy once and feeds the same Docs to the rules and
to the classifiers; a notebook can still call the pipelines on a list of strings.
"""

from __future__ import annotations

import math
import re
import weakref
from array import array
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion
from sklearn.preprocessing import normalize
from sklearn.utils.validation import check_is_fitted
from spacy.attrs import IS_CURRENCY, LIKE_NUM, ORTH
from spacy.tokens import Doc

from talktracks.behaviours.amounts import (
    KINDS,
    MONEY_KINDS,
    OFFER,
    OTHER,
    TARGETS,
    Amount,
    find_amounts,
    how_much_questions,
    may_hold_amount,
)
from talktracks.behaviours.ruler import hits
from talktracks.behaviours.trackers import (
    TEXT_FILTERED,
    TRACKER_KEY,
    TrackedText,
    has_question,
    tracker_docs,
    tracker_key,
    tracker_pipeline,
)

_DIGIT = re.compile(r"\d")
WORD_TOKEN = re.compile(r"(?u)[$€£%]|\b\w+\b")
NUMBER_WORDS = frozenset(
    [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
        "thirty",
        "forty",
        "fifty",
        "sixty",
        "seventy",
        "eighty",
        "ninety",
        "hundred",
        "thousand",
        "million",
        "billion",
    ]
)
NUMBER_TOKEN = "<num>"


def normalise_text(text: Any) -> str:
    """Lowercase, every digit -> "0": "$15" and "$45" share n-grams, and offsets are unchanged.

    Both n-gram vectorizers call this on every utterance; a TrackedText keeps the result.
    """
    if isinstance(text, TrackedText):
        if text.normalised is None:
            text.normalised = _DIGIT.sub("0", str.lower(text))
        return text.normalised
    return _DIGIT.sub("0", str(text).lower())


def word_token(token: str) -> str:
    """A word as the word n-grams see it: numbers, in digits or words, are all one token.

    ASR writes prices as words ("four ninety nine"), people type digits ("$499"); both become
    "<num> <num> <num>" / "$ <num>", so "for <num>" or "<num> a month" generalise.
    """
    if token in NUMBER_WORDS or (token[0] == "0" and not token.strip("0")):
        return NUMBER_TOKEN
    return token


def word_tokens(text: str) -> list[str]:
    """Tokenizer for the word n-gram vectorizer (input already normalised)."""
    return [word_token(m.group()) for m in WORD_TOKEN.finditer(text)]


_CHUNK_CACHES: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()
_MAX_CACHED_CHUNKS = 500_000


class CachedTfidfVectorizer(TfidfVectorizer):
    """TfidfVectorizer whose transform caches work per whitespace-separated chunk.

    Neither char_wb n-grams nor our word tokens cross whitespace, so a document's features
    are built from its chunks' (words'), and words repeat: caching each chunk's vocabulary ids
    (char_wb) or tokens (word; n-grams are then joined across chunks) makes transform several
    times faster, and tagging speed is mostly feature extraction. Fitting and the output are
    exactly TfidfVectorizer's (a test checks): the preprocessor must be idempotent and the
    tokenizer must not produce tokens spanning whitespace, as normalise_text and word_tokens
    are. Other settings (stop words, other analyzers) use the plain transform. The cache lives
    outside the estimator, so it is never saved with the model.
    """

    def transform(self, raw_documents: Any) -> Any:
        fast = self.analyzer == "char_wb" or (
            self.analyzer == "word" and self.stop_words is None and callable(self.tokenizer)
        )
        if not fast:
            return super().transform(raw_documents)
        check_is_fitted(self, msg="The TF-IDF vectorizer is not fitted")
        if isinstance(raw_documents, str):
            raise ValueError("Iterable over raw text documents expected, string object received.")
        cache = _CHUNK_CACHES.setdefault(self, {})
        if len(cache) > _MAX_CACHED_CHUNKS:
            cache.clear()
        ids_of = self._char_ids if self.analyzer == "char_wb" else self._word_ids
        # Column ids travel as int32 bytes: one join and np.frombuffer at the end instead of
        # converting a Python list of ints, which cost as much as finding the ids.
        parts: list[bytes] = []
        indptr = [0]
        preprocess = self.build_preprocessor()
        plain = self.input == "content"
        total = 0
        for doc in raw_documents:
            text = doc if plain and isinstance(doc, str) else self.decode(doc)
            ids = ids_of(preprocess(text).split(), cache)
            parts.append(ids)
            total += len(ids) >> 2
            indptr.append(total)
        indices = np.frombuffer(b"".join(parts), dtype=np.int32).copy()  # sorted in place below
        X = sp.csr_matrix(
            (np.ones(len(indices), dtype=self.dtype), indices, indptr),
            shape=(len(indptr) - 1, len(self.vocabulary_)),
        )
        X.sum_duplicates()
        if self.binary:
            X.data.fill(1)
        if self.sublinear_tf:
            np.log(X.data, X.data)
            X.data += 1.0
        if self.use_idf:
            X.data *= self.idf_[X.indices]
        if self.norm is not None:
            X = normalize(X, norm=self.norm, copy=False)
        return X

    def _char_ids(self, chunks: list[str], cache: dict[str, bytes]) -> bytes:
        """The document's char n-gram column ids, as int32 bytes, from its chunks'."""
        get = cache.get
        found = [get(chunk) for chunk in chunks]
        if None in found:
            vocabulary, analyze = self.vocabulary_, self.build_analyzer()
            for k, chunk in enumerate(chunks):
                if found[k] is None:
                    ids = [vocabulary[g] for g in analyze(chunk) if g in vocabulary]
                    found[k] = cache[chunk] = array("i", ids).tobytes()
        return b"".join(found)

    def _word_ids(
        self, chunks: list[str], cache: dict[str, tuple[tuple[str, ...], bytes]]
    ) -> bytes:
        """The document's word n-gram column ids, as int32 bytes: unigrams cached per chunk,
        longer n-grams looked up across the document's tokens."""
        vocabulary = self.vocabulary_
        get = cache.get
        found = [get(chunk) for chunk in chunks]
        if None in found:
            tokenize = self.build_tokenizer()
            for k, chunk in enumerate(chunks):
                if found[k] is None:
                    words = tuple(tokenize(chunk))
                    ids = (
                        [vocabulary[t] for t in words if t in vocabulary]
                        if self.ngram_range[0] == 1
                        else []
                    )
                    found[k] = cache[chunk] = (words, array("i", ids).tobytes())
        unigrams = b"".join([entry[1] for entry in found])
        tokens = [t for entry in found for t in entry[0]]
        lo, hi = self.ngram_range
        lookup = vocabulary.get
        grams: list[int] = []
        for size in range(max(lo, 2), hi + 1):
            if size == 2:  # the common case, without a slice per bigram
                looked_up = [lookup(a + " " + b) for a, b in zip(tokens, tokens[1:], strict=False)]
            else:
                looked_up = [
                    lookup(" ".join(tokens[i : i + size])) for i in range(len(tokens) - size + 1)
                ]
            grams.extend(j for j in looked_up if j is not None)
        return unigrams + array("i", grams).tobytes() if grams else unigrams


class TrackerFeatures(TransformerMixin, BaseEstimator):
    """Counts of keyword-tracker matches per (behaviour, tracker), plus text and speaker flags.

    Only the filters that depend on the text itself (questions only) apply to the counts; the
    speaker and time filters are the combiner's business, and training rows have no times.
    The speaker flags (and their crossings with numbers and questions) let a linear model
    learn that a customer quoting a figure is often talking about their own rent or fuel,
    while a rep quoting one is usually pricing the offer. Plain strings have no speaker, so
    their speaker flags are 0, as for "unknown".
    In: strings or tracker-pipeline Docs. Out: a sparse matrix, log(1 + count) per tracker,
    then the 0/1 flags in FLAGS.
    """

    FLAGS = (
        "_question",
        "_number",
        "_currency",
        "_rep",
        "_customer",
        "_rep_number",
        "_customer_number",
        "_customer_question",
    )

    def __init__(
        self,
        patterns: Sequence[dict[str, Any]] = (),
        filters: dict[str, dict[str, dict[str, Any]]] | None = None,
    ) -> None:
        self.patterns = patterns
        self.filters = filters

    def fit(self, X: Sequence[Any], y: Any = None) -> TrackerFeatures:
        trackers = sorted({f"{p['label']}/{p['id']}" for p in self.patterns})
        self.feature_names_ = [*trackers, *self.FLAGS]
        return self

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(self.feature_names_, dtype=object)

    def _docs(self, X: Sequence[Any]) -> list[Doc]:
        filters = self.filters or {}
        key = tracker_key(self.patterns, filters)
        docs = [x.doc if isinstance(x, TrackedText) else x for x in X]
        if all(isinstance(d, Doc) and d.user_data.get(TRACKER_KEY) == key for d in docs):
            return docs
        nlp = tracker_pipeline(self.patterns, filters, spans=False)
        return tracker_docs(nlp, [str(x) for x in X])

    def transform(self, X: Sequence[Any]) -> sp.csr_matrix:
        index = {name: i for i, name in enumerate(self.feature_names_)}
        n_trackers = len(index) - len(self.FLAGS)
        columns = {(p["label"], p["id"]): index[f"{p['label']}/{p['id']}"] for p in self.patterns}
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        for r, (x, doc) in enumerate(zip(X, self._docs(X), strict=True)):
            counts: dict[int, int] = {}
            # The tracker pipeline already applied the text-only filters (questions only).
            for label, tracker, _, _ in hits(doc, TEXT_FILTERED):
                j = columns.get((label, tracker))
                if j is not None:
                    counts[j] = counts.get(j, 0) + 1
            number = currency = question = False
            if len(doc):
                arr = doc.to_array([LIKE_NUM, IS_CURRENCY, ORTH])
                number, currency = arr[:, :2].any(axis=0).tolist()
                question = has_question(doc, x if isinstance(x, str) else None, arr[:, 2])
            speaker = x.speaker if isinstance(x, TrackedText) else doc._.speaker
            rep, customer = speaker == "rep", speaker == "customer"
            flags = (
                question,
                number,
                currency,
                rep,
                customer,
                rep and (number or currency),
                customer and (number or currency),
                customer and question,
            )
            for k, on in enumerate(flags):
                if on:
                    counts[n_trackers + k] = 1
            for j, c in counts.items():
                rows.append(r)
                cols.append(j)
                vals.append(math.log1p(c))
        return sp.csr_matrix((vals, (rows, cols)), shape=(len(X), len(index)))


def amounts_of(text: Any) -> tuple[list[Amount], list[tuple[str, int, int]]]:
    """(figures, "how much" questions) of an utterance, computed once per TrackedText."""
    if isinstance(text, TrackedText) and text.amounts is not None:
        return text.amounts
    s = str(text)
    found: tuple[list[Amount], list[tuple[str, int, int]]] = (
        (find_amounts(s), how_much_questions(s)) if may_hold_amount(s) else ([], [])
    )
    if isinstance(text, TrackedText):
        text.amounts = found
    return found


class AmountFeatures(TransformerMixin, BaseEstimator):
    """What the utterance's figures are and what they price (amounts.py), as 0/1 columns.

    Word n-grams see "eighteen five installed" and "our bill is eighteen five" as the same
    "<num> <num>"; these columns say a figure is money, a rate, a percentage, a duration, a
    year or a count, and whether its words tie it to the offer or to something else (a bill,
    a repair, an improvement), so a linear model can weigh "money for the offer" apart from
    "money for something else". "How much" questions about time or effort get their own
    column. Speaker crossings: a customer's figure for the offer is a budget or a competing
    quote; a customer's other figure is context.
    In: strings or TrackedTexts. Out: a sparse 0/1 matrix with the columns in NAMES.
    """

    NAMES = (
        "amount",
        *(f"kind:{k}" for k in KINDS),
        *(f"{k}:{t}" for k in MONEY_KINDS for t in TARGETS),
        *(f"money:{t}" for t in TARGETS),
        "compressed",
        "how_much:offer",
        "how_much:other",
        "customer:money:offer",
        "customer:money:other",
        "rep:money:offer",
    )

    def fit(self, X: Sequence[Any], y: Any = None) -> AmountFeatures:
        self.feature_names_ = list(self.NAMES)
        return self

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(self.feature_names_, dtype=object)

    def transform(self, X: Sequence[Any]) -> sp.csr_matrix:
        index = {name: i for i, name in enumerate(self.feature_names_)}
        rows: list[int] = []
        cols: list[int] = []
        for r, x in enumerate(X):
            found, questions = amounts_of(x)
            if not found and not questions:
                continue
            on: set[str] = set()
            speaker = x.speaker if isinstance(x, TrackedText) else None
            for a in found:
                on.add("amount")
                on.add(f"kind:{a.kind}")
                if a.kind in MONEY_KINDS:
                    on.add(f"{a.kind}:{a.target}")
                    on.add(f"money:{a.target}")
                    if speaker in ("customer", "rep") and a.target in (OFFER, OTHER):
                        on.add(f"{speaker}:money:{a.target}")
                if a.alternative is not None:
                    on.add("compressed")
            for kind, _, _ in questions:
                on.add(f"how_much:{kind}")
            for name in on:
                j = index.get(name)
                if j is not None:
                    rows.append(r)
                    cols.append(j)
        return sp.csr_matrix(
            (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(X), len(index))
        )


def make_features(
    patterns: Sequence[dict[str, Any]],
    filters: dict[str, dict[str, dict[str, Any]]],
    *,
    amounts: bool = True,
) -> FeatureUnion:
    """Word 1-2-grams, character 2-5-grams within words, and tracker counts, side by side.

    Char n-grams carry ASR spellings and word pieces ("onboard", "$00"); word n-grams carry
    phrases ("refer us", "per month"); tracker counts carry what the patterns generalise
    (any number followed by "a month", any lemma of "refer").
    """
    return FeatureUnion(
        [
            (
                "words",
                CachedTfidfVectorizer(
                    preprocessor=normalise_text,
                    tokenizer=word_tokens,
                    token_pattern=None,
                    ngram_range=(1, 2),
                    min_df=2,
                    sublinear_tf=True,
                    dtype=np.float32,
                ),
            ),
            (
                "chars",
                CachedTfidfVectorizer(
                    preprocessor=normalise_text,
                    analyzer="char_wb",
                    ngram_range=(2, 5),
                    min_df=2,
                    sublinear_tf=True,
                    dtype=np.float32,
                ),
            ),
            ("trackers", TrackerFeatures(patterns=list(patterns), filters=filters)),
            *([("amounts", AmountFeatures())] if amounts else []),
        ]
    )
