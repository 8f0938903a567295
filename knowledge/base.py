"""The knowledge base: incremental indexing into FAISS with a SQL record manager, and search."""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from langchain_classic.indexes import SQLRecordManager
from langchain_community.vectorstores import FAISS
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.indexing import IndexingResult, index

from knowledge.vector_store import FaissDirectory, Generation
from settings import Settings

RECORD_NAMESPACE = "faiss/chunks"
SOURCE_ID_KEY = "doc_id"


@dataclass(frozen=True)
class ScoredChunk:
    """A retrieved chunk and its cosine similarity to the question."""

    document: Document
    score: float


@dataclass(frozen=True)
class KnowledgeStats:
    """Counts for the health route."""

    documents: int
    chunks: int


class KnowledgeBase:
    """FAISS + SQLRecordManager behind one lock; readers pick up new generations on their own.

    Writers (this process or another, e.g. `ingest.py` while the server runs) take an exclusive
    file lock, start from the newest saved generation, index, save a new generation and swap it
    in. Readers keep using the store they hold until the swap, so answers never see a half-built
    index, and a reader in another process notices the new generation by the pointer file.
    """

    def __init__(self, settings: Settings, embeddings: Embeddings) -> None:
        self.settings = settings
        self.embeddings = embeddings
        self.directory = FaissDirectory(settings.index_dir)
        self.directory.root.mkdir(parents=True, exist_ok=True)
        self.record_manager = SQLRecordManager(RECORD_NAMESPACE, db_url=settings.sqlalchemy_url)
        self.record_manager.create_schema()
        self._swap_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._store, self._generation = self.directory.load(embeddings)
        with self._writing() as store:
            self._reconcile(store)

    # -- reading -------------------------------------------------------------------------------

    @property
    def store(self) -> FAISS:
        """The current FAISS store, reloaded when another process saved a newer generation."""
        on_disk = self.directory.current()
        if on_disk is not None and on_disk != self._generation:
            with self._swap_lock:
                if self.directory.current() != self._generation:
                    self._store, self._generation = self.directory.load(self.embeddings)
        return self._store

    def search(self, query: str, k: int) -> list[ScoredChunk]:
        """The `k` chunks most similar to `query`, best first."""
        store = self.store
        if store.index.ntotal == 0:
            return []
        hits = store.similarity_search_with_score(query, k=min(k, store.index.ntotal))
        return [ScoredChunk(document=doc, score=float(score)) for doc, score in hits]

    def stats(self) -> KnowledgeStats:
        """How many documents and chunks are searchable now."""
        store = self.store
        doc_ids = {
            document.metadata.get(SOURCE_ID_KEY)
            for document in store.docstore._dict.values()  # type: ignore[attr-defined]
        }
        return KnowledgeStats(documents=len(doc_ids), chunks=store.index.ntotal)

    def all_chunks(self) -> list[Document]:
        """Every chunk in the current store (for lexical indexes and evaluation)."""
        store = self.store
        return [store.docstore.search(chunk_id) for chunk_id in store.index_to_docstore_id.values()]  # type: ignore[misc]

    # -- writing -------------------------------------------------------------------------------

    def index_documents(self, doc_id: str, chunks: Sequence[Document]) -> IndexingResult:
        """Make `chunks` the content of document `doc_id`: unchanged chunks are skipped, stale ones deleted."""
        if any(chunk.metadata.get(SOURCE_ID_KEY) != doc_id for chunk in chunks):
            raise ValueError(f"every chunk must carry {SOURCE_ID_KEY}={doc_id!r}")
        with self._writing() as store:
            if not chunks:
                deleted = self._delete_doc(store, doc_id)
                result = IndexingResult(num_added=0, num_updated=0, num_skipped=0, num_deleted=deleted)
            else:
                result = index(
                    list(chunks),
                    self.record_manager,
                    store,
                    cleanup="incremental",
                    source_id_key=SOURCE_ID_KEY,
                    key_encoder="sha256",
                )
            if result["num_added"] or result["num_deleted"] or result["num_updated"]:
                self._publish(store)
        return result

    def delete_document(self, doc_id: str) -> int:
        """Remove every chunk of `doc_id`; return how many were removed."""
        with self._writing() as store:
            deleted = self._delete_doc(store, doc_id)
            if deleted:
                self._publish(store)
        return deleted

    def indexed_doc_ids(self) -> set[str]:
        """The document ids that have chunks in the store."""
        return {
            str(document.metadata.get(SOURCE_ID_KEY))
            for document in self.all_chunks()
        }

    @contextmanager
    def _writing(self) -> Iterator[FAISS]:
        """Serialise writers across threads and processes; yield a private copy of the newest store."""
        lock_path: Path = self.directory.root / ".write.lock"
        with self._write_lock, lock_path.open("a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                # Start from what is on disk: another process may have written since we loaded.
                store, _ = self.directory.load(self.embeddings)
                yield store
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)

    def _publish(self, store: FAISS) -> None:
        generation: Generation = self.directory.save(store)
        with self._swap_lock:
            self._store, self._generation = store, generation

    def _delete_doc(self, store: FAISS, doc_id: str) -> int:
        keys = self.record_manager.list_keys(group_ids=[doc_id])
        present = [key for key in keys if key in store.docstore._dict]  # type: ignore[attr-defined]
        if present:
            store.delete(present)
        if keys:
            self.record_manager.delete_keys(keys)
        return len(present)

    def _reconcile(self, store: FAISS) -> None:
        """Repair a crash between the record-manager update and the index save, both ways."""
        recorded = set(self.record_manager.list_keys())
        stored = set(store.index_to_docstore_id.values())
        missing_from_store = recorded - stored
        if missing_from_store:
            # The records claim chunks the saved index lacks: forget them so they are re-added.
            self.record_manager.delete_keys(sorted(missing_from_store))
        orphans = stored - recorded
        if orphans:
            store.delete(sorted(orphans))
            self._publish(store)
