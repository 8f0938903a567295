"""Engine and sessions from `settings.sqlalchemy_url`, and the schema check done at startup."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlmodel import Session

from settings import Settings


class SchemaOutOfDateError(RuntimeError):
    """The database schema is not at the revision this code expects."""


class Database:
    """One engine per process; sessions are short-lived and opened per unit of work."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url = settings.sqlalchemy_url
        self._engine: sa.Engine | None = None

    @property
    def backend(self) -> str:
        """The dialect name: `sqlite` or `postgresql`."""
        return make_url(self.url).get_backend_name()

    @property
    def engine(self) -> sa.Engine:
        """The engine, created on first use (creating it opens no connection)."""
        if self._engine is None:
            self._engine = _create_engine(self.url)
        return self._engine

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that is closed on exit; callers commit explicitly."""
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    def prepare(self) -> None:
        """Apply pending migrations, or refuse an old schema when DB_AUTO_MIGRATE is off."""
        from db.migrate import check_schema, upgrade

        if self.settings.db_auto_migrate:
            upgrade(self)
        else:
            check_schema(self)

    def dispose(self) -> None:
        """Close pooled connections (at shutdown, and in forked workers)."""
        if self._engine is not None:
            self._engine.dispose()


def _create_engine(url: str) -> sa.Engine:
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            from pathlib import Path

            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # Several threads (requests, the worker) and processes share the file.
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    engine = sa.create_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the API read while a worker process writes; foreign keys are off by default.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
