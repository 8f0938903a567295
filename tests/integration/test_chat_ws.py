"""The /ws/chat WebSocket on a real uvicorn server: streaming, memory, voice, bad frames, many clients."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import create_engine, text
from websockets.asyncio.client import ClientConnection, connect

from chains.memory import ChatMemory
from chains.voice import TELUGU_NEEDS_AWS
from prompts.ui import WELCOME
from serve import create_app
from settings import Settings
from tests.conftest import make_settings
from tests.integration.test_voice import VOICE_QUESTION, normalise, speak_wav, wav_seconds
from tests.servers import free_port

pytestmark = pytest.mark.integration

MICRO_QUESTION = "What are the investment and turnover limits for a micro enterprise?"
FOLLOW_UP = "and for small ones?"


class LiveServer:
    """uvicorn serving the app on 127.0.0.1 in a background thread."""

    def __init__(self, settings: Settings) -> None:
        self.port = free_port()
        self.settings = settings
        config = uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def ws_url(self) -> str:
        """The chat socket."""
        return f"ws://127.0.0.1:{self.port}/ws/chat"

    @property
    def http_url(self) -> str:
        """The HTTP root."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start and wait until the app answers (the embedding model loads at startup)."""
        self.thread.start()
        deadline = time.monotonic() + 120
        while not self.server.started:
            assert self.thread.is_alive(), "the server stopped during startup"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)

    def stop(self) -> None:
        """Stop the server."""
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture(scope="module")
def live(sample_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("chat") / "data"
    shutil.copytree(sample_data_dir, data_dir)
    server = LiveServer(make_settings(data_dir, chat_history_messages=6))
    server.start()
    yield server
    server.stop()


async def receive(socket: ClientConnection, timeout: float = 120) -> dict[str, Any]:
    """The next frame, parsed."""
    frame: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), timeout))
    return frame


async def open_chat(url: str, **params: str) -> tuple[ClientConnection, dict[str, Any]]:
    """Connect and read the welcome and system frames; return the socket and the welcome."""
    query = "&".join(f"{key}={value}" for key, value in params.items())
    socket = await connect(f"{url}?{query}" if query else url, max_size=2**24)
    welcome = await receive(socket)
    system = await receive(socket)
    assert welcome["event"] == "welcome"
    assert system["event"] == "system"
    return socket, welcome


async def ask(socket: ClientConnection, event: str, data: dict[str, Any]) -> list[dict[str, Any]]:
    """Send one frame; collect frames up to and including chat_response or error."""
    await socket.send(json.dumps({"event": event, "data": data}))
    frames = []
    while True:
        frame = await receive(socket)
        frames.append(frame)
        if frame["event"] in ("chat_response", "error"):
            return frames


def test_welcome_in_the_chosen_language_and_system_info(live: LiveServer) -> None:
    async def scenario() -> None:
        for lang in ("en", "te"):
            socket = await connect(f"{live.ws_url}?lang={lang}&session_id=greet-{lang}")
            welcome = await receive(socket)
            system = await receive(socket)
            await socket.close()
            assert welcome == {
                "event": "welcome",
                "data": {"message": WELCOME[lang], "lang": lang, "session_id": f"greet-{lang}"},
            }
            assert system["data"]["llm"] == "extractive"
            assert system["data"]["voice_languages"] == ["en"]  # no Telugu engine without AWS

    asyncio.run(scenario())


def test_chat_message_streams_tokens_then_one_response(live: LiveServer) -> None:
    async def scenario() -> list[dict[str, Any]]:
        socket, _ = await open_chat(live.ws_url)
        frames = await ask(socket, "chat_message", {"query": MICRO_QUESTION})
        await socket.close()
        return frames

    frames = asyncio.run(scenario())
    tokens = [frame["data"]["token"] for frame in frames if frame["event"] == "chat_token"]
    response = frames[-1]
    assert response["event"] == "chat_response"
    assert [frame["event"] for frame in frames[:-1]] == ["chat_token"] * len(tokens)
    assert len(tokens) >= 2  # streamed in pieces, not in one go
    data = response["data"]
    assert data["answer"] == "".join(tokens)
    assert "Rs 2.5 crore" in data["answer"]
    assert data["docs"][0]["source"].endswith("msme_classification.md")
    assert {"title", "excerpt", "score"} <= set(data["docs"][0])
    assert (data["llm_used"], data["refused"], data["lang"]) == (False, False, "en")
    assert "audio_url" not in data


def test_follow_up_is_answered_from_the_session_memory(live: LiveServer) -> None:
    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        socket, _ = await open_chat(live.ws_url, session_id="follow-up-1")
        await ask(socket, "chat_message", {"query": MICRO_QUESTION})
        follow = (await ask(socket, "chat_message", {"query": FOLLOW_UP}))[-1]
        await socket.close()
        # The same follow-up in a fresh session has nothing to lean on.
        fresh, _ = await open_chat(live.ws_url, session_id="follow-up-2")
        alone = (await ask(fresh, "chat_message", {"query": FOLLOW_UP}))[-1]
        await fresh.close()
        return follow, alone

    follow, alone = asyncio.run(scenario())
    assert follow["data"]["docs"][0]["source"].endswith("msme_classification.md")
    assert "Rs 25 crore" in follow["data"]["answer"]
    # Alone, the fragment is at best a weak match (refused, or barely above the threshold);
    # with the remembered question, retrieval is confident about the classification limits.
    alone_best = max((doc["score"] for doc in alone["data"]["docs"]), default=0.0)
    assert follow["data"]["docs"][0]["score"] > alone_best + 0.1

    # The turns are in the database, keyed by session id.
    engine = create_engine(live.settings.sqlalchemy_url)
    with engine.connect() as connection:
        rows = connection.execute(
            text("select session_id, count(*) from message_store group by session_id")
        ).all()
    engine.dispose()
    assert ("follow-up-1", 4) in rows


def test_memory_is_bounded_per_session(settings: Settings) -> None:
    memory = ChatMemory(settings, max_messages=4)
    for number in range(5):
        memory.append("bounded", f"question {number}", f"answer {number}")
    memory.append("other", "hello", "hi")
    turns = memory.load("bounded")
    assert [turn.content for turn in turns] == ["question 3", "answer 3", "question 4", "answer 4"]
    assert [turn.role for turn in turns] == ["human", "ai", "human", "ai"]
    assert len(memory.history("bounded").messages) == 4  # trimmed in the table, not only on read
    assert len(memory.load("other")) == 2


def _data_url(audio: bytes, mime: str = "audio/wav") -> str:
    return f"data:{mime};base64,{base64.b64encode(audio).decode()}"


def test_bad_frames_get_clear_errors_and_the_connection_stays_usable(live: LiveServer) -> None:
    limit_mb = live.settings.max_audio_mb
    too_big = "A" * int(limit_mb * 1024 * 1024 * 4 / 3 + 4000)
    cases: list[tuple[str | bytes, str]] = [
        ("this is not json", "JSON object"),
        (b"\x00\x01binary", "JSON object"),
        (json.dumps(["a", "list"]), "JSON object"),
        (json.dumps({"event": "shout", "data": {}}), "Unknown event"),
        (json.dumps({"data": {"query": "hi"}}), "'event'"),
        (json.dumps({"event": "chat_message", "data": {}}), "'query'"),
        (json.dumps({"event": "chat_message", "data": {"query": "   "}}), "'query'"),
        (json.dumps({"event": "chat_message", "data": {"query": "hi", "top_k": "many"}}), "top_k"),
        (json.dumps({"event": "chat_message", "data": {"query": "hi", "lang": "fr"}}), "'lang'"),
        (json.dumps({"event": "audio_message", "data": {"audio_type": "audio/wav"}}), "'audio'"),
        (
            json.dumps(
                {
                    "event": "audio_message",
                    "data": {"audio": _data_url(b"x"), "audio_type": "video/x-flv"},
                }
            ),
            "Unsupported audio type",
        ),
        (
            json.dumps(
                {
                    "event": "audio_message",
                    "data": {"audio": _data_url(b"x"), "audio_type": "audio/wav", "audio_len": 999},
                }
            ),
            "too long",
        ),
        (
            json.dumps(
                {
                    "event": "audio_message",
                    "data": {
                        "audio": "data:audio/wav;base64," + too_big,
                        "audio_type": "audio/wav",
                    },
                }
            ),
            "too large",
        ),
        (
            json.dumps(
                {
                    "event": "audio_message",
                    "data": {
                        "audio": "data:audio/wav;base64,@@@not-base64@@@",
                        "audio_type": "audio/wav",
                    },
                }
            ),
            "not valid base64",
        ),
        (
            json.dumps(
                {
                    "event": "audio_message",
                    "data": {"audio": "https://example.com/a.wav", "audio_type": "audio/wav"},
                }
            ),
            "data URL",
        ),
        (
            json.dumps(
                {
                    "event": "audio_message",
                    "data": {
                        "audio": _data_url(b"definitely not audio" * 50),
                        "audio_type": "audio/wav",
                    },
                }
            ),
            "could not be read",
        ),
        (
            json.dumps(
                {
                    "event": "audio_message",
                    "data": {
                        "audio": _data_url(speak_wav("hello")),
                        "audio_type": "audio/wav",
                        "lang": "te",
                    },
                }
            ),
            TELUGU_NEEDS_AWS,
        ),
    ]

    async def scenario() -> list[dict[str, Any]]:
        socket, _ = await open_chat(live.ws_url)
        errors = []
        for frame, _expected in cases:
            await socket.send(frame)
            errors.append(await receive(socket))
        # Still usable after all that.
        errors.append((await ask(socket, "chat_message", {"query": MICRO_QUESTION}))[-1])
        await socket.close()
        return errors

    replies = asyncio.run(scenario())
    for (frame, expected), reply in zip(cases, replies, strict=False):
        assert reply["event"] == "error", (frame[:80], reply)
        assert expected in reply["data"]["message"], (frame[:80], reply)
    assert replies[-1]["event"] == "chat_response"
    assert httpx.get(f"{live.http_url}/", timeout=10).status_code == 200


def test_too_long_recording_is_refused_even_when_the_client_says_otherwise(
    tmp_path: Path, sample_data_dir: Path
) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(sample_data_dir, data_dir)
    server = LiveServer(make_settings(data_dir, max_audio_seconds=2))
    server.start()
    try:

        async def scenario() -> dict[str, Any]:
            socket, _ = await open_chat(server.ws_url)
            frames = await ask(
                socket,
                "audio_message",
                {
                    "audio": _data_url(speak_wav(VOICE_QUESTION)),
                    "audio_type": "audio/wav",
                    "audio_len": 1.0,
                },
            )
            await socket.close()
            return frames[-1]

        reply = asyncio.run(scenario())
    finally:
        server.stop()
    assert reply["event"] == "error"
    assert "too long" in reply["data"]["message"]


def test_voice_question_round_trip_with_spoken_answer(live: LiveServer) -> None:
    question = speak_wav(VOICE_QUESTION)
    seconds = wav_seconds(question)

    async def scenario() -> tuple[list[dict[str, Any]], float]:
        socket, _ = await open_chat(live.ws_url, session_id="voice-1")
        # Warm up the speech model so the measurement is of a served request.
        await ask(
            socket,
            "audio_message",
            {"audio": _data_url(speak_wav("Hello there")), "audio_type": "audio/wav", "tts": False},
        )
        started = time.perf_counter()
        frames = await ask(
            socket,
            "audio_message",
            {
                "audio": _data_url(question),
                "audio_type": "audio/wav",
                "audio_len": round(seconds, 1),
                "lang": "en",
                "tts": True,
            },
        )
        elapsed = time.perf_counter() - started
        await socket.close()
        return frames, elapsed

    frames, elapsed = asyncio.run(scenario())
    print(
        f"\nvoice round trip (audio in -> audio_url out): {elapsed:.2f} s "
        f"for a {seconds:.1f} s question"
    )
    events = [frame["event"] for frame in frames]
    assert events[0] == "transcript" and events[-1] == "chat_response", events
    assert normalise(frames[0]["data"]["text"]) == normalise(VOICE_QUESTION)
    data = frames[-1]["data"]
    assert normalise(data["transcript"]) == normalise(VOICE_QUESTION)
    assert "delayed" in data["docs"][0]["title"].lower()
    assert data["audio_url"].startswith("/audio/") and data["audio_url"].endswith(".wav")
    audio = httpx.get(live.http_url + data["audio_url"], timeout=10)
    assert audio.status_code == 200
    assert audio.headers["content-type"] == "audio/wav"
    assert wav_seconds(audio.content) > 2.0
    assert httpx.get(f"{live.http_url}/audio/{'0' * 32}.wav", timeout=10).status_code == 404


def test_many_clients_at_once_get_their_own_answers(live: LiveServer) -> None:
    questions = {
        "en-micro": (MICRO_QUESTION, "msme_classification.md"),
        "en-pay": ("How many days does a buyer have to pay a micro enterprise?", "delayed"),
        "te-upi": ("యూపీఐ చెల్లింపులు ఎలా స్వీకరించాలి?", "upi"),
        "en-mudra": ("How much is a Shishu loan under Mudra?", "mudra"),
    }

    async def one(session: str, question: str) -> dict[str, Any]:
        socket, _ = await open_chat(live.ws_url, session_id=session)
        frames = await ask(socket, "chat_message", {"query": question})
        await socket.close()
        return frames[-1]

    async def scenario() -> list[dict[str, Any]]:
        return await asyncio.gather(*(one(s, q) for s, (q, _) in questions.items()))

    replies = asyncio.run(scenario())
    for (session, (_, expected)), reply in zip(questions.items(), replies, strict=True):
        assert reply["event"] == "chat_response", reply
        assert reply["data"]["session_id"] == session
        assert expected in reply["data"]["docs"][0]["source"].lower(), (session, reply["data"])
    assert replies[2]["data"]["lang"] == "te"


def test_rag_route_accepts_explicit_chat_history(live: LiveServer) -> None:
    history = [{"role": "human", "content": MICRO_QUESTION}, {"role": "ai", "content": "..."}]
    reply = httpx.post(
        f"{live.http_url}/rag/invoke",
        json={"input": {"question": FOLLOW_UP, "chat_history": history}},
        timeout=60,
    )
    assert reply.status_code == 200, reply.text
    output = reply.json()["output"]
    assert output["sources"][0]["source"].endswith("msme_classification.md")
    assert "Rs 25 crore" in output["answer"]
