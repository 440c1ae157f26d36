"""Retrain flow: collect labels -> train and cross-validate -> judge on the held-out set ->
register -> promote if not worse than the current model.

This file only orchestrates; every step is a plain function in talktracks.behaviours that
`talktracks train` runs too. Run it with `python flows/retrain.py [--labels FILE ...]
[--no-promote] [--force]`, or import it by path and call `retrain_behaviours(...)`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from talktracks.behaviours.data import TrainingData, collect_training_data
from talktracks.behaviours.registry import ModelRegistry
from talktracks.behaviours.retraining import (
    Candidate,
    decide_promotion,
    evaluate_current,
    register_candidate,
    train_candidate,
)
from talktracks.behaviours.taxonomy import load_patterns, load_taxonomy
from talktracks.config import Settings, get_settings
from talktracks.store import shared_store


@task(name="collect-training-data", cache_policy=NO_CACHE)
def collect(settings: Settings, label_files: list[Path]) -> TrainingData:
    store = shared_store(settings.database_url)
    return collect_training_data(load_taxonomy(), settings.behaviour_data_dir, store, label_files)


@task(name="train-candidate", cache_policy=NO_CACHE)
def train(data: TrainingData) -> Candidate:
    taxonomy = load_taxonomy()
    return train_candidate(data, taxonomy, load_patterns(taxonomy=taxonomy))


@task(name="evaluate-current", cache_policy=NO_CACHE)
def judge_current(settings: Settings, data: TrainingData, force: bool) -> Any:
    registry = ModelRegistry.under(settings.models_dir)
    return evaluate_current(registry, data.heldout, tolerate_errors=force)


@task(name="register-candidate", cache_policy=NO_CACHE)
def register(settings: Settings, candidate: Candidate) -> str:
    return register_candidate(ModelRegistry.under(settings.models_dir), candidate)


@task(name="promote", cache_policy=NO_CACHE)
def promote_version(settings: Settings, version: str) -> None:
    ModelRegistry.under(settings.models_dir).promote(version)


@flow(name="talktracks-retrain", log_prints=True, validate_parameters=False)
def retrain_behaviours(
    label_files: list[str] | None = None,
    promote: bool = True,
    force: bool = False,
    settings: Settings | None = None,
) -> dict[str, Any]:
    settings = settings or get_settings()
    data = collect(settings, [Path(p) for p in label_files or []])
    candidate = train(data)
    current_version, current = judge_current(settings, data, force)
    version = register(settings, candidate)
    decision = decide_promotion(candidate.heldout, current, force=force)
    promoted = (promote or force) and decision.promote
    if promoted:
        promote_version(settings, version)
    print(f"{version}: {'promoted' if promoted else 'not promoted'} ({decision.reason})")
    return {
        "version": version,
        "current_before": current_version,
        "promoted": promoted,
        "reason": decision.reason,
        "heldout_macro_f1": round(decision.new_macro_f1, 4),
        "heldout": candidate.heldout.to_dict(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Retrain the behaviour model (Prefect flow).")
    parser.add_argument("--labels", nargs="+", action="extend", default=[], metavar="FILE")
    parser.add_argument("--no-promote", action="store_true", help="register only")
    parser.add_argument("--force", action="store_true", help="promote even if worse")
    args = parser.parse_args(argv)
    retrain_behaviours(label_files=args.labels, promote=not args.no_promote, force=args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
