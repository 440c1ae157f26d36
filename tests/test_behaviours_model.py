"""The tagger: combiner rules, speaker eligibility, thresholds and evidence spans."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from talktracks.behaviours.classifier import Thresholds, choose_thresholds
from talktracks.behaviours.evaluation import evaluate
from talktracks.behaviours.evidence import best_region, ngram_region
from talktracks.behaviours.features import normalise_text, word_tokens
from talktracks.behaviours.model import BOTH, MODEL, RULE, BehaviourModel, combine
from test_behaviours_support import repo_rows, small_model


@pytest.fixture(scope="module")
def model() -> BehaviourModel:
    return small_model()


def tags_of(
    model: BehaviourModel, text: str, speaker: str = "rep"
) -> dict[str, tuple[str, str, float]]:
    (found,) = model.tag([text], [speaker], [0.0])
    return {d.behaviour: (text[d.start : d.end], d.source, d.score) for d in found}


def test_combiner_rules() -> None:
    t = Thresholds(model=0.6, rule=0.3)
    assert combine(0.9, True, t) == BOTH
    assert combine(0.9, False, t) == MODEL
    assert combine(0.4, True, t) == RULE
    assert combine(0.4, False, t) is None
    assert combine(0.1, True, t) is None  # a keyword alone never tags


def test_thresholds_chosen_on_out_of_fold_scores() -> None:
    rng = np.random.default_rng(0)
    y = rng.random(400) < 0.3
    p = np.clip(np.where(y, 0.7, 0.2) + rng.normal(0, 0.12, 400), 0, 1)
    hit = y & (rng.random(400) < 0.8)
    t = choose_thresholds(p, hit, y)
    assert t.rule <= t.model
    assert 0.3 < t.model < 0.7


def test_evidence_points_at_the_price_words(model: BehaviourModel) -> None:
    text = "Sure, so the starter plan is $399 a month and that covers five users."
    found = tags_of(model, text)
    assert "price_mention" in found
    span, source, score = found["price_mention"]
    assert "$399" in span and "month" in span
    assert source in {RULE, BOTH} and 0 <= score <= 1
    assert len(span) < len(text)


def test_evidence_points_at_the_referral_words(model: BehaviourModel) -> None:
    text = "Thanks so much for today. Would you be willing to refer us to other practice owners you know?"
    found = tags_of(model, text)
    assert "referral_request" in found
    span = found["referral_request"][0]
    assert "refer" in span
    assert "Thanks" not in span


def test_rep_only_behaviours_never_tag_customers(model: BehaviourModel) -> None:
    text = "Would you be willing to refer us to other practice owners you know?"
    assert "referral_request" in tags_of(model, text, "rep")
    assert "referral_request" not in tags_of(model, text, "customer")
    # Mono calls: an unknown speaker may be the rep.
    assert "referral_request" in tags_of(model, text, "unknown")


def test_model_only_evidence_is_the_highest_weight_region() -> None:
    """No tracker match: the span is the run of words whose n-grams weigh most."""
    texts = [
        "our crew mops the floors nightly",
        "the weather was nice",
        "mops and floors",
        "nice day",
    ]
    vec = TfidfVectorizer(preprocessor=normalise_text, tokenizer=word_tokens, token_pattern=None)
    X = vec.fit_transform(texts)
    coef = np.zeros(X.shape[1])
    coef[vec.vocabulary_["mops"]] = 2.0
    coef[vec.vocabulary_["floors"]] = 1.5
    coef[vec.vocabulary_["weather"]] = -3.0
    text = "Honestly the weather was bad, but our crew mops the floors nightly."
    row = vec.transform([text])
    weights = {j: coef[j] * v for j, v in zip(row.indices.tolist(), row.data.tolist(), strict=True)}
    start, end = ngram_region(text, weights, vec, 0, normalise_text)
    assert text[start:end] == "mops the floors"


def test_best_region_limits_and_trims() -> None:
    assert best_region(np.array([-1.0, 0.0, 2.0, 0.0, 1.0, -5.0])) == (2, 4)
    assert best_region(np.array([-1.0, -2.0])) is None


def test_evaluate_reports_confusion_counts(model: BehaviourModel) -> None:
    rows = repo_rows("test")[:80]
    ev = evaluate(model, rows)
    for b, c in ev.behaviours.items():
        assert c.tp + c.fp + c.fn + c.tn == len(rows), b
        assert 0.0 <= c.f1 <= 1.0


def test_shipped_model_meets_the_heldout_target() -> None:
    """The model in models/behaviours/current, on the whole held-out set: F1 >= 0.90 for each
    behaviour, and exactly the counts its model card records (the card is not hand-edited)."""
    import json

    from talktracks.behaviours.data import data_hash
    from talktracks.behaviours.registry import ModelRegistry
    from talktracks.config import PROJECT_ROOT

    registry = ModelRegistry.under(PROJECT_ROOT / "models")
    version = registry.current_version()
    shipped = registry.load(version)
    card = json.loads((registry.root / version / "model_card.json").read_text())
    rows = repo_rows("test")
    assert card["heldout"]["hash"] == data_hash(rows), "card was made on another held-out set"
    ev = evaluate(shipped, rows)
    for b, c in ev.behaviours.items():
        recorded = card["heldout"]["behaviours"][b]
        assert (c.tp, c.fp, c.fn, c.tn) == tuple(recorded[k] for k in ("tp", "fp", "fn", "tn")), b
        assert c.f1 >= 0.90, f"{b}: held-out F1 {c.f1:.3f} < 0.90"
