"""Spoken amounts: values and kinds on a table of spoken forms, offsets into the original text,
the features the classifier sees, evidence spans, and a model of the new kind refused when
tampered with."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from talktracks.behaviours.amounts import find_amounts, how_much_questions, may_hold_amount
from talktracks.behaviours.features import AmountFeatures
from talktracks.behaviours.registry import MODEL_FILE, ModelRegistry
from talktracks.errors import ModelHashMismatch
from test_behaviours_registry import save
from test_behaviours_support import small_model
from test_behaviours_training import env  # noqa: F401  (fixture)

# (utterance, the words of the figure, value, kind, target or None for "don't care")
SPOKEN = [
    ("it's eighteen five installed", "eighteen five", 18_500, "currency", "offer"),
    ("two ninety-nine a month", "two ninety-nine a month", 299, "per_period", "offer"),
    ("two ninety nine a month", "two ninety nine a month", 299, "per_period", "offer"),
    ("sixty-four hundred all in", "sixty-four hundred", 6_400, "currency", "offer"),
    ("about nine grand all in", "nine grand", 9_000, "currency", "offer"),
    ("twelve fifty a month", "twelve fifty a month", 1_250, "per_period", "offer"),
    (
        "thirty nine ninety nine a month",
        "thirty nine ninety nine a month",
        3_999,
        "per_period",
        None,
    ),
    ("thirty six five", "thirty six five", 36_500, "currency", None),
    ("eight ninety nine", "eight ninety nine", 899, "currency", None),
    ("forty two hundred dollars", "forty two hundred dollars", 4_200, "currency", None),
    ("twenty three hundred bucks", "twenty three hundred bucks", 2_300, "currency", None),
    ("fifteen percent off", "fifteen percent", 15, "percentage", "offer"),
    ("two point five percent", "two point five percent", 2.5, "percentage", None),
    ("fifty bucks a seat", "fifty bucks a seat", 50, "per_period", "offer"),
    ("It's $49 a month.", "$49 a month", 49, "per_period", "offer"),
    ("$18,500 installed", "$18,500", 18_500, "currency", "offer"),
    ("4k a year", "4k a year", 4_000, "per_period", "offer"),
    ("our budget is around fifty thousand", "fifty thousand", 50_000, "currency", "offer"),
    ("so the total comes to nineteen ninety nine", "nineteen ninety nine", 1_999, "currency", None),
    # ASR misspellings and homophones
    ("twenty fore dollars", "twenty fore dollars", 24, "currency", None),
    ("fourty nine a month", "fourty nine a month", 49, "per_period", "offer"),
    ("its ninty nine bucks", "ninty nine bucks", 99, "currency", None),
    # not money
    ("back in nineteen ninety", "nineteen ninety", 1_990, "year", "other"),
    ("nineteen oh five", "nineteen oh five", 1_905, "year", "other"),
    ("twenty twenty four", "twenty twenty four", 2_024, "year", "other"),
    (
        "a hundred and twelve thousand miles",
        "a hundred and twelve thousand",
        112_000,
        "count",
        None,
    ),
    ("three hundred and forty two", "three hundred and forty two", 342, "count", None),
    ("we have 200 employees", "200", 200, "count", "other"),
    ("it took us three weeks", "three weeks", 3, "duration", "other"),
    ("0% for 18 months", "18 months", 18, "duration", None),
    # money, but not the offer's
    ("our electric bill is $300 in August", "$300", 300, "currency", "other"),
    ("we spent like forty thousand on the old one", "forty thousand", 40_000, "currency", "other"),
    ("we cut churn by 20%", "20%", 20, "percentage", "other"),
]


@pytest.mark.parametrize(("text", "words", "value", "kind", "target"), SPOKEN)
def test_spoken_forms_have_their_value_and_kind(text, words, value, kind, target) -> None:
    found = [a for a in find_amounts(text) if text[a.start : a.end] == words]
    assert found, f"{words!r} not found in {text!r}: {find_amounts(text)}"
    amount = found[0]
    assert amount.value == pytest.approx(value)
    assert amount.kind == kind
    if target is not None:
        assert amount.target == target


def test_compressed_forms_keep_the_dollars_and_cents_reading() -> None:
    (a,) = find_amounts("twelve fifty a month")
    assert a.alternative == pytest.approx(12.5)
    (b,) = find_amounts("eighteen five")
    assert b.alternative is None  # 18,500 has no cents reading


def test_offsets_point_at_the_original_words_whatever_the_case_and_punctuation() -> None:
    text = "Okay, so  it's EIGHTEEN-five installed, or Twelve Fifty a month."
    spans = [text[a.start : a.end] for a in find_amounts(text)]
    assert spans == ["EIGHTEEN-five", "Twelve Fifty a month"]


def test_how_much_questions_about_price_and_about_time() -> None:
    assert [k for k, _, _ in how_much_questions("how much is it all in")] == ["offer"]
    assert [k for k, _, _ in how_much_questions("How much time does setup take?")] == ["other"]
    text = "ok and how much work is it for us"
    ((_, s, e),) = how_much_questions(text)
    assert text[s:e] == "how much"


def test_no_figure_no_amount() -> None:
    for text in ("Thanks for your time today.", "we're all set, see you then", "one of those days"):
        assert find_amounts(text) == []
    assert not may_hold_amount("See you Thursday.")
    assert may_hold_amount("see you at two")


def test_amount_features_tell_offer_money_from_other_money() -> None:
    features = AmountFeatures().fit([])
    names = list(features.get_feature_names_out())
    X = features.transform(
        ["it's eighteen five installed", "our electric bill is $300", "See you Thursday."]
    ).toarray()
    offer, other = names.index("money:offer"), names.index("money:other")
    assert X[0, offer] == 1 and X[0, other] == 0
    assert X[1, other] == 1 and X[1, offer] == 0
    assert not X[2].any()
    assert X[0, names.index("kind:currency")] == 1


def test_evidence_for_a_spoken_price_is_the_figure_as_said() -> None:
    """A model-only price tag on a figure the trackers cannot read points at the spoken words."""
    model = small_model(0)
    texts = ["ok so it's eighteen five installed", "yeah twelve fifty a month for the team"]
    tags = model.tag(texts, ["rep", "rep"])
    for text, found in zip(texts, tags, strict=True):
        price = [t for t in found if t.behaviour == "price_mention"]
        if not price:
            continue  # the small test model may not find it; the span rule is what is tested
        span = text[price[0].start : price[0].end]
        assert span in {"eighteen five", "twelve fifty a month"} or "fifty a month" in span
    # Directly: the amount evidence picks the figure when the price classifier weighs money up.
    tracked = model.track(texts[:1], ["rep"])
    names, offset = model._amount_block
    coef = np.zeros(offset + len(names))  # only the amount columns weigh
    coef[offset + names["kind:currency"]] = 1.0
    start, end = model._amount_evidence(tracked[0], "price_mention", coef)
    assert texts[0][start:end] == "eighteen five"


def test_model_of_the_new_kind_holds_amount_features_and_refuses_tampering(tmp_path) -> None:
    registry = ModelRegistry(tmp_path / "behaviours")
    version = save(registry, 0)
    loaded = registry.load(version)
    assert any(isinstance(t, AmountFeatures) for _, t in loaded.features.transformer_list)
    copy = tmp_path / "copy"
    shutil.copytree(registry.root, copy)
    path = copy / version / MODEL_FILE
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelHashMismatch, match="does not match"):
        ModelRegistry(copy).load(version)


def test_independent_set_is_reported_beside_the_held_out_set_and_never_trains(
    env,  # noqa: F811  (the fixture imported above)
    capsys,
) -> None:
    """`talktracks evaluate` and the model card report the independent set; a training text
    that is also in it is dropped from training, as held-out texts are."""
    from talktracks import config
    from talktracks.behaviours.retraining import retrain
    from talktracks.cli import main
    from test_behaviours_support import small_rows, write_rows

    independent = list(small_rows(5, 2))
    write_rows(env["data"] / "independent" / "calls.jsonl", independent)
    result = retrain(promote=True, settings=config.get_settings())
    assert result.candidate.independent is not None
    assert result.candidate.independent.rows == len(independent)
    registry = ModelRegistry.under(env["models"])
    card = registry.card(result.version)
    assert card["independent"]["rows"] == len(independent)
    assert "never used" in card["independent"]["note"]
    md = (registry.root / result.version / "MODEL_CARD.md").read_text()
    assert "## Independent evaluation set" in md
    held_keys = {r.text.casefold() for r in independent}
    assert not any(r.text.casefold() in held_keys for r in result.candidate.data.train)
    capsys.readouterr()
    assert main(["evaluate"]) == 0
    out = capsys.readouterr().out
    assert "held-out set" in out and "independent set" in out
    assert f"{len(independent)} utterances" in out


def test_subword_classifier_round_trips_and_a_tampered_subword_file_is_refused(tmp_path) -> None:
    """The fastText part of a behaviour is saved beside model.skops, hash-checked, and gives
    the same tags after loading; a changed byte in it is refused with both hashes named."""
    from talktracks.behaviours.card import build_card
    from talktracks.behaviours.data import TrainingData
    from talktracks.behaviours.evaluation import evaluate
    from talktracks.behaviours.registry import subword_file
    from talktracks.behaviours.subword import SubwordClassifier
    from talktracks.behaviours.taxonomy import load_patterns, load_taxonomy
    from talktracks.behaviours.training import fit_model
    from test_behaviours_support import repo_rows, small_rows

    taxonomy = load_taxonomy()
    rows = list(small_rows(0))
    model, reports = fit_model(
        rows, taxonomy, load_patterns(taxonomy=taxonomy), folds=3, subwords=False
    )
    b = "referral_request"
    eligible = [r for r in rows if b in r.labels and taxonomy[b].eligible(r.speaker)]
    tracked = model.track([r.text for r in eligible], [r.speaker for r in eligible])
    model.subwords[b] = SubwordClassifier().fit(tracked, [r.labels[b] for r in eligible])
    texts = ["Know anyone else who'd want a quote?", "see you thursday", "it's $49 a month"]
    speakers = ["rep", "rep", "rep"]
    _, before = model.probabilities(model.track(texts, speakers))
    heldout = list(repo_rows("test")[:40])
    card = build_card(
        model=model,
        reports=reports,
        heldout=evaluate(model, heldout),
        data=TrainingData(train=rows, heldout=heldout, sources=[{"source": "test", "rows": 1}]),
    )
    registry = ModelRegistry(tmp_path / "behaviours")
    version = registry.save(model, card)
    assert subword_file(b) in registry.versions()[version]["files"]
    loaded = registry.load(version)
    assert set(loaded.subwords) == {b}
    _, after = loaded.probabilities(loaded.track(texts, speakers))
    np.testing.assert_allclose(after[b], before[b])
    assert loaded.tag(texts, speakers) == model.tag(texts, speakers)
    path = registry.root / version / subword_file(b)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelHashMismatch, match="does not match") as err:
        registry.load(version)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
