"""BehaviourModel: trackers + a classifier per behaviour + the combiner, as one tagger.

In: utterance texts with their speakers and start times. Out: per utterance a list of
TagDecision (behaviour, calibrated score, source rule/model/both, evidence character offsets).

Combiner rules (per behaviour, with thresholds chosen by cross-validation on training data):
- a speaker the behaviour does not allow (a customer for a rep-only behaviour) gets no tag;
- p >= model threshold and a tracker matched (after its filters) -> "both";
- p >= model threshold, no tracker match                          -> "model";
- a tracker matched and rule threshold <= p < model threshold    -> "rule";
- otherwise no tag. The score is always the calibrated probability p.
A tracker match alone never tags: patterns are recall devices, and the classifier has to find
the utterance at least plausible (p >= rule threshold) before a keyword counts.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.calibration import CalibratedClassifierCV
from sklearn.pipeline import FeatureUnion, Pipeline

from talktracks.behaviours.amounts import MONEY_KINDS, OTHER
from talktracks.behaviours.classifier import Thresholds
from talktracks.behaviours.evidence import merged_spans, ngram_region, whole_text
from talktracks.behaviours.features import AmountFeatures, amounts_of, normalise_text
from talktracks.behaviours.ruler import hits
from talktracks.behaviours.taxonomy import Taxonomy
from talktracks.behaviours.trackers import (
    TRACKER_MATCHES,
    TRACKERS,
    TrackedText,
    tracked_texts,
    tracker_pipeline,
)

RULE, MODEL, BOTH = "rule", "model", "both"


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for one batch.

    A batch allocates tens of thousands of short-lived containers (Docs, spans, tuples), none
    in reference cycles, so reference counting frees them all; meanwhile the collector would
    rescan every live object many times per batch, which cost 30-40% of tagging time.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass(frozen=True, slots=True)
class TagDecision:
    behaviour: str
    score: float
    source: str
    start: int
    end: int


def combine(p: float, rule_hit: bool, t: Thresholds) -> str | None:
    """The tag source for probability p and whether a filtered tracker matched, or None."""
    if p >= t.model:
        return BOTH if rule_hit else MODEL
    if rule_hit and p >= t.rule:
        return RULE
    return None


class BehaviourModel:
    """A trained tagger. `pipeline(name)` gives each behaviour's scikit-learn Pipeline."""

    def __init__(
        self,
        *,
        taxonomy: Taxonomy,
        patterns: list[dict[str, Any]],
        features: FeatureUnion,
        classifiers: dict[str, CalibratedClassifierCV],
        thresholds: dict[str, Thresholds],
        version: str = "unsaved",
        subwords: dict[str, Any] | None = None,
    ) -> None:
        self.taxonomy = taxonomy
        self.patterns = patterns
        self.features = features
        self.classifiers = classifiers
        self.thresholds = thresholds
        self.version = version
        # Behaviour -> SubwordClassifier whose probability is averaged with the SVM's.
        self.subwords = dict(subwords or {})

    @property
    def behaviours(self) -> list[str]:
        return [b for b in self.taxonomy.names if b in self.classifiers]

    @cached_property
    def filters(self) -> dict[str, dict[str, dict[str, Any]]]:
        return self.taxonomy.filters()

    def pipeline(self, behaviour: str) -> Pipeline:
        """Text in, calibrated probability out: features -> this behaviour's classifier.

        For a behaviour in `subwords` the tag score is the average of this pipeline's
        probability and the subword classifier's (`probabilities`)."""
        return Pipeline([("features", self.features), ("classifier", self.classifiers[behaviour])])

    def track(
        self,
        texts: Sequence[str],
        speakers: Sequence[str | None] | None = None,
        starts: Sequence[float | None] | None = None,
    ) -> list[TrackedText]:
        """Run the tracker pipeline: texts carrying their Docs (matches, filtered matches)."""
        return tracked_texts(self._tracker_nlp, texts, speakers, starts)

    @cached_property
    def _tracker_nlp(self) -> Any:
        # Looked up once per model: finding it by key hashes every pattern, and the nightly
        # flow tags each call (a few dozen utterances) on its own.
        return tracker_pipeline(self.patterns, self.filters, spans=False)

    def probabilities(
        self, tracked: Sequence[TrackedText]
    ) -> tuple[sp.csr_matrix, dict[str, np.ndarray]]:
        """The feature matrix (computed once) and each behaviour's calibrated probabilities."""
        X = self._transform(tracked)
        probs = {b: self.classifiers[b].predict_proba(X)[:, 1] for b in self.behaviours}
        for b, sub in self.subwords.items():
            if b in probs:
                probs[b] = (probs[b] + sub.predict_proba(tracked)[:, 1]) / 2
        return X, probs

    def _transform(self, tracked: Sequence[TrackedText]) -> sp.csr_matrix:
        """features.transform, with its blocks stacked straight into CSR.

        FeatureUnion stacks through COO and joblib's sequential runner, a tenth of tagging
        time for the same matrix; weighted or passthrough unions keep the general path.
        """
        union = self.features
        parts = [t for _, t in union.transformer_list]
        if union.transformer_weights or any(isinstance(t, str) for t in parts):
            return sp.csr_matrix(union.transform(tracked))
        return sp.hstack([t.transform(tracked) for t in parts], format="csr")

    def decisions(self, tracked: Sequence[TrackedText]) -> dict[str, np.ndarray]:
        """Per behaviour, whether each utterance is tagged (no evidence; for evaluation)."""
        _, probs = self.probabilities(tracked)
        out: dict[str, np.ndarray] = {}
        for b in self.behaviours:
            behaviour, t = self.taxonomy[b], self.thresholds[b]
            eligible = np.array([behaviour.eligible(x.speaker) for x in tracked], dtype=bool)
            hit = np.array(
                [any(h[0] == b for h in hits(x.doc, TRACKERS)) for x in tracked], dtype=bool
            )
            out[b] = eligible & t.decide(probs[b], hit)
        return out

    def tag(
        self,
        texts: Sequence[str],
        speakers: Sequence[str | None] | None = None,
        starts: Sequence[float | None] | None = None,
    ) -> list[list[TagDecision]]:
        """Tag a batch of utterances; one list of decisions per text, in input order."""
        if not len(texts):
            return []
        with cyclic_gc_paused():
            return self._tag(texts, speakers, starts)

    def _tag(
        self,
        texts: Sequence[str],
        speakers: Sequence[str | None] | None,
        starts: Sequence[float | None] | None,
    ) -> list[list[TagDecision]]:
        tracked = self.track(texts, speakers, starts)
        X, probs = self.probabilities(tracked)
        return self._decide(tracked, X, probs)

    def _decide(
        self, tracked: Sequence[TrackedText], X: sp.csr_matrix, probs: dict[str, np.ndarray]
    ) -> list[list[TagDecision]]:
        rules = [
            (b, self.taxonomy[b], self.thresholds[b], probs[b].tolist()) for b in self.behaviours
        ]
        out: list[list[TagDecision]] = []
        for i, text in enumerate(tracked):
            found: list[TagDecision] = []
            speaker = text.speaker
            kept: dict[str, list[tuple[int, int]]] | None = None
            for b, behaviour, t, p_all in rules:
                p = p_all[i]
                if p < t.rule or not behaviour.eligible(speaker):
                    continue
                if kept is None:  # built once per doc, and only for docs that may be tagged
                    kept = {}
                    for label, _, s, e in hits(text.doc, TRACKERS):
                        kept.setdefault(label, []).append((s, e))
                ranges = kept.get(b, [])
                source = combine(p, bool(ranges), t)
                if source is None:
                    continue
                start, end = self.evidence(text, b, ranges, X, i)
                found.append(TagDecision(b, p, source, start, end))
            out.append(found)
        return out

    def evidence(
        self,
        text: TrackedText,
        behaviour: str,
        rule_ranges: list[tuple[int, int]],
        X: sp.csr_matrix,
        i: int,
    ) -> tuple[int, int]:
        """Character offsets of the evidence for a tag (see evidence.py for the order)."""
        doc = text.doc
        span = merged_spans(doc, rule_ranges) or merged_spans(
            doc, [(s, e) for b, _, s, e in hits(doc, TRACKER_MATCHES) if b == behaviour]
        )
        if span:
            return span
        coef = self._coef(behaviour)
        amount = self._amount_evidence(text, behaviour, coef)
        if amount:
            return amount
        if coef is not None and self._has_word_vectorizer:
            vectorizer, offset = self._word_vectorizer
            lo, hi = X.indptr[i], X.indptr[i + 1]
            columns = X.indices[lo:hi]
            # Only the word n-gram columns (a small part of a row's nonzeros) can score words.
            a, b = np.searchsorted(columns, (offset, offset + len(vectorizer.vocabulary_)))
            columns = columns[a:b]
            weights = coef[columns] * X.data[lo + a : lo + b]
            region = ngram_region(
                text,  # a TrackedText: its normalised form is already computed
                dict(zip(columns.tolist(), weights.tolist(), strict=True)),
                vectorizer,
                offset,
                normalise_text,
            )
            if region:
                return region
        return whole_text(str(text))

    def _amount_evidence(
        self, text: TrackedText, behaviour: str, coef: np.ndarray | None
    ) -> tuple[int, int] | None:
        """The words of the figure that speaks most for the tag, when the behaviour's classifier
        weighs money figures positively (price talk): "eighteen five" in "it's eighteen five
        installed". Offsets come from amounts.py, so they point at the words as said."""
        if coef is None or self._amount_block is None:
            return None
        found, _ = amounts_of(text)
        if not found:
            return None
        names, offset = self._amount_block
        best: tuple[float, int, int] | None = None
        for a in found:
            if a.kind not in MONEY_KINDS or a.target == OTHER:
                continue
            w = coef[offset + names[f"kind:{a.kind}"]] + coef[offset + names[f"money:{a.target}"]]
            if w > 0 and (best is None or w > best[0]):
                best = (w, a.start, a.end)
        return (best[1], best[2]) if best else None

    @cached_property
    def _amount_block(self) -> tuple[dict[str, int], int] | None:
        """(column of each AmountFeatures name, the block's first column), or None."""
        offset = 0
        for _, transformer in self.features.transformer_list:
            names = list(transformer.get_feature_names_out())
            if isinstance(transformer, AmountFeatures):
                return {n: i for i, n in enumerate(names)}, offset
            offset += len(names)
        return None

    @cached_property
    def _word_vectorizer(self) -> tuple[Any, int]:
        """(fitted word n-gram vectorizer, its first column in the feature matrix)."""
        offset = 0
        for _, transformer in self.features.transformer_list:
            if getattr(transformer, "analyzer", None) == "word":
                return transformer, offset
            offset += len(transformer.get_feature_names_out())
        raise ValueError("the features have no word n-gram vectorizer")

    @cached_property
    def _has_word_vectorizer(self) -> bool:
        return any(
            getattr(t, "analyzer", None) == "word" for _, t in self.features.transformer_list
        )

    def _coef(self, behaviour: str) -> np.ndarray | None:
        cache: dict[str, np.ndarray | None] = self.__dict__.setdefault("_coefs", {})
        if behaviour not in cache:
            fitted = getattr(self.classifiers[behaviour], "calibrated_classifiers_", [])
            coefs = [getattr(c.estimator, "coef_", None) for c in fitted]
            cache[behaviour] = (
                np.mean([c.ravel() for c in coefs], axis=0)
                if coefs and all(c is not None for c in coefs)
                else None
            )
        return cache[behaviour]
