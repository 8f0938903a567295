"""The retrieval chain: question -> excerpts -> strict Bedrock prompt (or extractive answer) -> cited answer."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.runnables import Runnable, RunnableConfig, RunnableGenerator, RunnableLambda
from langchain_core.runnables.utils import AddableDict

from chains.condense import CondenseInput, build_condense_chain
from chains.extractive import select_sentences
from chains.schemas import Language, RagAnswer, RagQuestion
from knowledge.base import ScoredChunk
from knowledge.text import detect_lang
from prompts.rag import (
    LANGUAGE_NAMES,
    NO_ANSWER_MARKER,
    OTHER_LANGUAGE_NOTES,
    RAG_PROMPT,
    REFUSAL_MESSAGES,
)
from settings import Settings

logger = logging.getLogger(__name__)

#: Retrieval as the chain sees it: (query, k) -> scored chunks, best first.
Retrieve = Callable[[str, int], list[ScoredChunk]]
#: The chain as Python sees it: a RagQuestion (or its dict form) in, a RagAnswer-shaped dict out.
RagChain = Runnable[RagQuestion | dict[str, Any], dict[str, Any]]
State = dict[str, Any]


def build_rag_chain(
    settings: Settings, *, retrieve: Retrieve, llm: BaseChatModel | None
) -> RagChain:
    """Build the RAG chain; with `llm=None` answers are extractive. Streams sources, then the answer."""
    answerer = _Answerer(settings, llm)
    max_top_k = settings.max_top_k
    condense = build_condense_chain(settings, llm=llm)

    def prepare(payload: RagQuestion | dict[str, Any], config: RunnableConfig) -> State:
        question = (
            payload if isinstance(payload, RagQuestion) else RagQuestion.model_validate(payload)
        )
        text = question.question.strip()
        lang: Language = question.lang or detect_lang(text)
        # Follow-ups ("and for small ones?") become standalone questions before retrieval.
        condensed = condense.invoke(
            CondenseInput(question=text, lang=lang, chat_history=question.chat_history), config
        )
        return {
            "question": condensed.standalone,
            "lang": lang,
            "top_k": min(question.top_k, max_top_k),
            "search_query": condensed.search_query,
        }

    def retrieve_excerpts(state: State) -> State:
        return {**state, "hits": retrieve(state["search_query"], state["top_k"])}

    # RunnableGenerator passes the config to functions that accept it; its stubs do not say so.
    answer: Runnable[State, dict[str, Any]] = RunnableGenerator(  # type: ignore[assignment]
        answerer.transform,  # type: ignore[arg-type]
        answerer.atransform,  # type: ignore[arg-type]
    ).with_config(run_name="AnswerFromExcerpts")
    chain = (
        RunnableLambda(prepare).with_config(run_name="PrepareQuestion")
        | RunnableLambda(retrieve_excerpts).with_config(run_name="RetrieveExcerpts")
        | answer
    )
    # The declared types are what LangServe publishes as schemas and validates input against;
    # at run time the output is the RagAnswer-shaped dict merged from the stream.
    return chain.with_config(run_name="RagChain").with_types(
        input_type=RagQuestion,
        output_type=RagAnswer,  # type: ignore[arg-type]
    )


class _Answerer:
    """Turns retrieved excerpts into answer chunks: sources first, then the text in pieces."""

    def __init__(self, settings: Settings, llm: BaseChatModel | None) -> None:
        self.threshold = settings.relevance_threshold
        self.max_sentences = settings.answer_max_sentences
        self.generate: Runnable[dict[str, Any], str] | None = None
        if llm is not None:
            self.generate = (RAG_PROMPT | llm | StrOutputParser()).with_config(
                run_name="GenerateWithBedrock"
            )

    # Chunks are AddableDicts so that invoke() merges them: answer pieces concatenate.

    def transform(self, inputs: Iterator[State], config: RunnableConfig) -> Iterator[AddableDict]:
        """Answer chunks for one question (sync)."""
        for chunk in self.stream(inputs, config):
            yield AddableDict(chunk)

    async def atransform(
        self, inputs: AsyncIterator[State], config: RunnableConfig
    ) -> AsyncIterator[AddableDict]:
        """Answer chunks for one question (async)."""
        async for chunk in self.astream(inputs, config):
            yield AddableDict(chunk)

    # The sync and async paths differ only in how they iterate the LLM stream.

    def stream(self, inputs: Iterator[State], config: RunnableConfig) -> Iterator[dict[str, Any]]:
        """Answer chunks for one question (sync)."""
        state = _last(inputs)
        relevant = self._relevant(state)
        yield self._head(state, relevant)
        if not relevant:
            yield self._refusal(state)
            return
        if self.generate is not None:
            gate = _MarkerGate()
            try:
                for piece in self.generate.stream(self._prompt_inputs(state, relevant), config):
                    if text := gate.feed(piece):
                        yield {"answer": text}
            except Exception:
                logger.exception("Bedrock failed; answering extractively")
            if gate.settled or gate.pending:
                yield from self._finish_llm(state, gate)
                return
        yield from self._extractive(state, relevant)

    async def astream(
        self, inputs: AsyncIterator[State], config: RunnableConfig
    ) -> AsyncIterator[dict[str, Any]]:
        """Answer chunks for one question (async)."""
        state: State = {}
        async for item in inputs:
            state = item
        relevant = self._relevant(state)
        yield self._head(state, relevant)
        if not relevant:
            yield self._refusal(state)
            return
        if self.generate is not None:
            gate = _MarkerGate()
            try:
                async for piece in self.generate.astream(
                    self._prompt_inputs(state, relevant), config
                ):
                    if text := gate.feed(piece):
                        yield {"answer": text}
            except Exception:
                logger.exception("Bedrock failed; answering extractively")
            if gate.settled or gate.pending:
                for chunk in self._finish_llm(state, gate):
                    yield chunk
                return
        for chunk in self._extractive(state, relevant):
            yield chunk

    def _relevant(self, state: State) -> list[ScoredChunk]:
        hits: list[ScoredChunk] = state["hits"]
        return [hit for hit in hits if hit.score >= self.threshold]

    @staticmethod
    def _head(state: State, relevant: list[ScoredChunk]) -> dict[str, Any]:
        sources = [
            {
                "doc_id": str(hit.document.metadata.get("doc_id", "")),
                "title": str(hit.document.metadata.get("title", "")),
                "source": str(hit.document.metadata.get("source", "")),
                "chunk_index": int(hit.document.metadata.get("chunk_index", 0)),
                "page": hit.document.metadata.get("page"),
                "score": round(hit.score, 4),
                "excerpt": hit.document.page_content,
            }
            for hit in relevant
        ]
        return {"sources": sources, "lang": state["lang"]}

    @staticmethod
    def _refusal(state: State, *, llm_used: bool = False) -> dict[str, Any]:
        return {"answer": REFUSAL_MESSAGES[state["lang"]], "llm_used": llm_used, "refused": True}

    @staticmethod
    def _prompt_inputs(state: State, relevant: list[ScoredChunk]) -> dict[str, Any]:
        excerpts = "\n\n".join(
            f"[{number}] ({hit.document.metadata.get('title', '')})\n{hit.document.page_content}"
            for number, hit in enumerate(relevant, start=1)
        )
        return {
            "excerpts": excerpts,
            "question": state["question"],
            "language_name": LANGUAGE_NAMES[state["lang"]],
        }

    def _finish_llm(self, state: State, gate: _MarkerGate) -> Iterator[dict[str, Any]]:
        text, refused = gate.finish()
        if refused:
            yield self._refusal(state, llm_used=True)
            return
        if text:
            yield {"answer": text}
        yield {"llm_used": True, "refused": False}

    def _extractive(self, state: State, relevant: list[ScoredChunk]) -> Iterator[dict[str, Any]]:
        sentences = select_sentences(
            state["question"],
            [hit.document.page_content for hit in relevant],
            max_sentences=self.max_sentences,
        )
        lang: Language = state["lang"]
        if sentences and all(detect_lang(s.text, lang) != lang for s in sentences):
            yield {"answer": OTHER_LANGUAGE_NOTES[lang]}
        for index, sentence in enumerate(sentences):
            separator = "" if index == 0 else " "
            yield {"answer": f"{separator}{sentence.text} [{sentence.citation}]"}
        yield {"llm_used": False, "refused": False}


class _MarkerGate:
    """Holds back the start of the LLM stream until it is clear it is not the no-answer marker."""

    def __init__(self) -> None:
        self.pending = ""
        self.settled = False

    def feed(self, piece: str) -> str:
        """Return the text that can be sent now."""
        if self.settled:
            return piece
        self.pending += piece
        head = self.pending.lstrip()
        if len(head) < len(NO_ANSWER_MARKER) and NO_ANSWER_MARKER.startswith(head):
            return ""
        if head.startswith(NO_ANSWER_MARKER):
            return ""
        self.settled = True
        text, self.pending = self.pending, ""
        return text

    def finish(self) -> tuple[str, bool]:
        """The text still held back, and whether the model said it has no answer."""
        head = self.pending.strip()
        refused = not self.settled and (head == "" or head.startswith(NO_ANSWER_MARKER))
        return ("" if refused else self.pending), refused


def _last(inputs: Iterator[State]) -> State:
    state: State = {}
    for item in inputs:
        state = item
    return state
