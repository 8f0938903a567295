"""The knowledge base: incremental indexing into FAISS with a SQL record manager, and search."""

from __future__ import annotations

import fcntl
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from langchain_classic.indexes import SQLRecordManager
from langchain_community.vectorstores import FAISS
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.indexing import IndexingResult, index

from knowledge.lexical import BM25Index
from knowledge.text import detect_lang
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
class LanguageProfile:
    """Per-language centroid of the stored vectors, the language of each FAISS row, and BM25.

    The multilingual model scores any passage in the question's language higher than one in the
    other language, relevant or not. The mean similarity of a question to a language's passages
    is its dot product with that language's centroid; shifting each passage's score by the gap
    between the question-language mean and its own language's mean removes that bias without
    any labelled data. The BM25 index (one document per FAISS row, the chunk with its title)
    serves hybrid search; both are computed once per loaded generation.
    """

    centroids: dict[str, np.ndarray]
    row_langs: list[str]
    lexical: BM25Index | None = None

    @classmethod
    def of(cls, store: FAISS) -> LanguageProfile:
        """Compute the profile of a store (one pass over its vectors and texts)."""
        total = store.index.ntotal
        documents: list[Document] = [
            store.docstore.search(store.index_to_docstore_id[row])  # type: ignore[misc]
            for row in range(total)
        ]
        row_langs = [str(document.metadata.get("lang", "en")) for document in documents]
        if total == 0:
            return cls(centroids={}, row_langs=[])
        vectors = store.index.reconstruct_n(0, total)
        langs = np.array(row_langs)
        centroids = {lang: vectors[langs == lang].mean(axis=0) for lang in set(row_langs)}
        return cls(
            centroids=centroids,
            row_langs=row_langs,
            lexical=BM25Index([_lexical_text(document) for document in documents]),
        )

    def offsets(self, query_vector: np.ndarray, query_lang: str) -> dict[str, float]:
        """Score shift per passage language for this query (0 for the query's own language)."""
        own = self.centroids.get(query_lang)
        if own is None or len(self.centroids) < 2:
            return {}
        own_mean = float(query_vector @ own)
        return {lang: own_mean - float(query_vector @ c) for lang, c in self.centroids.items()}


def _lexical_text(document: Document) -> str:
    """A chunk as BM25 sees it: with its document's title, which later chunks do not repeat."""
    title = str(document.metadata.get("title", ""))
    text = document.page_content
    return text if not title or text.startswith(title) else f"{title}\n{text}"


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
        self._profiles: weakref.WeakKeyDictionary[FAISS, LanguageProfile] = (
            weakref.WeakKeyDictionary()
        )
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
        """The `k` chunks most relevant to `query`, best first.

        The score is the cosine similarity, language-calibrated when CROSS_LANGUAGE_CALIBRATION
        is on; with HYBRID_SEARCH, plus LEXICAL_WEIGHT times the chunk's BM25 coverage of the
        query (0..1), which lifts passages that share the question's rare words, such as names
        and scheme titles. RELEVANCE_THRESHOLD is calibrated on this same score (bench/).
        """
        store = self.store
        total = store.index.ntotal
        if total == 0:
            return []
        settings = self.settings
        vector = np.asarray(self.embeddings.embed_query(query), dtype=np.float32)
        profile = (
            self._profile(store)
            if settings.cross_language_calibration or settings.hybrid_search
            else None
        )
        offsets: dict[str, float] = {}
        row_langs: list[str] = []
        if profile is not None and settings.cross_language_calibration:
            offsets, row_langs = profile.offsets(vector, detect_lang(query)), profile.row_langs
        lexical = profile.lexical if profile is not None and settings.hybrid_search else None
        # Fetch extra candidates so that calibration and BM25 can lift lower-ranked passages.
        fetch = min(total, max(k * 25, 200)) if offsets or lexical else min(total, k)
        scores, rows = store.index.search(vector.reshape(1, -1), fetch)
        dense = {
            int(row): float(score)
            for score, row in zip(scores[0], rows[0], strict=True)
            if row >= 0
        }
        bonus: dict[int, float] = {}
        if lexical is not None and settings.lexical_weight > 0:
            coverage = lexical.coverage(query)
            count = min(total, max(k * 5, 50))
            best = np.argpartition(-coverage, count - 1)[:count]
            for row in best.tolist():
                if coverage[row] <= 0:
                    continue
                if row not in dense:
                    dense[row] = float(vector @ store.index.reconstruct(row))
            bonus = {row: settings.lexical_weight * float(coverage[row]) for row in dense}
        ranked: list[tuple[float, int]] = []
        for row, score in dense.items():
            shift = offsets.get(row_langs[row], 0.0) if offsets else 0.0
            ranked.append((score + shift + bonus.get(row, 0.0), row))
        ranked.sort(key=lambda item: (-item[0], item[1]))
        return [
            ScoredChunk(
                document=store.docstore.search(store.index_to_docstore_id[row]),  # type: ignore[arg-type]
                score=score,
            )
            for score, row in ranked[:k]
        ]

    def _profile(self, store: FAISS) -> LanguageProfile:
        profile = self._profiles.get(store)
        if profile is None:
            profile = LanguageProfile.of(store)
            self._profiles[store] = profile
        return profile

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
        with self.batch() as write:
            return write(doc_id, chunks)

    @contextmanager
    def batch(self) -> Iterator[Callable[[str, Sequence[Document]], IndexingResult]]:
        """Index many documents under one write lock and publish one generation at the end.

        Yields `write(doc_id, chunks)` with the semantics of `index_documents`. Ingesting a
        folder this way loads and saves the index once instead of once per file. If the body
        fails, what was written so far is still published, so that the record manager and the
        saved index agree.
        """
        with self._writing() as store:
            changed = False

            def write(doc_id: str, chunks: Sequence[Document]) -> IndexingResult:
                nonlocal changed
                result = self._index_into(store, doc_id, chunks)
                changed = changed or bool(
                    result["num_added"] or result["num_deleted"] or result["num_updated"]
                )
                return result

            try:
                yield write
            finally:
                if changed:
                    self._publish(store)

    def _index_into(self, store: FAISS, doc_id: str, chunks: Sequence[Document]) -> IndexingResult:
        if any(chunk.metadata.get(SOURCE_ID_KEY) != doc_id for chunk in chunks):
            raise ValueError(f"every chunk must carry {SOURCE_ID_KEY}={doc_id!r}")
        if not chunks:
            deleted = self._delete_doc(store, doc_id)
            return IndexingResult(num_added=0, num_updated=0, num_skipped=0, num_deleted=deleted)
        return index(
            list(chunks),
            self.record_manager,
            store,
            cleanup="incremental",
            source_id_key=SOURCE_ID_KEY,
            key_encoder="sha256",
        )

    def delete_document(self, doc_id: str) -> int:
        """Remove every chunk of `doc_id`; return how many were removed."""
        with self._writing() as store:
            deleted = self._delete_doc(store, doc_id)
            if deleted:
                self._publish(store)
        return deleted

    def replace_with(self, staged: KnowledgeBase) -> int:
        """Make the content of `staged` (built under another DATA_DIR) ours in one atomic switch.

        Readers keep the old generation until the CURRENT pointer moves. The record manager is
        updated around the save so that a crash at any point is repaired by `_reconcile`: new
        keys are recorded first, the generation is published, then keys of the old one dropped.
        Returns the number of chunks now searchable.
        """
        new_store = staged.store
        doc_of_key = {
            str(chunk_id): str(document.metadata.get(SOURCE_ID_KEY))
            for chunk_id, document in new_store.docstore._dict.items()  # type: ignore[attr-defined]
        }
        with self._writing():
            old_keys = set(self.record_manager.list_keys())
            if doc_of_key:
                self.record_manager.update(list(doc_of_key), group_ids=list(doc_of_key.values()))
            self._publish(new_store)
            stale = sorted(old_keys - set(doc_of_key))
            if stale:
                self.record_manager.delete_keys(stale)
        return int(new_store.index.ntotal)

    def indexed_doc_ids(self) -> set[str]:
        """The document ids that have chunks in the store."""
        return {str(document.metadata.get(SOURCE_ID_KEY)) for document in self.all_chunks()}

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
