"""Extractive answers without an LLM: the excerpts' sentences that best match the question, cited."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from knowledge.text import split_sentences, word_tokens

# Words that say nothing about what is asked; matching them must not pick a sentence.
_STOPWORDS = frozenset(
    """a an the of to in on for and or is are was were be been am do does did what which who whom
    whose when where why how much many can could should would will shall may might must i we you
    he she it they my our your his her its their me us them this that these those there here with
    from by at as about into than then so if not no yes any some all get got have has had""".split()
    + "ఏ ఏమి ఎవరు ఎప్పుడు ఎక్కడ ఎందుకు ఎలా ఎంత ఎన్ని ఏది ఏవి మరియు లో కు కి ను ని ఒక ఈ ఆ అది ఇది".split()
)
_PREFIX = 4  # Telugu and English words share stems: "సంస్థకు"/"సంస్థ", "registration"/"register".
_RANK_WEIGHT = 0.15  # prior for sentences of better-ranked excerpts


@dataclass(frozen=True)
class AnswerSentence:
    """A sentence chosen for the answer and the number of the excerpt it cites."""

    text: str
    citation: int


def _stem(token: str) -> str:
    return token[:_PREFIX] if len(token) > _PREFIX + 1 else token


def _content_terms(text: str) -> list[str]:
    return [_stem(token) for token in word_tokens(text) if token not in _STOPWORDS]


def select_sentences(
    question: str, excerpts: list[str], *, max_sentences: int = 3
) -> list[AnswerSentence]:
    """Pick up to `max_sentences` sentences from `excerpts` (best first) that answer `question`."""
    query_terms = set(_content_terms(question))
    candidates: list[tuple[int, int, str, Counter[str]]] = []
    for number, excerpt in enumerate(excerpts, start=1):
        for position, sentence in enumerate(split_sentences(excerpt)):
            candidates.append((number, position, sentence, Counter(_content_terms(sentence))))
    if not candidates:
        return []

    # Inverse frequency over the candidate sentences: rare shared words say most.
    frequency: Counter[str] = Counter()
    for *_, terms in candidates:
        frequency.update(set(terms))
    total = len(candidates)

    def score(number: int, terms: Counter[str]) -> float:
        overlap = sum(
            math.log(1 + total / frequency[term]) for term in query_terms if term in terms
        )
        return overlap - _RANK_WEIGHT * (number - 1)

    ranked = sorted(
        candidates, key=lambda item: (-score(item[0], item[3]), item[0], item[1])
    )
    best = score(ranked[0][0], ranked[0][3])
    chosen = [ranked[0]]
    for item in ranked[1:]:
        if len(chosen) >= max_sentences:
            break
        if best > 0 and score(item[0], item[3]) >= 0.6 * best:
            chosen.append(item)
    if best <= 0:
        # No word in common (e.g. a question in the other language): lead with the top excerpt.
        chosen = [item for item in candidates if item[0] == 1][:max_sentences]
    chosen.sort(key=lambda item: (item[0], item[1]))
    return [AnswerSentence(text=item[2], citation=item[0]) for item in chosen]
