"""Language-aware text helpers: script detection, word tokens and sentences for English and Telugu."""

from __future__ import annotations

from typing import Literal

import regex

Lang = Literal["en", "te"]

_TELUGU_LETTER = regex.compile(r"[\u0C00-\u0C7F]")
_LATIN_LETTER = regex.compile(r"[A-Za-z]")
# Letters followed by their combining marks: Telugu vowel signs (matras) and the virama are
# marks (category M), so a plain \w+ would cut every Telugu word apart at them.
_WORD = regex.compile(r"[\p{L}\p{N}][\p{L}\p{M}\p{N}]*")
# Sentence ends: Latin and Devanagari full stops, ? and !, followed by space; and line breaks.
_SENTENCE_END = regex.compile(r"(?<=[.!?।॥])\s+(?=\S)|\n{1,}")
# Common abbreviations that end in a full stop but do not end a sentence.
_ABBREVIATIONS = (
    "Rs.",
    "Dr.",
    "Mr.",
    "Mrs.",
    "Ms.",
    "No.",
    "Sr.",
    "Jr.",
    "e.g.",
    "i.e.",
    "etc.",
    "vs.",
    "Pvt.",
    "Ltd.",
    "Govt.",
    "St.",
    "approx.",
    "U.S.",
)


def detect_lang(text: str, default: Lang = "en") -> Lang:
    """Return "te" when Telugu letters dominate the text's letters, else "en" (or `default`)."""
    telugu = len(_TELUGU_LETTER.findall(text))
    latin = len(_LATIN_LETTER.findall(text))
    if telugu == 0 and latin == 0:
        return default
    # Telugu letters carry more information per character than Latin ones, so weigh them up.
    return "te" if telugu * 2 >= latin else "en"


def word_tokens(text: str) -> list[str]:
    """Lower-cased words, keeping Telugu letters and their vowel signs together."""
    return [match.casefold() for match in _WORD.findall(text)]


def split_sentences(text: str) -> list[str]:
    """Split a passage into sentences (English and Telugu punctuation, and line breaks)."""
    pieces = [piece.strip() for piece in _SENTENCE_END.split(text)]
    sentences: list[str] = []
    for piece in pieces:
        if not piece:
            continue
        if sentences and sentences[-1].endswith(_ABBREVIATIONS):
            sentences[-1] = f"{sentences[-1]} {piece}"
        else:
            sentences.append(piece)
    return sentences
