"""merge_channel_words on hand-made words: pure, no audio, no model."""

from __future__ import annotations

import pytest

from talktracks.speech import Utterance, Word, join_words, merge_channel_words


def w(start: float, end: float, word: str, probability: float = 0.9) -> Word:
    return Word(start=start, end=end, word=word, probability=probability)


def summary(utterances: list[Utterance]) -> list[tuple[str, str]]:
    return [(u.speaker, u.text) for u in utterances]


def test_no_words_gives_no_utterances() -> None:
    assert merge_channel_words({}) == []
    assert merge_channel_words({"rep": [], "customer": []}) == []


def test_one_speaker_run_is_one_utterance_with_fields() -> None:
    words = [w(0.0, 0.4, " Hello", 0.8), w(0.5, 0.9, " there", 0.6), w(1.0, 1.3, " friend", 1.0)]
    [utterance] = merge_channel_words({"rep": words})
    assert utterance.speaker == "rep"
    assert utterance.text == "Hello there friend"
    assert utterance.start == 0.0
    assert utterance.end == 1.3
    assert utterance.confidence == pytest.approx(0.8)
    assert utterance.words == tuple(words)


def test_speaker_change_splits() -> None:
    utterances = merge_channel_words(
        {
            "rep": [w(0.0, 0.3, " How"), w(0.4, 0.7, " much")],
            "customer": [w(0.9, 1.2, " Ten"), w(1.3, 1.6, " thousand")],
        }
    )
    assert summary(utterances) == [("rep", "How much"), ("customer", "Ten thousand")]


def test_pause_at_or_over_threshold_splits_and_shorter_does_not() -> None:
    words = [w(0.0, 0.5, " one"), w(1.4, 1.8, " two"), w(2.8, 3.0, " three")]
    # 0.9 s gap stays together, 1.0 s gap (== pause_s) splits.
    assert summary(merge_channel_words({"rep": words}, pause_s=1.0)) == [
        ("rep", "one two"),
        ("rep", "three"),
    ]
    assert len(merge_channel_words({"rep": words}, pause_s=0.5)) == 3
    assert len(merge_channel_words({"rep": words}, pause_s=5.0)) == 1


@pytest.mark.parametrize("ending", [" it.", " it?", " it!", ' it."', " it!)"])
def test_sentence_end_splits(ending: str) -> None:
    words = [w(0.0, 0.2, " Do"), w(0.3, 0.5, ending), w(0.6, 0.8, " Then"), w(0.9, 1.0, " go")]
    utterances = merge_channel_words({"customer": words})
    assert [u.text for u in utterances] == [f"Do {ending.strip()}", "Then go"]


def test_inner_punctuation_does_not_split() -> None:
    words = [w(0.0, 0.2, " Well,"), w(0.3, 0.5, " 3.5"), w(0.6, 0.8, " percent")]
    assert summary(merge_channel_words({"rep": words})) == [("rep", "Well, 3.5 percent")]


def test_interleaved_speakers_are_ordered_by_start_time() -> None:
    rep = [w(0.0, 0.4, " So"), w(0.5, 0.9, " the"), w(2.0, 2.3, " price"), w(2.4, 2.8, " is")]
    customer = [w(1.0, 1.3, " Mm"), w(1.35, 1.6, " hmm"), w(3.0, 3.5, " Okay")]
    utterances = merge_channel_words({"rep": rep, "customer": customer})
    assert summary(utterances) == [
        ("rep", "So the"),
        ("customer", "Mm hmm"),
        ("rep", "price is"),
        ("customer", "Okay"),
    ]
    starts = [u.start for u in utterances]
    assert starts == sorted(starts)
    # Every word ends up in exactly one utterance.
    assert sum(len(u.words) for u in utterances) == len(rep) + len(customer)


def test_unsorted_input_is_sorted() -> None:
    words = [w(1.0, 1.2, " world"), w(0.0, 0.5, " hello")]
    assert summary(merge_channel_words({"unknown": words})) == [("unknown", "hello world")]


def test_equal_start_times_keep_speaker_order() -> None:
    utterances = merge_channel_words(
        {"rep": [w(0.0, 0.5, " Hi")], "customer": [w(0.0, 0.4, " Hello")]}
    )
    assert summary(utterances) == [("rep", "Hi"), ("customer", "Hello")]


def test_whitespace_is_normalised() -> None:
    words = [w(0.0, 0.1, "  And"), w(0.2, 0.3, "so"), w(0.4, 0.5, " \tmy  "), w(0.6, 0.7, "   ")]
    [utterance] = merge_channel_words({"rep": words})
    assert utterance.text == "And so my"
    # The blank word stays in words (its timing is real) but adds nothing to text.
    assert len(utterance.words) == 4


def test_scripts_without_spaces_are_joined_without_spaces() -> None:
    assert join_words([w(0.0, 0.1, "你"), w(0.1, 0.2, "好"), w(0.2, 0.3, " OK")]) == "你好 OK"


def test_backchannel_on_the_other_channel_does_not_split_a_sentence():
    rep = [
        Word(0.0, 0.4, " we", 0.9),
        Word(0.5, 0.9, " install", 0.9),
        Word(1.0, 1.4, " panels.", 0.9),
    ]
    customer = [Word(0.6, 0.8, " mm-hmm", 0.8)]
    utterances = merge_channel_words({"rep": rep, "customer": customer})
    assert [(u.speaker, u.text) for u in utterances] == [
        ("rep", "we install panels."),
        ("customer", "mm-hmm"),
    ]


def test_mono_turns_split_at_speaker_changes_inside_a_segment() -> None:
    from talktracks.speech.merge import merge_turn_words

    def w(start: float, text: str) -> Word:
        return Word(start=start, end=start + 0.3, word=f" {text}", probability=0.9)

    # One Whisper segment without pauses: "so what do you | yeah | think" by two voices.
    utterances = merge_turn_words(
        {
            "rep": [w(0.0, "so"), w(0.3, "what"), w(0.6, "do"), w(0.9, "you"), w(1.5, "think")],
            "customer": [w(1.2, "yeah")],
        }
    )
    assert [(u.speaker, u.text) for u in utterances] == [
        ("rep", "so what do you"),
        ("customer", "yeah"),
        ("rep", "think"),
    ]
