"""Extractive answers without an LLM: the excerpts' sentences that best match the question, cited."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import regex

from knowledge.lexical import STOPWORDS
from knowledge.text import split_sentences, word_tokens

# Words that say nothing about what is asked; matching them must not pick a sentence.
_STOPWORDS = STOPWORDS
_PREFIX = 4  # Telugu and English words share stems: "సంస్థకు"/"సంస్థ", "registration"/"register".
# Prior for sentences of better-ranked excerpts, in units of matched-word weight. On TyDi QA the
# first excerpt holds the answer for 95% of questions, so a match elsewhere must be clearly better.
_RANK_WEIGHT = 3.0
# Questions asking for a number, a date or an amount; their answer sentence carries digits.
_QUANTITY_WORDS = frozenset(
    {
        "when",
        "many",
        "much",
        "year",
        "years",
        "date",
        "long",
        "old",
        "far",
        "high",
        "big",
        "large",
        "tall",
        "percent",
        "rate",
        "limit",
        "cost",
        "fee",
        "amount",
        "ఎప్పుడు",
        "ఎంత",
        "ఎన్ని",
        "ఎన్నో",
        "ఎన్నవ",
        "ఏ",
        "సంవత్సరం",
        "సంవత్సరంలో",
        "ఎంతమంది",
        "ఎంతవరకు",
    }
)
_QUANTITY_BONUS = 2.0
_DIGIT = regex.compile(r"\p{Nd}")
# Numbers written in Telugu words count as quantities too (ఐదు = five, లక్షల = lakh, ...).
_TELUGU_NUMBER_WORDS = (
    "ఒకటి",
    "రెండు",
    "మూడు",
    "నాలుగు",
    "ఐదు",
    "ఆరు",
    "ఏడు",
    "ఎనిమిది",
    "తొమ్మిది",
    "పది",
    "వంద",
    "వేల",
    "లక్ష",
    "కోట్ల",
    "శాతం",
)
# A piece ending in a short token and a full stop is an initial or an abbreviation ("వి.",
# "కి.", "J."), not the end of a sentence.
_ABBREVIATED_END = regex.compile(r"(?:^|[\s(])[\p{L}\p{M}]{1,3}\.$")
_MIN_WORDS = 4  # shorter lines are headings or titles: they answer nothing on their own
# A line this short without a full stop is a heading too (chunks start with their document title).
_MAX_HEADING_WORDS = 14
_SENTENCE_ENDINGS = (".", "!", "?", "।", ":", ";", '"', "”", ")", "]")


@dataclass(frozen=True)
class AnswerSentence:
    """A sentence chosen for the answer and the number of the excerpt it cites."""

    text: str
    citation: int


def _stem(token: str) -> str:
    return token[:_PREFIX] if len(token) > _PREFIX + 1 else token


def _content_terms(text: str) -> list[str]:
    return [_stem(token) for token in word_tokens(text) if token not in _STOPWORDS]


def _sentences(excerpt: str) -> list[str]:
    """Split an excerpt, then glue back pieces cut after initials and abbreviations."""
    merged: list[str] = []
    for piece in split_sentences(excerpt):
        if merged and _ABBREVIATED_END.search(merged[-1]) and "\n" not in merged[-1][-4:]:
            merged[-1] = f"{merged[-1]} {piece}"
        else:
            merged.append(piece)
    return merged


def _asks_quantity(question: str) -> bool:
    return any(token in _QUANTITY_WORDS for token in word_tokens(question))


def _has_quantity(sentence: str) -> bool:
    return bool(_DIGIT.search(sentence)) or any(word in sentence for word in _TELUGU_NUMBER_WORDS)


def _is_heading(sentence: str) -> bool:
    """A title or section heading: very short, or a short line with no sentence-ending mark."""
    words = len(word_tokens(sentence))
    if words < _MIN_WORDS:
        return True
    return words <= _MAX_HEADING_WORDS and not sentence.rstrip().endswith(_SENTENCE_ENDINGS)


def select_sentences(
    question: str, excerpts: list[str], *, max_sentences: int = 3
) -> list[AnswerSentence]:
    """Pick up to `max_sentences` sentences from `excerpts` (best first) that answer `question`.

    Sentences score by the inverse-frequency weight of the question words they share, minus a
    prior per excerpt rank, plus a bonus for carrying a number when the question asks for one;
    headings score only when nothing else does. The best sentences fill the answer, in reading
    order.
    """
    query_terms = set(_content_terms(question))
    wants_quantity = _asks_quantity(question)
    candidates: list[tuple[int, int, str, Counter[str]]] = []
    for number, excerpt in enumerate(excerpts, start=1):
        for position, sentence in enumerate(_sentences(excerpt)):
            candidates.append((number, position, sentence, Counter(_content_terms(sentence))))
    if not candidates:
        return []

    # Inverse frequency over the candidate sentences: rare shared words say most.
    frequency: Counter[str] = Counter()
    for *_, terms in candidates:
        frequency.update(set(terms))
    total = len(candidates)

    def overlap(terms: Counter[str]) -> float:
        return sum(math.log(1 + total / frequency[term]) for term in query_terms if term in terms)

    def score(item: tuple[int, int, str, Counter[str]]) -> float:
        number, _, sentence, terms = item
        value = overlap(terms) - _RANK_WEIGHT * (number - 1)
        if wants_quantity and _has_quantity(sentence):
            value += _QUANTITY_BONUS
        if _is_heading(sentence):
            value -= 100.0  # a heading: only if there is nothing else
        return value

    if not any(overlap(terms) > 0 for *_, terms in candidates):
        # No word in common (e.g. a question in the other language): lead with the top excerpt.
        chosen = [item for item in candidates if item[0] == 1]
        full = [item for item in chosen if not _is_heading(item[2])]
        chosen = (full or chosen)[:max_sentences]
    else:
        ranked = sorted(candidates, key=lambda item: (-score(item), item[0], item[1]))
        best = score(ranked[0])
        chosen = [item for item in ranked[:max_sentences] if score(item) > best - 100.0]
    chosen.sort(key=lambda item: (item[0], item[1]))
    return [AnswerSentence(text=item[2], citation=item[0]) for item in chosen]
