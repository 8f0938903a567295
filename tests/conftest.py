"""Shared fixtures: isolated settings per test, the packaged embedding model, the sample corpus index."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.embeddings import Embeddings

from knowledge.base import KnowledgeBase
from knowledge.embeddings import build_embeddings
from knowledge.ingestion import discover_files, ingest_paths
from settings import Settings, configure_offline_libraries

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_CORPUS = REPO_ROOT / "sample_corpus"

configure_offline_libraries()


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings for a test: nothing from the environment or a .env file leaks in."""
    return Settings(_env_file=None, data_dir=data_dir, **overrides)  # type: ignore[call-arg]


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep AWS and app variables of the developer's shell out of every test."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "DATA_DIR",
        "DATABASE_URL",
        "BEDROCK_ENABLED",
        "ENVIRONMENT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def embeddings() -> Embeddings:
    """The default packaged embedding model (multilingual E5), loaded once."""
    return build_embeddings(Settings(_env_file=None))  # type: ignore[call-arg]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with DATA_DIR in this test's temporary folder."""
    return make_settings(tmp_path / "data")


@pytest.fixture
def knowledge(settings: Settings, embeddings: Embeddings) -> KnowledgeBase:
    """An empty knowledge base in this test's DATA_DIR."""
    return KnowledgeBase(settings, embeddings)


@pytest.fixture(scope="session")
def sample_data_dir(tmp_path_factory: pytest.TempPathFactory, embeddings: Embeddings) -> Path:
    """A DATA_DIR holding the ingested sample corpus, built once per session (do not write to it)."""
    data_dir = tmp_path_factory.mktemp("sample") / "data"
    settings = make_settings(data_dir)
    files, _ = discover_files([SAMPLE_CORPUS])
    summary = ingest_paths(KnowledgeBase(settings, embeddings), settings, files)
    assert not summary.failures, summary.failures
    return data_dir


@pytest.fixture(scope="module")
def sample_server_url(
    sample_data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """`python serve.py` on a free port over a private copy of the sample corpus (per module)."""
    from tests.servers import running_server

    data_dir = tmp_path_factory.mktemp("server") / "data"
    shutil.copytree(sample_data_dir, data_dir)
    with running_server(data_dir) as url:
        yield url


@pytest.fixture
def sample_knowledge(
    sample_data_dir: Path, tmp_path: Path, embeddings: Embeddings
) -> Iterator[KnowledgeBase]:
    """A private copy of the ingested sample corpus for one test."""
    data_dir = tmp_path / "sample-data"
    shutil.copytree(sample_data_dir, data_dir)
    yield KnowledgeBase(make_settings(data_dir), embeddings)


@pytest.fixture(autouse=True)
def _no_document_service_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the document service's variables (issue 3) of the developer's shell out of tests."""
    for name in (
        "CELERY_BROKER_URL",
        "CELERY_QUEUE",
        "DATASET_S3_BUCKET",
        "AWS_ENDPOINT_URL",
        "MAX_UPLOAD_MB",
        "ADMIN_EMAIL",
        "REQUIRE_AUTH_FOR_CHAT",
        "DB_AUTO_MIGRATE",
        "JWT_EXPIRE_MINUTES",
        "JOB_POLL_SECONDS",
        "JOB_LEASE_SECONDS",
    ):
        monkeypatch.delenv(name, raising=False)
