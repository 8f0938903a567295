"""The storage protocol, file-name sanitising, and the choice of backend from settings."""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from settings import Settings

_MAX_NAME_CHARS = 120
_ALLOWED_PUNCTUATION = frozenset("-_.() ")


class StorageError(Exception):
    """A stored object is missing or the backend refused an operation."""


class Storage(Protocol):
    """Keeps the original bytes of each document, addressed by a URI."""

    def save(self, document_id: uuid.UUID, name: str, source: Path) -> str:
        """Copy the file at `source` in as `name` for `document_id`; return its URI."""
        ...

    def local_copy(self, uri: str) -> AbstractContextManager[Path]:
        """A local path holding the object's bytes, named as stored, for the block."""
        ...

    def delete(self, uri: str) -> None:
        """Remove the object; a missing object is not an error."""
        ...

    def exists(self, uri: str) -> bool:
        """Whether the object is there."""
        ...

    def describe(self) -> str:
        """The backend for the status route, e.g. `local` or `s3:bucket`."""
        ...


def build_storage(settings: Settings) -> Storage:
    """S3 when DATASET_S3_BUCKET is set, else files under DATA_DIR."""
    if settings.dataset_s3_bucket:
        from storage.s3 import S3Storage

        return S3Storage.from_settings(settings)
    from storage.local import LocalStorage

    return LocalStorage(settings.resolved_data_dir / "uploads")


def safe_filename(name: str, *, default_stem: str = "document") -> str:
    """A file name with no path parts, no control or shell-special characters, and a bounded length.

    Letters and marks of any script are kept (Telugu vowel signs are combining marks).
    """
    base = re.split(r"[/\\]", name)[-1]
    base = unicodedata.normalize("NFC", base)
    cleaned = "".join(
        char if unicodedata.category(char)[0] in "LMN" or char in _ALLOWED_PUNCTUATION else "_"
        for char in base
    )
    cleaned = re.sub(r"\s+", " ", cleaned)
    cleaned = re.sub(r"_{2,}", "_", cleaned).strip(" ._")
    stem, dot, extension = cleaned.rpartition(".")
    if not dot:
        stem, extension = cleaned, ""
    extension = extension.lower()[:10]
    stem = stem.strip(" ._") or default_stem
    room = _MAX_NAME_CHARS - (len(extension) + 1 if extension else 0)
    stem = stem[:room].rstrip(" ._") or default_stem
    return f"{stem}.{extension}" if extension else stem


def iter_file(path: Path, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
    """Read a file in chunks."""
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_size):
            yield chunk
