"""Local storage: one folder per document under DATA_DIR/uploads, addressed by file:// URIs."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlparse

from storage.base import StorageError, safe_filename


class LocalStorage:
    """Files under `root`; writes go through a temporary name and an atomic rename."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def save(self, document_id: uuid.UUID, name: str, source: Path) -> str:
        """Copy `source` to root/<document_id>/<safe name>; return its file:// URI."""
        folder = self.root / str(document_id)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / safe_filename(name)
        partial = folder / f".{target.name}.partial"
        with source.open("rb") as reader, partial.open("wb") as writer:
            shutil.copyfileobj(reader, writer, 1024 * 1024)
            writer.flush()
            os.fsync(writer.fileno())
        partial.replace(target)
        return target.as_uri()

    @contextmanager
    def local_copy(self, uri: str) -> Iterator[Path]:
        """The stored file itself: nothing to download."""
        path = self._path(uri)
        if not path.is_file():
            raise StorageError(f"stored file is missing: {uri}")
        yield path

    def delete(self, uri: str) -> None:
        """Remove the file and its document folder."""
        path = self._path(uri)
        path.unlink(missing_ok=True)
        folder = path.parent
        if folder != self.root and folder.parent == self.root and folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)

    def exists(self, uri: str) -> bool:
        """Whether the file is there."""
        return self._path(uri).is_file()

    def describe(self) -> str:
        """`local`."""
        return "local"

    def _path(self, uri: str) -> Path:
        parsed = urlparse(uri)
        if parsed.scheme != "file":
            raise StorageError(f"not a file:// URI: {uri}")
        path = Path(unquote(parsed.path)).resolve()
        # Never act on a path outside the storage root, whatever the database says.
        if not path.is_relative_to(self.root):
            raise StorageError(f"{uri} is outside the storage folder {self.root}")
        return path
