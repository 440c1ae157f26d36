"""Fitting a BehaviourModel: features, a calibrated classifier per behaviour, CV thresholds.

Every behaviour of the taxonomy is trained the same way, so a new behaviour needs labels and a
retrain, not code:

1. The tracker pipeline runs once over all training texts (with their speakers).
2. The shared features (word + char n-grams, tracker counts) are fitted on all training texts.
3. Per behaviour, on the rows whose speaker may show it and whose label is known:
   out-of-fold calibrated probabilities from a stratified K-fold over the *whole* pipeline
   (features refitted inside each fold), thresholds chosen on them (classifier.py), then the
   final calibrated classifier fitted on all those rows.
The held-out set plays no part here; evaluation.py judges the result on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline

from talktracks.behaviours.classifier import Thresholds, choose_thresholds, make_classifier, scores
from talktracks.behaviours.data import LabelledUtterance
from talktracks.behaviours.features import make_features
from talktracks.behaviours.model import BehaviourModel
from talktracks.behaviours.ruler import hits
from talktracks.behaviours.subword import SubwordClassifier
from talktracks.behaviours.taxonomy import Taxonomy
from talktracks.behaviours.trackers import TRACKERS, tracked_texts, tracker_pipeline
from talktracks.errors import InputError

CV_FOLDS = 5


@dataclass
class FitReport:
    """What cross-validation on the training data said about one behaviour."""

    rows: int
    positives: int
    thresholds: Thresholds
    cv: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "train_rows": self.rows,
            "train_positives": self.positives,
            "thresholds": {"model": self.thresholds.model, "rule": self.thresholds.rule},
            "cv": self.cv,
        }


def fit_model(
    rows: Sequence[LabelledUtterance],
    taxonomy: Taxonomy,
    patterns: list[dict[str, Any]],
    *,
    folds: int = CV_FOLDS,
    seed: int = 0,
    subwords: bool = True,
) -> tuple[BehaviourModel, dict[str, FitReport]]:
    """Train a model on `rows`; returns it (version "unsaved") and a CV report per behaviour."""
    filters = taxonomy.filters()
    nlp = tracker_pipeline(patterns, filters, spans=False)
    texts = tracked_texts(nlp, [r.text for r in rows], [r.speaker for r in rows])
    template = make_features(patterns, filters)
    features = clone(template).fit(texts)
    X = sp.csr_matrix(features.transform(texts))
    classifiers = {}
    thresholds = {}
    subword_models: dict[str, SubwordClassifier] = {}
    reports: dict[str, FitReport] = {}
    for behaviour in taxonomy.behaviours:
        b = behaviour.name
        idx = [i for i, r in enumerate(rows) if b in r.labels and behaviour.eligible(r.speaker)]
        y = np.array([rows[i].labels[b] for i in idx], dtype=bool)
        positives, negatives = int(y.sum()), int((~y).sum())
        # Each CV training split must still hold enough of each class for the calibrator's
        # own 5-fold split.
        need = 2 * max(folds, 5)
        if min(positives, negatives) < need:
            raise InputError(
                f"{b}: training needs at least {need} positive and {need} negative labels "
                f"from eligible speakers, has {positives} and {negatives}"
            )
        hit = np.array(
            [any(h[0] == b for h in hits(texts[i].doc, TRACKERS)) for i in idx], dtype=bool
        )
        cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
        pipe = Pipeline([("features", clone(template)), ("classifier", make_classifier())])
        rows_b = [texts[i] for i in idx]
        oof = cross_val_predict(pipe, rows_b, y, cv=cv, method="predict_proba")[:, 1]
        t = choose_thresholds(oof, hit, y)
        pred = t.decide(oof, hit)
        # The subword model joins (its probability averaged with the SVM's) only where the
        # average beats the SVM alone in the same folds: chosen on training data only.
        choice = {"ngram_only_f1": round(scores(y, pred)["f1"], 4)}
        use_subword = False
        if subwords:
            sub = cross_val_predict(SubwordClassifier(), rows_b, y, cv=cv, method="predict_proba")
            avg = (oof + sub[:, 1]) / 2
            t_avg = choose_thresholds(avg, hit, y)
            pred_avg = t_avg.decide(avg, hit)
            choice["average_f1"] = round(scores(y, pred_avg)["f1"], 4)
            if choice["average_f1"] > choice["ngram_only_f1"]:
                use_subword, oof, t, pred = True, avg, t_avg, pred_avg
        choice["subword"] = use_subword
        per_fold = [scores(y[test], pred[test])["f1"] for _, test in cv.split(np.zeros(len(y)), y)]
        reports[b] = FitReport(
            rows=len(idx),
            positives=positives,
            thresholds=t,
            cv={
                "folds": folds,
                "f1_per_fold": [round(f, 4) for f in per_fold],
                "f1_mean": round(float(np.mean(per_fold)), 4),
                "f1_std": round(float(np.std(per_fold)), 4),
                **{k: round(v, 4) for k, v in scores(y, pred).items()},
                **choice,
            },
        )
        if use_subword:
            subword_models[b] = SubwordClassifier().fit(rows_b, y)
        classifiers[b] = make_classifier().fit(X[idx], y)
        thresholds[b] = t
    model = BehaviourModel(
        taxonomy=taxonomy,
        patterns=list(patterns),
        features=features,
        classifiers=classifiers,
        thresholds=thresholds,
        subwords=subword_models,
    )
    return model, reports
