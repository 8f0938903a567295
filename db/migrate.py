"""Alembic, configured in code (no alembic.ini): upgrade to head, or check the schema is current."""

from __future__ import annotations

import argparse
import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from db.engine import Database, SchemaOutOfDateError
from settings import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Any fixed number: the PostgreSQL advisory lock that serialises concurrent upgrades.
_PG_LOCK_KEY = 74_251_903


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Manage only our own tables: the record manager's and the chat history's live here too."""
    from sqlmodel import SQLModel

    import db.models  # noqa: F401 - registers the tables

    tables = SQLModel.metadata.tables
    if type_ == "table":
        return name in tables
    table = getattr(obj, "table", None)
    return table is None or table.name in tables


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """An Alembic configuration pointing at db/migrations, bound to `connection` if given."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    """The newest revision in db/migrations."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(database: Database) -> str | None:
    """The revision the database is at (None when it was never migrated)."""
    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(database: Database, revision: str = "head") -> None:
    """Bring the schema to `revision`; concurrent callers wait for each other."""
    with _migration_lock(database), database.engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


def downgrade(database: Database, revision: str) -> None:
    """Take the schema back to `revision` (`base` removes every table these migrations made)."""
    with _migration_lock(database), database.engine.begin() as connection:
        command.downgrade(alembic_config(connection), revision)


def check_schema(database: Database) -> None:
    """Raise SchemaOutOfDateError unless the database is at the head revision."""
    current, head = current_revision(database), head_revision()
    if current != head:
        raise SchemaOutOfDateError(
            f"database schema is at {current or 'nothing'}, this code needs {head}: "
            "run `python -m db.migrate` (or start with DB_AUTO_MIGRATE=true)"
        )


@contextmanager
def _migration_lock(database: Database) -> Iterator[None]:
    if database.backend == "postgresql":
        with database.engine.connect() as connection:
            connection.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": _PG_LOCK_KEY})
            try:
                yield
            finally:
                unlock = sa.text("SELECT pg_advisory_unlock(:key)")
                connection.execute(unlock, {"key": _PG_LOCK_KEY})
                connection.commit()
    else:
        lock_path = database.settings.resolved_data_dir / ".migrate.lock"
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with lock_path.open("a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)


def main() -> None:
    """Upgrade DATABASE_URL to the newest schema (or to --revision)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--revision", default="head")
    args = parser.parse_args()
    database = Database(Settings())
    upgrade(database, args.revision)
    print(f"database at {current_revision(database)}")


if __name__ == "__main__":
    main()
