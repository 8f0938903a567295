"""The condense step: a follow-up plus the chat history -> a standalone question to search."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda
from pydantic import BaseModel, Field

from chains.schemas import ChatTurn, Language
from knowledge.text import detect_lang, word_tokens
from prompts.condense import CONDENSE_PROMPT, FOLLOW_UP_OPENERS, FOLLOW_UP_REFERENCES
from settings import Settings

logger = logging.getLogger(__name__)

#: Without an LLM, a message this short (in words) is taken as a follow-up.
SHORT_FOLLOW_UP_WORDS = 4
#: Without an LLM, how many earlier user messages are added to a follow-up's search query.
RECENT_HUMAN_TURNS = 2
#: Earlier messages shown to the LLM when it rewrites a follow-up.
LLM_HISTORY_MESSAGES = 8


class CondenseInput(BaseModel):
    """A question and the conversation before it."""

    question: str
    lang: Language = "en"
    chat_history: list[ChatTurn] = Field(default_factory=list)


class CondensedQuestion(BaseModel):
    """The question to answer and the text to retrieve with."""

    standalone: str = Field(description="The question, understandable without the history.")
    search_query: str = Field(description="What retrieval searches for (maybe translated).")
    rewritten: bool = Field(description="Whether the history changed the question.")


def is_follow_up(question: str) -> bool:
    """Whether a message leans on the conversation before it (a cue word, or very short)."""
    text = question.strip().casefold()
    tokens = word_tokens(text)
    if len(tokens) <= SHORT_FOLLOW_UP_WORDS:
        return True
    if any(text == opener or text.startswith(f"{opener} ") for opener in FOLLOW_UP_OPENERS):
        return True
    return any(token in FOLLOW_UP_REFERENCES for token in tokens)


def merge_with_recent_turns(question: str, history: Sequence[ChatTurn]) -> str:
    """The follow-up preceded by the latest user messages, so retrieval sees the topic again."""
    recent = [turn.content.strip() for turn in history if turn.role == "human"]
    return "\n".join([*[text for text in recent[-RECENT_HUMAN_TURNS:] if text], question])


def format_history(history: Sequence[ChatTurn]) -> str:
    """History as "User:" / "Assistant:" lines for the condense prompt."""
    names = {"human": "User", "ai": "Assistant"}
    return "\n".join(f"{names[turn.role]}: {turn.content}" for turn in history)


class QueryTranslator:
    """Amazon Translate: Telugu search queries to English (for English-heavy knowledge bases)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def to_english(self, text: str) -> str:
        """The English translation; the original text if Translate fails."""
        try:
            response = self.client.translate_text(
                Text=text, SourceLanguageCode="te", TargetLanguageCode="en"
            )
            return str(response["TranslatedText"]).strip() or text
        except Exception:
            logger.exception("Amazon Translate failed; searching with the Telugu question")
            return text


def build_condense_chain(
    settings: Settings,
    *,
    llm: BaseChatModel | None,
    translate_client: Any | None = None,
) -> Runnable[CondenseInput, CondensedQuestion]:
    """Build the condense step: an LLM rewrite when `llm` is given, else recent turns + question."""
    rewrite: Runnable[dict[str, Any], str] | None = None
    if llm is not None:
        rewrite = (CONDENSE_PROMPT | llm | StrOutputParser()).with_config(
            run_name="RewriteWithBedrock"
        )
    translator: QueryTranslator | None = None
    if settings.translate_questions and (translate_client is not None or settings.aws_configured):
        if translate_client is None:
            import boto3

            kwargs = settings.boto3_client_kwargs("translate")
            translate_client = boto3.client("translate", **kwargs)  # type: ignore[call-overload]
        translator = QueryTranslator(translate_client)

    def condense(
        payload: CondenseInput | dict[str, Any], config: RunnableConfig
    ) -> CondensedQuestion:
        request = (
            payload if isinstance(payload, CondenseInput) else CondenseInput.model_validate(payload)
        )
        question = request.question.strip()
        history = request.chat_history
        standalone = question
        if history:
            if rewrite is not None:
                standalone = _rewrite(rewrite, question, history, config)
            elif is_follow_up(question):
                standalone = merge_with_recent_turns(question, history)
        search_query = standalone
        if translator is not None and detect_lang(standalone) == "te":
            search_query = translator.to_english(standalone)
        return CondensedQuestion(
            standalone=standalone, search_query=search_query, rewritten=standalone != question
        )

    return (
        RunnableLambda(condense)
        .with_config(run_name="CondenseQuestion")
        .with_types(input_type=CondenseInput, output_type=CondensedQuestion)
    )


def _rewrite(
    rewrite: Runnable[dict[str, Any], str],
    question: str,
    history: Sequence[ChatTurn],
    config: RunnableConfig,
) -> str:
    try:
        text = rewrite.invoke(
            {"chat_history": format_history(history[-LLM_HISTORY_MESSAGES:]), "question": question},
            config,
        )
    except Exception:
        logger.exception("condensing with Bedrock failed; searching with the recent turns")
        text = ""
    lines = [line.strip().strip('"').strip() for line in text.strip().splitlines()]
    standalone = next((line for line in lines if line), "")
    if not standalone or len(standalone) > 2000:
        return merge_with_recent_turns(question, history) if is_follow_up(question) else question
    return standalone
