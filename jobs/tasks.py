"""What jobs do: ingest one stored document, or rebuild the whole index off to the side."""

from __future__ import annotations

import logging
import shutil
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import col, select

from db.models import Document, DocumentStatus, IngestionJob, JobKind, JobStatus, utcnow
from jobs import queue
from knowledge.base import KnowledgeBase
from knowledge.ingestion import FileOutcome, ingest_file
from settings import Settings
from storage import StorageError

if TYPE_CHECKING:
    from api.services import Services

logger = logging.getLogger(__name__)


def run_job(services: Services, job_id: uuid.UUID, *, worker: str) -> bool:
    """Claim the job and run it to the end; return False when another worker has it."""
    settings = services.settings
    database = services.database
    if not queue.claim(database, job_id, worker, settings.job_lease_seconds):
        return False
    with database.session() as session:
        job = queue.load(session, job_id)
    if job is None:
        return True
    if job.attempts > queue.MAX_ATTEMPTS:
        reason = f"gave up after {queue.MAX_ATTEMPTS} interrupted attempts"
        _fail_document(services, job.document_id, reason)
        queue.finish(database, job_id, JobStatus.FAILED, reason)
        return True
    interval = max(1.0, settings.job_lease_seconds / 4)
    with queue.keep_alive(database, job_id, interval):
        try:
            if job.kind == JobKind.INGEST.value:
                error = _ingest(services, job)
            elif job.kind == JobKind.REINDEX.value:
                error = _reindex(services, job)
            else:
                error = f"unknown job kind {job.kind!r}"
        except Exception as exc:  # a job must end with a reason, whatever broke
            logger.exception("job %s failed", job_id)
            error = f"internal error: {type(exc).__name__}: {exc}"
            if job.kind == JobKind.INGEST.value:
                _fail_document(services, job.document_id, error)
    queue.finish(database, job_id, JobStatus.FAILED if error else JobStatus.DONE, error)
    return True


@dataclass
class _Result:
    chunks: int = 0
    error: str | None = None


def _ingest_stored(services: Services, knowledge: KnowledgeBase, document: Document) -> _Result:
    """Fetch the stored file and run the shared ingestion pipeline on it."""
    try:
        with services.storage.local_copy(document.storage_uri) as path:
            outcome: FileOutcome = ingest_file(
                knowledge,
                services.settings,
                path,
                doc_id=str(document.id),
                title=document.title,
                source=document.original_name,
            )
    except StorageError as exc:
        return _Result(error=str(exc))
    if outcome.error:
        return _Result(error=outcome.error)
    return _Result(chunks=outcome.chunks)


def _ingest(services: Services, job: IngestionJob) -> str | None:
    database = services.database
    with database.session() as session:
        document = session.get(Document, job.document_id) if job.document_id else None
        if document is None:
            return None  # deleted before we got to it: nothing to do
        document.status = DocumentStatus.PROCESSING.value
        document.error = None
        document.updated_at = utcnow()
        session.add(document)
        session.commit()
    queue.set_progress(database, job.id, 0, 1)

    result = _ingest_stored(services, services.knowledge, document)

    with database.session() as session:
        current = session.get(Document, document.id)
        deleted = current is None
        if current is not None:
            _record(current, result)
            session.add(current)
            try:
                session.commit()
            except StaleDataError:  # deleted between our read and our write
                deleted = True
    if deleted:
        # Deleted while we were indexing: take its chunks back out.
        services.knowledge.delete_document(str(document.id))
        return None
    queue.set_progress(database, job.id, 1, 1)
    return result.error


def _record(document: Document, result: _Result) -> None:
    now = utcnow()
    document.updated_at = now
    if result.error:
        document.status = DocumentStatus.FAILED.value
        document.error = result.error
        document.chunk_count = 0
    else:
        document.status = DocumentStatus.INDEXED.value
        document.error = None
        document.chunk_count = result.chunks
        document.indexed_at = now


def _fail_document(services: Services, document_id: uuid.UUID | None, reason: str) -> None:
    if document_id is None:
        return
    with services.database.session() as session:
        document = session.get(Document, document_id)
        if document is not None:
            _record(document, _Result(error=reason))
            session.add(document)
            session.commit()


def staging_settings(settings: Settings, job_id: uuid.UUID) -> Settings:
    """Settings whose DATA_DIR (index and record manager) is a private staging folder."""
    staging = settings.resolved_data_dir / "reindex" / str(job_id)
    values = settings.model_dump()
    values.update(data_dir=staging, database_url=f"sqlite:///{staging / 'records.db'}")
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def _reindex(services: Services, job: IngestionJob) -> str | None:
    """Rebuild every stored document into a staging index, then switch to it in one step."""
    database = services.database
    with database.session() as session:
        documents = list(
            session.exec(
                select(Document)
                .where(
                    col(Document.status).in_(
                        [DocumentStatus.INDEXED.value, DocumentStatus.FAILED.value]
                    )
                )
                .order_by(col(Document.created_at))
            ).all()
        )
    staged_settings = staging_settings(services.settings, job.id)
    staging_dir = staged_settings.resolved_data_dir
    shutil.rmtree(staging_dir, ignore_errors=True)  # a previous attempt's leftovers
    try:
        staged = KnowledgeBase(staged_settings, services.knowledge.embeddings)
        results: dict[uuid.UUID, _Result] = {}
        queue.set_progress(database, job.id, 0, len(documents))
        for done, document in enumerate(documents, start=1):
            results[document.id] = _ingest_stored(services, staged, document)
            queue.set_progress(database, job.id, done, len(documents))
        services.knowledge.replace_with(staged)
        staged.record_manager.engine.dispose()
    finally:
        shutil.rmtree(staging_dir, ignore_errors=True)
    _catch_up(services, results)
    return None


def _catch_up(services: Services, results: dict[uuid.UUID, _Result]) -> None:
    """Record the rebuilt documents, and repair what changed while the rebuild ran."""
    knowledge = services.knowledge
    with services.database.session() as session:
        rows = {document.id: document for document in session.exec(select(Document)).all()}
        for document_id, result in results.items():
            document = rows.get(document_id)
            if document is None:
                knowledge.delete_document(str(document_id))  # deleted during the rebuild
                continue
            _record(document, result)
            session.add(document)
        session.commit()
        # Indexed by another worker while the rebuild ran: the new index lacks them.
        missed = [
            document
            for document_id, document in rows.items()
            if document_id not in results and document.status == DocumentStatus.INDEXED.value
        ]
    for document in missed:
        result = _ingest_stored(services, knowledge, document)
        if result.error:
            _fail_document(services, document.id, result.error)
