"""The condense step: LLM rewrite, its fallback, the no-LLM follow-up query, and Amazon Translate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
from botocore.stub import Stubber
from langchain_core.documents import Document
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from chains.condense import CondenseInput, build_condense_chain, is_follow_up
from chains.rag import build_rag_chain
from chains.schemas import ChatTurn
from knowledge.base import ScoredChunk
from settings import Settings

HISTORY = [
    {"role": "human", "content": "What is the investment limit for a micro enterprise?"},
    {"role": "ai", "content": "Up to Rs 2.5 crore [1]."},
]


def _settings(tmp_path: Path, **overrides: Any) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, relevance_threshold=0.5, **overrides)  # type: ignore[call-arg]


class _Recorder:
    """A retriever that remembers what it was asked."""

    def __init__(self) -> None:
        self.queries: list[str] = []

    def __call__(self, query: str, k: int) -> list[ScoredChunk]:
        self.queries.append(query)
        document = Document(
            page_content="A small enterprise may invest up to Rs 25 crore.",
            metadata={
                "doc_id": "d1",
                "title": "Classification",
                "source": "c.md",
                "chunk_index": 0,
                "page": None,
            },
        )
        return [ScoredChunk(document=document, score=0.9)]


def test_follow_up_cues() -> None:
    assert is_follow_up("and for small ones?")
    assert is_follow_up("What documents do I need for it?")
    assert is_follow_up("మరి చిన్న సంస్థలకు ఎంత?")
    assert not is_follow_up("What is the interest on delayed payments to a supplier?")


def test_without_llm_a_follow_up_searches_with_the_recent_question(tmp_path: Path) -> None:
    retrieve = _Recorder()
    chain = build_rag_chain(_settings(tmp_path), retrieve=retrieve, llm=None)
    chain.invoke({"question": "and for small ones?", "chat_history": HISTORY})
    chain.invoke(
        {"question": "What is the GST registration threshold for goods?", "chat_history": HISTORY}
    )
    assert retrieve.queries == [
        "What is the investment limit for a micro enterprise?\nand for small ones?",
        "What is the GST registration threshold for goods?",  # standalone: left alone
    ]


def test_with_llm_the_follow_up_is_rewritten_before_retrieval(tmp_path: Path) -> None:
    retrieve = _Recorder()
    llm = GenericFakeChatModel(
        messages=iter(
            [
                AIMessage(content="What is the investment limit for a small enterprise?"),
                AIMessage(content="Up to Rs 25 crore [1]."),
            ]
        )
    )
    chain = build_rag_chain(_settings(tmp_path), retrieve=retrieve, llm=llm)
    answer = chain.invoke({"question": "and for small ones?", "chat_history": HISTORY})
    assert retrieve.queries == ["What is the investment limit for a small enterprise?"]
    assert answer["answer"] == "Up to Rs 25 crore [1]."
    assert answer["llm_used"] is True


def test_a_failing_llm_falls_back_to_the_recent_turns(tmp_path: Path) -> None:
    class Failing(GenericFakeChatModel):
        def _generate(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("ThrottlingException")

    condense = build_condense_chain(_settings(tmp_path), llm=Failing(messages=iter([])))
    turns = [ChatTurn.model_validate(turn) for turn in HISTORY]
    result = condense.invoke(CondenseInput(question="and for small ones?", chat_history=turns))
    assert result.search_query.endswith("\nand for small ones?")
    assert result.rewritten


def test_telugu_questions_are_translated_for_search_when_enabled(tmp_path: Path) -> None:
    client = boto3.client(
        "translate", region_name="ap-south-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    question = "సూక్ష్మ సంస్థకు పెట్టుబడి పరిమితి ఎంత?"
    with Stubber(client) as stubber:
        stubber.add_response(
            "translate_text",
            {
                "TranslatedText": "What is the investment limit for a micro enterprise?",
                "SourceLanguageCode": "te",
                "TargetLanguageCode": "en",
            },
            {"Text": question, "SourceLanguageCode": "te", "TargetLanguageCode": "en"},
        )
        condense = build_condense_chain(
            _settings(tmp_path, translate_questions=True), llm=None, translate_client=client
        )
        result = condense.invoke(CondenseInput(question=question, lang="te"))
        english = condense.invoke(CondenseInput(question="What is Udyam registration?"))
        stubber.assert_no_pending_responses()
    assert result.standalone == question  # the answer stays in Telugu
    assert result.search_query == "What is the investment limit for a micro enterprise?"
    assert english.search_query == "What is Udyam registration?"
