"""Ranking and refusal metrics: nDCG@10, Recall@k, MRR@10 with one relevant passage per question."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def dedupe(ids: Sequence[str]) -> list[str]:
    """Keep the first occurrence of each id (chunks of one passage count once, at their best rank)."""
    seen: set[str] = set()
    result = []
    for item in ids:
        if item not in seen:
            seen.add(item)
            result.append(item)
    return result


def rank_of(ranked: Sequence[str], gold: str) -> int | None:
    """1-based position of `gold` in `ranked`, or None when it is missing."""
    for position, item in enumerate(ranked, start=1):
        if item == gold:
            return position
    return None


def ranking_metrics(ranks: Sequence[int | None]) -> dict[str, float]:
    """nDCG@10, Recall@1/5/10 and MRR@10 averaged over questions with one relevant passage each."""
    count = len(ranks)
    if count == 0:
        return {"ndcg@10": 0.0, "recall@1": 0.0, "recall@5": 0.0, "recall@10": 0.0, "mrr@10": 0.0}

    def share(condition: list[bool]) -> float:
        return sum(condition) / count

    return {
        # With a single relevant passage the ideal DCG is 1, so nDCG is the gain at its rank.
        "ndcg@10": sum(1 / math.log2(r + 1) for r in ranks if r is not None and r <= 10) / count,
        "recall@1": share([r is not None and r <= 1 for r in ranks]),
        "recall@5": share([r is not None and r <= 5 for r in ranks]),
        "recall@10": share([r is not None and r <= 10 for r in ranks]),
        "mrr@10": sum(1 / r for r in ranks if r is not None and r <= 10) / count,
    }


@dataclass(frozen=True)
class RefusalPoint:
    """Refusal errors at one threshold."""

    threshold: float
    false_refusals: float
    false_answers: float


def refusal_at(
    threshold: float, answerable: Sequence[float], unanswerable: Sequence[float]
) -> RefusalPoint:
    """Shares of answerable questions refused and unanswerable ones answered, from best scores."""
    refused = sum(score < threshold for score in answerable)
    answered = sum(score >= threshold for score in unanswerable)
    return RefusalPoint(
        threshold=threshold,
        false_refusals=refused / len(answerable) if answerable else 0.0,
        false_answers=answered / len(unanswerable) if unanswerable else 0.0,
    )


def threshold_window(
    answerable: Sequence[float],
    unanswerable: Sequence[float],
    *,
    max_false_refusals: float,
    max_false_answers: float,
) -> tuple[float, float] | None:
    """The range of thresholds meeting both error limits (lowest, highest), or None."""
    candidates = sorted({round(score, 4) for score in [*answerable, *unanswerable]})
    good = [
        threshold
        for threshold in candidates
        if (point := refusal_at(threshold, answerable, unanswerable)).false_refusals
        <= max_false_refusals
        and point.false_answers <= max_false_answers
    ]
    return (good[0], good[-1]) if good else None
