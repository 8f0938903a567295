"""Helpers for the document-service tests: accounts, uploads and waiting on ingestion over HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from langchain_core.embeddings import Embeddings

from serve import create_app
from settings import Settings
from tests.conftest import make_settings

TEST_JWT_SECRET = "test-only-jwt-secret-0123456789abcdef"


def service_settings(data_dir: Path, **overrides: object) -> Settings:
    """Test settings for the document service (a signing key of a recommended length)."""
    return make_settings(data_dir, **{"jwt_secret_key": TEST_JWT_SECRET, **overrides})


Client = httpx.Client | TestClient
#: TestClient and httpx.Client answer with look-alike response classes of different packages.
Reply = Any
TEST_PASSWORD = "correct horse battery"


@contextmanager
def running_app(
    settings: Settings, embeddings: Embeddings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    """The real app in process (lifespan included), with the session's embedding model."""
    monkeypatch.setattr("api.services.build_embeddings", lambda _settings: embeddings)
    with TestClient(create_app(settings)) as client:
        yield client


def login(client: Client, email: str, password: str = TEST_PASSWORD) -> dict[str, str]:
    """Register (if needed) and log in; return the Authorization header."""
    registered = client.post("/auth/register", json={"email": email, "password": password})
    assert registered.status_code in (201, 409), registered.text
    token = client.post("/auth/login", data={"username": email, "password": password})
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def upload_text(client: Client, headers: dict[str, str], title: str, text: str) -> Reply:
    """POST /api/docs with a title and text."""
    return client.post("/api/docs", data={"title": title, "text": text}, headers=headers)


def upload_file(
    client: Client, headers: dict[str, str], title: str, path: Path, name: str | None = None
) -> Reply:
    """POST /api/docs with a title and a file."""
    with path.open("rb") as handle:
        return client.post(
            "/api/docs",
            data={"title": title},
            files={"file": (name or path.name, handle, "application/octet-stream")},
            headers=headers,
        )


def wait_for_document(
    client: Client,
    headers: dict[str, str],
    document_id: str,
    statuses: tuple[str, ...] = ("indexed", "failed"),
    timeout: float = 180.0,
) -> dict[str, Any]:
    """Poll GET /api/docs/{id} until the document reaches one of `statuses`."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/api/docs/{document_id}", headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] in statuses:
            return body
        assert time.monotonic() < deadline, f"still {body['status']} after {timeout} s: {body}"
        time.sleep(0.2)


def ask(client: Client, question: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """POST /rag/invoke and return the answer."""
    response = client.post(
        "/rag/invoke", json={"input": {"question": question}}, headers=headers or {}
    )
    assert response.status_code == 200, response.text
    output: dict[str, Any] = response.json()["output"]
    return output
