"""The strict answer prompt for Bedrock and the fixed messages the chain sends without an LLM."""

from __future__ import annotations

from langchain_core.prompts import ChatPromptTemplate

#: The model says exactly this when the excerpts do not hold the answer; the chain turns it
#: into the polite refusal below and marks the answer `refused`.
NO_ANSWER_MARKER = "NOT_IN_DOCUMENTS"

STRICT_SYSTEM_PROMPT = f"""You are the assistant of a small business in India. You answer questions \
using ONLY the numbered document excerpts the user message gives you.

Rules:
1. Use only facts stated in the excerpts. Do not add facts from your own knowledge, even if you \
are sure of them. Do not guess numbers, dates, names or limits.
2. After every sentence that uses an excerpt, cite it with its number in square brackets, like [1] \
or [2][3].
3. If the excerpts do not contain the answer, reply with exactly {NO_ANSWER_MARKER} and nothing else.
4. Answer in {{language_name}}, even when the excerpts are in another language.
5. Be brief: at most five sentences, plain text, no preamble."""

ANSWER_REQUEST = """Excerpts:
{excerpts}

Question: {question}"""

#: Variables: language_name, excerpts, question.
RAG_PROMPT = ChatPromptTemplate.from_messages(
    [("system", STRICT_SYSTEM_PROMPT), ("human", ANSWER_REQUEST)]
)

LANGUAGE_NAMES = {"en": "English", "te": "Telugu (తెలుగు)"}

REFUSAL_MESSAGES = {
    "en": (
        "I'm sorry, I could not find the answer to that in the documents I have. "
        "Please rephrase your question, or ask about something the uploaded documents cover."
    ),
    "te": (
        "క్షమించండి, నా వద్ద ఉన్న పత్రాలలో ఈ ప్రశ్నకు సమాధానం దొరకలేదు. "
        "దయచేసి మీ ప్రశ్నను మరోలా అడగండి, లేదా అప్‌లోడ్ చేసిన పత్రాలలో ఉన్న విషయం గురించి అడగండి."
    ),
}

#: Put before an extractive answer whose sentences are in the other language.
OTHER_LANGUAGE_NOTES = {
    "en": "From the Telugu documents: ",
    "te": "ఆంగ్ల పత్రాల నుండి: ",
}
