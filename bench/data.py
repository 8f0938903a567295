"""The TyDi QA sets in BEIR layout, turned into chunks by the project's own chunker."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.documents import Document

from loaders.chunking import chunk_elements
from settings import Settings

LANGS = ("te", "en")


@dataclass(frozen=True)
class Query:
    """A benchmark question, its gold passage and its gold answer strings."""

    id: str
    text: str
    lang: str
    gold: str
    answers: tuple[str, ...]


@dataclass(frozen=True)
class Passage:
    """A corpus passage (a Wikipedia paragraph) and its article title."""

    id: str
    title: str
    text: str
    lang: str


@dataclass
class Dataset:
    """Passages and questions of one language."""

    lang: str
    passages: list[Passage] = field(default_factory=list)
    queries: list[Query] = field(default_factory=list)


def _read_jsonl(path: Path) -> list[dict[str, object]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_dataset(root: Path, lang: str) -> Dataset:
    """Read `root/tydiqa-<lang>/{corpus,queries}.jsonl` and `qrels/test.tsv`."""
    folder = root / f"tydiqa-{lang}"
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: dataset folder not found (pass --datasets DIR)")
    gold: dict[str, str] = {}
    with (folder / "qrels" / "test.tsv").open(encoding="utf-8") as handle:
        next(handle)  # header
        for line in handle:
            query_id, corpus_id, score = line.rstrip("\n").split("\t")
            if int(score) > 0:
                gold[query_id] = corpus_id
    passages = [
        Passage(
            id=str(row["_id"]), title=str(row.get("title", "")), text=str(row["text"]), lang=lang
        )
        for row in _read_jsonl(folder / "corpus.jsonl")
    ]
    queries = []
    for row in _read_jsonl(folder / "queries.jsonl"):
        query_id = str(row["_id"])
        metadata = row.get("metadata") or {}
        answers = (
            tuple(str(a) for a in metadata.get("answers", [])) if isinstance(metadata, dict) else ()
        )
        if query_id in gold:
            queries.append(Query(query_id, str(row["text"]), lang, gold[query_id], answers))
    return Dataset(lang=lang, passages=passages, queries=queries)


def sample(dataset: Dataset, questions: int, distractors: int, seed: int) -> Dataset:
    """A smaller set: `questions` random questions, their gold passages and random other passages."""
    rng = random.Random(seed)
    queries = rng.sample(dataset.queries, min(questions, len(dataset.queries)))
    needed = {query.gold for query in queries}
    others = [passage for passage in dataset.passages if passage.id not in needed]
    extra = {p.id for p in rng.sample(others, min(distractors, len(others)))}
    passages = [p for p in dataset.passages if p.id in needed or p.id in extra]
    return Dataset(lang=dataset.lang, passages=passages, queries=queries)


def passage_chunks(
    passages: list[Passage], settings: Settings, doc_id: str, *, title_prefix: bool = True
) -> list[Document]:
    """Chunk passages as the loaders would a document: a title element, then the text.

    A whole pool is one knowledge-base document (`doc_id`) so that indexing it is one write;
    each chunk's `source` is its passage id, which is what the metrics compare. `title_prefix`
    is passed to the chunker (on by default, as in the product).
    """
    from unstructured.documents.elements import Element, NarrativeText, Title

    chunks: list[Document] = []
    for passage in passages:
        elements: list[Element] = [NarrativeText(passage.text)]
        if passage.title:
            elements.insert(0, Title(passage.title))
        for chunk in chunk_elements(
            elements,
            doc_id=doc_id,
            title=passage.title,
            source=passage.id,
            chunk_size=settings.chunk_size,
            chunk_overlap=settings.chunk_overlap,
            title_prefix=title_prefix,
        ):
            chunk.metadata["chunk_index"] = len(chunks)
            chunks.append(chunk)
    return chunks
