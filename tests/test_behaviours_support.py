"""Helpers shared by the behaviour tests (no tests here): small real training sets and models.

Models are trained on a stratified slice of the repo's training data with 3-fold CV, once per
test process, so every test exercises the real pipeline without paying for a full training.
"""

from __future__ import annotations

import json
import random
import shutil
from functools import lru_cache
from pathlib import Path

from talktracks.behaviours.data import LabelledUtterance, read_labelled_dir
from talktracks.behaviours.model import BehaviourModel
from talktracks.behaviours.taxonomy import load_patterns, load_taxonomy
from talktracks.behaviours.training import fit_model
from talktracks.config import PROJECT_ROOT

REPO_DATA = PROJECT_ROOT / "data" / "behaviours"
SMALL_PER_GROUP = 45
HELDOUT_ROWS = 120


@lru_cache(maxsize=1)
def repo_rows(split: str = "train") -> tuple[LabelledUtterance, ...]:
    return tuple(read_labelled_dir(REPO_DATA / split, load_taxonomy()))


def _group(row: LabelledUtterance) -> tuple[str, ...]:
    return (row.speaker, *row.positives())


@lru_cache(maxsize=4)
def small_rows(seed: int = 0, per_group: int = SMALL_PER_GROUP) -> tuple[LabelledUtterance, ...]:
    """Up to `per_group` rows of each (speaker, labels) combination: every behaviour gets
    positives and hard negatives."""
    groups: dict[tuple[str, ...], list[LabelledUtterance]] = {}
    for row in repo_rows("train"):
        groups.setdefault(_group(row), []).append(row)
    rng = random.Random(seed)
    out: list[LabelledUtterance] = []
    for key in sorted(groups):
        rows = groups[key][:]
        rng.shuffle(rows)
        out.extend(rows[:per_group])
    return tuple(out)


def shuffled(rows: tuple[LabelledUtterance, ...], seed: int = 1) -> list[LabelledUtterance]:
    """The same texts with label sets shuffled between rows: a deliberately bad training set."""
    rng = random.Random(seed)
    labels = [dict(r.labels) for r in rows]
    rng.shuffle(labels)
    return [
        LabelledUtterance(r.text, r.speaker, lab, dict(r.origins))
        for r, lab in zip(rows, labels, strict=True)
    ]


@lru_cache(maxsize=2)
def small_model(seed: int = 0) -> BehaviourModel:
    """A real model on a small slice (3-fold CV). Callers must not mutate it."""
    taxonomy = load_taxonomy()
    model, _ = fit_model(
        list(small_rows(seed)), taxonomy, load_patterns(taxonomy=taxonomy), folds=3
    )
    return model


def write_rows(path: Path, rows: list[LabelledUtterance] | tuple[LabelledUtterance, ...]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(
                json.dumps({"text": r.text, "speaker": r.speaker, "labels": r.positives()}) + "\n"
            )
    return path


def make_data_dir(
    root: Path, train: list[LabelledUtterance] | tuple[LabelledUtterance, ...]
) -> Path:
    """A data/behaviours-shaped folder: `train` as train/part.jsonl and a slice of the repo
    held-out set as test/part.jsonl."""
    write_rows(root / "train" / "part.jsonl", train)
    write_rows(root / "test" / "part.jsonl", repo_rows("test")[:HELDOUT_ROWS])
    return root


def copy_registry(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst
