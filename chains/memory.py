"""Conversation memory: each chat session's recent messages in the database (`message_store`)."""

from __future__ import annotations

import re
import threading
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from chains.schemas import ChatTurn
from settings import Settings

TABLE_NAME = "message_store"
#: Session ids come from clients: keep them short and plain.
SESSION_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


def valid_session_id(session_id: str) -> bool:
    """Whether a client-chosen session id is acceptable."""
    return bool(SESSION_ID.match(session_id))


class ChatMemory:
    """Bounded per-session chat history over LangChain's `SQLChatMessageHistory`."""

    def __init__(self, settings: Settings, *, max_messages: int | None = None) -> None:
        self.url = settings.sqlalchemy_url
        self.max_messages = settings.chat_history_messages if max_messages is None else max_messages
        self._engine: Any = None
        self._converter: Any = None
        self._lock = threading.Lock()

    def _parts(self) -> tuple[Any, Any]:
        # The engine is made on first use, never at import or construction.
        with self._lock:
            if self._engine is None:
                from langchain_community.chat_message_histories.sql import (
                    DefaultMessageConverter,
                )
                from sqlalchemy import create_engine

                if self.url.startswith("sqlite:///"):
                    from pathlib import Path

                    Path(self.url.removeprefix("sqlite:///")).parent.mkdir(
                        parents=True, exist_ok=True
                    )
                self._engine = create_engine(self.url, pool_pre_ping=True)
                self._converter = DefaultMessageConverter(TABLE_NAME)
            return self._engine, self._converter

    def history(self, session_id: str) -> Any:
        """The `SQLChatMessageHistory` of one session."""
        from langchain_community.chat_message_histories import SQLChatMessageHistory

        engine, converter = self._parts()
        return SQLChatMessageHistory(
            session_id=session_id,
            connection=engine,
            table_name=TABLE_NAME,
            custom_message_converter=converter,
        )

    def load(self, session_id: str) -> list[ChatTurn]:
        """The session's recent turns, oldest first (at most `max_messages`)."""
        if self.max_messages == 0:
            return []
        messages: list[BaseMessage] = self.history(session_id).messages
        turns = [
            ChatTurn(
                role="human" if isinstance(message, HumanMessage) else "ai",
                content=str(message.content)[:4000],
            )
            for message in messages
            if isinstance(message, HumanMessage | AIMessage)
        ]
        return turns[-self.max_messages :]

    def append(self, session_id: str, question: str, answer: str) -> None:
        """Store one exchange and drop the session's messages beyond the bound."""
        if self.max_messages == 0:
            return
        history = self.history(session_id)
        history.add_messages([HumanMessage(content=question), AIMessage(content=answer)])
        self._trim(history, session_id)

    def clear(self, session_id: str) -> None:
        """Forget one session."""
        self.history(session_id).clear()

    def _trim(self, history: Any, session_id: str) -> None:
        from sqlalchemy import delete, select

        model = history.sql_model_class
        keep = (
            select(model.id)
            .where(model.session_id == session_id)
            .order_by(model.id.desc())
            .limit(self.max_messages)
        )
        with history.session_maker() as session:
            kept = [row[0] for row in session.execute(keep)]
            if kept:
                session.execute(
                    delete(model).where(model.session_id == session_id, model.id.not_in(kept))
                )
                session.commit()
