"""Alembic environment: runs on the connection handed over by db.migrate, online only."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import db.models  # noqa: F401 - registers the tables on SQLModel.metadata
from db.migrate import include_object

target_metadata = SQLModel.metadata


def run_migrations() -> None:
    """Run the migrations on the connection db.migrate put in the config's attributes."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through db.migrate (python -m db.migrate)")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
