"""S3 storage: objects under dataset/<uuid>/<safe name> in DATASET_S3_BUCKET, through boto3."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storage.base import StorageError, safe_filename

if TYPE_CHECKING:
    from settings import Settings

PREFIX = "dataset"


class S3Storage:
    """An S3 bucket; the client comes from the settings (region, endpoint, credentials)."""

    def __init__(self, bucket: str, client: Any) -> None:
        self.bucket = bucket
        self.client = client

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Storage:
        """Storage on DATASET_S3_BUCKET with a client built from the settings."""
        import boto3

        if not settings.dataset_s3_bucket:
            raise StorageError("DATASET_S3_BUCKET is not set")
        client = boto3.client("s3", **settings.boto3_client_kwargs("s3"))  # type: ignore[call-overload]
        return cls(settings.dataset_s3_bucket, client)

    def key_for(self, document_id: uuid.UUID, name: str) -> str:
        """The object key of a document's file."""
        return f"{PREFIX}/{document_id}/{safe_filename(name)}"

    def save(self, document_id: uuid.UUID, name: str, source: Path) -> str:
        """Upload `source` (multipart for large files); return its s3:// URI."""
        from boto3.exceptions import Boto3Error
        from botocore.exceptions import BotoCoreError, ClientError

        key = self.key_for(document_id, name)
        try:
            self.client.upload_file(str(source), self.bucket, key)
        except (Boto3Error, BotoCoreError, ClientError) as exc:
            raise StorageError(f"could not store s3://{self.bucket}/{key}: {exc}") from exc
        return f"s3://{self.bucket}/{key}"

    @contextmanager
    def local_copy(self, uri: str) -> Iterator[Path]:
        """Download into a temporary folder, keeping the name (loaders need the extension)."""
        from botocore.exceptions import BotoCoreError, ClientError

        bucket, key = self._split(uri)
        with tempfile.TemporaryDirectory(prefix="msme-rag-s3-") as folder:
            path = Path(folder) / key.rsplit("/", 1)[-1]
            try:
                self.client.download_file(bucket, key, str(path))
            except ClientError as exc:
                raise StorageError(f"could not fetch {uri}: {_error_code(exc)}") from exc
            except BotoCoreError as exc:
                raise StorageError(f"could not fetch {uri}: {exc}") from exc
            yield path

    def delete(self, uri: str) -> None:
        """Delete the object (S3 treats a missing key as deleted)."""
        bucket, key = self._split(uri)
        self.client.delete_object(Bucket=bucket, Key=key)

    def exists(self, uri: str) -> bool:
        """Whether the object is there."""
        from botocore.exceptions import ClientError

        bucket, key = self._split(uri)
        try:
            self.client.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if _error_code(exc) in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True

    def describe(self) -> str:
        """`s3:<bucket>`."""
        return f"s3:{self.bucket}"

    def _split(self, uri: str) -> tuple[str, str]:
        if not uri.startswith("s3://"):
            raise StorageError(f"not an s3:// URI: {uri}")
        bucket, _, key = uri[len("s3://") :].partition("/")
        if bucket != self.bucket or not key.startswith(f"{PREFIX}/"):
            raise StorageError(f"{uri} is outside s3://{self.bucket}/{PREFIX}/")
        return bucket, key


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", "unknown"))
