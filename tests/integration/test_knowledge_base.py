"""Incremental indexing, deletion, atomic saves and crash repair, on real FAISS and SQLite."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from langchain_core.embeddings import Embeddings

from knowledge.base import KnowledgeBase
from knowledge.ingestion import doc_id_for_path, ingest_file, ingest_paths
from knowledge.vector_store import FaissDirectory
from loaders import chunk_elements, load_document
from settings import Settings
from tests.conftest import REPO_ROOT, SAMPLE_CORPUS


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_reingesting_an_unchanged_file_adds_nothing(
    knowledge: KnowledgeBase, settings: Settings, tmp_path: Path
) -> None:
    source = shutil.copy(SAMPLE_CORPUS / "en/udyam_registration.txt", tmp_path / "udyam.txt")
    first = ingest_file(knowledge, settings, Path(source))
    second = ingest_file(knowledge, settings, Path(source))
    assert first.error is None and first.added == first.chunks > 0
    assert (second.added, second.deleted, second.skipped) == (0, 0, first.chunks)
    assert knowledge.stats().chunks == first.chunks


def test_a_changed_file_replaces_its_chunks(
    knowledge: KnowledgeBase, settings: Settings, tmp_path: Path
) -> None:
    path = _write(tmp_path / "notice.txt", "Old notice\n\nThe office opens at 9 am on weekdays.")
    ingest_file(knowledge, settings, path)
    _write(path, "New notice\n\nThe office now opens at 10 am, Monday to Saturday.")
    outcome = ingest_file(knowledge, settings, path)
    assert outcome.added >= 1 and outcome.deleted >= 1
    texts = [chunk.page_content for chunk in knowledge.all_chunks()]
    assert any("10 am" in text for text in texts)
    assert not any("9 am" in text for text in texts)


def test_deleting_a_document_removes_all_its_chunks(
    knowledge: KnowledgeBase, settings: Settings, tmp_path: Path
) -> None:
    keep = shutil.copy(SAMPLE_CORPUS / "en/msme_classification.md", tmp_path / "keep.md")
    drop = shutil.copy(SAMPLE_CORPUS / "te/cgtmse_guarantee_te.txt", tmp_path / "drop.txt")
    ingest_file(knowledge, settings, Path(keep))
    dropped = ingest_file(knowledge, settings, Path(drop))
    removed = knowledge.delete_document(doc_id_for_path(Path(drop)))
    assert removed == dropped.chunks > 0
    assert knowledge.indexed_doc_ids() == {doc_id_for_path(Path(keep))}
    # The record manager forgot it too: ingesting it again adds its chunks again.
    assert ingest_file(knowledge, settings, Path(drop)).added == dropped.chunks


def test_a_file_that_fails_leaves_the_index_untouched(
    knowledge: KnowledgeBase, settings: Settings, tmp_path: Path
) -> None:
    good = shutil.copy(SAMPLE_CORPUS / "en/udyam_registration.txt", tmp_path / "good.txt")
    ingest_file(knowledge, settings, Path(good))
    before = knowledge.stats()
    bad = tmp_path / "bad.docx"
    bad.write_bytes(b"PK\x03\x04 definitely not a docx")
    outcome = ingest_file(knowledge, settings, bad)
    assert outcome.error is not None and outcome.error.startswith("bad.docx: ")
    assert knowledge.stats() == before


def test_a_crash_during_save_leaves_the_previous_index_loadable(
    knowledge: KnowledgeBase,
    settings: Settings,
    embeddings: Embeddings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = _write(tmp_path / "a.txt", "Shishu loans go up to Rs 50,000 under Mudra.")
    ingest_file(knowledge, settings, first)
    saved = knowledge.directory.current()

    def crash(*args: object, **kwargs: object) -> None:
        raise OSError("disk full (simulated crash before the pointer switch)")

    monkeypatch.setattr("knowledge.vector_store.os.replace", crash)
    second = _write(tmp_path / "b.txt", "Tarun loans go up to Rs 10 lakh under Mudra.")
    with pytest.raises(OSError, match="simulated crash"):
        ingest_file(knowledge, settings, second)
    monkeypatch.undo()

    assert knowledge.directory.current() == saved
    reopened = KnowledgeBase(settings, embeddings)
    texts = [chunk.page_content for chunk in reopened.all_chunks()]
    # (every chunk starts with its document's title, here the file name "a.txt" -> "A")
    assert texts == ["A\n\nShishu loans go up to Rs 50,000 under Mudra."]
    # The record manager had recorded b.txt's chunk; reopening repaired that, so it is re-added.
    assert ingest_file(reopened, settings, second).added == 1
    assert reopened.stats().chunks == 2


def test_orphan_vectors_without_records_are_removed_on_open(
    knowledge: KnowledgeBase, settings: Settings, embeddings: Embeddings, tmp_path: Path
) -> None:
    ingest_file(knowledge, settings, _write(tmp_path / "a.txt", "GST composition is 1 percent."))
    knowledge.record_manager.delete_keys(knowledge.record_manager.list_keys())
    reopened = KnowledgeBase(settings, embeddings)
    assert reopened.stats().chunks == 0


def test_save_keeps_one_previous_generation_and_no_leftovers(
    knowledge: KnowledgeBase, settings: Settings, tmp_path: Path
) -> None:
    for number in range(4):
        ingest_file(
            knowledge, settings, _write(tmp_path / f"n{number}.txt", f"Notice number {number}.")
        )
    entries = sorted(path.name for path in settings.index_dir.iterdir())
    generations = [name for name in entries if name.startswith("gen-")]
    assert len(generations) == 2
    assert not [name for name in entries if name.startswith((".staging", ".CURRENT"))]
    assert FaissDirectory(settings.index_dir).current() is not None


def test_a_server_process_sees_what_another_process_ingested(
    knowledge: KnowledgeBase, settings: Settings, tmp_path: Path
) -> None:
    assert knowledge.search("Mudra Shishu loan limit", 3) == []
    env = {**os.environ, "DATA_DIR": str(settings.resolved_data_dir)}
    completed = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "ingest.py"),
            "--quiet",
            str(SAMPLE_CORPUS / "en/mudra_loans.docx"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    hits = knowledge.search("Mudra Shishu loan limit", 3)
    assert hits and hits[0].document.metadata["source"] == "mudra_loans.docx"


def test_ingesting_a_folder_loads_and_saves_the_index_once(
    knowledge: KnowledgeBase, settings: Settings, tmp_path: Path
) -> None:
    files = [_write(tmp_path / f"n{number}.txt", f"Notice number {number}.") for number in range(3)]
    summary = ingest_paths(knowledge, settings, files)
    assert summary.total("added") == 3 and not summary.failures
    generations = [path for path in settings.index_dir.iterdir() if path.name.startswith("gen-")]
    assert len(generations) == 1  # one save for the batch, not one per file


def test_a_batch_that_fails_midway_publishes_what_it_wrote(
    knowledge: KnowledgeBase, settings: Settings, embeddings: Embeddings, tmp_path: Path
) -> None:
    path = _write(tmp_path / "a.txt", "Tarun loans go up to Rs 10 lakh under Mudra.")
    outcome = ingest_file(knowledge, settings, path)
    knowledge.delete_document(outcome.doc_id)
    assert knowledge.all_chunks() == []
    chunks = chunk_elements(
        load_document(path).elements,
        doc_id=outcome.doc_id,
        title="A",
        source="a.txt",
        chunk_size=settings.chunk_size,
        chunk_overlap=settings.chunk_overlap,
    )
    with pytest.raises(RuntimeError, match="disk went away"), knowledge.batch() as write:
        write(outcome.doc_id, chunks)
        raise RuntimeError("disk went away")
    reopened = KnowledgeBase(settings, embeddings)
    assert reopened.stats().chunks == 1
    # Records and index agree: the same chunks are recognised, not added twice.
    assert ingest_file(reopened, settings, path).added == 0
