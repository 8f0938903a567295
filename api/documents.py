"""/api/docs: upload, list, inspect and delete documents, and rebuild the index, over HTTP."""

from __future__ import annotations

import codecs
import hashlib
import logging
import tempfile
import uuid
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import AdminUser, CurrentUser
from api.health import ServicesDep
from api.services import Services
from db.models import (
    Document,
    DocumentStatus,
    IngestionJob,
    JobKind,
    JobStatus,
    as_utc,
)
from jobs import queue
from storage import StorageError, safe_filename

router = APIRouter(prefix="/api/docs", tags=["documents"])
logger = logging.getLogger(__name__)

CONTENT_TYPES = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".doc": "application/msword",
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".html": "text/html",
    ".htm": "text/html",
}
_PDF_MAGIC = b"%PDF-"
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
_SNIFF_BYTES = 8192
# Room for the multipart envelope and the title beside a file of the largest accepted size.
_MULTIPART_OVERHEAD = 64 * 1024
_COPY_CHUNK = 1024 * 1024
_MAX_TITLE_CHARS = 300


# -- input checks ------------------------------------------------------------------------------


def content_matches(extension: str, head: bytes) -> bool:
    """Whether the first bytes of a file fit its extension (magic numbers, or decodable text)."""
    if extension == ".pdf":
        return _PDF_MAGIC in head[:1024]
    if extension == ".docx":
        return head.startswith(_ZIP_MAGIC)
    if extension == ".doc":
        return head.startswith(_OLE_MAGIC)
    return looks_like_text(head)


def looks_like_text(head: bytes) -> bool:
    """UTF-8, UTF-16 with a byte-order mark, or 8-bit text without control characters."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            codecs.getincrementaldecoder("utf-16")().decode(head, final=False)
        except UnicodeDecodeError:
            return False
        return True
    if b"\x00" in head:
        return False
    try:
        # Not final: the sample may end inside a multi-byte character.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return not any(byte < 0x20 and byte not in b"\t\n\r\f" for byte in head)
    return True


class _BodyTooLargeError(Exception):
    """The request body went past the upload limit while it was being received."""


class UploadSizeLimit:
    """Refuse uploads over MAX_UPLOAD_MB with 413 while they stream in, not after.

    A declared Content-Length over the limit is refused before any byte is read; a body
    without one is counted as it arrives and cut off as soon as it passes the limit.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int, path: str = "/api/docs") -> None:
        self.app = app
        self.limit = max_bytes + _MULTIPART_OVERHEAD
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass other requests through; count the body of uploads."""
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"].rstrip("/") != self.path
        ):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await _send_too_large(send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _BodyTooLargeError
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLargeError:
            if not started:
                await _send_too_large(send)


async def _send_too_large(send: Send) -> None:
    body = b'{"detail":"the upload is larger than MAX_UPLOAD_MB"}'
    await send(
        {
            "type": "http.response.start",
            "status": status.HTTP_413_CONTENT_TOO_LARGE,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _too_large(limit_mb: float) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_413_CONTENT_TOO_LARGE,
        detail=f"the upload is larger than MAX_UPLOAD_MB ({limit_mb:g} MB)",
    )


def _unprocessable(detail: str) -> HTTPException:
    return HTTPException(status_code=status.HTTP_422_UNPROCESSABLE_CONTENT, detail=detail)


def _unsupported(detail: str) -> HTTPException:
    return HTTPException(status_code=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, detail=detail)


# -- response models ---------------------------------------------------------------------------


class DocumentOut(BaseModel):
    """A document's metadata and ingestion state."""

    id: uuid.UUID
    title: str
    original_name: str
    content_type: str
    size_bytes: int
    sha256: str
    storage_uri: str
    status: DocumentStatus
    error: str | None
    chunk_count: int
    uploaded_by: int | None
    created_at: datetime
    updated_at: datetime
    indexed_at: datetime | None
    duplicate: bool = False

    @classmethod
    def of(cls, document: Document, *, duplicate: bool = False) -> DocumentOut:
        """The API view of a row."""
        return cls(
            id=document.id,
            title=document.title,
            original_name=document.original_name,
            content_type=document.content_type,
            size_bytes=document.size_bytes,
            sha256=document.sha256,
            storage_uri=document.storage_uri,
            status=DocumentStatus(document.status),
            error=document.error,
            chunk_count=document.chunk_count,
            uploaded_by=document.uploaded_by,
            created_at=as_utc(document.created_at) or document.created_at,
            updated_at=as_utc(document.updated_at) or document.updated_at,
            indexed_at=as_utc(document.indexed_at),
            duplicate=duplicate,
        )


class ChunkOut(BaseModel):
    """One searchable chunk of a document."""

    index: int
    text: str
    page: int | None
    lang: str | None


class DocumentDetail(DocumentOut):
    """A document with the chunks the index holds for it."""

    chunks: list[ChunkOut]


class DocumentPage(BaseModel):
    """One page of the document list."""

    items: list[DocumentOut]
    total: int
    limit: int
    offset: int


class JobOut(BaseModel):
    """A background job and its progress."""

    id: uuid.UUID
    kind: str
    status: JobStatus
    error: str | None
    progress_done: int
    progress_total: int
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, job: IngestionJob) -> JobOut:
        """The API view of a job row."""
        return cls(
            id=job.id,
            kind=job.kind,
            status=JobStatus(job.status),
            error=job.error,
            progress_done=job.progress_done,
            progress_total=job.progress_total,
            attempts=job.attempts,
            created_at=as_utc(job.created_at) or job.created_at,
            started_at=as_utc(job.started_at),
            finished_at=as_utc(job.finished_at),
        )


# -- routes ------------------------------------------------------------------------------------


@router.get("")
def list_documents(
    _user: CurrentUser,
    services: ServicesDep,
    status_filter: Annotated[DocumentStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> DocumentPage:
    """Documents, newest first, optionally only those in one status."""
    with services.database.session() as session:
        query = select(Document)
        count = select(func.count()).select_from(Document)
        if status_filter is not None:
            query = query.where(col(Document.status) == status_filter.value)
            count = count.where(col(Document.status) == status_filter.value)
        total = session.exec(count).one()
        rows = session.exec(
            query.order_by(col(Document.created_at).desc()).offset(offset).limit(limit)
        ).all()
    return DocumentPage(
        items=[DocumentOut.of(row) for row in rows], total=total, limit=limit, offset=offset
    )


_UPLOAD_SCHEMA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["title"],
                    "properties": {
                        "title": {"type": "string", "maxLength": _MAX_TITLE_CHARS},
                        "text": {"type": "string", "description": "the content, or send a file"},
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": ".pdf .docx .doc .txt .md .html",
                        },
                    },
                }
            }
        },
    }
}


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    openapi_extra=_UPLOAD_SCHEMA,
    responses={
        200: {"description": "The same content was uploaded before: that document"},
        413: {"description": "Larger than MAX_UPLOAD_MB"},
        415: {"description": "Not a supported file type"},
        422: {"description": "Missing title, neither or both of text and file, or empty"},
    },
)
async def upload_document(
    request: Request, response: Response, user: CurrentUser, services: ServicesDep
) -> DocumentOut:
    """Store a document and queue its ingestion; answers at once with its id and `pending`."""
    settings = services.settings
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        raise _unsupported("send multipart/form-data with a title and either text or a file")
    try:
        form = await request.form(
            max_files=1, max_fields=5, max_part_size=settings.max_upload_bytes + 1
        )
    except _BodyTooLargeError as exc:
        raise _too_large(settings.max_upload_mb) from exc
    except StarletteHTTPException as exc:
        if "maximum size" in str(exc.detail):
            raise _too_large(settings.max_upload_mb) from exc
        raise
    with tempfile.TemporaryDirectory(prefix="msme-rag-upload-") as folder:
        try:
            staged = await _stage_upload(form, Path(folder), services)
        finally:
            await form.close()
        document, created = await run_in_threadpool(_store_and_queue, services, staged, user.id)
    if not created:
        response.status_code = status.HTTP_200_OK
    return DocumentOut.of(document, duplicate=not created)


class _StagedUpload(BaseModel):
    title: str
    name: str
    extension: str
    path: Path
    size: int
    sha256: str


async def _stage_upload(form: Any, folder: Path, services: Services) -> _StagedUpload:
    """Check the form and copy the content to `folder`, hashing and sniffing it on the way."""
    settings = services.settings
    title_value = form.get("title")
    title = title_value.strip() if isinstance(title_value, str) else ""
    if not title:
        raise _unprocessable("title is required")
    if len(title) > _MAX_TITLE_CHARS:
        raise _unprocessable(f"title is longer than {_MAX_TITLE_CHARS} characters")
    text = form.get("text")
    upload = form.get("file")
    if isinstance(upload, str):  # a "file" field sent as plain text is not a file
        raise _unprocessable("file must be a file part (multipart with a filename)")
    has_text = isinstance(text, str) and text != ""
    if has_text == (upload is not None):
        raise _unprocessable("send either text or a file, not both and not neither")

    if has_text:
        assert isinstance(text, str)
        data = text.strip().encode("utf-8")
        if not data:
            raise _unprocessable("text is empty")
        if len(data) > settings.max_upload_bytes:
            raise _too_large(settings.max_upload_mb)
        name = safe_filename(f"{title}.txt")
        path = folder / name
        path.write_bytes(data)
        return _StagedUpload(
            title=title,
            name=name,
            extension=".txt",
            path=path,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
        )

    assert isinstance(upload, UploadFile)
    name = safe_filename(upload.filename or "document")
    extension = Path(name).suffix.lower()
    if extension not in CONTENT_TYPES:
        supported = " ".join(sorted(CONTENT_TYPES))
        raise _unsupported(f"{name}: unsupported file type (supported: {supported})")
    path = folder / name
    digest = hashlib.sha256()
    size = 0
    head = b""
    with path.open("wb") as sink:
        while chunk := await upload.read(_COPY_CHUNK):
            size += len(chunk)
            if size > settings.max_upload_bytes:
                raise _too_large(settings.max_upload_mb)
            if len(head) < _SNIFF_BYTES:
                head += chunk[: _SNIFF_BYTES - len(head)]
            digest.update(chunk)
            sink.write(chunk)
    if size == 0:
        raise _unprocessable(f"{name}: the file is empty")
    if not content_matches(extension, head):
        raise _unsupported(f"{name}: the content is not a {extension} file")
    return _StagedUpload(
        title=title, name=name, extension=extension, path=path, size=size, sha256=digest.hexdigest()
    )


def _find_by_hash(services: Services, sha256: str) -> Document | None:
    with services.database.session() as session:
        return session.exec(select(Document).where(col(Document.sha256) == sha256)).first()


def _store_and_queue(
    services: Services, staged: _StagedUpload, user_id: int | None
) -> tuple[Document, bool]:
    """Save the bytes, then the row and its job in one transaction; reuse a same-content row."""
    existing = _find_by_hash(services, staged.sha256)
    if existing is not None:
        return existing, False
    document_id = uuid.uuid4()
    try:
        uri = services.storage.save(document_id, staged.name, staged.path)
    except StorageError as exc:
        logger.exception("storing an upload failed")
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"storage failed: {exc}") from exc
    document = Document(
        id=document_id,
        title=staged.title,
        original_name=staged.name,
        storage_uri=uri,
        content_type=CONTENT_TYPES[staged.extension],
        size_bytes=staged.size,
        sha256=staged.sha256,
        uploaded_by=user_id,
    )
    job = queue.new_job(JobKind.INGEST, document_id)
    with services.database.session() as session:
        session.add(document)
        session.add(job)
        try:
            session.commit()
        except IntegrityError:
            # The same content arrived concurrently and won the race: keep that one.
            session.rollback()
            services.storage.delete(uri)
            winner = _find_by_hash(services, staged.sha256)
            if winner is None:
                raise
            return winner, False
    if services.jobs is not None:
        services.jobs.submit(job.id)
    return document, True


@router.post("/reindex", status_code=status.HTTP_202_ACCEPTED)
def reindex(_admin: AdminUser, services: ServicesDep) -> JobOut:
    """Rebuild the whole index from the stored documents in the background (admins only).

    The chatbot answers from the current index until the new one is complete. A rebuild that
    is already queued or running is returned instead of starting another.
    """
    with services.database.session() as session:
        running = session.exec(
            select(IngestionJob)
            .where(
                col(IngestionJob.kind) == JobKind.REINDEX.value,
                col(IngestionJob.status).in_([JobStatus.PENDING.value, JobStatus.PROCESSING.value]),
            )
            .order_by(col(IngestionJob.created_at))
        ).first()
        if running is not None:
            return JobOut.of(running)
        job = queue.new_job(JobKind.REINDEX)
        session.add(job)
        session.commit()
        session.refresh(job)
    if services.jobs is not None:
        services.jobs.submit(job.id)
    return JobOut.of(job)


@router.get("/reindex/{job_id}")
def reindex_progress(job_id: uuid.UUID, _user: CurrentUser, services: ServicesDep) -> JobOut:
    """State and progress (documents done of total) of a rebuild."""
    with services.database.session() as session:
        job = session.get(IngestionJob, job_id)
    if job is None or job.kind != JobKind.REINDEX.value:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such reindex job")
    return JobOut.of(job)


@router.get("/{document_id}")
def get_document(
    document_id: uuid.UUID, _user: CurrentUser, services: ServicesDep
) -> DocumentDetail:
    """A document's status, error and the chunks the index holds for it."""
    with services.database.session() as session:
        document = session.get(Document, document_id)
    if document is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such document")
    key = str(document_id)
    chunks = sorted(
        (
            ChunkOut(
                index=int(chunk.metadata.get("chunk_index", 0)),
                text=chunk.page_content,
                page=chunk.metadata.get("page"),
                lang=chunk.metadata.get("lang"),
            )
            for chunk in services.knowledge.all_chunks()
            if chunk.metadata.get("doc_id") == key
        ),
        key=lambda chunk: chunk.index,
    )
    return DocumentDetail(**DocumentOut.of(document).model_dump(), chunks=chunks)


@router.delete("/{document_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_document(document_id: uuid.UUID, _admin: AdminUser, services: ServicesDep) -> None:
    """Remove a document's row, its vectors and its stored file (admins only).

    The row goes first: a worker still indexing it then finds it gone and removes what it added.
    """
    with services.database.session() as session:
        document = session.get(Document, document_id)
        if document is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such document")
        uri = document.storage_uri
        for job in session.exec(
            select(IngestionJob).where(col(IngestionJob.document_id) == document_id)
        ).all():
            session.delete(job)
        session.delete(document)
        session.commit()
    services.knowledge.delete_document(str(document_id))
    try:
        services.storage.delete(uri)
    except StorageError:
        logger.warning("stored file of %s was already gone or unreachable: %s", document_id, uri)
