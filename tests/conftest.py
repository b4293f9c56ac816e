"""Test fixtures.

The schema is built once per run by `alembic upgrade head` on a fresh database: a temporary
SQLite file, or the PostgreSQL database named by TIERDESK_DATABASE_URL. Each test runs in
its own transaction that is rolled back at the end (services' commits become savepoint
releases), so tests never see each other's data.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, event
from sqlalchemy.orm import Session

from tierdesk.core.clock import FrozenClock
from tierdesk.core.config import Settings
from tierdesk.core.db import Database
from tierdesk.core.migrate import upgrade
from tierdesk.core.security import use_fast_password_hashing
from tierdesk.web.app import create_app

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday morning

use_fast_password_hashing()


@pytest.fixture(scope="session")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    url = os.environ.get("TIERDESK_DATABASE_URL")
    if not url:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    db = Database(url)
    upgrade(db.url)
    yield db
    db.dispose()


def _refuse_outer_commit(conn: Connection) -> None:
    raise AssertionError("a test committed the outer transaction")


@pytest.fixture
def connection(database: Database) -> Iterator[Connection]:
    conn = database.engine.connect()
    trans = conn.begin()
    # Guard: services and requests commit savepoints only; the outer transaction is rolled back.
    event.listen(conn, "commit", _refuse_outer_commit)
    yield conn
    event.remove(conn, "commit", _refuse_outer_commit)
    trans.rollback()
    conn.close()


@pytest.fixture
def db(connection: Connection) -> Iterator[Session]:
    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    yield session
    session.close()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url="sqlite://",  # unused: the app gets the test connection below
        attachments_dir=tmp_path / "attachments",
        secret_key="test-secret",
        log_json=True,
        log_level="WARNING",
        max_attachment_bytes=64 * 1024,
        max_body_bytes=256 * 1024,
    )


@pytest.fixture
def app(connection: Connection, database: Database, settings: Settings, clock: FrozenClock):  # type: ignore[no-untyped-def]
    def session_factory(write: bool = True) -> Session:
        return Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)

    return create_app(settings, database=database, clock=clock, session_factory=session_factory)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c
