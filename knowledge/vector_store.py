"""FAISS persisted under DATA_DIR in generations: a save never touches the index being read."""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from langchain_community.docstore.in_memory import InMemoryDocstore
from langchain_community.vectorstores import FAISS
from langchain_community.vectorstores.utils import DistanceStrategy
from langchain_core.embeddings import Embeddings

_POINTER = "CURRENT"
_GENERATION_PREFIX = "gen-"
_KEEP_OLD_GENERATIONS = 1


def empty_faiss(embeddings: Embeddings) -> FAISS:
    """An empty cosine-similarity FAISS store (embeddings are L2-normalised, so dot product = cosine)."""
    import faiss

    dimension = len(embeddings.embed_query("dimension probe"))
    return FAISS(
        embedding_function=embeddings,
        index=faiss.IndexFlatIP(dimension),
        docstore=InMemoryDocstore(),
        index_to_docstore_id={},
        distance_strategy=DistanceStrategy.MAX_INNER_PRODUCT,
        normalize_L2=False,
    )


@dataclass(frozen=True)
class Generation:
    """Identity of the saved index a process has loaded: the pointer file's inode and mtime."""

    name: str
    stamp: tuple[int, int]


class FaissDirectory:
    """Saves and loads FAISS generations; the CURRENT pointer file is replaced atomically."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def pointer(self) -> Path:
        """The file naming the current generation."""
        return self.root / _POINTER

    def current(self) -> Generation | None:
        """The generation on disk now, or None when nothing was saved yet."""
        try:
            stat = self.pointer.stat()
            name = self.pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return Generation(name=name, stamp=(stat.st_ino, stat.st_mtime_ns))

    def load(self, embeddings: Embeddings) -> tuple[FAISS, Generation | None]:
        """Load the current generation, or return an empty store when there is none."""
        generation = self.current()
        if generation is None:
            return empty_faiss(embeddings), None
        store = FAISS.load_local(
            str(self.root / generation.name),
            embeddings,
            # The pickle is our own docstore, written by save() below into DATA_DIR.
            allow_dangerous_deserialization=True,
            distance_strategy=DistanceStrategy.MAX_INNER_PRODUCT,
            normalize_L2=False,
        )
        return store, generation

    def save(self, store: FAISS) -> Generation:
        """Write `store` as a new generation, then point CURRENT at it in one atomic rename."""
        self.root.mkdir(parents=True, exist_ok=True)
        name = f"{_GENERATION_PREFIX}{uuid.uuid4().hex}"
        staging = self.root / f".staging-{name}"
        store.save_local(str(staging))
        for file in staging.iterdir():
            _fsync_file(file)
        staging.rename(self.root / name)
        _fsync_dir(self.root)

        pointer_tmp = self.root / f".{_POINTER}.{name}.tmp"
        pointer_tmp.write_text(name, encoding="utf-8")
        _fsync_file(pointer_tmp)
        pointer_tmp.replace(self.pointer)
        _fsync_dir(self.root)
        self._remove_old_generations(keep=name)
        generation = self.current()
        assert generation is not None
        return generation

    def _remove_old_generations(self, keep: str) -> None:
        """Delete leftovers of interrupted saves and all but the newest older generation."""
        for leftover in self.root.glob(".staging-*"):
            shutil.rmtree(leftover, ignore_errors=True)
        for leftover in self.root.glob(f".{_POINTER}.*.tmp"):
            leftover.unlink(missing_ok=True)
        older = sorted(
            (path for path in self.root.glob(f"{_GENERATION_PREFIX}*") if path.name != keep),
            key=lambda path: path.stat().st_mtime_ns,
            reverse=True,
        )
        # Keep one previous generation: a reader that resolved CURRENT just before the switch
        # can still open it.
        for path in older[_KEEP_OLD_GENERATIONS:]:
            shutil.rmtree(path, ignore_errors=True)


def _fsync_file(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
