"""Chain logic with a fake chat model and fixed excerpts: streaming order, refusal, fallback."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from chains.rag import build_rag_chain
from knowledge.base import ScoredChunk
from prompts.rag import NO_ANSWER_MARKER, REFUSAL_MESSAGES
from settings import Settings

EXCERPT = "A micro enterprise may invest up to Rs 2.5 crore. Its turnover may reach Rs 10 crore."


def _settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, relevance_threshold=0.8)  # type: ignore[call-arg]


def _retrieve(score: float) -> Any:
    def retrieve(query: str, k: int) -> list[ScoredChunk]:
        document = Document(
            page_content=EXCERPT,
            metadata={
                "doc_id": "d1",
                "title": "Classification",
                "source": "c.md",
                "chunk_index": 0,
                "page": None,
                "lang": "en",
            },
        )
        return [ScoredChunk(document=document, score=score)][:k]

    return retrieve


def _fake_llm(*answers: str) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter([AIMessage(content=answer) for answer in answers]))


class _FailingLLM(GenericFakeChatModel):
    """A chat model whose every call fails, like Bedrock after its retries are spent."""

    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        raise RuntimeError("ThrottlingException: Rate exceeded")

    def _generate(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("ThrottlingException: Rate exceeded")


def test_stream_sends_sources_first_then_answer_pieces(tmp_path: Path) -> None:
    chain = build_rag_chain(
        _settings(tmp_path), retrieve=_retrieve(0.9), llm=_fake_llm("Up to Rs 10 crore [1].")
    )
    chunks = list(chain.stream({"question": "What is the turnover limit?"}))
    assert list(chunks[0]) == ["sources", "lang"]
    assert chunks[0]["sources"][0]["source"] == "c.md"
    pieces = [chunk["answer"] for chunk in chunks if "answer" in chunk]
    assert len(pieces) > 1, "the answer must arrive in pieces"
    assert "".join(pieces) == "Up to Rs 10 crore [1]."
    assert chunks[-1] == {"llm_used": True, "refused": False}


def test_invoke_merges_the_stream_into_one_answer(tmp_path: Path) -> None:
    chain = build_rag_chain(
        _settings(tmp_path), retrieve=_retrieve(0.9), llm=_fake_llm("Up to Rs 10 crore [1].")
    )
    result = chain.invoke({"question": "What is the turnover limit?", "top_k": 2})
    assert result["answer"] == "Up to Rs 10 crore [1]."
    assert result["llm_used"] is True and result["refused"] is False
    assert result["lang"] == "en"
    assert result["sources"][0]["excerpt"] == EXCERPT


def test_model_saying_it_does_not_know_becomes_the_polite_refusal(tmp_path: Path) -> None:
    chain = build_rag_chain(
        _settings(tmp_path), retrieve=_retrieve(0.9), llm=_fake_llm(NO_ANSWER_MARKER)
    )
    chunks = list(chain.stream({"question": "Who is the minister?", "lang": "te"}))
    assert not any(NO_ANSWER_MARKER in chunk.get("answer", "") for chunk in chunks)
    # The fake model's answers are used up by the first call: build again for invoke.
    chain = build_rag_chain(
        _settings(tmp_path), retrieve=_retrieve(0.9), llm=_fake_llm(NO_ANSWER_MARKER)
    )
    result = chain.invoke({"question": "Who is the minister?", "lang": "te"})
    assert result["refused"] is True
    assert result["answer"] == REFUSAL_MESSAGES["te"]


def test_low_scores_refuse_without_calling_the_llm(tmp_path: Path) -> None:
    llm = _fake_llm()  # no answers queued: any call would raise StopIteration
    chain = build_rag_chain(_settings(tmp_path), retrieve=_retrieve(0.5), llm=llm)
    result = chain.invoke({"question": "What is the capital of France?"})
    assert result == {
        "sources": [],
        "lang": "en",
        "answer": REFUSAL_MESSAGES["en"],
        "llm_used": False,
        "refused": True,
    }


def test_llm_failure_falls_back_to_a_cited_extractive_answer(tmp_path: Path) -> None:
    chain = build_rag_chain(
        _settings(tmp_path), retrieve=_retrieve(0.9), llm=_FailingLLM(messages=iter([]))
    )
    result = chain.invoke({"question": "What turnover can a micro enterprise have?"})
    assert result["llm_used"] is False and result["refused"] is False
    assert result["answer"].endswith("[1]")
    assert any(sentence in result["answer"] for sentence in EXCERPT.split(". "))


def test_async_stream_matches_sync_stream(tmp_path: Path) -> None:
    chain = build_rag_chain(_settings(tmp_path), retrieve=_retrieve(0.9), llm=None)

    async def collect() -> list[dict[str, Any]]:
        return [chunk async for chunk in chain.astream({"question": "What is the turnover limit?"})]

    assert asyncio.run(collect()) == list(chain.stream({"question": "What is the turnover limit?"}))


def test_input_is_validated(tmp_path: Path) -> None:
    chain = build_rag_chain(_settings(tmp_path), retrieve=_retrieve(0.9), llm=None)
    with pytest.raises(ValueError, match="question"):
        chain.invoke({"question": ""})
    with pytest.raises(ValueError, match="lang"):
        chain.invoke({"question": "hi", "lang": "fr"})
