"""A fastText subword classifier per behaviour, averaged with the n-gram SVM where CV says so.

fastText (`fasttext-wheel`, MIT) learns a small embedding for every word, word bigram and
character 2-5-gram and classifies their average: words it never saw in training still get a
meaning from their pieces ("onboardings", ASR spellings), and phrasings that share no n-gram
with the training lines can still land near them. In 5-fold CV on the training data the
average of its probability and the SVM's beat the SVM alone on referral_request and
product_introduction (docs/behaviour-model.md), so those behaviours use the average.

`SubwordClassifier` is a scikit-learn estimator (fit / predict_proba on texts). Its fitted
fastText model is not something skops can store, so the registry saves it with fastText's own
format as `subword-<behaviour>.bin` beside model.skops, records its SHA-256 and checks it
before loading, like every other model file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

# Sizes chosen by CV on the training data: dim 20 and 20,000 hash buckets scored as dim 50
# with 2,000,000 (the defaults) and keep each saved model near 2.5 MB.
PARAMS: dict[str, Any] = {
    "epoch": 30,
    "lr": 0.5,
    "wordNgrams": 2,
    "minn": 2,
    "maxn": 5,
    "dim": 20,
    "bucket": 20_000,
    "thread": 1,  # with the seed: the same data gives the same model
    "seed": 0,
    "verbose": 0,
}
_POSITIVE = "__label__1"


def subword_input(text: Any) -> str:
    """One line for fastText: the speaker as a token, then the lowercased text."""
    speaker = getattr(text, "speaker", None) or "unknown"
    return f"{speaker}_speaker " + " ".join(str(text).lower().split())


class SubwordClassifier(ClassifierMixin, BaseEstimator):
    """fastText supervised classifier over words, word bigrams and char n-grams; texts in."""

    def __init__(self, params: dict[str, Any] | None = None) -> None:
        self.params = params

    def fit(self, X: Sequence[Any], y: Any) -> SubwordClassifier:
        import fasttext

        y = np.asarray(y, dtype=bool)
        self.classes_ = np.array([False, True])
        fd, path = tempfile.mkstemp(suffix=".txt", prefix="talktracks-subword-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                for text, label in zip(X, y, strict=True):
                    f.write(f"__label__{int(label)} {subword_input(text)}\n")
            self.model_ = fasttext.train_supervised(path, **{**PARAMS, **(self.params or {})})
        finally:
            Path(path).unlink(missing_ok=True)
        return self

    def predict_proba(self, X: Sequence[Any]) -> np.ndarray:
        # The C++ binding directly: fasttext-wheel's Python predict() breaks on NumPy 2.
        predict = self.model_.f.predict
        p = np.empty(len(X))
        for i, text in enumerate(X):
            got = {label: prob for prob, label in predict(subword_input(text), 2, 0.0, "strict")}
            p[i] = got.get(_POSITIVE, 1.0 - got.get("__label__0", 0.5))
        p = np.clip(p, 0.0, 1.0)
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Sequence[Any]) -> np.ndarray:
        return self.predict_proba(X)[:, 1] >= 0.5

    def save(self, path: Path) -> None:
        self.model_.save_model(str(path))

    @classmethod
    def load(cls, path: Path) -> SubwordClassifier:
        """A fitted classifier from a file the registry has already hash-checked."""
        from fasttext.FastText import _FastText

        clf = cls()
        clf.classes_ = np.array([False, True])
        clf.model_ = _FastText(model_path=str(path))  # load_model() only adds a stderr warning
        return clf
