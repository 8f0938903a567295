"""The long-lived parts of a serving process, built once at startup (never at import)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version

from langchain_core.language_models import BaseChatModel

from chains.llm import build_llm
from knowledge.base import KnowledgeBase, ScoredChunk
from knowledge.embeddings import build_embeddings, describe_embeddings
from settings import Settings


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
                "storage": "local",
                "database": database,
            },
        }
