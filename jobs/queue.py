"""Job rows: create, claim atomically, keep alive, finish; shared by every kind of worker."""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from db.engine import Database
from db.models import IngestionJob, JobKind, JobStatus, utcnow

#: A job claimed this many times without finishing (e.g. it crashes its worker) is given up.
MAX_ATTEMPTS = 3


def worker_name(role: str) -> str:
    """An identifier of this process for the job rows it claims."""
    return f"{socket.gethostname()}:{os.getpid()}:{role}"


def new_job(kind: JobKind, document_id: uuid.UUID | None = None) -> IngestionJob:
    """A pending job (added to a session and committed by the caller)."""
    return IngestionJob(kind=kind.value, document_id=document_id)


def claimable_job_ids(database: Database, lease_seconds: float, limit: int = 50) -> list[uuid.UUID]:
    """Pending jobs and running jobs whose worker went silent, oldest first."""
    stale = utcnow() - timedelta(seconds=lease_seconds)
    with database.session() as session:
        rows = session.exec(
            select(IngestionJob.id)
            .where(
                sa.or_(
                    col(IngestionJob.status) == JobStatus.PENDING.value,
                    sa.and_(
                        col(IngestionJob.status) == JobStatus.PROCESSING.value,
                        col(IngestionJob.heartbeat_at) < stale,
                    ),
                )
            )
            .order_by(col(IngestionJob.created_at))
            .limit(limit)
        ).all()
    return list(rows)


def claim(database: Database, job_id: uuid.UUID, worker: str, lease_seconds: float) -> bool:
    """Take the job for `worker` if it is pending or abandoned; at most one caller wins."""
    now = utcnow()
    stale = now - timedelta(seconds=lease_seconds)
    statement = (
        sa.update(IngestionJob)
        .where(
            col(IngestionJob.id) == job_id,
            sa.or_(
                col(IngestionJob.status) == JobStatus.PENDING.value,
                sa.and_(
                    col(IngestionJob.status) == JobStatus.PROCESSING.value,
                    col(IngestionJob.heartbeat_at) < stale,
                ),
            ),
        )
        .values(
            status=JobStatus.PROCESSING.value,
            worker=worker[:200],
            started_at=now,
            heartbeat_at=now,
            attempts=col(IngestionJob.attempts) + 1,
        )
    )
    with database.engine.begin() as connection:
        result = connection.execute(statement)
    return bool(result.rowcount == 1)


def load(session: Session, job_id: uuid.UUID) -> IngestionJob | None:
    """The job row, or None when it was deleted."""
    return session.get(IngestionJob, job_id)


def finish(
    database: Database, job_id: uuid.UUID, status: JobStatus, error: str | None = None
) -> None:
    """Mark the job done or failed (a deleted job row is ignored)."""
    with database.session() as session:
        job = session.get(IngestionJob, job_id)
        if job is None:
            return
        job.status = status.value
        job.error = error
        job.finished_at = utcnow()
        job.heartbeat_at = job.finished_at
        session.add(job)
        session.commit()


def set_progress(database: Database, job_id: uuid.UUID, done: int, total: int) -> None:
    """Record how far the job is (visible through the API)."""
    with database.engine.begin() as connection:
        connection.execute(
            sa.update(IngestionJob)
            .where(col(IngestionJob.id) == job_id)
            .values(progress_done=done, progress_total=total, heartbeat_at=utcnow())
        )


@contextmanager
def keep_alive(database: Database, job_id: uuid.UUID, interval: float) -> Iterator[None]:
    """Refresh the job's heartbeat every `interval` seconds while the block runs."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(interval):
            try:
                with database.engine.begin() as connection:
                    connection.execute(
                        sa.update(IngestionJob)
                        .where(col(IngestionJob.id) == job_id)
                        .values(heartbeat_at=utcnow())
                    )
            except sa.exc.SQLAlchemyError:
                continue  # the next beat retries; a lost lease only means a duplicate attempt

    thread = threading.Thread(target=beat, name=f"heartbeat-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
