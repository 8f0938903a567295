"""S3 storage against moto running as a real HTTP server on 127.0.0.1, through the production code."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from langchain_core.embeddings import Embeddings
from moto.server import ThreadedMotoServer

from settings import Settings
from storage import S3Storage, StorageError, build_storage
from tests.integration.document_client import (
    ask,
    login,
    running_app,
    service_settings,
    upload_file,
    wait_for_document,
)
from tests.servers import free_port

pytestmark = pytest.mark.integration
BUCKET = "msme-dataset"


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """A moto server on a free port of 127.0.0.1."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_settings(tmp_path: Path, moto_endpoint: str) -> Settings:
    """Settings selecting S3 storage on a fresh bucket of the moto server."""
    settings = service_settings(
        tmp_path / "data",
        dataset_s3_bucket=f"{BUCKET}-{uuid.uuid4().hex[:8]}",
        aws_endpoint_url=moto_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        aws_default_region="ap-south-1",
        bedrock_enabled="off",
        job_poll_seconds=0.2,
    )
    client = boto3.client("s3", **settings.boto3_client_kwargs("s3"))  # type: ignore[call-overload]
    client.create_bucket(
        Bucket=settings.dataset_s3_bucket,
        CreateBucketConfiguration={"LocationConstraint": "ap-south-1"},
    )
    return settings


def _keys(settings: Settings) -> list[str]:
    client = boto3.client("s3", **settings.boto3_client_kwargs("s3"))  # type: ignore[call-overload]
    listing = client.list_objects_v2(Bucket=settings.dataset_s3_bucket)
    return [item["Key"] for item in listing.get("Contents", [])]


def test_s3_storage_round_trip(s3_settings: Settings, tmp_path: Path) -> None:
    storage = build_storage(s3_settings)
    assert isinstance(storage, S3Storage)
    assert storage.describe() == f"s3:{s3_settings.dataset_s3_bucket}"
    source = tmp_path / "in.txt"
    source.write_bytes("ఉద్యమ్ registration notes".encode())
    document_id = uuid.uuid4()

    uri = storage.save(document_id, "../secret/ఉద్యమ్ notes?.TXT", source)
    assert uri == f"s3://{s3_settings.dataset_s3_bucket}/dataset/{document_id}/ఉద్యమ్ notes.txt"
    assert _keys(s3_settings) == [f"dataset/{document_id}/ఉద్యమ్ notes.txt"]
    assert storage.exists(uri)
    with storage.local_copy(uri) as path:
        assert path.name == "ఉద్యమ్ notes.txt"
        assert path.read_bytes() == source.read_bytes()
    assert not path.exists()  # the temporary copy is gone after the block

    storage.delete(uri)
    assert not storage.exists(uri)
    assert _keys(s3_settings) == []
    with pytest.raises(StorageError, match=r"NoSuchKey|404"), storage.local_copy(uri):
        pass
    with pytest.raises(StorageError, match="outside"):
        storage.delete(f"s3://another-bucket/dataset/{document_id}/x.txt")
    with pytest.raises(StorageError, match="outside"):
        storage.exists(f"s3://{s3_settings.dataset_s3_bucket}/other/x.txt")


def test_missing_bucket_is_a_storage_error(s3_settings: Settings, tmp_path: Path) -> None:
    settings = s3_settings.model_copy(update={"dataset_s3_bucket": "no-such-bucket"})
    source = tmp_path / "in.txt"
    source.write_text("hello", encoding="utf-8")
    with pytest.raises(StorageError, match="could not store"):
        S3Storage.from_settings(settings).save(uuid.uuid4(), "in.txt", source)


def test_api_stores_uploads_in_s3_and_deletes_them(
    s3_settings: Settings,
    embeddings: Embeddings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    fact = tmp_path / "kiln.md"
    fact.write_text(
        "# Kiln rebate\n\nThe Zorvian Widget Cooperative of Nellore gives members a rebate of "
        "7.25 percent on kiln repairs during the monsoon season.\n",
        encoding="utf-8",
    )
    with running_app(s3_settings, embeddings, monkeypatch) as client:
        headers = login(client, "admin@example.com")
        assert client.get("/").json()["backends"]["storage"].startswith("s3:")
        accepted = upload_file(client, headers, "Kiln rebate", fact)
        assert accepted.status_code == 202, accepted.text
        document_id = accepted.json()["id"]
        assert accepted.json()["storage_uri"].startswith(f"s3://{s3_settings.dataset_s3_bucket}/")
        assert _keys(s3_settings) == [f"dataset/{document_id}/kiln.md"]

        document = wait_for_document(client, headers, document_id)
        assert document["status"] == "indexed", document
        question = "What rebate does the Zorvian Widget Cooperative give on kiln repairs?"
        assert ask(client, question)["sources"][0]["doc_id"] == document_id

        assert client.delete(f"/api/docs/{document_id}", headers=headers).status_code == 204
        assert _keys(s3_settings) == []
        assert ask(client, question)["refused"] is True
