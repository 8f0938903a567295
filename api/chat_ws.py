"""The chat WebSocket `/ws/chat`: JSON frames {"event", "data"}, streamed answers, voice in/out."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from langchain_core.runnables import Runnable

from api.audio import audio_url
from api.services import Services
from chains.memory import valid_session_id
from chains.schemas import Language
from chains.voice import AUDIO_FORMATS, VoiceError, audio_duration, base_mime, decode_base64_audio
from prompts.ui import ERRORS, WELCOME

logger = logging.getLogger(__name__)

router = APIRouter(tags=["chat"])

LANGUAGES: tuple[Language, ...] = ("en", "te")
#: Recordings shorter than this hold no question.
MIN_AUDIO_SECONDS = 0.3
_CITATION = re.compile(r"\s*\[\d+\]")
_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[^;,]*)*?);base64,", re.I)


class FrameError(Exception):
    """A client frame that cannot be served; the message goes back as an `error` event."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _error(code: str, **values: Any) -> FrameError:
    return FrameError(code, ERRORS[code].format(**values))


def speakable(answer: str) -> str:
    """The answer without its [n] citation marks, for speech."""
    return _CITATION.sub("", answer).strip()


@router.websocket("/ws/chat")
async def chat_socket(websocket: WebSocket) -> None:
    """One chat connection: welcome, then answer each frame until the client leaves."""
    services: Services = websocket.app.state.services
    chain: Runnable[Any, Any] = websocket.app.state.rag_chain
    await websocket.accept()
    lang_param = websocket.query_params.get("lang", "en")
    session_param = websocket.query_params.get("session_id") or ""
    session = ChatConnection(
        websocket,
        services,
        chain,
        lang=lang_param if lang_param in LANGUAGES else "en",  # type: ignore[arg-type]
        session_id=session_param if valid_session_id(session_param) else uuid.uuid4().hex,
    )
    await session.run()


class ChatConnection:
    """The state of one WebSocket: its language and session; frames are handled one at a time."""

    def __init__(
        self,
        websocket: WebSocket,
        services: Services,
        chain: Runnable[Any, Any],
        *,
        lang: Language,
        session_id: str,
    ) -> None:
        self.websocket = websocket
        self.services = services
        self.settings = services.settings
        self.chain = chain
        self.lang: Language = lang
        self.session_id = session_id

    async def send(self, event: str, data: dict[str, Any]) -> None:
        """Send one frame."""
        await self.websocket.send_text(
            json.dumps({"event": event, "data": data}, ensure_ascii=False)
        )

    async def run(self) -> None:
        """Greet, then serve frames until the client disconnects."""
        try:
            await self.send(
                "welcome",
                {"message": WELCOME[self.lang], "lang": self.lang, "session_id": self.session_id},
            )
            await self.send("system", self._system_info())
            while True:
                message = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                await self.handle(message.get("text"), message.get("bytes"))
        except WebSocketDisconnect:
            return

    def _system_info(self) -> dict[str, Any]:
        voice_languages: list[str] = []
        try:
            recognizer = self.services.speech_recognizer
            voice_languages = [lang for lang in LANGUAGES if recognizer.supports(lang)]
        except Exception:
            logger.exception("speech recognition is not available")
        return {
            "llm": "bedrock" if self.services.llm is not None else "extractive",
            "voice_languages": voice_languages,
            "max_audio_seconds": self.settings.max_audio_seconds,
            "max_audio_mb": self.settings.max_audio_mb,
        }

    async def handle(self, text: str | None, data: bytes | None) -> None:
        """Answer one frame; any problem becomes an `error` event and the connection stays up."""
        try:
            if text is None:
                raise _error("not_json")
            try:
                frame = json.loads(text)
            except ValueError:
                raise _error("not_json") from None
            if not isinstance(frame, dict) or not isinstance(frame.get("data", {}), dict):
                raise _error("not_json")
            event = frame.get("event")
            payload: dict[str, Any] = frame.get("data") or {}
            if event == "chat_message":
                await self.on_chat_message(payload)
            elif event == "audio_message":
                await self.on_audio_message(payload)
            elif not isinstance(event, str) or not event:
                raise _error("missing_field", field="event")
            else:
                raise _error("unknown_event", event=event)
        except FrameError as error:
            await self.send("error", {"code": error.code, "message": error.message})
        except VoiceError as error:
            await self.send("error", {"code": "voice", "message": str(error)})
        except WebSocketDisconnect:
            raise
        except Exception:
            logger.exception("chat frame failed")
            await self.send("error", {"code": "internal", "message": ERRORS["internal"]})

    # Text questions --------------------------------------------------------------------------

    async def on_chat_message(self, data: dict[str, Any]) -> None:
        """Stream the answer to a typed question."""
        query = data.get("query")
        if not isinstance(query, str) or not query.strip():
            raise _error("missing_field", field="query")
        if len(query) > 2000:
            raise _error("bad_field", field="query", reason="at most 2000 characters")
        await self.answer(
            query.strip(),
            lang=self._lang(data, default=None),
            top_k=self._top_k(data),
            tts=self._flag(data, "tts"),
            session_id=self._session(data),
        )

    def _lang(self, data: dict[str, Any], *, default: Language | None) -> Language | None:
        lang = data.get("lang")
        if lang is None:
            return default
        if lang not in LANGUAGES:
            raise _error("bad_field", field="lang", reason='use "en" or "te"')
        return lang  # type: ignore[no-any-return]

    def _top_k(self, data: dict[str, Any]) -> int:
        top_k = data.get("top_k", self.settings.top_k)
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
            raise _error("bad_field", field="top_k", reason="a whole number from 1")
        return min(top_k, self.settings.max_top_k)

    @staticmethod
    def _flag(data: dict[str, Any], name: str) -> bool:
        value = data.get(name, False)
        if not isinstance(value, bool):
            raise _error("bad_field", field=name, reason="true or false")
        return value

    def _session(self, data: dict[str, Any]) -> str:
        session_id = data.get("session_id")
        if session_id is None:
            return self.session_id
        if not isinstance(session_id, str) or not valid_session_id(session_id):
            raise _error("bad_field", field="session_id", reason="letters, digits, - _ . :")
        return session_id

    async def answer(
        self,
        query: str,
        *,
        lang: Language | None,
        top_k: int,
        tts: bool,
        session_id: str,
        transcript: str | None = None,
    ) -> None:
        """Retrieve and answer with the session's history; stream tokens, then the response."""
        history = await self._load_history(session_id)
        question = {
            "question": query,
            "lang": lang,
            "top_k": top_k,
            "chat_history": [turn.model_dump() for turn in history],
        }
        answer = ""
        result: dict[str, Any] = {
            "sources": [],
            "lang": lang or "en",
            "llm_used": False,
            "refused": False,
        }
        async for chunk in self.chain.astream(question):
            if "answer" in chunk:
                answer += chunk["answer"]
                await self.send("chat_token", {"token": chunk["answer"]})
            result.update({key: value for key, value in chunk.items() if key != "answer"})
        response: dict[str, Any] = {
            "answer": answer,
            "docs": result["sources"],
            "llm_used": result["llm_used"],
            "refused": result["refused"],
            "lang": result["lang"],
            "session_id": session_id,
        }
        if transcript is not None:
            response["transcript"] = transcript
        await self._remember(session_id, query, answer)
        if tts and answer:
            try:
                response["audio_url"] = await self._speak(answer, result["lang"])
            except VoiceError as error:
                response["audio_error"] = str(error)
        await self.send("chat_response", response)

    async def _load_history(self, session_id: str) -> list[Any]:
        try:
            return await asyncio.to_thread(self.services.chat_memory.load, session_id)
        except Exception:
            # Losing the memory must not lose the answer.
            logger.exception("could not read the chat history of %s", session_id)
            return []

    async def _remember(self, session_id: str, query: str, answer: str) -> None:
        try:
            await asyncio.to_thread(self.services.chat_memory.append, session_id, query, answer)
        except Exception:
            logger.exception("could not store the chat history of %s", session_id)

    async def _speak(self, answer: str, lang: Language) -> str:
        def synthesize() -> str:
            audio, _ = self.services.speech_synthesizer.synthesize(speakable(answer), lang)
            return audio_url(self.services.audio_store.save(audio.data, audio.extension))

        return await asyncio.to_thread(synthesize)

    # Voice questions -------------------------------------------------------------------------

    async def on_audio_message(self, data: dict[str, Any]) -> None:
        """Transcribe a recorded question, then answer it like a typed one."""
        started = time.perf_counter()
        audio, audio_type = self._audio_bytes(data)
        lang = self._lang(data, default=self.lang) or self.lang
        tts = self._flag(data, "tts") if "tts" in data else False
        session_id = self._session(data)
        recognizer = self.services.speech_recognizer
        if not recognizer.supports(lang):
            recognizer.engine_for(lang)  # raises the user-facing VoiceError
        limit = self.settings.max_audio_seconds
        seconds = await asyncio.to_thread(audio_duration, audio, limit=limit)
        if seconds > limit:
            raise _error("audio_too_long", seconds=seconds, limit=limit)
        if seconds < MIN_AUDIO_SECONDS:
            raise _error("audio_too_short")
        transcript = await asyncio.to_thread(recognizer.transcribe, audio, audio_type, lang)
        text = transcript.text.strip()
        if not text:
            raise _error("no_speech")
        await self.send("transcript", {"text": text, "lang": lang, "engine": transcript.engine})
        await self.answer(
            text,
            lang=lang,
            top_k=self._top_k(data),
            tts=tts,
            session_id=session_id,
            transcript=text,
        )
        logger.info(
            "voice round trip %.2f s for %.1f s of audio", time.perf_counter() - started, seconds
        )

    def _audio_bytes(self, data: dict[str, Any]) -> tuple[bytes, str]:
        audio_type = data.get("audio_type")
        if not isinstance(audio_type, str) or not audio_type.strip():
            raise _error("missing_field", field="audio_type")
        if base_mime(audio_type) not in AUDIO_FORMATS:
            raise _error("bad_audio_type", audio_type=audio_type)
        claimed = data.get("audio_len")
        if claimed is not None:
            if isinstance(claimed, bool) or not isinstance(claimed, int | float) or claimed < 0:
                raise _error("bad_field", field="audio_len", reason="seconds, a number")
            if claimed > self.settings.max_audio_seconds:
                raise _error(
                    "audio_too_long", seconds=claimed, limit=self.settings.max_audio_seconds
                )
        url = data.get("audio")
        if not isinstance(url, str) or not url:
            raise _error("missing_field", field="audio")
        match = _DATA_URL.match(url)
        if match is None:
            raise _error("bad_data_url")
        encoded = url[match.end() :]
        limit_bytes = self.settings.max_audio_mb * 1024 * 1024
        # Refuse before decoding: base64 is 4 characters per 3 bytes.
        if len(encoded) * 3 / 4 > limit_bytes + 3:
            raise _error("audio_too_large", limit=self.settings.max_audio_mb)
        audio = decode_base64_audio(encoded)
        if not audio:
            raise _error("missing_field", field="audio")
        if len(audio) > limit_bytes:
            raise _error("audio_too_large", limit=self.settings.max_audio_mb)
        return audio, audio_type
