"""The document service on a real PostgreSQL: CI's (TEST_POSTGRES_URL) or one started by pgserver."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from langchain_classic.indexes import SQLRecordManager
from langchain_core.embeddings import Embeddings
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from db import Database
from db.engine import SchemaOutOfDateError
from db.migrate import current_revision, downgrade, head_revision, include_object
from settings import Settings
from tests.integration.document_client import (
    ask,
    login,
    running_app,
    service_settings,
    upload_text,
    wait_for_document,
)

pytestmark = pytest.mark.integration

FOREIGN_TABLES = {"upsertion_record", "message_store"}


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[sa.URL]:
    """A PostgreSQL server URL: TEST_POSTGRES_URL when set, else a private pgserver instance."""
    configured = os.environ.get("TEST_POSTGRES_URL")
    if configured:
        yield make_url(configured)
        return
    import tempfile

    import pgserver

    with tempfile.TemporaryDirectory(prefix="msme-rag-pg-") as folder:
        server = pgserver.get_server(Path(folder), cleanup_mode="stop")  # type: ignore[attr-defined]
        try:
            yield make_url(server.get_uri()).set(drivername="postgresql+psycopg")
        finally:
            server.cleanup()


@pytest.fixture
def postgres_url(postgres_server: sa.URL) -> Iterator[str]:
    """A fresh, empty database on the server for one test, dropped afterwards."""
    name = f"msme_rag_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield postgres_server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _tables(database: Database) -> set[str]:
    return set(sa.inspect(database.engine).get_table_names())


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migrations_match_the_models_and_leave_other_tables_alone(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = request.getfixturevalue("postgres_url") if backend == "postgresql" else None
    settings = service_settings(tmp_path / "data", database_url=url)
    database = Database(settings)
    assert database.backend == backend
    # Tables other code keeps in the same database: the record manager's and the chat memory's.
    SQLRecordManager("faiss/chunks", engine=database.engine).create_schema()
    with database.engine.begin() as connection:
        connection.execute(
            sa.text("CREATE TABLE message_store (id INTEGER PRIMARY KEY, session_id TEXT)")
        )

    assert current_revision(database) is None
    with pytest.raises(SchemaOutOfDateError, match=r"python -m db\.migrate"):
        Database(settings.model_copy(update={"db_auto_migrate": False})).prepare()
    database.prepare()
    database.prepare()  # idempotent
    assert current_revision(database) == head_revision()
    assert {"users", "documents", "ingestion_jobs"} | FOREIGN_TABLES <= _tables(database)

    with database.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_object": include_object, "compare_type": True}
        )
        assert compare_metadata(context, SQLModel.metadata) == []

    downgrade(database, "base")  # downgrades: our tables go, the others stay
    assert _tables(database) & {"users", "documents", "ingestion_jobs"} == set()
    assert _tables(database) >= FOREIGN_TABLES
    database.dispose()


def test_document_service_runs_on_postgres(
    postgres_url: str,
    tmp_path: Path,
    embeddings: Embeddings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings: Settings = service_settings(
        tmp_path / "data", database_url=postgres_url, job_poll_seconds=0.2
    )
    fact = (
        "The Zorvian Widget Cooperative of Nellore gives every member a rebate of 7.25 percent "
        "on kiln repairs during the monsoon season."
    )
    question = "What rebate does the Zorvian Widget Cooperative give on kiln repairs?"
    with running_app(settings, embeddings, monkeypatch) as client:
        assert client.get("/").json()["backends"]["database"] == "postgresql"
        admin = login(client, "admin@example.com")
        member = login(client, "member@example.com")
        assert [user["is_admin"] for user in client.get("/api/users", headers=admin).json()] == [
            True,
            False,
        ]
        accepted = upload_text(client, member, "Kiln rebate", fact)
        assert accepted.status_code == 202, accepted.text
        document = wait_for_document(client, member, accepted.json()["id"])
        assert document["status"] == "indexed" and document["chunk_count"] >= 1
        assert upload_text(client, admin, "Same again", fact).json()["duplicate"] is True
        listing = client.get("/api/docs", params={"status": "indexed"}, headers=member).json()
        assert [item["id"] for item in listing["items"]] == [document["id"]]
        assert ask(client, question)["sources"][0]["doc_id"] == document["id"]

        database = Database(settings)
        assert "upsertion_record" in _tables(database)  # the record manager lives here too
        assert client.delete(f"/api/docs/{document['id']}", headers=admin).status_code == 204
        assert ask(client, question)["refused"] is True
        with database.engine.connect() as connection:
            remaining = connection.execute(sa.text("SELECT count(*) FROM upsertion_record"))
            assert remaining.scalar_one() == 0
        database.dispose()
