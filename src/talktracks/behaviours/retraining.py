"""Retraining: train a candidate, register it, and promote it only if it is not worse.

The steps are plain functions so `talktracks train` and the Prefect flow (flows/retrain.py)
run the same code: collect_training_data -> train_candidate -> register_candidate ->
evaluate_current -> decide_promotion (-> registry.promote). `retrain` chains them.

Promotion gate: the candidate and the current model are both evaluated now, on the same
held-out set, and the candidate is promoted when its macro F1 (over the candidate's
behaviours; a behaviour the current model lacks counts as F1 0 for it) is not lower than the
current model's. `force` promotes regardless.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from talktracks.behaviours.card import build_card
from talktracks.behaviours.data import (
    LabelledUtterance,
    TrainingData,
    collect_training_data,
    read_heldout,
)
from talktracks.behaviours.evaluation import Evaluation, evaluate
from talktracks.behaviours.model import BehaviourModel
from talktracks.behaviours.registry import ModelRegistry
from talktracks.behaviours.taxonomy import Taxonomy, load_patterns, load_taxonomy
from talktracks.behaviours.training import FitReport, fit_model
from talktracks.config import Settings, get_settings
from talktracks.errors import InputError, TalktracksError
from talktracks.store import Store


@dataclass
class Candidate:
    model: BehaviourModel
    reports: dict[str, FitReport]
    heldout: Evaluation
    data: TrainingData
    independent: Evaluation | None = None  # reported only; never part of the gate


@dataclass
class PromotionDecision:
    promote: bool
    reason: str
    new_macro_f1: float
    current_macro_f1: float | None


@dataclass
class RetrainResult:
    version: str
    candidate: Candidate
    current_version: str | None
    current: Evaluation | None
    decision: PromotionDecision
    promoted: bool


def train_candidate(data: TrainingData, taxonomy: Taxonomy, patterns: list[dict]) -> Candidate:
    """Fit on data.train (CV thresholds inside), then evaluate on data.heldout."""
    if not data.heldout:
        raise InputError(
            "no held-out data (data/behaviours/test/*.jsonl): cannot judge a new model"
        )
    model, reports = fit_model(data.train, taxonomy, patterns)
    independent = evaluate(model, data.independent) if data.independent else None
    return Candidate(model, reports, evaluate(model, data.heldout), data, independent)


def register_candidate(registry: ModelRegistry, candidate: Candidate) -> str:
    """Save the candidate with its model card; returns its version (not promoted)."""
    card = build_card(
        model=candidate.model,
        reports=candidate.reports,
        heldout=candidate.heldout,
        data=candidate.data,
        independent=candidate.independent,
    )
    return registry.save(candidate.model, card)


def evaluate_current(
    registry: ModelRegistry,
    heldout: Sequence[LabelledUtterance],
    *,
    tolerate_errors: bool = False,
) -> tuple[str | None, Evaluation | None]:
    """The current model's version and its evaluation on today's held-out set (None, None if
    there is no current model). A current model that cannot be loaded (hash mismatch,
    missing file) raises, unless `tolerate_errors` (used with --force, which exists for
    replacing exactly such a model): then its evaluation is None."""
    version = registry.current_version()
    if version is None:
        return None, None
    try:
        return version, evaluate(registry.load(version), heldout)
    except TalktracksError:
        if not tolerate_errors:
            raise
        return version, None


def macro_f1_over(evaluation: Evaluation, behaviours: Sequence[str]) -> float:
    return float(
        np.mean(
            [evaluation.behaviours[b].f1 if b in evaluation.behaviours else 0.0 for b in behaviours]
        )
    )


def decide_promotion(
    new: Evaluation, current: Evaluation | None, *, force: bool = False
) -> PromotionDecision:
    names = list(new.behaviours)
    new_f1 = macro_f1_over(new, names)
    if current is None:
        return PromotionDecision(True, "no current model to compare with", new_f1, None)
    cur_f1 = macro_f1_over(current, names)
    if force:
        return PromotionDecision(
            True, f"forced (macro F1 {new_f1:.4f} vs current {cur_f1:.4f})", new_f1, cur_f1
        )
    if new_f1 + 1e-12 >= cur_f1:
        return PromotionDecision(
            True, f"macro F1 {new_f1:.4f} >= current {cur_f1:.4f}", new_f1, cur_f1
        )
    return PromotionDecision(False, f"macro F1 {new_f1:.4f} < current {cur_f1:.4f}", new_f1, cur_f1)


def retrain(
    *,
    store: Store | None = None,
    label_files: Sequence[Path] = (),
    promote: bool = False,
    force: bool = False,
    settings: Settings | None = None,
    taxonomy_path: Path | None = None,
    patterns_path: Path | None = None,
) -> RetrainResult:
    """Train on repo data + labels table + label files, register, and promote if allowed.

    `promote=False` registers the new version without touching `current`; `force` implies
    promote and skips the gate.
    """
    settings = settings or get_settings()
    taxonomy = load_taxonomy(taxonomy_path)
    patterns = load_patterns(patterns_path, taxonomy)
    registry = ModelRegistry.under(settings.models_dir)
    data = collect_training_data(taxonomy, settings.behaviour_data_dir, store, label_files)
    candidate = train_candidate(data, taxonomy, patterns)
    current_version, current = evaluate_current(registry, data.heldout, tolerate_errors=force)
    version = register_candidate(registry, candidate)
    decision = decide_promotion(candidate.heldout, current, force=force)
    promoted = (promote or force) and decision.promote
    if promoted:
        registry.promote(version)
    return RetrainResult(version, candidate, current_version, current, decision, promoted)


@dataclass
class PromotionResult:
    version: str
    current_version: str | None
    candidate: Evaluation
    current: Evaluation | None
    decision: PromotionDecision
    promoted: bool


def promote_registered(
    version: str, *, force: bool = False, settings: Settings | None = None
) -> PromotionResult:
    """Promote an already registered version (e.g. one `talktracks train` left unpromoted)
    through the same gate: both models are evaluated now on today's held-out set."""
    settings = settings or get_settings()
    registry = ModelRegistry.under(settings.models_dir)
    candidate_model = registry.load(version)  # refuses unknown versions and tampered files
    heldout = read_heldout(settings.behaviour_data_dir, candidate_model.taxonomy)
    if not heldout:
        raise InputError(
            f"no held-out data ({settings.behaviour_data_dir / 'test'}/*.jsonl): "
            "cannot judge a model"
        )
    candidate = evaluate(candidate_model, heldout)
    if registry.current_version() == version:
        decision = PromotionDecision(False, f"{version} is already current", 0.0, None)
        return PromotionResult(version, version, candidate, None, decision, False)
    current_version, current = evaluate_current(registry, heldout, tolerate_errors=force)
    decision = decide_promotion(candidate, current, force=force)
    if decision.promote:
        registry.promote(version)
    return PromotionResult(version, current_version, candidate, current, decision, decision.promote)
