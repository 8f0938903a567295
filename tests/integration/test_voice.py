"""Voice in and out: Transcribe against moto, Polly through a Stubber, and the local engines for real."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from moto import mock_aws

from api.audio import AudioStore
from api.services import Services
from chains.rag import build_rag_chain
from chains.voice import (
    TELUGU_NEEDS_AWS,
    AmazonTranscribe,
    LocalWhisper,
    VoiceError,
    audio_duration,
    build_speech_recognizer,
    build_speech_synthesizer,
    build_speech_to_text_chain,
    build_text_to_speech_chain,
)
from knowledge.base import KnowledgeBase
from serve import create_app
from settings import Settings
from tests.conftest import make_settings

pytestmark = pytest.mark.integration

BUCKET = "msme-voice-test"
REGION = "ap-south-1"
#: About five seconds when espeak-ng speaks it; tiny.en transcribes it word for word.
VOICE_QUESTION = "What is the time limit for paying a small business supplier?"


def speak_wav(text: str, voice: str = "en-us", speed: int = 125) -> bytes:
    """A WAV recording of `text` spoken by espeak-ng (the test's stand-in for a person)."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "question.wav"
        # A file, not --stdout: a piped WAV header carries no length.
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(out), text],
            check=True,
            capture_output=True,
        )
        return out.read_bytes()


def wav_seconds(data: bytes) -> float:
    """Duration of a WAV file, read with the standard library (fails on a broken header)."""
    with wave.open(io.BytesIO(data)) as reader:
        assert reader.getnchannels() >= 1
        seconds: float = reader.getnframes() / reader.getframerate()
        return seconds


def normalise(text: str) -> str:
    """Lower-case words only, for comparing transcripts."""
    return " ".join("".join(c for c in text.lower() if c.isalnum() or c == " ").split())


@pytest.fixture(scope="module")
def whisper() -> LocalWhisper:
    """The packaged tiny.en model, loaded once for this module."""
    engine = LocalWhisper()
    engine.load()
    return engine


# Amazon Transcribe (moto) ----------------------------------------------------------------------


class TranscribeService:
    """Plays Amazon Transcribe next to moto: writes the transcript where the started job said."""

    def __init__(self, s3: Any, transcribe: Any, transcript: str) -> None:
        self.s3 = s3
        self.transcript = transcript
        self.started: dict[str, Any] = {}
        self.polls = 0
        transcribe.meta.events.register(
            "provide-client-params.transcribe.StartTranscriptionJob", self._remember
        )

    def _remember(self, params: dict[str, Any], **_: Any) -> None:
        self.started = dict(params)

    def sleep(self, _seconds: float) -> None:
        """Called by the engine between polls: the job 'finishes' and leaves its JSON."""
        self.polls += 1
        document = {
            "jobName": self.started["TranscriptionJobName"],
            "status": "COMPLETED",
            "results": {"transcripts": [{"transcript": self.transcript}], "items": []},
        }
        self.s3.put_object(
            Bucket=self.started["OutputBucketName"],
            Key=self.started["OutputKey"],
            Body=json.dumps(document, ensure_ascii=False).encode(),
        )


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Any:
    """moto in process, with fake credentials and the test bucket."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        yield s3


def _aws_settings(tmp_path: Path, **overrides: object) -> Settings:
    return make_settings(
        tmp_path / "data",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        aws_default_region=REGION,
        transcribe_s3_bucket=BUCKET,
        **overrides,
    )


@pytest.mark.parametrize(
    ("lang", "code", "said"),
    [("en", "en-IN", "What is the Mudra loan limit?"), ("te", "te-IN", "ముద్రా రుణ పరిమితి ఎంత?")],
)
def test_transcribe_uploads_polls_reads_and_cleans_up(
    aws: Any, tmp_path: Path, lang: str, code: str, said: str
) -> None:
    settings = _aws_settings(tmp_path, transcribe_poll_seconds=0.01)
    transcribe = boto3.client("transcribe", region_name=REGION)
    service = TranscribeService(aws, transcribe, said)
    recognizer = build_speech_recognizer(settings, s3_client=aws, transcribe_client=transcribe)
    engine = recognizer.engine_for(lang)  # type: ignore[arg-type]
    assert isinstance(engine, AmazonTranscribe)
    engine._sleep = service.sleep

    result = recognizer.transcribe(speak_wav("hello"), "audio/wav", lang)  # type: ignore[arg-type]

    assert result.text == said
    assert result.engine == "amazon-transcribe"
    assert service.started["LanguageCode"] == code
    assert service.started["MediaFormat"] == "wav"
    media_uri = service.started["Media"]["MediaFileUri"]
    assert media_uri.startswith(f"s3://{BUCKET}/")
    assert service.polls >= 1  # moto moves QUEUED -> IN_PROGRESS -> COMPLETED, one per poll
    # Cleaned up: no audio or transcript left in the bucket, and the job is gone.
    assert aws.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0
    assert transcribe.list_transcription_jobs()["TranscriptionJobSummaries"] == []


def test_transcribe_gives_up_after_the_bounded_wait_and_still_cleans_up(
    aws: Any, tmp_path: Path
) -> None:
    settings = _aws_settings(tmp_path, transcribe_max_wait_seconds=0.001)
    transcribe = boto3.client("transcribe", region_name=REGION)
    recognizer = build_speech_recognizer(settings, s3_client=aws, transcribe_client=transcribe)
    with pytest.raises(VoiceError, match="too long"):
        recognizer.transcribe(speak_wav("hello"), "audio/webm;codecs=opus", "en")
    assert aws.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0


def test_telugu_voice_without_transcribe_is_a_clear_error(settings: Settings) -> None:
    recognizer = build_speech_recognizer(settings)
    assert recognizer.supports("en")
    assert not recognizer.supports("te")
    with pytest.raises(VoiceError) as caught:
        recognizer.transcribe(speak_wav("నమస్కారం", voice="te"), "audio/wav", "te")
    assert str(caught.value) == TELUGU_NEEDS_AWS
    assert "type" in str(caught.value) and "AWS" in str(caught.value)


# Amazon Polly (Stubber) ------------------------------------------------------------------------


def _mp3_of(wav: bytes) -> bytes:
    """Encode a WAV as MP3 with PyAV, so the stubbed Polly answer is real audio."""
    import av

    out = io.BytesIO()
    with av.open(io.BytesIO(wav), "r") as source, av.open(out, "w", format="mp3") as target:
        stream = target.add_stream("libmp3lame", rate=22050)
        stream.layout = "mono"  # type: ignore[attr-defined]
        for frame in source.decode(audio=0):
            frame.pts = None
            for packet in stream.encode(frame):  # type: ignore[attr-defined]
                target.mux(packet)
        for packet in stream.encode(None):  # type: ignore[attr-defined]
            target.mux(packet)
    return out.getvalue()


def test_polly_speaks_english_with_an_indian_voice_and_espeak_speaks_telugu(
    tmp_path: Path,
) -> None:
    settings = _aws_settings(tmp_path)
    polly = boto3.client(
        "polly", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    mp3 = _mp3_of(speak_wav("Up to Rs 25 crore."))
    answer = "A small enterprise may invest up to Rs 25 crore."
    with Stubber(polly) as stubber:
        stubber.add_response(
            "synthesize_speech",
            {
                "AudioStream": StreamingBody(io.BytesIO(mp3), len(mp3)),
                "ContentType": "audio/mpeg",
                "RequestCharacters": len(answer),
            },
            {
                "Text": answer,
                "TextType": "text",
                "OutputFormat": "mp3",
                "VoiceId": "Kajal",
                "Engine": "neural",
                "LanguageCode": "en-IN",
            },
        )
        synthesizer = build_speech_synthesizer(settings, polly_client=polly)
        english, english_engine = synthesizer.synthesize(answer, "en")
        telugu, telugu_engine = synthesizer.synthesize("చిన్న సంస్థలు రూ. 25 కోట్ల వరకు.", "te")
        stubber.assert_no_pending_responses()  # Telugu did not go to Polly

    assert (english_engine, english.mime) == ("amazon-polly", "audio/mpeg")
    assert english.data == mp3
    assert audio_duration(english.data) > 0.5
    assert (telugu_engine, telugu.mime) == ("espeak-ng", "audio/wav")
    assert wav_seconds(telugu.data) > 0.5


def test_without_aws_english_speech_comes_from_espeak(settings: Settings) -> None:
    audio, engine = build_speech_synthesizer(settings).synthesize("Hello, how can I help?", "en")
    assert engine == "espeak-ng"
    assert audio.data[:4] == b"RIFF" and audio.data[8:12] == b"WAVE"
    assert wav_seconds(audio.data) > 0.5


# Local engines, end to end ---------------------------------------------------------------------


def test_spoken_question_is_transcribed_answered_and_spoken_back(
    sample_knowledge: KnowledgeBase, whisper: LocalWhisper
) -> None:
    settings = sample_knowledge.settings
    question_audio = speak_wav(VOICE_QUESTION)
    assert 4.0 < wav_seconds(question_audio) < 6.5

    recognizer = build_speech_recognizer(settings, local=whisper)
    transcript = recognizer.transcribe(question_audio, "audio/wav", "en")
    assert transcript.engine == "faster-whisper"
    assert normalise(transcript.text) == normalise(VOICE_QUESTION)

    chain = build_rag_chain(settings, retrieve=sample_knowledge.search, llm=None)
    answer = chain.invoke({"question": transcript.text})
    assert not answer["refused"]
    assert "delayed" in answer["sources"][0]["title"].lower()
    assert "45 days" in answer["answer"] or "agreed" in answer["answer"]

    audio, engine = build_speech_synthesizer(settings).synthesize(answer["answer"], "en")
    assert engine == "espeak-ng"
    assert wav_seconds(audio.data) > 2.0


def test_langserve_transcribe_and_speak_routes(settings: Settings, whisper: LocalWhisper) -> None:
    services = Services(settings=settings)
    services.recognizer = build_speech_recognizer(settings, local=whisper)
    app = create_app(settings, services=services)

    async def call() -> tuple[httpx.Response, httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            spoken = await client.post(
                "/speak/invoke",
                json={"input": {"text": "Register on the Udyam portal.", "lang": "en"}},
            )
            audio_b64 = spoken.json()["output"]["audio_base64"]
            heard = await client.post(
                "/transcribe/invoke",
                json={
                    "input": {"audio_base64": audio_b64, "audio_type": "audio/wav", "lang": "en"}
                },
            )
            telugu = await client.post(
                "/speak/invoke", json={"input": {"text": "నమస్కారం", "lang": "te"}}
            )
            broken = await client.post(
                "/transcribe/invoke",
                json={"input": {"audio_base64": "***", "audio_type": "audio/wav", "lang": "en"}},
            )
            assert broken.status_code == 422
            assert "base64" in broken.json()["detail"]
            return spoken, heard, telugu

    import asyncio

    spoken, heard, telugu = asyncio.run(call())
    assert spoken.status_code == 200, spoken.text
    assert spoken.json()["output"]["audio_type"] == "audio/wav"
    assert heard.status_code == 200, heard.text
    assert "register" in heard.json()["output"]["text"].lower()
    assert telugu.status_code == 200
    assert wav_seconds(base64.b64decode(telugu.json()["output"]["audio_base64"])) > 0.3


def test_chains_reject_bad_input(settings: Settings) -> None:
    speak = build_text_to_speech_chain(build_speech_synthesizer(settings))
    with pytest.raises(ValueError):
        speak.invoke({"text": "", "lang": "en"})  # type: ignore[arg-type]
    transcribe = build_speech_to_text_chain(build_speech_recognizer(settings))
    with pytest.raises(VoiceError, match="base64"):
        transcribe.invoke({"audio_base64": "@@not", "audio_type": "audio/wav"})  # type: ignore[arg-type]
    with pytest.raises(VoiceError, match="Unsupported"):
        transcribe.invoke({"audio_base64": "AAAA", "audio_type": "video/x-flv"})  # type: ignore[arg-type]


# Stored answer audio ---------------------------------------------------------------------------


def test_audio_store_serves_fresh_files_and_deletes_expired_ones(tmp_path: Path) -> None:
    store = AudioStore(tmp_path / "audio", retention_hours=1)
    fresh = store.save(speak_wav("fresh"), "wav")
    old = store.save(speak_wav("old"), "wav")
    two_hours_ago = time.time() - 2 * 3600
    os.utime(store.root / old, (two_hours_ago, two_hours_ago))

    assert store.path(fresh) is not None
    assert store.path(old) is None  # expired files are not served even before the purge
    assert store.path("../../etc/passwd") is None
    assert store.purge() == 1
    assert sorted(p.name for p in store.root.iterdir()) == [fresh]
