"""Coach judgements made in the review app reach behaviour training.

The labels a coach writes over HTTP are read by the training data loader
(talktracks.behaviours.data.collect_training_data, what `talktracks train` uses), override the
repo label for that text and behaviour, and a model fits on them (talktracks.behaviours.training
.fit_model) on a tiny sample of the repo's training data.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import talktracks.behaviours.data as data
import talktracks.behaviours.taxonomy as taxonomy_mod
import talktracks.behaviours.training as training
from talktracks.config import PROJECT_ROOT
from test_review_support import ReviewEnv, csrf_of, seed_review, sign_in, use_cheap_argon2

REPO_TRAIN = PROJECT_ROOT / "data" / "behaviours" / "train"


@pytest.fixture()
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ReviewEnv:
    use_cheap_argon2(monkeypatch)
    e = seed_review(tmp_path)
    yield e
    e.store.dispose()


def tiny_training_dir(tmp_path: Path, every: int = 12) -> Path:
    """Every `every`-th line of the repo's training files: enough of each behaviour to fit."""
    lines: list[str] = []
    for path in sorted(REPO_TRAIN.glob("*.jsonl")):
        lines += path.read_text(encoding="utf-8").splitlines()[::every]
    out = tmp_path / "behaviours"
    (out / "train").mkdir(parents=True)
    (out / "train" / "tiny.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    held = []
    for path in sorted((REPO_TRAIN.parent / "test").glob("*.jsonl")):
        held += path.read_text(encoding="utf-8").splitlines()[::every]
    (out / "test").mkdir()
    (out / "test" / "tiny.jsonl").write_text("\n".join(held) + "\n", encoding="utf-8")
    return out


def test_coach_labels_reach_the_training_data_and_a_model_fits(
    env: ReviewEnv, tmp_path: Path
) -> None:
    if not any(REPO_TRAIN.glob("*.jsonl")):
        pytest.skip(f"no repo training data under {REPO_TRAIN}")
    client = env.client()
    sign_in(client, "cora")
    token = csrf_of(client, "/calls/c1")
    u = env.utterances
    for utt, behaviour, value in (
        (u[2], "price_mention", "false"),  # reject the machine's tag
        (u[1], "price_mention", "true"),  # add one it missed
        (u[0], "referral_request", "false"),
    ):
        r = client.post(
            "/calls/c1/labels",
            data={
                "utterance_id": utt.id,
                "behaviour": behaviour,
                "value": value,
                "csrf_token": token,
            },
        )
        assert r.status_code == 303

    taxonomy = taxonomy_mod.load_taxonomy()
    collected = data.collect_training_data(taxonomy, tiny_training_dir(tmp_path), env.store)
    by_text = {data.text_key(r.text): r for r in collected.train}
    rejected = by_text[data.text_key(u[2].text)]
    assert (
        rejected.labels == {"price_mention": False} and rejected.origins["price_mention"] == "coach"
    )
    added = by_text[data.text_key(u[1].text)]
    assert added.labels == {"price_mention": True} and added.speaker == "customer"
    assert data.label_counts(collected.train)["by_origin"]["coach"]["labels"] == 3

    model, reports = training.fit_model(
        collected.train, taxonomy, taxonomy_mod.load_patterns(taxonomy=taxonomy), folds=2
    )
    assert set(model.behaviours) == set(taxonomy.names)
    price_rows = [r for r in collected.train if "price_mention" in r.labels]
    assert {u[1].text, u[2].text} <= {r.text for r in price_rows}
    assert reports["price_mention"].rows == len(price_rows)  # anyone may mention price


def test_talktracks_train_includes_coach_labels(
    env: ReviewEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from talktracks import config
    from talktracks.cli import main

    client = env.client()
    sign_in(client, "cora")
    token = csrf_of(client, "/calls/c1")
    r = client.post(
        "/calls/c1/labels",
        data={
            "utterance_id": env.utterances[2].id,
            "behaviour": "price_mention",
            "value": "false",
            "csrf_token": token,
        },
    )
    assert r.status_code == 303

    models = tmp_path / "models"
    monkeypatch.setenv("TALKTRACKS_BEHAVIOUR_DATA_DIR", str(tiny_training_dir(tmp_path)))
    monkeypatch.setenv("TALKTRACKS_MODELS_DIR", str(models))
    config.get_settings.cache_clear()
    try:
        assert main(["train", "--promote", "--db", env.store.url]) == 0
    finally:
        config.get_settings.cache_clear()
    (card_path,) = models.glob("behaviours/*/model_card.json")
    card = json.loads(card_path.read_text())
    assert card["training_data"]["label_counts"]["by_origin"]["coach"]["labels"] == 1
