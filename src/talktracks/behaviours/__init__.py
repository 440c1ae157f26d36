"""Behaviours: taxonomy (data), keyword trackers (spaCy), classifiers (scikit-learn), the model
registry (skops) and the tagger that combines them.

What other parts of talktracks call:
- tag_calls(store, call_ids=None) -> TagSummary         re-tag calls with the current model
- calls_needing_tags(store, version) -> [call_id]        calls without the current model's tags
- load_current_model(models_dir=None) -> BehaviourModel  once per process per version
- BehaviourModel.tag(texts, speakers, starts)            tag utterances not in the store
- session_tagger(model)                                  hook for writers that tag in-transaction
- record_label(session, ...)                             store a coach judgement for retraining
- retrain(store=..., label_files=..., promote=..., force=...) -> RetrainResult
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Where each public name lives. The package loads these on first use (PEP 562), so importing
# `talktracks.behaviours.taxonomy` (the review app, the CLI) does not pull in scikit-learn,
# spaCy and pandas with the model code.
_HOMES = {
    "Confusion": "evaluation",
    "Evaluation": "evaluation",
    "evaluate": "evaluation",
    "record_label": "labels",
    "BehaviourModel": "model",
    "TagDecision": "model",
    "ModelRegistry": "registry",
    "load_current_model": "registry",
    "Candidate": "retraining",
    "PromotionDecision": "retraining",
    "RetrainResult": "retraining",
    "decide_promotion": "retraining",
    "evaluate_current": "retraining",
    "register_candidate": "retraining",
    "retrain": "retraining",
    "train_candidate": "retraining",
    "TagSummary": "tagging",
    "calls_needing_tags": "tagging",
    "session_tagger": "tagging",
    "tag_calls": "tagging",
    "Behaviour": "taxonomy",
    "Taxonomy": "taxonomy",
    "load_patterns": "taxonomy",
    "load_taxonomy": "taxonomy",
}

if TYPE_CHECKING:
    from talktracks.behaviours.evaluation import Confusion, Evaluation, evaluate
    from talktracks.behaviours.labels import record_label
    from talktracks.behaviours.model import BehaviourModel, TagDecision
    from talktracks.behaviours.registry import ModelRegistry, load_current_model
    from talktracks.behaviours.retraining import (
        Candidate,
        PromotionDecision,
        RetrainResult,
        decide_promotion,
        evaluate_current,
        register_candidate,
        retrain,
        train_candidate,
    )
    from talktracks.behaviours.tagging import (
        TagSummary,
        calls_needing_tags,
        session_tagger,
        tag_calls,
    )
    from talktracks.behaviours.taxonomy import Behaviour, Taxonomy, load_patterns, load_taxonomy


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


__all__ = [
    "Behaviour",
    "BehaviourModel",
    "Candidate",
    "Confusion",
    "Evaluation",
    "ModelRegistry",
    "PromotionDecision",
    "RetrainResult",
    "TagDecision",
    "TagSummary",
    "Taxonomy",
    "calls_needing_tags",
    "decide_promotion",
    "evaluate",
    "evaluate_current",
    "load_current_model",
    "load_patterns",
    "load_taxonomy",
    "record_label",
    "register_candidate",
    "retrain",
    "session_tagger",
    "tag_calls",
    "train_candidate",
]
