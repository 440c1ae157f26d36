"""Training and promotion: `talktracks train` / `evaluate`, stored labels, the promotion gate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from talktracks import config
from talktracks.behaviours.data import collect_training_data, text_key
from talktracks.behaviours.labels import record_label
from talktracks.behaviours.registry import ModelRegistry
from talktracks.behaviours.retraining import retrain
from talktracks.behaviours.taxonomy import load_taxonomy
from talktracks.cli import main
from talktracks.errors import InputError
from talktracks.store import Label, open_store
from test_behaviours_support import make_data_dir, shuffled, small_rows, write_rows

PER_GROUP = 25  # ~230 training rows: enough for 5-fold CV, quick to fit


@pytest.fixture()
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Settings pointing at a temporary models dir, data dir and SQLite database."""
    paths = {
        "models": tmp_path / "models",
        "data": make_data_dir(tmp_path / "behaviours", small_rows(0, PER_GROUP)),
        "db": tmp_path / "db" / "t.db",
    }
    monkeypatch.setenv("TALKTRACKS_MODELS_DIR", str(paths["models"]))
    monkeypatch.setenv("TALKTRACKS_BEHAVIOUR_DATA_DIR", str(paths["data"]))
    paths["db"].parent.mkdir()  # an SQLite file is created only in an existing folder
    monkeypatch.setenv("TALKTRACKS_DB_URL", f"sqlite:///{paths['db']}")
    config.get_settings.cache_clear()
    yield paths
    config.get_settings.cache_clear()


def current_card(models: Path) -> dict:
    registry = ModelRegistry.under(models)
    return registry.card(registry.current_version())


def test_train_reads_labels_stored_in_the_database(env, capsys) -> None:
    store = open_store(f"sqlite:///{env['db']}")
    coach_texts = [
        (
            "So the advanced plan adds a second crew for weekend pickups.",
            "product_introduction",
            True,
        ),
        ("Would you write two lines about us for our website?", "referral_request", True),
        ("Parking downtown costs me a fortune.", "price_mention", False),
    ]
    with store.session() as s:
        for text, behaviour, value in coach_texts:
            record_label(
                s, text=text, speaker="rep", behaviour=behaviour, value=value, author="coach1"
            )
    store.dispose()

    assert main(["train", "--promote"]) == 0
    out = capsys.readouterr().out
    assert "promoted" in out and "cur F1" in out

    counts = current_card(env["models"])["training_data"]["label_counts"]["by_origin"]
    assert counts["coach"]["labels"] == 3
    assert counts["coach"]["positive"] == 2 and counts["coach"]["negative"] == 1
    assert counts["seed"]["labels"] > 0


def test_coach_label_overrides_repo_label_for_that_behaviour_only(env) -> None:
    taxonomy = load_taxonomy()
    repo_row = next(r for r in small_rows(0, PER_GROUP) if r.labels["price_mention"])
    store = open_store(f"sqlite:///{env['db']}")
    with store.session() as s:
        s.add(
            Label(
                text=repo_row.text.upper(),
                speaker=repo_row.speaker,
                behaviour="price_mention",
                value=False,
                author="coach1",
                origin="coach",
            )
        )
    data = collect_training_data(taxonomy, env["data"], store)
    store.dispose()
    merged = next(r for r in data.train if text_key(r.text) == text_key(repo_row.text))
    assert merged.labels["price_mention"] is False and merged.origins["price_mention"] == "coach"
    others = [b for b in taxonomy.names if b != "price_mention"]
    assert all(
        merged.labels[b] == repo_row.labels[b] and merged.origins[b] == "seed" for b in others
    )


def test_worse_model_is_not_promoted_unless_forced(env, tmp_path, capsys) -> None:
    settings = config.get_settings()
    first = retrain(promote=True, settings=settings)
    assert first.promoted
    registry = ModelRegistry.under(env["models"])
    assert registry.current_version() == first.version

    bad = write_rows(tmp_path / "shuffled.jsonl", shuffled(small_rows(0, PER_GROUP)))
    bad_dir = make_data_dir(tmp_path / "bad", [])
    # Training data = the shuffled file only; same held-out set as the first model.
    (bad_dir / "train" / "part.jsonl").unlink()
    env_bad = {"TALKTRACKS_BEHAVIOUR_DATA_DIR": str(bad_dir)}
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env_bad.items():
            mp.setenv(k, v)
        config.get_settings.cache_clear()
        assert main(["train", "--promote", "--labels", str(bad)]) == 0
        out = capsys.readouterr().out
        assert "not promoted" in out
        assert registry.current_version() == first.version
        assert len(registry.versions()) == 2
        (worse,) = set(registry.versions()) - {first.version}

        # A registered version goes through the same gate later.
        assert main(["models", "promote", worse]) == 1
        assert "not promoted: macro F1" in capsys.readouterr().out
        assert registry.current_version() == first.version
        assert main(["models", "list"]) == 0
        listed = capsys.readouterr().out.splitlines()
        assert any(line.startswith(f"* {first.version}") for line in listed)
        assert any(line.startswith(f"  {worse}") for line in listed)
        assert main(["models", "promote", "20990101-000000-deadbeef"]) == 2
        assert "not in" in capsys.readouterr().err

        assert main(["train", "--force", "--labels", str(bad)]) == 0
        out = capsys.readouterr().out
        assert "promoted" in out and "forced" in out
        assert registry.current_version() not in (None, first.version)
        # Back to the better model: it passes the gate against the forced one.
        assert main(["models", "promote", first.version]) == 0
        assert f"promoted {first.version}" in capsys.readouterr().out
    config.get_settings.cache_clear()
    assert registry.current_version() == first.version
    assert len(registry.versions()) == 3


def test_evaluate_prints_scores_and_confusion(env, tmp_path, capsys) -> None:
    retrain(promote=True, settings=config.get_settings())
    assert main(["evaluate"]) == 0
    out = capsys.readouterr().out
    for word in (
        "price_mention",
        "referral_request",
        "product_introduction",
        "TP",
        "FN",
        "macro F1",
    ):
        assert word in out
    rows = small_rows(0, 5)
    labels = write_rows(tmp_path / "mine.jsonl", rows)
    assert main(["evaluate", "--labels", str(labels)]) == 0
    assert f"{len(rows)} utterances" in capsys.readouterr().out


def test_training_refuses_too_few_labels(tmp_path) -> None:
    taxonomy = load_taxonomy()
    data_dir = make_data_dir(tmp_path / "tiny", small_rows(0, 1))
    data = collect_training_data(taxonomy, data_dir)
    from talktracks.behaviours.retraining import train_candidate
    from talktracks.behaviours.taxonomy import load_patterns

    with pytest.raises(InputError, match="at least 10 positive"):
        train_candidate(data, taxonomy, load_patterns(taxonomy=taxonomy))


def test_bad_labels_file_is_a_one_line_error(env, tmp_path, capsys) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"text": "hi", "speaker": "boss", "labels": []}) + "\n")
    assert main(["train", "--labels", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "bad.jsonl:1" in err and "speaker" in err


def test_retrain_flow_is_a_real_prefect_flow(env, prefect_api) -> None:
    import importlib.util

    from talktracks.config import PROJECT_ROOT

    spec = importlib.util.spec_from_file_location(
        "retrain_flow", PROJECT_ROOT / "flows" / "retrain.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.retrain_behaviours(promote=True)
    assert result["promoted"] and result["current_before"] is None
    assert ModelRegistry.under(env["models"]).current_version() == result["version"]
    assert set(result["heldout"]["behaviours"]) == set(load_taxonomy().names)
