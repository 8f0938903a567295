"""The prompt that rewrites a follow-up question into a standalone one, and follow-up cue words."""

from __future__ import annotations

from langchain_core.prompts import ChatPromptTemplate

CONDENSE_SYSTEM_PROMPT = """You rewrite the user's latest message into one standalone question \
that can be understood without the conversation. Keep the user's language (English or Telugu) \
and their meaning; fill in what "it", "they", "those", "and for ...?" and similar words refer \
to from the conversation. Do not answer the question. If the latest message is already \
standalone, return it unchanged. Reply with the question only."""

CONDENSE_REQUEST = """Conversation so far:
{chat_history}

Latest message: {question}

Standalone question:"""

#: Variables: chat_history (lines "User: ..." / "Assistant: ..."), question.
CONDENSE_PROMPT = ChatPromptTemplate.from_messages(
    [("system", CONDENSE_SYSTEM_PROMPT), ("human", CONDENSE_REQUEST)]
)

#: Words that mark a message as leaning on the conversation before it (English and Telugu).
# fmt: off
FOLLOW_UP_OPENERS = (
    "and", "also", "what about", "how about", "but", "then", "so", "same", "or",
    "ఇంకా", "మరి", "అలాగే", "మరియు", "కానీ",
)
FOLLOW_UP_REFERENCES = frozenset({
    "it", "its", "they", "them", "their", "those", "these", "that", "this", "ones", "one",
    "he", "she", "there", "such", "same", "above", "former", "latter",
    "అది", "అవి", "వాటి", "దాని", "దానికి", "వాటికి", "ఆ", "ఈ",
})
# fmt: on
