"""`make eval`: retrieval, answer and refusal quality on TyDi QA (te, en) and the sample corpus.

Every configuration runs on the same data in one process, through the project's own code: the
chunker (`loaders.chunking`), `KnowledgeBase` (FAISS, calibration, hybrid BM25), the RAG chain
of `chains/rag.py` in extractive mode, and, for latency, `python serve.py` over HTTP.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # `python bench/eval.py` as well as `python -m bench.eval`
    sys.path.insert(0, str(REPO_ROOT))

from bench.cache import CachedEmbeddings  # noqa: E402
from bench.data import Dataset, Query, load_dataset, passage_chunks, sample  # noqa: E402
from bench.metrics import dedupe, rank_of, ranking_metrics, refusal_at, threshold_window  # noqa: E402
from settings import BUNDLED_E5, BUNDLED_MINILM, Settings, configure_offline_libraries  # noqa: E402

DEFAULT_DATASETS = REPO_ROOT.parent / "shared" / "datasets"
DEFAULT_OUT = REPO_ROOT / "bench" / "results"
SAMPLE_QUESTIONS = REPO_ROOT / "bench" / "sample_questions.jsonl"
SAMPLE_CORPUS = REPO_ROOT / "sample_corpus"
CACHE_DIR = REPO_ROOT / "bench" / ".cache"
SEARCH_DEPTH = 30  # chunks fetched per question for the ranking metrics (>= 10 passages)
MAX_FALSE_REFUSALS = 0.03
MAX_FALSE_ANSWERS = 0.10
MODEL_NAMES = {BUNDLED_E5: "e5", BUNDLED_MINILM: "minilm"}


@dataclass(frozen=True)
class Config:
    """One row of the comparison: a retrieval method and the settings it runs with."""

    name: str
    label: str
    model: str | None  # None: BM25 alone
    overrides: dict[str, Any] = field(default_factory=dict)
    tokenizer: str = "telugu-aware"
    title_prefix: bool = True  # False: only a section's first chunk carries the title


def configurations(weights: list[float]) -> list[Config]:
    """Every configuration compared in one run (BM25, both models, calibration, hybrid)."""
    rows = [
        Config("bm25-naive", "BM25, \\w+ tokenizer", None, tokenizer="naive"),
        Config("bm25", "BM25, Telugu-aware tokenizer", None),
    ]
    for model, short, label in (
        (BUNDLED_MINILM, "minilm", "MiniLM-L6"),
        (BUNDLED_E5, "e5", "E5-small"),
    ):
        for calibration in (False, True):
            for hybrid in (False, True):
                name = short + ("+cal" if calibration else "") + ("+hybrid" if hybrid else "")
                text = (
                    label
                    + (" + calibration" if calibration else "")
                    + (" + BM25" if hybrid else "")
                )
                rows.append(
                    Config(
                        name,
                        text,
                        model,
                        {"cross_language_calibration": calibration, "hybrid_search": hybrid},
                    )
                )
    rows.append(
        Config(
            "e5+cal+hybrid-notitle",
            "E5-small + calibration + BM25, title only on a section's first chunk",
            BUNDLED_E5,
            {"cross_language_calibration": True, "hybrid_search": True},
            title_prefix=False,
        )
    )
    for weight in weights:
        rows.append(
            Config(
                f"e5+cal+hybrid@{weight:g}",
                f"E5-small + calibration + BM25, weight {weight:g}",
                BUNDLED_E5,
                {
                    "cross_language_calibration": True,
                    "hybrid_search": True,
                    "lexical_weight": weight,
                },
            )
        )
    return rows


def base_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings for the harness: defaults plus `overrides`, never a .env file, never Bedrock."""
    return Settings(_env_file=None, data_dir=data_dir, bedrock_enabled="off", **overrides)  # type: ignore[call-arg]


def log(message: str) -> None:
    """Progress on stderr (stdout carries the table)."""
    print(message, file=sys.stderr, flush=True)


# -- pools -----------------------------------------------------------------------------------


@dataclass
class Pools:
    """DATA_DIRs holding the te, en and mixed pools indexed with one embedding model."""

    te: Path
    en: Path
    mixed: Path


def build_pools(
    work: Path,
    model: str,
    embeddings: Any,
    datasets: dict[str, Dataset],
    names: tuple[str, ...] = ("te", "en", "mixed"),
    *,
    title_prefix: bool = True,
) -> Pools:
    """Chunk and index the passages with `KnowledgeBase.index_documents` into DATA_DIRs."""
    from knowledge.base import KnowledgeBase

    root = work / (MODEL_NAMES[model] + ("" if title_prefix else "-notitle"))
    pools = Pools(te=root / "te", en=root / "en", mixed=root / "mixed")
    settings = base_settings(root, sentence_transformer_model=model)
    chunks = {
        lang: passage_chunks(
            dataset.passages, settings, f"tydiqa-{lang}", title_prefix=title_prefix
        )
        for lang, dataset in datasets.items()
    }
    for target, langs in ((pools.te, ["te"]), (pools.en, ["en"]), (pools.mixed, ["te", "en"])):
        if target.name not in names:
            continue
        knowledge = KnowledgeBase(
            base_settings(target, sentence_transformer_model=model), embeddings
        )
        for lang in langs:
            started = time.perf_counter()
            knowledge.index_documents(f"tydiqa-{lang}", chunks[lang])
            log(
                f"  indexed {len(chunks[lang])} {lang} chunks into {target.name} "
                f"({time.perf_counter() - started:.0f} s)"
            )
    return pools


# -- one configuration -------------------------------------------------------------------------


class Searcher:
    """Search as a configuration does it: `KnowledgeBase.search`, or BM25 over the same chunks."""

    def __init__(self, config: Config, data_dir: Path, embeddings: Any, bm25_source: Path) -> None:
        from knowledge.base import KnowledgeBase, ScoredChunk

        self._scored = ScoredChunk
        if config.model is not None:
            settings = base_settings(
                data_dir, sentence_transformer_model=config.model, **config.overrides
            )
            self.settings = settings
            self.knowledge: Any = KnowledgeBase(settings, embeddings)
            self.search: Callable[[str, int], list[Any]] = self.knowledge.search
            return
        from knowledge.lexical import BM25Index, lexical_terms, naive_terms

        # BM25 alone reads the chunks of the E5 pool (the same chunks every row sees).
        self.settings = base_settings(data_dir)
        self.knowledge = KnowledgeBase(base_settings(bm25_source), embeddings)
        self._documents = self.knowledge.all_chunks()
        tokenizer = naive_terms if config.tokenizer == "naive" else lexical_terms
        self._index = BM25Index(
            [f"{doc.metadata.get('title', '')}\n{doc.page_content}" for doc in self._documents],
            tokenizer=tokenizer,
        )
        self.search = self._bm25

    def _bm25(self, query: str, k: int) -> list[Any]:
        import numpy as np

        coverage = self._index.coverage(query)
        order = np.argsort(-coverage, kind="stable")[:k]
        return [
            self._scored(document=self._documents[row], score=float(coverage[row]))
            for row in order.tolist()
        ]


def passage_ranking(hits: list[Any]) -> list[str]:
    """Passage ids in rank order (a passage's chunks count once)."""
    return dedupe([str(hit.document.metadata.get("source", "")) for hit in hits])[:10]


def contains_answer(answer: str, gold: tuple[str, ...]) -> bool:
    """Whether the answer text contains one of the gold strings (case and spacing ignored)."""
    text = " ".join(answer.casefold().split())
    return any(" ".join(item.casefold().split()) in text for item in gold if item.strip())


_CITED_PIECE = re.compile(r" \[\d+\]$")  # the chain ends each answer sentence with " [n]"


def evaluate_config(
    config: Config,
    pools: Pools,
    embeddings: Any,
    datasets: dict[str, Dataset],
    sample_dir: Path | None,
    sample_questions: list[dict[str, Any]],
    e5_pools: Pools | None,
) -> dict[str, Any]:
    """All metrics of one configuration."""
    from chains.rag import build_rag_chain
    from chains.schemas import RagQuestion

    searchers = {
        name: Searcher(config, path, embeddings, getattr(e5_pools or pools, name))
        for name, path in (("te", pools.te), ("en", pools.en), ("mixed", pools.mixed))
    }
    settings = searchers["mixed"].settings
    threshold = settings.relevance_threshold
    result: dict[str, Any] = {
        "name": config.name,
        "label": config.label,
        "settings": config.overrides,
    }
    queries = {lang: dataset.queries for lang, dataset in datasets.items()}

    def ranks(pool: str, items: list[Query]) -> tuple[list[int | None], list[float]]:
        found, best = [], []
        for query in items:
            hits = searchers[pool].search(query.text, SEARCH_DEPTH)
            found.append(rank_of(passage_ranking(hits), query.gold))
            best.append(hits[0].score if hits else 0.0)
        return found, best

    te_ranks, te_best = ranks("te", queries["te"])
    en_ranks, en_best = ranks("en", queries["en"])
    mixed_ranks, _ = ranks("mixed", queries["te"] + queries["en"])
    result["retrieval"] = {
        "te": ranking_metrics(te_ranks),
        "en": ranking_metrics(en_ranks),
        "mixed": ranking_metrics(mixed_ranks),
    }
    if config.model is None:
        return result  # BM25 alone has no calibrated score to refuse on

    # Refusal: each language's questions against the other language's pool must be refused.
    _, te_cross = ranks("en", queries["te"])
    _, en_cross = ranks("te", queries["en"])
    answerable, unanswerable = te_best + en_best, te_cross + en_cross
    point = refusal_at(threshold, answerable, unanswerable)
    window = threshold_window(
        answerable,
        unanswerable,
        max_false_refusals=MAX_FALSE_REFUSALS,
        max_false_answers=MAX_FALSE_ANSWERS,
    )
    result["refusal"] = {
        "threshold": threshold,
        "false_refusals": point.false_refusals,
        "false_answers": point.false_answers,
        "per_lang": {
            "te": vars(refusal_at(threshold, te_best, te_cross)),
            "en": vars(refusal_at(threshold, en_best, en_cross)),
        },
        "tydi_window": window,
        "answerable_best_scores": _quantiles(answerable),
        "unanswerable_best_scores": _quantiles(unanswerable),
    }

    # Answers: the real chain, extractive, on the mixed pool; plus its refusals on own/cross pools.
    chains = {
        name: build_rag_chain(searcher.settings, retrieve=searcher.search, llm=None)
        for name, searcher in searchers.items()
    }

    def ask(pool: str, text: str) -> dict[str, Any]:
        # Streamed, as clients see it: every cited sentence arrives as its own answer piece.
        merged: dict[str, Any] = {"answer": "", "sentences": 0}
        for chunk in chains[pool].stream(RagQuestion(question=text, top_k=settings.top_k)):
            piece = chunk.get("answer")
            if piece:
                merged["answer"] += piece
                merged["sentences"] += bool(_CITED_PIECE.search(piece))
            if "refused" in chunk:
                merged["refused"] = chunk["refused"]
        return merged

    answers: dict[str, Any] = {}
    for lang in ("te", "en"):
        contained, sentences, refused = 0, [], 0
        for query in queries[lang]:
            answer = ask("mixed", query.text)
            if answer["refused"]:
                refused += 1
                continue
            contained += contains_answer(answer["answer"], query.answers)
            sentences.append(answer["sentences"])
        count = len(queries[lang])
        answers[lang] = {
            "contains_gold": contained / count,
            "refused": refused / count,
            "mean_sentences": statistics.mean(sentences) if sentences else 0.0,
            "max_sentences": max(sentences) if sentences else 0,
        }
    result["answers"] = answers
    chain_refusals = {
        "own_pool_refused": sum(
            ask(q.lang, q.text)["refused"] for q in queries["te"] + queries["en"]
        ),
        "cross_pool_answered": sum(
            not ask("en" if q.lang == "te" else "te", q.text)["refused"]
            for q in queries["te"] + queries["en"]
        ),
        "questions": len(queries["te"]) + len(queries["en"]),
    }
    result["refusal"]["chain"] = chain_refusals

    if sample_dir is not None:
        result["sample"] = evaluate_sample(config, sample_dir, embeddings, sample_questions)
        sample_window = result["sample"]["window"]
        result["refusal"]["combined_window"] = _intersect(window, sample_window)
    return result


def _quantiles(values: list[float]) -> dict[str, float]:
    """A few quantiles of best-hit scores, enough to see the refusal margin in the JSON."""
    import numpy as np

    points = {"min": 0, "p01": 1, "p05": 5, "p50": 50, "p95": 95, "p99": 99, "max": 100}
    return {name: round(float(np.percentile(values, q)), 4) for name, q in points.items()}


def _intersect(
    first: tuple[float, float] | None, second: tuple[float, float] | None
) -> tuple[float, float] | None:
    if first is None or second is None:
        return None
    low, high = max(first[0], second[0]), min(first[1], second[1])
    return (low, high) if low <= high else None


# -- the sample-corpus question set ------------------------------------------------------------


def load_sample_questions(path: Path) -> list[dict[str, Any]]:
    """The project's own question set: question, lang, expected file names ([] = must refuse)."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def ingest_sample(work: Path, model: str, embeddings: Any) -> Path:
    """Ingest the sample corpus with the real loaders into a DATA_DIR for `model`."""
    from knowledge.base import KnowledgeBase
    from knowledge.ingestion import discover_files, ingest_paths

    data_dir = work / MODEL_NAMES[model] / "sample"
    settings = base_settings(data_dir, sentence_transformer_model=model)
    files, missing = discover_files([SAMPLE_CORPUS])
    summary = ingest_paths(KnowledgeBase(settings, embeddings), settings, files)
    failures = [*missing, *summary.failures]
    if failures:
        raise RuntimeError(f"sample corpus failed to ingest: {[f.error for f in failures]}")
    return data_dir


def evaluate_sample(
    config: Config, data_dir: Path, embeddings: Any, questions: list[dict[str, Any]]
) -> dict[str, Any]:
    """Expected file in the top 3 for in-scope questions; refusal for off-topic ones."""
    from chains.rag import build_rag_chain
    from chains.schemas import RagQuestion
    from knowledge.base import KnowledgeBase

    settings = base_settings(data_dir, sentence_transformer_model=config.model, **config.overrides)
    knowledge = KnowledgeBase(settings, embeddings)
    chain = build_rag_chain(settings, retrieve=knowledge.search, llm=None)
    in_scope, top3, answered, off_topic, refused = 0, 0, 0, 0, 0
    in_scores, off_scores, misses = [], [], []
    near_misses: list[dict[str, Any]] = []
    for item in questions:
        hits = knowledge.search(item["question"], 3)
        best = hits[0].score if hits else 0.0
        answer = chain.invoke(RagQuestion(question=item["question"], top_k=settings.top_k))
        was_refused = bool(answer["refused"] if isinstance(answer, dict) else answer.refused)
        if item.get("kind") == "near_miss":
            # Off-topic, but worded like the corpus ("how do I apply for ..."): reported apart.
            near_misses.append(
                {"question": item["question"], "refused": was_refused, "score": round(best, 4)}
            )
        elif item["expected"]:
            in_scope += 1
            in_scores.append(best)
            sources = [str(hit.document.metadata.get("source", "")) for hit in hits]
            hit = any(name in sources for name in item["expected"])
            top3 += hit
            answered += not was_refused
            if not hit or was_refused:
                misses.append(
                    {
                        "question": item["question"],
                        "top3": sources,
                        "refused": was_refused,
                        "score": round(best, 4),
                    }
                )
        else:
            off_topic += 1
            off_scores.append(best)
            refused += was_refused
            if not was_refused:
                misses.append({"question": item["question"], "answered_with": round(best, 4)})
    window = None
    if in_scores and off_scores and max(off_scores) < min(in_scores):
        window = (round(max(off_scores) + 1e-4, 4), round(min(in_scores), 4))
    return {
        "in_scope": in_scope,
        "top3": top3 / in_scope if in_scope else 0.0,
        "answered": answered / in_scope if in_scope else 0.0,
        "off_topic": off_topic,
        "off_topic_refused": refused / off_topic if off_topic else 0.0,
        "in_scope_min_score": min(in_scores) if in_scores else None,
        "off_topic_max_score": max(off_scores) if off_scores else None,
        "window": window,
        "misses": misses,
        "near_misses": near_misses,
        "near_misses_refused": (
            sum(item["refused"] for item in near_misses) / len(near_misses) if near_misses else None
        ),
    }


# -- latency over HTTP -------------------------------------------------------------------------


@contextmanager
def running_server(data_dir: Path, overrides: dict[str, Any], log_path: Path) -> Iterator[str]:
    """Run `python serve.py` on a free port over `data_dir`, offline; yield its base URL."""
    from tests.servers import running_server as run_serve_py

    env = {"BEDROCK_ENABLED": "off"}
    env.update({key.upper(): str(value) for key, value in overrides.items()})
    with run_serve_py(data_dir, env, log_path) as base:
        yield base


def measure_latency(
    data_dir: Path, overrides: dict[str, Any], questions: list[Query], out: Path
) -> dict[str, Any]:
    """p50/p95 of POST /rag/invoke (extractive) on the mixed pool, after a warm-up."""
    import httpx

    with (
        running_server(data_dir, overrides, out / "serve.log") as base,
        httpx.Client(base_url=base, timeout=30) as client,
    ):

        def post(text: str) -> float:
            started = time.perf_counter()
            response = client.post("/rag/invoke", json={"input": {"question": text}})
            elapsed = time.perf_counter() - started
            response.raise_for_status()
            return elapsed

        for query in questions[:10]:
            post(query.text)  # warm-up: first searches build the calibration and BM25 profile
        times = sorted(post(query.text) for query in questions)
    return {
        "requests": len(times),
        "p50_ms": 1000 * times[len(times) // 2],
        "p95_ms": 1000 * times[min(len(times) - 1, int(len(times) * 0.95))],
        "mean_ms": 1000 * statistics.mean(times),
    }


# -- report ------------------------------------------------------------------------------------


def _f(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def markdown_report(report: dict[str, Any]) -> str:
    """The results as Markdown tables."""
    meta = report["meta"]
    lines = [
        f"# msme-rag evaluation ({'quick sample' if meta['quick'] else 'full sets'})",
        "",
        f"TyDi QA GoldP dev: {meta['questions']['te']} te + {meta['questions']['en']} en questions; "
        f"pools of {meta['passages']['te']} te + {meta['passages']['en']} en passages; "
        f"sample corpus: {meta['sample_questions']} questions. "
        f"Threshold {meta['threshold']}, top_k {meta['top_k']}, chunk_size {meta['chunk_size']}, "
        f"chunk_overlap {meta['chunk_overlap']}. Run took {meta['seconds']:.0f} s.",
        "",
        "## Retrieval (nDCG@10, Recall@k, MRR@10; te = Telugu questions on the Telugu pool, "
        "en = English on English, mixed = all questions on one pool of both)",
        "",
        "| configuration | nDCG@10 te | nDCG@10 en | nDCG@10 mixed | R@1 mixed | R@5 te | R@5 en "
        "| R@5 mixed | R@10 mixed | MRR@10 mixed |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report["configs"]:
        r = row["retrieval"]
        lines.append(
            f"| {row['label']} | {_f(r['te']['ndcg@10'])} | {_f(r['en']['ndcg@10'])} "
            f"| {_f(r['mixed']['ndcg@10'])} | {_f(r['mixed']['recall@1'])} | {_f(r['te']['recall@5'])} "
            f"| {_f(r['en']['recall@5'])} | {_f(r['mixed']['recall@5'])} "
            f"| {_f(r['mixed']['recall@10'])} | {_f(r['mixed']['mrr@10'])} |"
        )
    lines += [
        "",
        f"## Answers and refusal (extractive chain; threshold as configured, {meta['threshold']})",
        "",
        "Gold = the answer contains a TyDi gold answer string (mixed pool). False refusals: "
        "questions refused on their own language's pool; false answers: questions answered on "
        "the other language's pool. Window: thresholds meeting <= 3% / <= 10% on TyDi, and that "
        "window intersected with the sample set's (every in-scope answered, every off-topic refused).",
        "",
        "| configuration | gold te | gold en | sentences mean / max | false refusals | false answers "
        "| TyDi window | sample top-3 | sample answered | sample off-topic refused "
        "| sample near-miss refused | TyDi ∩ sample window |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report["configs"]:
        if "answers" not in row:
            continue
        a, f = row["answers"], row["refusal"]
        s = row.get("sample", {})
        mean = (a["te"]["mean_sentences"] + a["en"]["mean_sentences"]) / 2
        most = max(a["te"]["max_sentences"], a["en"]["max_sentences"])
        window = f["tydi_window"]
        combined = _window(f.get("combined_window")) if s else "–"
        lines.append(
            f"| {row['label']} | {_pct(a['te']['contains_gold'])} | {_pct(a['en']['contains_gold'])} "
            f"| {mean:.2f} / {most} | {_pct(f['false_refusals'])} | {_pct(f['false_answers'])} "
            f"| {_window(window)} | {_pct(s.get('top3'))} | {_pct(s.get('answered'))} "
            f"| {_pct(s.get('off_topic_refused'))} | {_pct(s.get('near_misses_refused'))} "
            f"| {combined} |"
        )
    measured = [report[key] for key in ("latency_baseline", "latency") if report.get(key)]
    if measured:
        lines += [
            "",
            "## Latency: POST /rag/invoke to `python serve.py` over HTTP, extractive, mixed pool",
            "",
            "| configuration | requests | p50 | p95 | mean |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {item['config']} | {item['requests']} | {item['p50_ms']:.1f} ms "
            f"| {item['p95_ms']:.1f} ms | {item['mean_ms']:.1f} ms |"
            for item in measured
        ]
    lines += ["", "## Targets (default configuration: " + report["default"] + ")", ""]
    lines += [f"- {'PASS' if ok else 'FAIL'}: {text}" for text, ok in report["targets"]]
    return "\n".join(lines) + "\n"


def _window(window: tuple[float, float] | list[float] | None) -> str:
    return "none" if window is None else f"{window[0]:.4f}–{window[1]:.4f}"


def check_targets(report: dict[str, Any], default: str) -> list[tuple[str, bool]]:
    """The issue's targets for the default configuration, each with whether it is met."""
    row = next(item for item in report["configs"] if item["name"] == default)
    r, a, f = row["retrieval"], row["answers"], row["refusal"]
    s = row.get("sample", {})
    targets = [
        (
            f"nDCG@10 >= 0.98 (te {r['te']['ndcg@10']:.3f}, en {r['en']['ndcg@10']:.3f}, "
            f"mixed {r['mixed']['ndcg@10']:.3f})",
            min(r[k]["ndcg@10"] for k in ("te", "en", "mixed")) >= 0.98,
        ),
        (
            f"Recall@5 >= 0.99 (te {r['te']['recall@5']:.3f}, en {r['en']['recall@5']:.3f}, "
            f"mixed {r['mixed']['recall@5']:.3f})",
            min(r[k]["recall@5"] for k in ("te", "en", "mixed")) >= 0.99,
        ),
        (
            f"gold in extractive answer >= 80% (te {_pct(a['te']['contains_gold'])}, "
            f"en {_pct(a['en']['contains_gold'])}), <= 3 sentences (max "
            f"{max(a['te']['max_sentences'], a['en']['max_sentences'])})",
            min(a["te"]["contains_gold"], a["en"]["contains_gold"]) >= 0.8
            and max(a["te"]["max_sentences"], a["en"]["max_sentences"]) <= 3,
        ),
        (
            f"false refusals <= 3% ({_pct(f['false_refusals'])}), false answers <= 10% "
            f"({_pct(f['false_answers'])})",
            f["false_refusals"] <= MAX_FALSE_REFUSALS and f["false_answers"] <= MAX_FALSE_ANSWERS,
        ),
    ]
    if s:
        targets.append(
            (
                f"sample set: expected document in top 3 {_pct(s['top3'])}, in-scope answered "
                f"{_pct(s['answered'])}, off-topic refused {_pct(s['off_topic_refused'])}",
                s["top3"] == 1.0 and s["answered"] == 1.0 and s["off_topic_refused"] == 1.0,
            )
        )
    latency = report.get("latency")
    if latency:
        targets.append(
            (
                f"/rag/invoke p50 <= 30 ms ({latency['p50_ms']:.1f}), p95 <= 60 ms "
                f"({latency['p95_ms']:.1f})",
                latency["p50_ms"] <= 30 and latency["p95_ms"] <= 60,
            )
        )
    return targets


def draw_chart(report: dict[str, Any], path: Path) -> None:
    """Bar chart: nDCG@10 per setting, gold-answer share and refusal errors per configuration."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [row for row in report["configs"] if "@" not in row["name"]]
    names = [row["name"] for row in rows]
    figure, (left, zoom, right) = plt.subplots(
        1, 3, figsize=(20, 5.5), gridspec_kw={"width_ratios": [3, 2, 3]}
    )
    width = 0.27
    for offset, setting in enumerate(("te", "en", "mixed")):
        values = [row["retrieval"][setting]["ndcg@10"] for row in rows]
        left.bar([i + (offset - 1) * width for i in range(len(rows))], values, width, label=setting)
    left.axhline(0.98, color="black", linestyle="--", linewidth=0.8, label="target 0.98")
    left.set_xticks(range(len(rows)), names, rotation=35, ha="right")
    left.set_ylim(0, 1.02)
    left.set_title("nDCG@10 on TyDi QA GoldP (te / en / mixed pool)")
    left.legend(loc="lower right", fontsize=8)
    close = [row for row in report["configs"] if row["name"].startswith("e5")]
    width = 0.27
    for offset, setting in enumerate(("te", "en", "mixed")):
        values = [row["retrieval"][setting]["ndcg@10"] for row in close]
        zoom.bar(
            [i + (offset - 1) * width for i in range(len(close))], values, width, label=setting
        )
    zoom.axhline(0.98, color="black", linestyle="--", linewidth=0.8)
    zoom.set_xticks(range(len(close)), [row["name"] for row in close], rotation=35, ha="right")
    zoom.set_ylim(0.96, 0.995)
    zoom.set_title("nDCG@10, E5 configurations (zoomed)")
    dense = [row for row in rows if "answers" in row]
    series = {
        "gold in answer, te": [row["answers"]["te"]["contains_gold"] for row in dense],
        "gold in answer, en": [row["answers"]["en"]["contains_gold"] for row in dense],
        "false refusals": [row["refusal"]["false_refusals"] for row in dense],
        "false answers": [row["refusal"]["false_answers"] for row in dense],
    }
    width = 0.2
    for offset, (label, values) in enumerate(series.items()):
        right.bar(
            [i + (offset - 1.5) * width for i in range(len(dense))], values, width, label=label
        )
    right.set_xticks(range(len(dense)), [row["name"] for row in dense], rotation=35, ha="right")
    right.set_ylim(0, 1.02)
    right.set_title(f"Extractive answers and refusal at threshold {report['meta']['threshold']}")
    right.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    partial = path.with_name(f"{path.name}.tmp")
    figure.savefig(partial, dpi=110, format="png")
    plt.close(figure)
    partial.replace(path)


def write_atomic(path: Path, text: str) -> None:
    """Write a results file so that a reader never sees half of it."""
    partial = path.with_name(f"{path.name}.tmp")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


# -- main --------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="sample questions and passages")
    parser.add_argument(
        "--datasets",
        type=Path,
        default=DEFAULT_DATASETS,
        help="folder holding tydiqa-te/ and tydiqa-en/",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--questions", type=int, default=60, help="questions per language with --quick"
    )
    parser.add_argument(
        "--distractors", type=int, default=140, help="extra passages per language with --quick"
    )
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--models", default="minilm,e5", help="embedding options to compare")
    parser.add_argument(
        "--weights", default="0.05,0.2,0.3", help="extra BM25 weights to try with E5"
    )
    parser.add_argument("--latency-requests", type=int, default=200)
    parser.add_argument("--no-latency", action="store_true", help="skip the HTTP latency run")
    parser.add_argument("--no-sample", action="store_true", help="skip the sample-corpus set")
    parser.add_argument(
        "--no-cache", action="store_true", help="do not reuse embeddings across runs"
    )
    parser.add_argument("--work-dir", type=Path, default=None, help="keep the pools here")
    parser.add_argument("--only", default="", help="comma-separated configuration names to run")
    parser.add_argument(
        "--latency-only", action="store_true", help="only the HTTP latency of the default setup"
    )
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the evaluation and write the results; return the report."""
    configure_offline_libraries()
    from knowledge.embeddings import build_embeddings

    started = time.perf_counter()
    datasets = {lang: load_dataset(args.datasets, lang) for lang in ("te", "en")}
    if args.quick:
        datasets = {
            lang: sample(dataset, args.questions, args.distractors, args.seed)
            for lang, dataset in datasets.items()
        }
    sample_questions = [] if args.no_sample else load_sample_questions(SAMPLE_QUESTIONS)
    if args.latency_only:
        args.models, args.weights, args.no_latency = "e5", "", False
        sample_questions = []
    wanted = {name.strip() for name in args.models.split(",") if name.strip()}
    models = [model for model, short in MODEL_NAMES.items() if short in wanted]
    weights = (
        [float(w) for w in args.weights.split(",") if w.strip()] if BUNDLED_E5 in models else []
    )
    configs = [
        config
        for config in configurations(weights)
        if config.model is None or config.model in models
    ]
    if BUNDLED_E5 not in models:
        configs = [config for config in configs if config.model is not None]
    if args.only:
        chosen = {name.strip() for name in args.only.split(",")}
        configs = [config for config in configs if config.name in chosen]
    defaults = base_settings(Path("unused"))
    default_name = (
        "e5"
        + ("+cal" if defaults.cross_language_calibration else "")
        + ("+hybrid" if defaults.hybrid_search else "")
    )

    work = args.work_dir or Path(tempfile.mkdtemp(prefix="msme-eval-"))
    work.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"configs": [], "default": default_name}
    try:
        pools: dict[str, Pools] = {}
        embeddings: dict[str, CachedEmbeddings] = {}
        sample_dirs: dict[str, Path] = {}
        for model in sorted(models, key=lambda m: m != BUNDLED_E5):  # E5 first: BM25 reads its pool
            short = MODEL_NAMES[model]
            log(f"[{short}] loading the model and indexing the pools")
            inner = build_embeddings(base_settings(work, sentence_transformer_model=model))
            cache = None if args.no_cache else CACHE_DIR / f"{short}.npz"
            embeddings[model] = CachedEmbeddings(inner, cache)
            pools[model] = build_pools(
                work,
                model,
                embeddings[model],
                datasets,
                ("mixed",) if args.latency_only else ("te", "en", "mixed"),
            )
            if sample_questions:
                sample_dirs[model] = ingest_sample(work, model, embeddings[model])
            embeddings[model].save()
        e5_pools = pools.get(BUNDLED_E5)
        if not all(config.title_prefix for config in configs) and BUNDLED_E5 in embeddings:
            log("[e5] indexing the pools with the title only on a section's first chunk")
            pools["notitle"] = build_pools(
                work, BUNDLED_E5, embeddings[BUNDLED_E5], datasets, title_prefix=False
            )
            embeddings[BUNDLED_E5].save()
        for config in [] if args.latency_only else configs:
            model = config.model or BUNDLED_E5
            row_started = time.perf_counter()
            # The sample corpus is ingested once per model with the default chunking (title on
            # every chunk); the no-title row is measured on TyDi only.
            row = evaluate_config(
                config,
                pools[model if config.title_prefix else "notitle"],
                embeddings[model],
                datasets,
                sample_dirs.get(model) if config.model and config.title_prefix else None,
                sample_questions,
                e5_pools,
            )
            embeddings[model].save()
            row["seconds"] = time.perf_counter() - row_started
            report["configs"].append(row)
            log(
                f"[{config.name}] nDCG@10 te/en/mixed "
                + " / ".join(f"{row['retrieval'][s]['ndcg@10']:.3f}" for s in ("te", "en", "mixed"))
                + f" ({row['seconds']:.0f} s)"
            )
        if not args.no_latency and e5_pools is not None:
            default_config = next(c for c in configs if c.name == default_name)
            mixed_questions = [
                q
                for pair in zip(datasets["te"].queries, datasets["en"].queries, strict=False)
                for q in pair
            ]
            count = min(args.latency_requests, len(mixed_questions), 60 if args.quick else 10**6)
            # The dense-only pipeline, measured in the same run, shows what the defaults add.
            baseline = {"cross_language_calibration": False, "hybrid_search": False}
            for key, name, overrides in (
                ("latency_baseline", "e5", baseline),
                ("latency", default_name, default_config.overrides),
            ):
                log(f"[latency] {count} POST /rag/invoke to serve.py ({name}, mixed pool)")
                report[key] = {
                    "config": name,
                    **measure_latency(e5_pools.mixed, overrides, mixed_questions[:count], args.out),
                }
    finally:
        if args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    report["meta"] = {
        "quick": args.quick,
        "questions": {lang: len(d.queries) for lang, d in datasets.items()},
        "passages": {lang: len(d.passages) for lang, d in datasets.items()},
        "sample_questions": len(sample_questions),
        "threshold": defaults.relevance_threshold,
        "top_k": defaults.top_k,
        "chunk_size": defaults.chunk_size,
        "chunk_overlap": defaults.chunk_overlap,
        "lexical_weight": defaults.lexical_weight,
        "seconds": time.perf_counter() - started,
    }
    if any(row["name"] == default_name for row in report["configs"]):
        report["targets"] = check_targets(report, default_name)
    else:
        report["targets"] = []
    stem = ("bench" if args.latency_only else "eval") + ("-quick" if args.quick else "")
    markdown = markdown_report(report)
    write_atomic(args.out / f"{stem}.md", markdown)
    write_atomic(
        args.out / f"{stem}.json", json.dumps(report, indent=1, ensure_ascii=False, default=list)
    )
    if report["configs"]:
        draw_chart(report, args.out / f"{stem}.png")
    print(markdown)
    return report


def main(argv: list[str] | None = None) -> int:
    """Entry point: run, print the table, exit 0 (the table says which targets pass)."""
    run(parse_args(argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
