"""Input and output models of the RAG chain, shared by LangServe, the API and the tests."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Language = Literal["en", "te"]


class ChatTurn(BaseModel):
    """One earlier message of the conversation."""

    role: Literal["human", "ai"]
    content: str = Field(max_length=4000)


class RagQuestion(BaseModel):
    """A question to answer from the knowledge base."""

    question: str = Field(min_length=1, max_length=2000, description="The user's question.")
    lang: Language | None = Field(
        default=None, description="Answer language; detected from the question when null."
    )
    top_k: int = Field(default=4, ge=1, le=10, description="How many excerpts to retrieve.")
    chat_history: list[ChatTurn] = Field(
        default_factory=list, description="Earlier turns, oldest first, for follow-up questions."
    )


class Source(BaseModel):
    """A retrieved excerpt the answer may cite as [n] (n = its position, from 1)."""

    doc_id: str
    title: str
    source: str
    chunk_index: int
    page: int | None = None
    score: float
    excerpt: str


class RagAnswer(BaseModel):
    """The answer, its sources, and how it was produced."""

    answer: str
    sources: list[Source]
    llm_used: bool
    refused: bool
    lang: Language
