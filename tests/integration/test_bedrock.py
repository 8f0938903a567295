"""The Bedrock path without AWS: botocore's Stubber for converse, a local event-stream server for streaming."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from chains.llm import build_llm
from chains.rag import build_rag_chain
from knowledge.base import KnowledgeBase
from prompts.rag import NO_ANSWER_MARKER, REFUSAL_MESSAGES
from settings import Settings
from tests.conftest import make_settings
from tests.fakes.bedrock import FakeBedrock

FAKE_CREDENTIALS = {"aws_access_key_id": "AKIATESTTESTTEST", "aws_secret_access_key": "test-secret"}
QUESTION = "How much is a Shishu loan under Mudra?"


def _bedrock_settings(knowledge: KnowledgeBase, **overrides: Any) -> Settings:
    return make_settings(
        knowledge.settings.data_dir, bedrock_enabled="on", **FAKE_CREDENTIALS, **overrides
    )


def _converse_response(text: str) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 321, "outputTokens": 17, "totalTokens": 338},
        "metrics": {"latencyMs": 420},
    }


@pytest.fixture
def stubbed_client() -> Iterator[tuple[Any, Stubber, list[dict[str, Any]]]]:
    client = boto3.client("bedrock-runtime", region_name="ap-south-1", **FAKE_CREDENTIALS)
    sent: list[dict[str, Any]] = []
    client.meta.events.register(
        "provide-client-params.bedrock-runtime.Converse",
        lambda params, **_: sent.append(params),
    )
    with Stubber(client) as stubber:
        yield client, stubber, sent


def test_converse_answer_with_the_strict_prompt_and_excerpts(
    sample_knowledge: KnowledgeBase, stubbed_client: tuple[Any, Stubber, list[dict[str, Any]]]
) -> None:
    client, stubber, sent = stubbed_client
    stubber.add_response("converse", _converse_response("Shishu loans go up to Rs 50,000 [1]."))
    settings = _bedrock_settings(sample_knowledge, bedrock_streaming=False)
    chain = build_rag_chain(
        settings, retrieve=sample_knowledge.search, llm=build_llm(settings, client=client)
    )
    result = chain.invoke({"question": QUESTION})

    stubber.assert_no_pending_responses()
    assert result["answer"] == "Shishu loans go up to Rs 50,000 [1]."
    assert result["llm_used"] is True and result["refused"] is False
    assert result["sources"][0]["source"] == "mudra_loans.docx"
    request = sent[0]
    assert request["modelId"] == settings.bedrock_model_id
    system = request["system"][0]["text"]
    assert "ONLY the numbered document excerpts" in system and NO_ANSWER_MARKER in system
    assert "Answer in English" in system
    user_text = request["messages"][0]["content"][0]["text"]
    assert "[1] (Mudra loans for small businesses)" in user_text
    assert "Shishu loans cover amounts up to Rs 50,000" in user_text
    assert user_text.endswith(f"Question: {QUESTION}")


def test_converse_no_answer_marker_becomes_a_refusal_in_telugu(
    sample_knowledge: KnowledgeBase, stubbed_client: tuple[Any, Stubber, list[dict[str, Any]]]
) -> None:
    client, stubber, sent = stubbed_client
    stubber.add_response("converse", _converse_response(NO_ANSWER_MARKER))
    settings = _bedrock_settings(sample_knowledge, bedrock_streaming=False)
    chain = build_rag_chain(
        settings, retrieve=sample_knowledge.search, llm=build_llm(settings, client=client)
    )
    result = chain.invoke({"question": "ముద్రా రుణం కోసం ఏ బ్యాంకు ఉత్తమం?", "lang": "te"})
    assert result["refused"] is True and result["llm_used"] is True
    assert result["answer"] == REFUSAL_MESSAGES["te"]
    assert "Telugu" in sent[0]["system"][0]["text"]


def test_converse_error_falls_back_to_the_extractive_answer(
    sample_knowledge: KnowledgeBase, stubbed_client: tuple[Any, Stubber, list[dict[str, Any]]]
) -> None:
    client, stubber, _ = stubbed_client
    stubber.add_client_error(
        "converse", service_error_code="ModelTimeoutException", http_status_code=408
    )
    settings = _bedrock_settings(sample_knowledge, bedrock_streaming=False)
    chain = build_rag_chain(
        settings, retrieve=sample_knowledge.search, llm=build_llm(settings, client=client)
    )
    result = chain.invoke({"question": QUESTION})
    assert result["llm_used"] is False and result["refused"] is False
    assert "50,000" in result["answer"] and "[1]" in result["answer"]


@pytest.fixture
def fake_bedrock() -> Iterator[FakeBedrock]:
    server = FakeBedrock(pieces=["Shishu loans ", "go up to ", "Rs 50,000 [1]."]).start()
    yield server
    server.stop()


def test_streaming_through_a_local_event_stream_server(
    sample_knowledge: KnowledgeBase, fake_bedrock: FakeBedrock
) -> None:
    settings = _bedrock_settings(
        sample_knowledge, aws_endpoint_url_bedrock_runtime=fake_bedrock.url
    )
    chain = build_rag_chain(settings, retrieve=sample_knowledge.search, llm=build_llm(settings))
    chunks = list(chain.stream({"question": QUESTION}))

    assert chunks[0]["sources"][0]["source"] == "mudra_loans.docx"
    pieces = [chunk["answer"] for chunk in chunks if "answer" in chunk]
    assert pieces == ["Shishu loans ", "go up to ", "Rs 50,000 [1]."]
    assert chunks[-1] == {"llm_used": True, "refused": False}
    assert fake_bedrock.paths[0].endswith("/converse-stream")
    assert settings.bedrock_model_id in fake_bedrock.paths[0].replace("%3A", ":")
    body = fake_bedrock.requests[0]
    assert "ONLY the numbered document excerpts" in json.dumps(body["system"])


def test_throttling_is_retried_a_bounded_number_of_times_then_answered_extractively(
    sample_knowledge: KnowledgeBase, fake_bedrock: FakeBedrock
) -> None:
    fake_bedrock.error_status = 429
    settings = _bedrock_settings(
        sample_knowledge, aws_endpoint_url_bedrock_runtime=fake_bedrock.url, bedrock_max_attempts=2
    )
    chain = build_rag_chain(settings, retrieve=sample_knowledge.search, llm=build_llm(settings))
    result = chain.invoke({"question": QUESTION})
    assert len(fake_bedrock.paths) == 2
    assert result["llm_used"] is False and result["refused"] is False
    assert "50,000" in result["answer"]
