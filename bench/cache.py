"""An embedding cache for the harness: every text is embedded once per model, across runs."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

_BATCH = 32


def _key(kind: str, text: str) -> str:
    return hashlib.sha1(f"{kind}\0{text}".encode(), usedforsecurity=False).hexdigest()


class CachedEmbeddings(Embeddings):
    """Wrap a model so that repeated texts (three pools, many settings) are embedded only once.

    The vectors are exactly the wrapped model's; with `path` they also persist between runs in
    one `.npz` file, written atomically.
    """

    def __init__(self, inner: Embeddings, path: Path | None = None) -> None:
        self.inner = inner
        self.path = path
        self._vectors: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        self._dirty = False
        self.computed = 0
        if path is not None and path.is_file():
            with np.load(path) as stored:
                keys, matrix = stored["keys"], stored["vectors"]
            self._vectors = {str(key): row for key, row in zip(keys, matrix, strict=True)}

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages, computing only the ones not seen before."""
        keys = [_key("passage", text) for text in texts]
        missing = sorted(
            {
                key: text for key, text in zip(keys, texts, strict=True) if key not in self._vectors
            }.items()
        )
        for start in range(0, len(missing), _BATCH):
            batch = missing[start : start + _BATCH]
            vectors = self.inner.embed_documents([text for _, text in batch])
            with self._lock:
                for (key, _), vector in zip(batch, vectors, strict=True):
                    self._vectors[key] = np.asarray(vector, dtype=np.float32)
                self.computed += len(batch)
                self._dirty = True
        return [self._vectors[key].tolist() for key in keys]

    def embed_query(self, text: str) -> list[float]:
        """Embed one question (cached)."""
        key = _key("query", text)
        vector = self._vectors.get(key)
        if vector is None:
            vector = np.asarray(self.inner.embed_query(text), dtype=np.float32)
            with self._lock:
                self._vectors[key] = vector
                self.computed += 1
                self._dirty = True
        return [float(value) for value in vector]

    def save(self) -> None:
        """Write the cache file (atomically) if anything new was embedded."""
        if self.path is None or not self._dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            keys = np.array(list(self._vectors), dtype="U40")
            matrix = np.stack(list(self._vectors.values())) if self._vectors else np.zeros((0, 0))
            self._dirty = False
        partial = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        with partial.open("wb") as handle:
            np.savez(handle, keys=keys, vectors=matrix)
        partial.replace(self.path)
