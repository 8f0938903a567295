"""The long-lived parts of a serving process, built once at startup (never at import)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from langchain_core.language_models import BaseChatModel

from api.audio import AudioStore
from chains.llm import build_llm
from chains.memory import ChatMemory
from chains.voice import (
    SpeechRecognizer,
    SpeechSynthesizer,
    build_speech_recognizer,
    build_speech_synthesizer,
)
from db.engine import Database
from knowledge.base import KnowledgeBase, ScoredChunk
from knowledge.embeddings import build_embeddings, describe_embeddings
from settings import Settings
from storage import Storage, build_storage

if TYPE_CHECKING:
    from jobs import JobDispatcher


def app_version() -> str:
    """The installed package version."""
    try:
        return version("msme-rag")
    except PackageNotFoundError:  # running from a checkout that was not installed
        return "0.0.0+unknown"


@dataclass
class Services:
    """Settings, the knowledge base and the LLM; `start()` loads the heavy parts."""

    settings: Settings
    llm: BaseChatModel | None = None
    _knowledge: KnowledgeBase | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    # Document service (issue 3): built on first use; creating them opens no connection.
    _database: Database | None = field(default=None, init=False)
    _storage: Storage | None = field(default=None, init=False)
    #: Runs ingestion jobs; set by the app's lifespan (or a Celery worker's startup).
    jobs: JobDispatcher | None = field(default=None, init=False)
    # Chat and voice (issue 4): built on first use; tests may pass their own.
    recognizer: SpeechRecognizer | None = None
    synthesizer: SpeechSynthesizer | None = None
    _chat_memory: ChatMemory | None = field(default=None, init=False)
    _audio_store: AudioStore | None = field(default=None, init=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        """Services for these settings; Bedrock is used when the settings enable it."""
        return cls(settings=settings, llm=build_llm(settings))

    def start(self) -> None:
        """Load the embedding model and the index (idempotent)."""
        with self._lock:
            if self._knowledge is None:
                self._knowledge = KnowledgeBase(self.settings, build_embeddings(self.settings))

    @property
    def knowledge(self) -> KnowledgeBase:
        """The knowledge base, loaded on first use if startup did not load it."""
        if self._knowledge is None:
            self.start()
        assert self._knowledge is not None
        return self._knowledge

    @property
    def speech_recognizer(self) -> SpeechRecognizer:
        """Speech to text (Transcribe or the local model, which loads on first transcription)."""
        with self._lock:
            if self.recognizer is None:
                self.recognizer = build_speech_recognizer(self.settings)
            return self.recognizer

    @property
    def speech_synthesizer(self) -> SpeechSynthesizer:
        """Text to speech (Polly for English with AWS, espeak-ng otherwise)."""
        with self._lock:
            if self.synthesizer is None:
                self.synthesizer = build_speech_synthesizer(self.settings)
            return self.synthesizer

    @property
    def chat_memory(self) -> ChatMemory:
        """Per-session chat history in the database."""
        with self._lock:
            if self._chat_memory is None:
                self._chat_memory = ChatMemory(self.settings)
            return self._chat_memory

    @property
    def audio_store(self) -> AudioStore:
        """Spoken answers under DATA_DIR/audio."""
        with self._lock:
            if self._audio_store is None:
                self._audio_store = AudioStore.from_settings(self.settings)
            return self._audio_store

    @property
    def database(self) -> Database:
        """The SQL database of users, documents and jobs."""
        if self._database is None:
            self._database = Database(self.settings)
        return self._database

    @property
    def storage(self) -> Storage:
        """Where uploaded files are kept (local or S3, from the settings)."""
        if self._storage is None:
            self._storage = build_storage(self.settings)
        return self._storage

    def search(self, query: str, k: int) -> list[ScoredChunk]:
        """Retrieval for the chains."""
        return self.knowledge.search(query, k)

    def status(self) -> dict[str, object]:
        """Health and status: counts and the active backend of each part."""
        stats = self.knowledge.stats()
        embeddings = describe_embeddings(self.settings)
        database = self.settings.sqlalchemy_url.split(":", 1)[0].split("+", 1)[0]
        return {
            "status": "ok",
            "name": "msme-rag",
            "version": app_version(),
            "documents": stats.documents,
            "chunks": stats.chunks,
            "backends": {
                "llm": f"bedrock:{self.settings.bedrock_model_id}" if self.llm else "extractive",
                "embeddings": f"{embeddings.backend}:{embeddings.model}",
                "vector_store": "faiss",
                "storage": self.storage.describe(),
                "jobs": self.jobs.describe() if self.jobs else "none",
                "database": database,
            },
        }
