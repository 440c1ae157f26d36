"""Tagging stored calls: idempotent, versioned replacement, coach tags kept, `talktracks tag`."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from talktracks import config
from talktracks.behaviours.model import BehaviourModel
from talktracks.behaviours.registry import ModelRegistry
from talktracks.behaviours.tagging import calls_needing_tags, tag_calls
from talktracks.cli import main
from talktracks.store import Call, Store, Tag, Utterance, open_store
from test_behaviours_support import small_model

CALLS = {
    "c1": [
        ("rep", "Thanks for making time today."),
        ("rep", "The starter plan is $299 a month and covers ten users."),
        ("customer", "How much is the setup fee?"),
        ("rep", "If you know other clinics that could use this, would you refer us?"),
    ],
    "c2": [
        ("rep", "Our platform logs every call and emails you a summary automatically."),
        ("customer", "Okay, sounds good."),
    ],
    "c3": [("customer", "Would you refer us to anyone? Ha, kidding.")],
}


def versioned(model: BehaviourModel, version: str) -> BehaviourModel:
    other = copy.copy(model)
    other.version = version
    return other


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    store = open_store(f"sqlite:///{tmp_path / 't.db'}")
    with store.session() as s:
        for call_id, lines in CALLS.items():
            s.add(
                Call(call_id=call_id, status="done", started_at=datetime(2025, 1, 6, 9, tzinfo=UTC))
            )
            for i, (speaker, text) in enumerate(lines):
                s.add(
                    Utterance(
                        call_id=call_id,
                        idx=i,
                        speaker=speaker,
                        start=10.0 * i,
                        end=10.0 * i + 8,
                        text=text,
                    )
                )
    yield store
    store.dispose()


def all_tags(store: Store) -> list[tuple]:
    with store.session() as s:
        return sorted(
            s.execute(
                select(
                    Tag.utterance_id,
                    Tag.call_id,
                    Tag.behaviour,
                    Tag.score,
                    Tag.source,
                    Tag.evidence_start,
                    Tag.evidence_end,
                    Tag.model_version,
                )
            ).all()
        )


def test_tagging_twice_gives_the_same_tags(store: Store) -> None:
    model = versioned(small_model(), "v1")
    first = tag_calls(store, model=model)
    once = all_tags(store)
    second = tag_calls(store, model=model)
    assert all_tags(store) == once
    assert first.tags == second.tags == len(once) > 0
    assert second.removed == len(once)
    # One tag per (utterance, behaviour): no duplicates.
    assert len({(t[0], t[2]) for t in once}) == len(once)
    behaviours = {t[2] for t in once}
    assert {"price_mention", "referral_request"} <= behaviours
    # The customer's joke is not a referral request: the behaviour is rep-only.
    with store.session() as s:
        c3 = s.scalar(
            select(func.count())
            .select_from(Tag)
            .where(Tag.call_id == "c3", Tag.behaviour == "referral_request")
        )
    assert c3 == 0


def test_new_model_version_replaces_old_tags_and_keeps_coach_tags(store: Store) -> None:
    tag_calls(store, model=versioned(small_model(), "v1"))
    with store.session() as s:
        utt = s.scalar(select(Utterance.id).where(Utterance.call_id == "c2", Utterance.idx == 1))
        s.add(
            Tag(
                utterance_id=utt,
                call_id="c2",
                behaviour="price_mention",
                score=1.0,
                source="coach",
                evidence_start=0,
                evidence_end=4,
                model_version="coach",
            )
        )
    summary = tag_calls(store, ["c1", "c2"], model=versioned(small_model(1), "v2"))
    tags = all_tags(store)
    machine = [t for t in tags if t[4] != "coach"]
    assert {t[7] for t in machine if t[1] in ("c1", "c2")} == {"v2"}
    assert [t for t in tags if t[4] == "coach"]  # untouched
    assert summary.calls == 2 and summary.model_version == "v2"
    # c3 was not asked for, so it keeps whatever v1 gave it.
    assert {t[7] for t in machine if t[1] == "c3"} <= {"v1"}


def test_calls_needing_tags(store: Store) -> None:
    assert calls_needing_tags(store, "v1") == ["c1", "c2", "c3"]
    tag_calls(store, ["c1"], model=versioned(small_model(), "v1"))
    assert "c1" not in calls_needing_tags(store, "v1")
    assert calls_needing_tags(store, "v2")[:1] == ["c1"]


def test_a_call_without_behaviours_is_not_retagged_every_night(store: Store) -> None:
    model = versioned(small_model(), "v1")
    summary = tag_calls(store, ["c3"], model=model)  # a customer joke: nothing to tag
    assert summary.tags == 0
    assert "c3" not in calls_needing_tags(store, "v1")
    with store.session() as s:
        assert s.get(Call, "c3").tagged_with == "v1"
        # A new transcript for the call (written without tagging) makes it stale again.
        s.get(Call, "c3").tagged_with = None
    assert "c3" in calls_needing_tags(store, "v1")


def test_cli_tag_uses_the_current_model(store: Store, tmp_path: Path, monkeypatch, capsys) -> None:
    registry = ModelRegistry(tmp_path / "models" / "behaviours")
    from test_behaviours_registry import save

    version = save(registry)
    registry.promote(version)
    monkeypatch.setenv("TALKTRACKS_MODELS_DIR", str(tmp_path / "models"))
    config.get_settings.cache_clear()
    try:
        assert main(["tag", "--db", store.url]) == 0
        assert "tagged 3 calls" in capsys.readouterr().out
        tags = all_tags(store)
        assert {t[7] for t in tags} == {version}
        assert main(["tag", "--all", "--db", store.url]) == 0
        assert all_tags(store) == tags
    finally:
        config.get_settings.cache_clear()
