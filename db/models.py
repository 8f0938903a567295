"""SQLModel tables: users, uploaded documents and the ingestion jobs that process them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def as_utc(moment: datetime | None) -> datetime | None:
    """`moment` as an aware UTC datetime (SQLite hands back naive ones)."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _timestamp(*, nullable: bool = False, index: bool = False) -> sa.Column[datetime]:
    return sa.Column(sa.DateTime(timezone=True), nullable=nullable, index=index)


class DocumentStatus(StrEnum):
    """Where a document is in its life: uploaded, being ingested, searchable, or rejected."""

    PENDING = "pending"
    PROCESSING = "processing"
    INDEXED = "indexed"
    FAILED = "failed"


class JobKind(StrEnum):
    """What a job does."""

    INGEST = "ingest"
    REINDEX = "reindex"


class JobStatus(StrEnum):
    """Life of a job row; `processing` rows whose heartbeat is stale are resumed."""

    PENDING = "pending"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"


class User(SQLModel, table=True):
    """An account that can log in; admins may delete documents, reindex and list users."""

    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True, index=True)
    password_hash: str = Field(max_length=255)
    is_admin: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())


class Document(SQLModel, table=True):
    """An uploaded document: where its bytes are stored and how its ingestion went."""

    __tablename__ = "documents"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    title: str = Field(max_length=300)
    original_name: str = Field(max_length=255)
    storage_uri: str = Field(max_length=1024)
    content_type: str = Field(max_length=100)
    size_bytes: int
    # One row per content: the same bytes uploaded twice are recognised by this hash.
    sha256: str = Field(max_length=64, unique=True, index=True)
    status: str = Field(default=DocumentStatus.PENDING.value, max_length=20, index=True)
    error: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    chunk_count: int = Field(default=0)
    uploaded_by: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp(index=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    indexed_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))


class IngestionJob(SQLModel, table=True):
    """A unit of background work, claimed by one worker at a time through its status."""

    __tablename__ = "ingestion_jobs"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    kind: str = Field(max_length=20)
    # No foreign key: a job outlives nothing, but a deleted document's job must not block it.
    document_id: uuid.UUID | None = Field(default=None, index=True)
    status: str = Field(default=JobStatus.PENDING.value, max_length=20, index=True)
    error: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    progress_done: int = Field(default=0)
    progress_total: int = Field(default=0)
    attempts: int = Field(default=0)
    worker: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp(index=True))
    started_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    heartbeat_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    finished_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
