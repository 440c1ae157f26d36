"""The whole nightly flow over the committed sample calls, checked against their scripts.

One real Prefect flow run with real faster-whisper over ten dual-channel calls (two with the
rep on the right channel); the scripts in sample_audio/scripts are the ground truth for who
said what and which behaviours each call contains.
"""

from __future__ import annotations

import json

import jiwer
import pytest
from sqlalchemy import select

from talktracks.config import PROJECT_ROOT
from talktracks.orchestration import load_flow_module
from talktracks.store import Call, Deal, Tag, Utterance, open_store

SAMPLES = PROJECT_ROOT / "sample_audio"
SCRIPTS = sorted((SAMPLES / "scripts").glob("*.json"))
NORMALISE = jiwer.Compose(
    [jiwer.ToLowerCase(), jiwer.RemovePunctuation(), jiwer.RemoveMultipleSpaces(), jiwer.Strip()]
)


def script(call_id: str) -> dict:
    return json.loads((SAMPLES / "scripts" / f"{call_id}.json").read_text())


@pytest.fixture(scope="module")
def sample_store(prefect_api, tmp_path_factory):
    """Run the nightly flow once over sample_audio with the sample deals."""
    from talktracks.config import Settings

    data = tmp_path_factory.mktemp("sample-data")
    settings = Settings(data_dir=data, recordings_dir=SAMPLES, deals_csv=SAMPLES / "deals.csv")
    summary = load_flow_module("nightly").nightly(settings)
    store = open_store(settings.database_url)
    yield store, summary, settings


def test_every_sample_call_is_processed(sample_store):
    store, summary, _ = sample_store
    assert summary.processed == len(SCRIPTS) == 10
    assert summary.failed == 0 and not summary.warnings
    with store.session() as s:
        assert {c.status for c in s.scalars(select(Call))} == {"done"}
        assert s.scalar(select(Deal).where(Deal.deal_id == "deal-101")).outcome == "won"


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.stem)
def test_speakers_match_the_script(sample_store, path):
    store, _, _ = sample_store
    truth = json.loads(path.read_text())
    with store.session() as s:
        utterances = list(
            s.scalars(
                select(Utterance)
                .where(Utterance.call_id == truth["call_id"])
                .order_by(Utterance.idx)
            )
        )
    for speaker in ("rep", "customer"):
        reference = " ".join(t["text"] for t in truth["turns"] if t["speaker"] == speaker)
        hypothesis = " ".join(u.text for u in utterances if u.speaker == speaker)
        error = jiwer.wer(NORMALISE(reference), NORMALISE(hypothesis))
        # Synthetic voices through tiny.en: ~0.1 typical; a swapped channel would be near 1.0.
        assert error <= 0.35, f"{truth['call_id']} {speaker}: WER {error:.2f}"


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.stem)
def test_scripted_behaviours_are_found_and_no_others(sample_store, path):
    store, _, _ = sample_store
    truth = json.loads(path.read_text())
    expected = {b for t in truth["turns"] for b in t["behaviours"]}
    with store.session() as s:
        found = set(s.scalars(select(Tag.behaviour).where(Tag.call_id == truth["call_id"])))
    assert found == expected, (
        f"{truth['call_id']}: found {sorted(found)}, script has {sorted(expected)}"
    )


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.stem)
def test_each_scripted_behaviour_turn_is_tagged_near_its_moment(sample_store, path):
    store, _, _ = sample_store
    truth = json.loads(path.read_text())
    with store.session() as s:
        tagged = s.execute(
            select(Tag.behaviour, Utterance.speaker, Utterance.start, Utterance.end)
            .join(Utterance, Utterance.id == Tag.utterance_id)
            .where(Tag.call_id == truth["call_id"])
        ).all()
    turns = [t for t in truth["turns"] if t["behaviours"]]
    hits = 0
    for turn in turns:
        for behaviour in turn["behaviours"]:
            hits += any(
                b == behaviour
                and sp == turn["speaker"]
                and st < turn["end"] + 0.5
                and en > turn["start"] - 0.5
                for b, sp, st, en in tagged
            )
    wanted = sum(len(t["behaviours"]) for t in turns)
    # Every call's behaviours are found (previous test); most individual turns are found too.
    assert hits >= 0.7 * wanted, (
        f"{truth['call_id']}: {hits}/{wanted} scripted behaviour turns tagged"
    )
