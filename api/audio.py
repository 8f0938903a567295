"""Spoken answers: kept under DATA_DIR/audio, served at /audio/{name}, deleted when expired."""

from __future__ import annotations

import os
import re
import time
import uuid
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse

from settings import Settings

router = APIRouter(prefix="/audio", tags=["voice"])

_NAME = re.compile(r"^[0-9a-f]{32}\.(wav|mp3)$")
MEDIA_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg"}
#: Purge at most this often (seconds): listing the folder on every answer is wasteful.
PURGE_INTERVAL = 300.0


class AudioStore:
    """Answer audio files with random names; writes are atomic (temporary name, then rename)."""

    def __init__(self, root: Path, *, retention_hours: float) -> None:
        self.root = root
        self.retention_seconds = retention_hours * 3600
        self._last_purge = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> AudioStore:
        """The store under DATA_DIR/audio."""
        return cls(
            settings.resolved_data_dir / "audio", retention_hours=settings.audio_retention_hours
        )

    def save(self, data: bytes, extension: str) -> str:
        """Store the audio and return its file name."""
        if extension not in MEDIA_TYPES:
            raise ValueError(f"unsupported audio extension {extension!r}")
        self.root.mkdir(parents=True, exist_ok=True)
        name = f"{uuid.uuid4().hex}.{extension}"
        partial = self.root / f".{name}.partial"
        with partial.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(self.root / name)
        if time.time() - self._last_purge > PURGE_INTERVAL:
            self.purge()
        return name

    def path(self, name: str) -> Path | None:
        """The file of a stored name, or None when the name is not one of ours or is gone."""
        if not _NAME.match(name):
            return None
        path = self.root / name
        if not path.is_file() or self._expired(path, time.time()):
            return None
        return path

    def purge(self) -> int:
        """Delete files older than the retention period; return how many were deleted."""
        now = time.time()
        self._last_purge = now
        if not self.root.is_dir():
            return 0
        deleted = 0
        for path in self.root.iterdir():
            if path.is_file() and self._expired(path, now):
                path.unlink(missing_ok=True)
                deleted += 1
        return deleted

    def _expired(self, path: Path, now: float) -> bool:
        try:
            return now - path.stat().st_mtime > self.retention_seconds
        except FileNotFoundError:
            return True


def audio_url(name: str) -> str:
    """The URL path at which a stored audio file is served."""
    return f"{router.prefix}/{name}"


@router.get("/{name}")
def get_audio(name: str, request: Request) -> FileResponse:
    """Serve one spoken answer (404 when unknown or expired)."""
    store: AudioStore = request.app.state.services.audio_store
    path = store.path(name)
    if path is None:
        raise HTTPException(status_code=404, detail="No such audio (it may have expired).")
    extension = name.rsplit(".", 1)[1]
    return FileResponse(path, media_type=MEDIA_TYPES[extension], filename=name)
