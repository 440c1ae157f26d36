"""Words of all speakers into utterances: the unit behaviours are tagged on and coaches read."""

from __future__ import annotations

from talktracks.speech.types import Utterance, Word

_SENTENCE_END = (".", "?", "!", "…", "。", "？", "！")
# Closing quotes and brackets may follow the full stop: 'he said "no."' still ends a sentence.
_CLOSERS = "\"')]}»”’"
# Timestamps are float seconds on a 10 ms grid; 2.8 - 1.8 is 0.9999999999999998, which must
# still count as a 1 s pause.
_EPSILON = 1e-6


def merge_channel_words(
    words_by_speaker: dict[str, list[Word]], pause_s: float = 1.0
) -> list[Utterance]:
    """Cut each speaker's words into utterances, then interleave them by start time.

    An utterance is one speaker's consecutive words: a new one starts when that speaker pauses
    pause_s or longer, or after a word that ends a sentence. The other channel does not cut it:
    on a dual-channel call a customer's "mm-hmm" under the rep's sentence is crosstalk, and
    splitting the rep's sentence there would break phrases the trackers look for. Utterances of
    different speakers may therefore overlap in time. Ties in start time keep the order of
    words_by_speaker.
    """
    utterances: list[Utterance] = []
    for speaker, words in words_by_speaker.items():
        current: list[Word] = []
        for word in sorted(words, key=lambda w: w.start):
            if current and _starts_new(current[-1], word, pause_s):
                utterances.append(_utterance(speaker, current))
                current = []
            current.append(word)
        if current:
            utterances.append(_utterance(speaker, current))
    # Sorting is stable, so equal start times keep the caller's speaker order.
    utterances.sort(key=lambda u: u.start)
    return utterances


def merge_turn_words(
    words_by_speaker: dict[str, list[Word]], pause_s: float = 1.0
) -> list[Utterance]:
    """Utterances of a single track whose words were attributed to speakers (mono calls).

    Unlike merge_channel_words, a speaker change ends the utterance: on one track the voices
    take turns, so the words between two of A's words that B said split A's sentence, and a
    Whisper segment spanning both voices becomes two utterances. Pauses and sentence ends cut
    as usual.
    """
    labelled = sorted(
        ((w.start, speaker, w) for speaker, words in words_by_speaker.items() for w in words),
        key=lambda item: item[0],
    )
    utterances: list[Utterance] = []
    current: list[Word] = []
    current_speaker = ""
    for _, speaker, word in labelled:
        if current and (speaker != current_speaker or _starts_new(current[-1], word, pause_s)):
            utterances.append(_utterance(current_speaker, current))
            current = []
        current.append(word)
        current_speaker = speaker
    if current:
        utterances.append(_utterance(current_speaker, current))
    return utterances


def _starts_new(previous: Word, word: Word, pause_s: float) -> bool:
    return word.start - previous.end >= pause_s - _EPSILON or ends_sentence(previous.word)


def ends_sentence(word: str) -> bool:
    """Whether a word closes a sentence (., ?, ! possibly followed by a closing quote)."""
    return word.strip().rstrip(_CLOSERS).endswith(_SENTENCE_END)


def join_words(words: list[Word] | tuple[Word, ...]) -> str:
    """Readable text from words, whatever whitespace they carry.

    faster-whisper puts a leading space on most words but not all (segment starts), and
    none between words in scripts written without spaces, so spaces are decided here rather
    than trusted from the tokens.
    """
    text = ""
    for word in words:
        piece = " ".join(word.word.split())
        if not piece:
            continue
        if text and not (_spaceless(text[-1]) and _spaceless(piece[0])):
            text += " "
        text += piece
    return text


def _spaceless(char: str) -> bool:
    # Thai, Lao, Myanmar, Khmer, CJK, kana and fullwidth forms are written without spaces.
    code = ord(char)
    return (
        0x0E00 <= code <= 0x0EFF
        or 0x1000 <= code <= 0x109F
        or 0x1780 <= code <= 0x17FF
        or 0x2E80 <= code <= 0x9FFF
        or 0xF900 <= code <= 0xFAFF
        or 0xFF00 <= code <= 0xFFEF
    )


def _utterance(speaker: str, words: list[Word]) -> Utterance:
    return Utterance(
        speaker=speaker,
        start=words[0].start,
        end=max(word.end for word in words),
        text=join_words(words),
        confidence=sum(word.probability for word in words) / len(words),
        words=tuple(words),
    )
