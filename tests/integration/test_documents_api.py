"""The document service over HTTP against a real SQLite database, real FAISS and the real model."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote, urlparse

import jwt
import pytest
from fastapi.testclient import TestClient
from langchain_core.embeddings import Embeddings

from db import Database, Document, IngestionJob
from db.migrate import upgrade
from settings import Settings
from storage import LocalStorage
from tests.conftest import SAMPLE_CORPUS
from tests.fixtures.documents import write_locked_pdf
from tests.integration.document_client import (
    Reply,
    ask,
    login,
    running_app,
    service_settings,
    upload_file,
    upload_text,
    wait_for_document,
)

pytestmark = pytest.mark.integration

ADMIN = "admin@example.com"
MEMBER = "member@example.com"
UNIQUE_FACT = (
    "The Zorvian Widget Cooperative of Nellore gives every member a rebate of 7.25 percent on "
    "kiln repairs during the monsoon season. Members claim the rebate at the cooperative office."
)
UNIQUE_QUESTION = "What rebate does the Zorvian Widget Cooperative give on kiln repairs?"


@pytest.fixture
def doc_settings(tmp_path: Path) -> Settings:
    """Settings with a 1 MB upload limit and a fast-polling worker."""
    return service_settings(tmp_path / "data", max_upload_mb=1, job_poll_seconds=0.2)


@pytest.fixture
def client(
    doc_settings: Settings, embeddings: Embeddings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    """The app with its in-process worker."""
    with running_app(doc_settings, embeddings, monkeypatch) as client:
        yield client


@pytest.fixture
def admin(client: TestClient) -> dict[str, str]:
    """Headers of the first account, which is the admin."""
    return login(client, ADMIN)


@pytest.fixture
def member(client: TestClient, admin: dict[str, str]) -> dict[str, str]:
    """Headers of a second, ordinary account."""
    return login(client, MEMBER)


# -- accounts ----------------------------------------------------------------------------------


def test_first_account_is_admin_and_only_admins_list_users(
    client: TestClient, admin: dict[str, str], member: dict[str, str]
) -> None:
    users = client.get("/api/users", headers=admin)
    assert users.status_code == 200
    roles = {user["email"]: user["is_admin"] for user in users.json()}
    assert roles == {ADMIN: True, MEMBER: False}
    assert "password_hash" not in users.text
    assert client.get("/api/users", headers=member).status_code == 403
    assert client.get("/api/users").status_code == 401


def test_account_named_by_admin_email_is_admin(
    tmp_path: Path, embeddings: Embeddings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = service_settings(tmp_path / "data", admin_email="Boss@Example.com")
    with running_app(settings, embeddings, monkeypatch) as client:
        login(client, "first@example.com")
        boss = login(client, "boss@example.com")
        assert client.get("/api/users", headers=boss).status_code == 200


def test_login_and_token_errors(client: TestClient, admin: dict[str, str]) -> None:
    duplicate = client.post("/auth/register", json={"email": ADMIN, "password": "another password"})
    assert duplicate.status_code == 409
    bad_email = client.post("/auth/register", json={"email": "nobody", "password": "long enough"})
    assert bad_email.status_code == 422
    short = client.post("/auth/register", json={"email": "a@b.co", "password": "short"})
    assert short.status_code == 422
    wrong = client.post("/auth/login", data={"username": ADMIN, "password": "wrong password"})
    assert wrong.status_code == 401
    unknown = client.post("/auth/login", data={"username": "x@y.org", "password": "whatever1"})
    assert unknown.status_code == 401

    garbage = {"Authorization": "Bearer not-a-token"}
    assert client.get("/api/docs", headers=garbage).status_code == 401
    settings: Settings = client.app.state.services.settings  # type: ignore[attr-defined]
    past = datetime.now(UTC) - timedelta(hours=1)
    expired = jwt.encode(
        {"sub": "1", "iat": past - timedelta(hours=1), "exp": past},
        settings.jwt_secret_key.get_secret_value(),
        algorithm="HS256",
    )
    response = client.get("/api/docs", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]
    forged = jwt.encode({"sub": "1", "exp": datetime.now(UTC) + timedelta(hours=1)}, "x" * 32)
    assert client.get("/api/docs", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    assert client.get("/api/docs", headers=admin).status_code == 200


# -- the document life cycle -------------------------------------------------------------------


def test_uploaded_file_is_indexed_answerable_deduplicated_and_deleted(
    client: TestClient, admin: dict[str, str], member: dict[str, str]
) -> None:
    sample = SAMPLE_CORPUS / "en" / "mudra_loans.docx"
    started = time.perf_counter()
    response = upload_file(client, member, "Mudra loans", sample)
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["status"] == "pending"
    assert accepted["original_name"] == "mudra_loans.docx"
    document = wait_for_document(client, member, accepted["id"])
    print(f"\nupload -> indexed for {sample.name}: {time.perf_counter() - started:.2f} s")
    assert document["status"] == "indexed", document
    assert document["chunk_count"] == len(document["chunks"]) > 0
    assert any("Shishu" in chunk["text"] for chunk in document["chunks"])

    answer = ask(client, "How much is a Shishu loan under Mudra?")
    assert not answer["refused"]
    assert answer["sources"][0]["doc_id"] == accepted["id"]
    assert answer["sources"][0]["source"] == "mudra_loans.docx"

    again = upload_file(client, admin, "Mudra loans again", sample, name="copy.docx")
    assert again.status_code == 200
    assert again.json()["id"] == accepted["id"] and again.json()["duplicate"] is True
    assert client.get("/api/docs", headers=member).json()["total"] == 1

    stored = _local_path(client.get(f"/api/docs/{accepted['id']}", headers=member).json())
    assert stored.is_file()
    assert client.delete(f"/api/docs/{accepted['id']}", headers=member).status_code == 403
    assert client.delete(f"/api/docs/{accepted['id']}", headers=admin).status_code == 204
    assert client.get(f"/api/docs/{accepted['id']}", headers=admin).status_code == 404
    assert client.delete(f"/api/docs/{accepted['id']}", headers=admin).status_code == 404
    assert not stored.exists()
    after = ask(client, "How much is a Shishu loan under Mudra?")
    assert after["refused"] is True
    assert after["sources"] == []


def test_text_upload_list_filter_and_pagination(client: TestClient, member: dict[str, str]) -> None:
    first = upload_text(client, member, "Kiln rebate", UNIQUE_FACT)
    assert first.status_code == 202
    assert first.json()["content_type"] == "text/plain"
    second = upload_text(client, member, "Broken", "%PDF-1.4 just text, fine as .txt though")
    assert second.status_code == 202
    for document_id in (first.json()["id"], second.json()["id"]):
        assert wait_for_document(client, member, document_id)["status"] == "indexed"

    answer = ask(client, UNIQUE_QUESTION)
    assert not answer["refused"]
    assert answer["sources"][0]["doc_id"] == first.json()["id"]
    assert answer["sources"][0]["title"] == "Kiln rebate"

    page = client.get("/api/docs", params={"limit": 1}, headers=member).json()
    assert page["total"] == 2 and len(page["items"]) == 1
    assert page["items"][0]["id"] == second.json()["id"]  # newest first
    rest = client.get("/api/docs", params={"limit": 1, "offset": 1}, headers=member).json()
    assert rest["items"][0]["id"] == first.json()["id"]
    indexed = client.get("/api/docs", params={"status": "indexed"}, headers=member).json()
    assert indexed["total"] == 2
    failed = client.get("/api/docs", params={"status": "failed"}, headers=member).json()
    assert failed["total"] == 0
    assert client.get("/api/docs", params={"status": "bogus"}, headers=member).status_code == 422
    assert client.get("/api/docs").status_code == 401
    assert client.get(f"/api/docs/{uuid.uuid4()}", headers=member).status_code == 404


def _local_path(document: dict[str, str]) -> Path:
    uri = urlparse(document["storage_uri"])
    assert uri.scheme == "file"
    return Path(unquote(uri.path))


# -- bad input ---------------------------------------------------------------------------------


def _post(
    client: TestClient,
    headers: dict[str, str],
    data: dict[str, str],
    file: tuple[str, bytes] | None = None,
) -> Reply:
    files = {"file": (file[0], file[1], "application/octet-stream")} if file else None
    return client.post("/api/docs", data=data, files=files, headers=headers)


@pytest.mark.parametrize(
    ("data", "file", "status", "reason"),
    [
        ({"text": "some text"}, None, 422, "title is required"),
        ({"title": "   ", "text": "some text"}, None, 422, "title is required"),
        ({"title": "t" * 301, "text": "some text"}, None, 422, "longer than"),
        ({"title": "Nothing"}, None, 422, "either text or a file"),
        ({"title": "Both", "text": "words"}, ("a.txt", b"words"), 422, "either text or a file"),
        ({"title": "Blank", "text": "  \n "}, None, 422, "text is empty"),
        ({"title": "Empty"}, ("empty.pdf", b""), 422, "the file is empty"),
        ({"title": "Exe"}, ("tool.exe", b"MZ\x90\x00"), 415, "unsupported file type"),
        ({"title": "No ext"}, ("README", b"hello"), 415, "unsupported file type"),
        ({"title": "Fake"}, ("report.pdf", b"just words, no PDF"), 415, "not a .pdf"),
        ({"title": "Fake"}, ("letter.docx", b"%PDF-1.4 a pdf"), 415, "not a .docx"),
        ({"title": "Fake"}, ("old.doc", b"PK\x03\x04zip"), 415, "not a .doc"),
        ({"title": "Bin"}, ("notes.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00"), 415, "not a .txt"),
        ({"title": "Bin"}, ("page.html", b"\x00\x01\x02<html>"), 415, "not a .html"),
    ],
)
def test_bad_uploads_get_clear_errors(
    client: TestClient,
    member: dict[str, str],
    data: dict[str, str],
    file: tuple[str, bytes] | None,
    status: int,
    reason: str,
) -> None:
    response = _post(client, member, data, file)
    assert response.status_code == status, response.text
    assert reason in response.json()["detail"]
    assert client.get("/api/docs", headers=member).json()["total"] == 0


def test_upload_needs_a_token_and_a_form(client: TestClient, member: dict[str, str]) -> None:
    assert _post(client, {}, {"title": "x", "text": "y"}).status_code == 401
    as_json = client.post("/api/docs", json={"title": "x", "text": "y"}, headers=member)
    assert as_json.status_code == 415


def test_uploads_over_the_limit_get_413(client: TestClient, member: dict[str, str]) -> None:
    big = b"a" * (1024 * 1024 + 1)  # MAX_UPLOAD_MB is 1 here
    assert _post(client, member, {"title": "Big"}, ("big.txt", big)).status_code == 413
    text = upload_text(client, member, "Big text", "b" * (1024 * 1024 + 10))
    assert text.status_code == 413
    # Far over the limit: refused from Content-Length before the body is read.
    huge = _post(client, member, {"title": "Huge"}, ("huge.txt", b"c" * (3 * 1024 * 1024)))
    assert huge.status_code == 413

    # No Content-Length (chunked): counted while it streams in and cut off.
    def body() -> Iterator[bytes]:
        yield b'--xyz\r\nContent-Disposition: form-data; name="title"\r\n\r\nStream\r\n'
        yield b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="s.txt"\r\n\r\n'
        for _ in range(40):
            yield b"d" * 65536
        yield b"\r\n--xyz--\r\n"

    streamed = client.post(
        "/api/docs",
        content=body(),
        headers={**member, "Content-Type": "multipart/form-data; boundary=xyz"},
    )
    assert streamed.status_code == 413
    assert client.get("/api/docs", headers=member).json()["total"] == 0


def test_file_names_are_sanitised(
    client: TestClient, member: dict[str, str], doc_settings: Settings
) -> None:
    response = _post(
        client, member, {"title": "Odd name"}, ("../../etc/pass wd;rm -rf $HOME|x.TXT", b"hello")
    )
    assert response.status_code == 202, response.text
    document = response.json()
    assert document["original_name"] == "pass wd_rm -rf _HOME_x.txt"
    stored = _local_path(document)
    uploads = doc_settings.resolved_data_dir / "uploads"
    assert stored.parent == uploads / document["id"]
    assert stored.read_bytes() == b"hello"


def test_corrupt_and_locked_files_fail_with_a_reason_and_harm_nothing(
    client: TestClient, member: dict[str, str], tmp_path: Path
) -> None:
    good = upload_text(client, member, "Kiln rebate", UNIQUE_FACT).json()
    assert wait_for_document(client, member, good["id"])["status"] == "indexed"
    before = client.get("/").json()["chunks"]

    locked = write_locked_pdf(tmp_path / "locked.pdf")
    corrupt = ("broken.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ngarbage without xref")
    bad_docx = ("bad.docx", b"PK\x03\x04 this is not really a zip archive")

    outcomes = {}
    for name, content in (("locked.pdf", locked.read_bytes()), corrupt, bad_docx):
        response = _post(client, member, {"title": name}, (name, content))
        assert response.status_code == 202, response.text
        outcomes[name] = wait_for_document(client, member, response.json()["id"])
    assert outcomes["locked.pdf"]["status"] == "failed"
    assert "password" in outcomes["locked.pdf"]["error"]
    assert outcomes["broken.pdf"]["status"] == "failed"
    assert "broken.pdf" in outcomes["broken.pdf"]["error"]
    assert outcomes["bad.docx"]["status"] == "failed"
    assert outcomes["bad.docx"]["error"].startswith("bad.docx: ")
    assert "not a valid .docx" in outcomes["bad.docx"]["error"]
    # Reasons name the file, never where the server keeps it.
    assert not any(str(tmp_path) in (outcome["error"] or "") for outcome in outcomes.values())
    assert all(outcome["chunks"] == [] for outcome in outcomes.values())

    assert client.get("/").json()["chunks"] == before
    assert ask(client, UNIQUE_QUESTION)["sources"][0]["doc_id"] == good["id"]
    failed = client.get("/api/docs", params={"status": "failed"}, headers=member).json()
    assert failed["total"] == 3


# -- reindex, restart, settings ----------------------------------------------------------------


def test_reindex_rebuilds_from_stored_documents(
    client: TestClient, admin: dict[str, str], member: dict[str, str]
) -> None:
    kiln = upload_text(client, member, "Kiln rebate", UNIQUE_FACT).json()
    bad = _post(client, member, {"title": "Bad"}, ("bad.docx", b"PK\x03\x04 not a zip")).json()
    wait_for_document(client, member, kiln["id"])
    wait_for_document(client, member, bad["id"])
    chunks_before = client.get("/").json()["chunks"]

    assert client.post("/api/docs/reindex", headers=member).status_code == 403
    started = client.post("/api/docs/reindex", headers=admin)
    assert started.status_code == 202
    job = started.json()
    assert job["kind"] == "reindex" and job["status"] in ("pending", "processing")
    deadline = time.monotonic() + 120
    while job["status"] not in ("done", "failed"):
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
        job = client.get(f"/api/docs/reindex/{job['id']}", headers=member).json()
    assert job["status"] == "done", job
    assert job["progress_done"] == job["progress_total"] == 2

    assert client.get("/").json()["chunks"] == chunks_before
    assert client.get(f"/api/docs/{kiln['id']}", headers=member).json()["status"] == "indexed"
    assert client.get(f"/api/docs/{bad['id']}", headers=member).json()["status"] == "failed"
    assert ask(client, UNIQUE_QUESTION)["sources"][0]["doc_id"] == kiln["id"]
    assert client.get(f"/api/docs/reindex/{kiln['id']}", headers=member).status_code == 404


def test_restart_resumes_pending_and_interrupted_jobs(
    tmp_path: Path, embeddings: Embeddings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = service_settings(tmp_path / "data", job_poll_seconds=0.2, job_lease_seconds=5)
    database = Database(settings)
    upgrade(database)
    storage = LocalStorage(settings.resolved_data_dir / "uploads")
    source = tmp_path / "fact.txt"
    long_ago = datetime.now(UTC) - timedelta(minutes=10)
    ids = []
    with database.session() as session:
        for index, (status, heartbeat) in enumerate([("pending", None), ("processing", long_ago)]):
            source.write_text(f"{UNIQUE_FACT} Branch number {index}.", encoding="utf-8")
            document = Document(
                title=f"Fact {index}",
                original_name="fact.txt",
                storage_uri="",
                content_type="text/plain",
                size_bytes=source.stat().st_size,
                sha256=f"{index:064d}",
                status="pending" if status == "pending" else "processing",
            )
            document.storage_uri = storage.save(document.id, "fact.txt", source)
            session.add(document)
            session.add(
                IngestionJob(
                    kind="ingest",
                    document_id=document.id,
                    status=status,
                    heartbeat_at=heartbeat,
                    worker="a-process-that-died",
                    attempts=1 if heartbeat else 0,
                )
            )
            ids.append(str(document.id))
        session.commit()
    database.dispose()

    with running_app(settings, embeddings, monkeypatch) as client:
        headers = login(client, ADMIN)
        for document_id in ids:
            assert wait_for_document(client, headers, document_id)["status"] == "indexed"
    with database.session() as session:
        jobs = session.query(IngestionJob).all()
        assert {job.status for job in jobs} == {"done"}
        assert sorted(job.attempts for job in jobs) == [1, 2]


def test_chat_can_require_a_token(
    tmp_path: Path, embeddings: Embeddings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = service_settings(tmp_path / "data", require_auth_for_chat=True)
    with running_app(settings, embeddings, monkeypatch) as client:
        question = {"input": {"question": UNIQUE_QUESTION}}
        assert client.post("/rag/invoke", json=question).status_code == 401
        headers = login(client, ADMIN)
        assert client.post("/rag/invoke", json=question, headers=headers).status_code == 200


def test_chat_is_public_by_default_and_health_names_the_backends(client: TestClient) -> None:
    assert ask(client, UNIQUE_QUESTION)["refused"] is True
    backends = client.get("/").json()["backends"]
    assert backends["storage"] == "local"
    assert backends["database"] == "sqlite"
    assert backends["jobs"] == "inprocess"
