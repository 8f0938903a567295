"""BM25 over the knowledge base's chunks, with a tokenizer that keeps Telugu words whole."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence

import numpy as np

from knowledge.text import word_tokens

#: Telugu letters, vowel signs and digits: the block U+0C00..U+0C7F.
_TELUGU_FIRST, _TELUGU_LAST = "\u0c00", "\u0c7f"
#: Telugu words carry case endings and postpositions (సంస్థ, సంస్థకు, సంస్థలలో): besides the
#: whole word, index its first code points so that inflected forms still meet. Four code points
#: (about two syllables) scored best on TyDi QA te (nDCG@10 0.93 against 0.85 with six and 0.81
#: without stems); English gains a little from a five-letter prefix (0.937 against 0.930).
TELUGU_STEM_CHARS = 4
LATIN_STEM_CHARS = 5


def _words(text: str) -> list[str]:
    return text.split()


#: Question and function words of both languages. They say how something is asked, not what
#: about: without them a question such as "how do I make biryani?" no longer matches every
#: "how to apply" section of the knowledge base.
STOPWORDS = frozenset(
    _words(
        """a an the of to in on for and or is are was were be been am do does did what which who whom
    whose when where why how much many can could should would will shall may might must i we you
    he she it they my our your his her its their me us them this that these those there here with
    from by at as about into than then so if not no yes any some all get got have has had
    ఏ ఏమి ఏమిటి ఎవరు ఎప్పుడు ఎక్కడ ఎందుకు ఎలా ఎంత ఎన్ని ఏది ఏవి మరియు లో కు కి ను ని ఒక ఈ ఆ అది ఇది
    చేయాలి చేయాలా ఉంది ఉన్నాయి ఉంటుంది"""
    )
)

Tokenizer = Callable[[str], list[str]]


def _is_telugu(token: str) -> bool:
    return _TELUGU_FIRST <= token[0] <= _TELUGU_LAST


def lexical_terms(text: str) -> list[str]:
    """Index terms of `text`: content words (Telugu vowel signs kept), plus their stem prefixes."""
    terms: list[str] = []
    for token in word_tokens(text):
        if token in STOPWORDS:
            continue
        terms.append(token)
        stem = TELUGU_STEM_CHARS if _is_telugu(token) else LATIN_STEM_CHARS
        if len(token) > stem:
            # The marker keeps a stem from matching a whole word of the same letters.
            terms.append(token[:stem] + "~")
    return terms


def naive_terms(text: str) -> list[str]:
    """Terms from a plain ``\\w+`` split, which cuts Telugu words at their vowel signs (baseline)."""
    import re

    return [token.casefold() for token in re.findall(r"\w+", text)]


class BM25Index:
    """Okapi BM25 over a fixed list of texts; document numbers are positions in that list."""

    def __init__(
        self,
        texts: Sequence[str],
        *,
        tokenizer: Tokenizer = lexical_terms,
        k1: float = 1.2,
        b: float = 0.75,
    ) -> None:
        self.tokenizer = tokenizer
        self.k1 = k1
        self.b = b
        self.size = len(texts)
        lengths = np.zeros(self.size, dtype=np.float32)
        postings: defaultdict[str, list[tuple[int, int]]] = defaultdict(list)
        for number, text in enumerate(texts):
            counts = Counter(tokenizer(text))
            lengths[number] = sum(counts.values())
            for term, count in counts.items():
                postings[term].append((number, count))
        average = float(lengths.mean()) if self.size and lengths.mean() > 0 else 1.0
        # Length normalisation is per document and fixed: fold it in once.
        self._norm = k1 * (1 - b + b * lengths / average)
        self._postings: dict[str, tuple[np.ndarray, np.ndarray]] = {
            term: (
                np.fromiter((doc for doc, _ in items), dtype=np.int64, count=len(items)),
                np.fromiter((tf for _, tf in items), dtype=np.float32, count=len(items)),
            )
            for term, items in postings.items()
        }

    def idf(self, term: str) -> float:
        """Inverse document frequency (the non-negative BM25 form; unseen terms score highest)."""
        frequency = len(self._postings[term][0]) if term in self._postings else 0
        return math.log(1 + (self.size - frequency + 0.5) / (frequency + 0.5))

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document for `query` (zeros where no term matches)."""
        result = np.zeros(self.size, dtype=np.float32)
        for term in set(self.tokenizer(query)):
            posting = self._postings.get(term)
            if posting is None:
                continue
            docs, tfs = posting
            result[docs] += self.idf(term) * tfs * (self.k1 + 1) / (tfs + self._norm[docs])
        return result

    def max_score(self, query: str) -> float:
        """The score a document containing every query term many times would approach."""
        return sum(self.idf(term) for term in set(self.tokenizer(query))) * (self.k1 + 1)

    def coverage(self, query: str) -> np.ndarray:
        """Scores divided by `max_score`: the idf-weighted share of the query each document matches, in [0, 1)."""
        ceiling = self.max_score(query)
        if ceiling <= 0:
            return np.zeros(self.size, dtype=np.float32)
        return self.scores(query) / ceiling

    def top(self, query: str, k: int) -> list[tuple[int, float]]:
        """The `k` best (document number, score) pairs with a score above zero, best first."""
        scores = self.scores(query)
        if k <= 0 or not self.size:
            return []
        count = min(k, self.size)
        candidates = np.argpartition(-scores, count - 1)[:count]
        ranked = sorted(candidates.tolist(), key=lambda doc: (-scores[doc], doc))
        return [(int(doc), float(scores[doc])) for doc in ranked if scores[doc] > 0]
