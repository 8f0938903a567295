"""The chat page in real headless Chromium against the real server (`python serve.py`)."""

from __future__ import annotations

import io
import json
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from prompts.ui import UI_STRINGS, WELCOME
from tests.integration.test_voice import VOICE_QUESTION, normalise, speak_wav
from tests.servers import REPO_ROOT

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = REPO_ROOT / "test-artifacts"
TIMEOUT_MS = 90_000

if not CHROMIUM.exists():  # pragma: no cover - `make install` installs it
    pytest.fail("Debian chromium is missing: run `make system-packages`", pytrace=False)


@pytest.fixture(scope="module")
def server_url(sample_server_url: str) -> str:
    """The real server over the sample corpus."""
    return sample_server_url


def _with_trailing_silence(wav: bytes, *, seconds: float) -> bytes:
    """The WAV followed by silence: Chromium loops a fake microphone file, and the question
    must not start again while the page records."""
    with wave.open(io.BytesIO(wav)) as reader:
        params = reader.getparams()
        frames = reader.readframes(reader.getnframes())
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setparams(params)
        silence = b"\x00" * int(params.framerate * seconds) * params.sampwidth * params.nchannels
        writer.writeframes(frames + silence)
    return out.getvalue()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Headless Chromium whose microphone plays a spoken English question (a WAV file)."""
    from playwright.sync_api import sync_playwright

    microphone = tmp_path_factory.mktemp("mic") / "question.wav"
    microphone.write_bytes(_with_trailing_silence(speak_wav(VOICE_QUESTION), seconds=4.0))
    args = [
        *CHROMIUM_ARGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={microphone}",
        "--autoplay-policy=no-user-gesture-required",
    ]
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
        yield chromium
        chromium.close()


class ChatPage:
    """One fresh browser context on /ui/chat, recording the WebSocket frames it receives."""

    def __init__(self, browser: Any, url: str, **context: Any) -> None:
        self.context = browser.new_context(**context)
        self.context.grant_permissions(["microphone"], origin=url)
        self.page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.frames: list[dict[str, Any]] = []
        self.page.on("websocket", self._watch)
        self.page.goto(f"{url}/ui/chat")
        self.wait_connected()

    def _watch(self, socket: Any) -> None:
        def received(payload: str | bytes) -> None:
            if isinstance(payload, str):
                self.frames.append(json.loads(payload))

        socket.on("framereceived", received)

    def wait_connected(self) -> None:
        """Until the status line says the socket is open."""
        self.page.wait_for_selector("#status[data-state='open']")

    def events(self) -> list[str]:
        """The events received so far."""
        return [frame["event"] for frame in self.frames]

    def ask(self, question: str) -> Any:
        """Type and send a question; return the locator of the finished answer bubble."""
        answered = len(self.page.query_selector_all(".message.bot.answered"))
        self.page.fill("#input", question)
        self.page.press("#input", "Enter")
        return self.wait_answer(answered)

    def wait_answer(self, answered_before: int) -> Any:
        """The next answer bubble to finish."""
        self.page.wait_for_function(
            "n => document.querySelectorAll('.message.bot.answered').length > n",
            arg=answered_before,
        )
        return self.page.locator(".message.bot.answered").nth(answered_before)

    def screenshot(self, name: str) -> None:
        """Save a screenshot under test-artifacts/."""
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / name), full_page=True)

    def close(self) -> None:
        """Close the context."""
        self.context.close()


def test_typed_question_streams_an_answer_with_clickable_sources(
    browser: Any, server_url: str
) -> None:
    chat = ChatPage(browser, server_url)
    try:
        welcome = chat.page.locator(".message.welcome .text")
        assert welcome.inner_text() == WELCOME["en"]

        answer = chat.ask("What are the investment and turnover limits for a micro enterprise?")

        events = chat.events()
        assert events.count("chat_token") >= 2  # the answer arrived in pieces
        assert events.index("chat_token") < events.index("chat_response")
        assert "Rs 2.5 crore" in answer.locator(".text").inner_text()
        sources = answer.locator("details.sources")
        assert sources.locator("summary").inner_text() == "Sources"
        sources.locator("summary").click()
        first = sources.locator("li").first
        assert "Who counts as a micro" in first.locator("button.source").inner_text()
        excerpt = first.locator(".excerpt")
        assert excerpt.is_hidden()
        first.locator("button.source").click()
        assert excerpt.is_visible()
        assert "Micro enterprise" in excerpt.inner_text()
        # A citation mark in the answer opens its source too.
        answer.locator("button.cite").first.click()
        assert sources.get_attribute("open") is not None

        chat.page.set_viewport_size({"width": 390, "height": 844})  # a phone
        chat.screenshot("chat_page_en_mobile.png")
    finally:
        chat.close()


def test_switching_to_telugu_shows_telugu_strings_and_answers_in_telugu(
    browser: Any, server_url: str
) -> None:
    chat = ChatPage(browser, server_url, viewport={"width": 1000, "height": 800})
    try:
        chat.page.click("#lang-te")
        telugu = UI_STRINGS["te"]
        chat.page.wait_for_function(
            "text => document.querySelector('.message.welcome .text').textContent === text",
            arg=WELCOME["te"],
        )
        assert chat.page.inner_text("#title") == telugu["title"]
        assert chat.page.inner_text("#send") == telugu["send"]
        assert chat.page.get_attribute("#input", "placeholder") == telugu["placeholder"]
        assert chat.page.get_attribute("html", "lang") == "te"
        chat.wait_connected()
        assert chat.page.inner_text("#status") == telugu["connected"]

        answer = chat.ask("పీఎంఈజీపీ లో గ్రామీణ మహిళలకు ఎంత సబ్సిడీ?")
        assert answer.locator("details.sources summary").inner_text() == telugu["sources"]
        assert chat.frames[-1]["data"]["lang"] == "te"
        chat.screenshot("chat_page_te.png")

        # The choice survives a reload (kept in localStorage).
        chat.page.reload()
        chat.wait_connected()
        assert chat.page.inner_text("#title") == telugu["title"]
    finally:
        chat.close()


def test_microphone_question_is_transcribed_answered_and_spoken(
    browser: Any, server_url: str
) -> None:
    chat = ChatPage(browser, server_url)
    try:
        chat.page.click("#speaker")
        assert chat.page.get_attribute("#speaker", "aria-pressed") == "true"
        chat.page.click("#mic")
        chat.page.wait_for_selector("#mic.recording")
        chat.page.wait_for_timeout(6500)  # the fake microphone plays the ~5 s question
        chat.page.click("#mic")
        answer = chat.wait_answer(0)

        heard = chat.page.locator(".message.user.voice .text").inner_text()
        # Through the browser's Opus encoder the first word can blur; the question itself may not.
        assert "time limit for paying a small business supplier" in normalise(heard)
        # What was heard is shown above its answer.
        assert chat.page.locator(".message").nth(1).get_attribute("class") == "message user voice"
        first_source = answer.locator("li button.source").first.text_content() or ""
        assert "delayed" in first_source.lower()
        audio_src = answer.locator("audio").get_attribute("src")
        assert audio_src is not None and audio_src.startswith("/audio/")
        response = next(f for f in reversed(chat.frames) if f["event"] == "chat_response")
        assert response["data"]["transcript"]
        played = httpx.get(server_url + audio_src, timeout=10)
        assert played.status_code == 200 and played.content[:4] == b"RIFF"
        chat.screenshot("chat_page_voice.png")
    finally:
        chat.close()
