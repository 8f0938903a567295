"""SQL metadata of the document service: models, engine, sessions and migrations."""

from db.engine import Database
from db.models import Document, DocumentStatus, IngestionJob, JobKind, JobStatus, User

__all__ = ["Database", "Document", "DocumentStatus", "IngestionJob", "JobKind", "JobStatus", "User"]
