"""Reindexing builds off to the side and switches readers atomically, in this and other instances."""

from __future__ import annotations

import uuid

import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from jobs.tasks import staging_settings
from knowledge.base import KnowledgeBase
from settings import Settings

pytestmark = pytest.mark.integration


def _chunks(doc_id: str, texts: list[str]) -> list[Document]:
    return [
        Document(
            page_content=text,
            metadata={
                "doc_id": doc_id,
                "title": doc_id,
                "source": f"{doc_id}.txt",
                "chunk_index": index,
                "page": None,
                "lang": "en",
            },
        )
        for index, text in enumerate(texts)
    ]


OLD = ["Solar dryers for turmeric cost forty thousand rupees in Nizamabad."]
NEW = [
    "Handloom weavers in Pochampally receive yarn at subsidised rates.",
    "The yarn subsidy is claimed at the district handloom office.",
]


def test_staging_settings_isolate_index_and_records(settings: Settings) -> None:
    job_id = uuid.uuid4()
    staged = staging_settings(settings, job_id)
    assert staged.resolved_data_dir == settings.resolved_data_dir / "reindex" / str(job_id)
    assert staged.sqlalchemy_url.startswith(f"sqlite:///{staged.resolved_data_dir}")
    assert staged.chunk_size == settings.chunk_size
    assert staged.jwt_secret_key == settings.jwt_secret_key


def test_replace_with_switches_every_reader_at_once(
    settings: Settings, embeddings: Embeddings
) -> None:
    serving = KnowledgeBase(settings, embeddings)
    serving.index_documents("old", _chunks("old", OLD))
    other_process = KnowledgeBase(settings, embeddings)
    staged = KnowledgeBase(staging_settings(settings, uuid.uuid4()), embeddings)
    staged.index_documents("new", _chunks("new", NEW))

    # Until the switch, readers only see the old content.
    assert {hit.document.metadata["doc_id"] for hit in serving.search("yarn subsidy", 5)} == {"old"}
    assert other_process.stats().chunks == 1

    assert serving.replace_with(staged) == 2
    for reader in (serving, other_process):
        hits = reader.search("Where is the yarn subsidy claimed?", 5)
        assert {hit.document.metadata["doc_id"] for hit in hits} == {"new"}
        assert reader.stats().documents == 1 and reader.stats().chunks == 2

    # The record manager agrees with the new index: re-indexing skips, reopening repairs nothing.
    assert serving.index_documents("new", _chunks("new", NEW))["num_skipped"] == 2
    assert serving.record_manager.list_keys(group_ids=["old"]) == []
    reopened = KnowledgeBase(settings, embeddings)
    assert reopened.stats().chunks == 2
    assert len(reopened.record_manager.list_keys()) == 2
