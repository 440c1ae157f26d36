"""Model registry: skops round trip, SHA-256 checks, trusted types, model card, current pointer."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import skops.io as sio

from talktracks.behaviours import registry as registry_module
from talktracks.behaviours.card import build_card
from talktracks.behaviours.classifier import Thresholds
from talktracks.behaviours.data import TrainingData
from talktracks.behaviours.evaluation import evaluate
from talktracks.behaviours.registry import (
    MODEL_FILE,
    REGISTRY_FILE,
    ModelRegistry,
    UntrustedModel,
    load_current_model,
)
from talktracks.behaviours.training import FitReport
from talktracks.errors import ModelHashMismatch, ModelNotFound
from test_behaviours_support import repo_rows, small_model, small_rows

TEXTS = [
    "It's $49 a month per seat.",
    "Would you mind leaving us a review on Google?",
    "Our platform syncs your calendar and sends reminders automatically.",
    "See you Thursday.",
]


def save(registry: ModelRegistry, seed: int = 0) -> str:
    model = small_model(seed)
    heldout = list(repo_rows("test")[:40])
    reports = {
        b: FitReport(
            rows=1, positives=1, thresholds=model.thresholds[b], cv={"f1_mean": 0.5, "f1_std": 0.0}
        )
        for b in model.behaviours
    }
    data = TrainingData(
        train=list(small_rows(seed)), heldout=heldout, sources=[{"source": "test", "rows": 1}]
    )
    card = build_card(model=model, reports=reports, heldout=evaluate(model, heldout), data=data)
    return registry.save(model, card)


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> tuple[ModelRegistry, str, str]:
    registry = ModelRegistry(tmp_path_factory.mktemp("models") / "behaviours")
    return registry, save(registry, 0), save(registry, 1)


@pytest.fixture()
def registry(saved, tmp_path) -> ModelRegistry:
    """A private copy, free to tamper with."""
    shutil.copytree(saved[0].root, tmp_path / "behaviours")
    return ModelRegistry(tmp_path / "behaviours")


def test_round_trip_gives_the_same_tags(saved) -> None:
    registry, v0, _ = saved
    loaded = registry.load(v0)
    assert loaded.version == v0
    original = small_model(0)
    assert loaded.tag(TEXTS, ["rep"] * 4) == original.tag(TEXTS, ["rep"] * 4)
    assert loaded.pipeline("price_mention").predict_proba(TEXTS).shape == (4, 2)


def test_tampered_model_file_is_refused(registry, saved) -> None:
    v0 = saved[1]
    path = registry.root / v0 / MODEL_FILE
    with path.open("ab") as f:
        f.write(b"\0")
    with pytest.raises(ModelHashMismatch) as err:
        registry.load(v0)
    message = str(err.value)
    assert "\n" not in message and str(path) in message
    expected = registry.versions()[v0]["files"][MODEL_FILE]
    assert expected in message and registry_module.file_sha256(path) in message


def test_swapped_model_file_is_refused(registry, saved) -> None:
    _, v0, v1 = saved
    shutil.copyfile(registry.root / v1 / MODEL_FILE, registry.root / v0 / MODEL_FILE)
    with pytest.raises(ModelHashMismatch, match="does not match the registered"):
        registry.load(v0)


def test_untrusted_types_are_refused_even_with_a_matching_hash(registry, saved) -> None:
    """A file re-registered by someone with write access still may not carry arbitrary types."""
    v0 = saved[1]
    path = registry.root / v0 / MODEL_FILE
    sio.dump({"format": 1, "features": os.system, "classifiers": {}, "thresholds": {}}, path)
    index = json.loads((registry.root / REGISTRY_FILE).read_text())
    index["versions"][v0]["files"][MODEL_FILE] = registry_module.file_sha256(path)
    (registry.root / REGISTRY_FILE).write_text(json.dumps(index))
    with pytest.raises(UntrustedModel, match="Untrusted types"):
        registry.load(v0)


def test_unknown_version_and_missing_current(registry) -> None:
    with pytest.raises(ModelNotFound, match="not in"):
        registry.load("nope")
    with pytest.raises(ModelNotFound, match="talktracks train --promote"):
        registry.load_current()


def test_promote_and_load_current_once_per_process(registry, saved) -> None:
    _, v0, v1 = saved
    registry.promote(v0)
    assert (registry.root / "current").read_text().strip() == v0
    models_dir = registry.root.parent
    first = load_current_model(models_dir)
    assert first.version == v0 and load_current_model(models_dir) is first
    registry.promote(v1)
    assert load_current_model(models_dir).version == v1
    assert registry.versions()[v1]["promoted_at"]


def test_model_card_records_what_was_trained(saved) -> None:
    registry, v0, _ = saved
    card = registry.card(v0)
    assert card["version"] == v0
    assert card["files"][MODEL_FILE] == registry.versions()[v0]["files"][MODEL_FILE]
    for b in ("price_mention", "referral_request", "product_introduction"):
        info = card["behaviours"][b]
        assert {"precision", "recall", "f1", "tp", "fp", "fn", "tn"} <= set(info["heldout"])
        assert set(info["thresholds"]) == {"model", "rule"}
        assert "f1_mean" in info["cv"]
    assert card["training_data"]["hash"] and card["heldout"]["hash"]
    assert card["training_data"]["label_counts"]["by_origin"]["seed"]["labels"] > 0
    assert {"scikit-learn", "spacy", "skops", "python"} <= set(card["library_versions"])
    assert card["created_at"]
    md = (registry.root / v0 / "MODEL_CARD.md").read_text()
    assert "price_mention" in md and "Macro F1" in md


def test_thresholds_survive_the_round_trip(saved) -> None:
    registry, v0, _ = saved
    loaded = registry.load(v0)
    assert all(isinstance(t, Thresholds) for t in loaded.thresholds.values())
    assert loaded.thresholds == small_model(0).thresholds


def test_versions_do_not_collide(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path / "behaviours")
    a, b = save(registry), save(registry)
    assert a != b and {a, b} <= set(registry.versions())
