"""The ingestion pipeline shared by the CLI and the API: file -> elements -> chunks -> index."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.documents import Document
from langchain_core.indexing import IndexingResult

from knowledge.base import KnowledgeBase
from loaders import SUPPORTED_EXTENSIONS, DocumentLoadError, chunk_elements, load_document
from settings import Settings


@dataclass
class FileOutcome:
    """What ingesting one file did."""

    path: Path
    doc_id: str
    chunks: int = 0
    added: int = 0
    skipped: int = 0
    deleted: int = 0
    error: str | None = None


@dataclass
class IngestSummary:
    """Totals over a batch of files."""

    outcomes: list[FileOutcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failures(self) -> list[FileOutcome]:
        """The files that could not be ingested."""
        return [outcome for outcome in self.outcomes if outcome.error]

    def total(self, name: str) -> int:
        """Sum of one counter (chunks, added, skipped, deleted) over the batch."""
        return sum(int(getattr(outcome, name)) for outcome in self.outcomes)


def doc_id_for_path(path: Path) -> str:
    """A stable document id for a file on disk: the same path always maps to the same id."""
    return hashlib.sha256(str(path.resolve()).encode("utf-8")).hexdigest()[:16]


def discover_files(paths: Iterable[Path]) -> tuple[list[Path], list[FileOutcome]]:
    """Expand folders into the supported files under them; report paths that do not exist."""
    found: list[Path] = []
    missing: list[FileOutcome] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(
                    file
                    for file in path.rglob("*")
                    if file.is_file()
                    and file.suffix.lower() in SUPPORTED_EXTENSIONS
                    and not any(part.startswith(".") for part in file.relative_to(path).parts)
                )
            )
        elif path.is_file():
            found.append(path)
        else:
            missing.append(
                FileOutcome(path=path, doc_id="", error=f"{path}: no such file or folder")
            )
    return found, missing


def ingest_file(
    knowledge: KnowledgeBase,
    settings: Settings,
    path: Path,
    *,
    doc_id: str | None = None,
    title: str | None = None,
    source: str | None = None,
) -> FileOutcome:
    """Parse, chunk and index one file; a parse failure is reported in the outcome, not raised."""
    # Parse before taking the index's write lock: OCR can take a while.
    outcome, chunks = _parse(settings, path, doc_id=doc_id, title=title, source=source)
    if chunks is not None:
        _record(outcome, chunks, knowledge.index_documents(outcome.doc_id, chunks))
    return outcome


def ingest_paths(
    knowledge: KnowledgeBase, settings: Settings, files: Iterable[Path]
) -> IngestSummary:
    """Ingest each file in turn, publishing the index once at the end; bad files never stop it."""
    summary = IngestSummary()
    started = time.perf_counter()
    with knowledge.batch() as write:
        for path in files:
            outcome, chunks = _parse(settings, path)
            if chunks is not None:
                _record(outcome, chunks, write(outcome.doc_id, chunks))
            summary.outcomes.append(outcome)
    summary.seconds = time.perf_counter() - started
    return summary


def _parse(
    settings: Settings,
    path: Path,
    *,
    doc_id: str | None = None,
    title: str | None = None,
    source: str | None = None,
) -> tuple[FileOutcome, list[Document] | None]:
    outcome = FileOutcome(path=path, doc_id=doc_id or doc_id_for_path(path))
    try:
        loaded = load_document(path, ocr_languages=settings.ocr_languages)
    except DocumentLoadError as exc:
        outcome.error = str(exc)
        return outcome, None
    chunks = chunk_elements(
        loaded.elements,
        doc_id=outcome.doc_id,
        title=title or loaded.title,
        source=source or loaded.source,
        chunk_size=settings.chunk_size,
        chunk_overlap=settings.chunk_overlap,
        title_prefix=settings.chunk_title_prefix,
    )
    return outcome, chunks


def _record(outcome: FileOutcome, chunks: list[Document], result: IndexingResult) -> None:
    outcome.chunks = len(chunks)
    outcome.added = result["num_added"] + result["num_updated"]
    outcome.skipped = result["num_skipped"]
    outcome.deleted = result["num_deleted"]
