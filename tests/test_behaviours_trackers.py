"""Keyword trackers: pattern matching (lemmas, numbers, currency) and the Gong-style filters."""

from __future__ import annotations

import json

import numpy as np
import pytest
import spacy
from sklearn.feature_extraction.text import TfidfVectorizer
from spacy.language import Language
from spacy.tokens import Doc

from talktracks.behaviours.features import CachedTfidfVectorizer, normalise_text, word_tokens
from talktracks.behaviours.ruler import hits, lemma_forms, lemma_forms_index
from talktracks.behaviours.taxonomy import load_patterns, load_taxonomy, taxonomy_from_dict
from talktracks.behaviours.trackers import (
    TEXT_FILTERED,
    TRACKER_MATCHES,
    TRACKERS,
    is_question,
    tracker_docs,
    tracker_pipeline,
)
from talktracks.errors import InputError
from test_behaviours_support import repo_rows

# A taxonomy with one tracker per filter, so each test sees exactly one filter at work.
FILTER_TAXONOMY = {
    "behaviours": [
        {
            "name": "ask",
            "definition": "test",
            "speakers": "anyone",
            "trackers": {
                "by_rep": {"speaker": "rep"},
                "by_customer": {"speaker": "customer"},
                "question": {"questions_only": True},
                "early": {"first_minutes": 5},
            },
        }
    ]
}
FILTER_PATTERNS = [
    {"label": "ask", "id": "by_rep", "pattern": [{"LEMMA": "refer"}]},
    {"label": "ask", "id": "by_customer", "pattern": "too expensive"},
    {"label": "ask", "id": "question", "pattern": [{"LOWER": "how"}, {"LOWER": "much"}]},
    {"label": "ask", "id": "early", "pattern": [{"LOWER": "agenda"}]},
]


@Language.component("test_lookup_lemmas")
def lookup_lemmas(doc: Doc) -> Doc:
    """spaCy's lookup lemmas on the lowercase form, as a real lemmatizer step would set them."""
    index = _lemma_of()
    for token in doc:
        token.lemma_ = index.get(token.lower_, token.lower_)
    return doc


def _lemma_of() -> dict[str, str]:
    return {form: lemma for lemma, forms in lemma_forms_index().items() for form in forms}


@pytest.fixture(scope="module")
def nlp() -> Language:
    taxonomy = taxonomy_from_dict(FILTER_TAXONOMY)
    return tracker_pipeline(FILTER_PATTERNS, taxonomy.filters())


def kept(
    nlp: Language, text: str, speaker: str | None = None, start: float | None = None
) -> list[str]:
    (doc,) = tracker_docs(nlp, [text], [speaker], [start])
    return [s.id_ for s in doc.spans[TRACKERS]]


def matched(nlp: Language, text: str) -> list[str]:
    (doc,) = tracker_docs(nlp, [text])
    return [s.id_ for s in doc.spans[TRACKER_MATCHES]]


def test_speaker_filter(nlp: Language) -> None:
    text = "Would you refer us to your friends?"
    assert kept(nlp, text, "rep") == ["by_rep"]
    assert kept(nlp, text, "customer") == []
    # Mono calls: nobody knows who spoke, so every speaker filter lets it through.
    assert kept(nlp, text, "unknown") == ["by_rep"]
    assert kept(nlp, "Honestly that's too expensive for us.", "customer") == ["by_customer"]
    assert kept(nlp, "Honestly that's too expensive for us.", "rep") == []


def test_questions_only_filter(nlp: Language) -> None:
    assert kept(nlp, "How much is the setup?", "customer") == ["question"]
    assert kept(nlp, "I don't know how much we spend.", "customer") == []
    assert matched(nlp, "I don't know how much we spend.") == ["question"]  # matched, filtered
    # Unpunctuated ASR: a question opener after fillers.
    assert kept(nlp, "so um how much would that run us", "customer") == ["question"]
    assert kept(nlp, "i dont know how much we spend", "customer") == []
    # The question is decided per sentence, not per utterance.
    assert kept(nlp, "Great. How much is it? We have a budget.", "customer") == ["question"]
    assert kept(nlp, "Is it good? I know how much we spend.", "customer") == []


def test_first_minutes_filter(nlp: Language) -> None:
    text = "Let me share the agenda for today."
    assert kept(nlp, text, "rep", start=30.0) == ["early"]
    assert kept(nlp, text, "rep", start=299.0) == ["early"]
    assert kept(nlp, text, "rep", start=300.0) == []
    assert kept(nlp, text, "rep", start=1800.0) == []
    # Labelled text has no time: the time filter cannot reject it.
    assert kept(nlp, text, "rep", start=None) == ["early"]


def test_lemma_patterns_match_inflections_and_case(nlp: Language) -> None:
    for text in ["Referred by a friend", "She refers clients", "referring partners", "REFER us"]:
        assert matched(nlp, text) == ["by_rep"], text
    assert "referred" in lemma_forms("refer") and "refer" in lemma_forms("refer")


def test_shipped_patterns_find_prices_referrals_and_products() -> None:
    taxonomy = load_taxonomy()
    nlp = tracker_pipeline(load_patterns(taxonomy=taxonomy), taxonomy.filters())
    cases = {
        "It's $4k a month.": "price_mention",
        "twelve hundred bucks for the install": "price_mention",
        "we can take 20% off the first year": "price_mention",
        "so its like two ten a month": "price_mention",
        "If you hear of anyone, send em my way.": "referral_request",
        "Would you mind leaving us a review on G2?": "referral_request",
        "The package includes monthly reporting.": "product_introduction",
    }
    docs = tracker_docs(nlp, list(cases), ["rep"] * len(cases))
    for doc, label in zip(docs, cases.values(), strict=True):
        assert label in {s.label_ for s in doc.spans[TRACKERS]}, doc.text


def test_tracker_ruler_matches_like_spacy_span_ruler() -> None:
    """The compiled ruler finds exactly what spaCy's own SpanRuler finds with lemmas set."""
    taxonomy = load_taxonomy()
    patterns = load_patterns(taxonomy=taxonomy)
    ours = tracker_pipeline(patterns, taxonomy.filters())

    reference = spacy.blank("en")
    reference.vocab.lex_attr_getters.update(ours.vocab.lex_attr_getters)
    reference.add_pipe("test_lookup_lemmas")
    ruler = reference.add_pipe("span_ruler", config={"phrase_matcher_attr": "LOWER"})
    ruler.add_patterns(patterns)
    texts = [r.text for r in repo_rows("train")[:400]]
    for text, doc in zip(texts, tracker_docs(ours, texts), strict=True):
        ref_doc = reference(text)
        expected = {(s.start, s.end, s.label_, s.id_) for s in ref_doc.spans["ruler"]}
        got = {(s.start, s.end, s.label_, s.id_) for s in doc.spans[TRACKER_MATCHES]}
        # A word that is a form of two lemmas can match either way in ours; never fewer.
        assert expected <= got, (text, expected - got)


def test_tuple_only_pipeline_finds_the_same_matches() -> None:
    """The tagger's spans=False pipeline stores tuples only, and they equal the spans."""
    taxonomy = load_taxonomy()
    patterns = load_patterns(taxonomy=taxonomy)
    with_spans = tracker_pipeline(patterns, taxonomy.filters())
    tuples_only = tracker_pipeline(patterns, taxonomy.filters(), spans=False)
    rows = repo_rows("train")[:300]
    texts, speakers = [r.text for r in rows], [r.speaker for r in rows]
    starts = [60.0 * (i % 9) for i in range(len(rows))]  # some past the first-minutes filters
    a_docs = tracker_docs(with_spans, texts, speakers, starts)
    b_docs = tracker_docs(tuples_only, texts, speakers, starts)
    found = 0
    for a, b in zip(a_docs, b_docs, strict=True):
        for key in (TRACKER_MATCHES, TRACKERS):
            assert key not in b.spans
            spans = [(s.label_, s.id_, s.start, s.end) for s in a.spans[key]]
            assert hits(b, key) == hits(a, key) == spans, a.text
            found += len(spans)
        # Text-filtered matches sit between all matches and fully filtered ones.
        assert (
            set(hits(a, TRACKERS)) <= set(hits(a, TEXT_FILTERED)) <= set(hits(a, TRACKER_MATCHES))
        )
    assert found > 300


def test_question_filter_uses_the_sentence_of_the_match(nlp: Language) -> None:
    (doc,) = tracker_docs(nlp, ["How much we saved was great. So how much is it?"])
    assert [h[1] for h in hits(doc, TEXT_FILTERED)] == ["question"]
    assert hits(doc, TEXT_FILTERED)[0][2] > 5  # the second "how much", in the question
    (doc,) = tracker_docs(nlp, ["so how much is it for the two of us"])  # ASR, no "?"
    assert len(hits(doc, TEXT_FILTERED)) == 1


def test_speaker_and_start_are_doc_extensions(nlp: Language) -> None:
    """tracker_docs sets doc._.speaker/start; a doc built by hand can set them before the
    components run, and the filters read them."""
    (doc,) = tracker_docs(nlp, ["We got referred by a neighbour"], ["customer"], [42.0])
    assert (doc._.speaker, doc._.start) == ("customer", 42.0)
    assert "by_rep" not in [h[1] for h in hits(doc, TRACKERS)]
    doc = nlp.make_doc("We got referred by a neighbour")
    doc._.speaker, doc._.start = "rep", 3.0
    for _, component in nlp.pipeline:
        doc = component(doc)
    assert "by_rep" in [h[1] for h in hits(doc, TRACKERS)]


def test_is_question_on_spans(nlp: Language) -> None:
    (doc,) = tracker_docs(nlp, ["We quoted it. What does it cost"])
    assert not is_question(doc[0:1])
    assert is_question(doc[-1:])


@pytest.mark.parametrize("analyzer", ["char_wb", "word"])
def test_cached_tfidf_matches_sklearn(analyzer: str) -> None:
    texts = [r.text for r in repo_rows("train")[:300]]
    extra = ["Brand  new\twords  $1,299! twelve-fifty", "", "   "]
    options = {
        "analyzer": analyzer,
        "min_df": 2,
        "sublinear_tf": True,
        "preprocessor": normalise_text,
    }
    if analyzer == "word":
        options.update(tokenizer=word_tokens, token_pattern=None, ngram_range=(1, 3))
    else:
        options.update(ngram_range=(2, 5))
    ours = CachedTfidfVectorizer(**options).fit(texts)
    for _ in range(2):  # cold and warm cache
        reference = TfidfVectorizer.transform(ours, texts + extra)
        fast = ours.transform(texts + extra)
        assert np.abs((reference - fast).toarray()).max() < 1e-6


def test_bad_taxonomy_and_patterns_are_one_line_errors(tmp_path) -> None:
    with pytest.raises(InputError, match="speakers must be one of"):
        taxonomy_from_dict({"behaviours": [{"name": "x", "speakers": "boss"}]})
    with pytest.raises(InputError, match="first_minutes"):
        taxonomy_from_dict(
            {"behaviours": [{"name": "x", "trackers": {"t": {"first_minutes": -1}}}]}
        )
    bad = tmp_path / "p.jsonl"
    bad.write_text(json.dumps({"label": "x", "pattern": "a"}) + "\n{oops\n")
    with pytest.raises(InputError, match=r"p.jsonl:2: not JSON"):
        load_patterns(bad)
