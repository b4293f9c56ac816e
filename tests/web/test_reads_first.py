"""Creating a ticket on SQLite takes the database's one write lock only for its writes: it
authenticates, reads the requester and decides tier, team and SLA in a read transaction, then
writes in a short BEGIN IMMEDIATE transaction. Other writers wait for that much, not for the
whole request (docs/performance.md, "Creating a ticket").

These tests need the real write path, so they build their own SQLite file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from tests import factories as f
from tests.conftest import START
from tierdesk.core.clock import FrozenClock
from tierdesk.core.config import Settings
from tierdesk.core.db import Database
from tierdesk.core.migrate import upgrade
from tierdesk.tickets.models import Ticket, TicketEvent
from tierdesk.web.app import create_app


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[tuple[TestClient, Database, dict[str, str], int]]:
    database = Database(f"sqlite:///{tmp_path / 'rf.db'}")
    upgrade(database.url)
    clock = FrozenClock(START)
    with database.session(write=True) as db:
        hd = f.helpdesk(db)
        token = f.token(db, hd.users["l1"], clock.now())
        requester = hd.customers["carol"]
        db.commit()
    settings = Settings(
        database_url=database.url, attachments_dir=tmp_path / "att", secret_key="t", log_level="WARNING"
    )
    app = create_app(settings, database=database, clock=clock)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, database, {"Authorization": f"Bearer {token}"}, requester
    database.dispose()


def _statements(database: Database) -> tuple[list[str], Any]:
    """What SQLite itself runs from now on (its trace callback on every new connection), so
    reads on the driver (core/driver_read.py) and rows written by DriverInsert are seen too."""
    seen: list[str] = []

    def trace(statement: str) -> None:
        words = statement.split()
        if words[0].upper() not in ("PRAGMA", "COMMIT", "ROLLBACK", "RELEASE", "SAVEPOINT"):
            seen.append(" ".join(words[:2]).upper() if words[0].upper() == "BEGIN" else words[0].upper())

    def traced(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.set_trace_callback(trace)

    database.engine.dispose()  # pooled connections are opened again, traced
    event.listen(database.engine, "connect", traced)
    return seen, traced


def _stop(database: Database, traced: Any) -> None:
    event.remove(database.engine, "connect", traced)
    database.engine.dispose()


def _create(client: TestClient, headers: dict[str, str], requester: int, subject: str) -> None:
    r = client.post("/api/v1/tickets", json={"subject": subject, "requester_id": requester}, headers=headers)
    assert r.status_code == 201, r.text


def test_creating_a_ticket_holds_the_write_lock_only_while_it_writes(desk: Any) -> None:
    client, database, headers, requester = desk
    seen, traced = _statements(database)
    try:
        _create(client, headers, requester, "Card declined")  # the first: configuration is loaded
    finally:
        _stop(database, traced)
    begins = [s for s in seen if s.startswith("BEGIN")]
    assert begins[-1] == "BEGIN IMMEDIATE" and "BEGIN IMMEDIATE" not in begins[:-1], seen
    write_part = seen[len(seen) - seen[::-1].index("BEGIN IMMEDIATE") :]
    assert "SELECT" in seen[: len(seen) - len(write_part)]  # token, requester, configuration
    assert write_part and set(write_part) <= {"INSERT", "UPDATE"}, write_part  # then the commit


def test_a_warm_create_reads_in_one_transaction_on_the_driver_then_only_writes(desk: Any) -> None:
    client, database, headers, requester = desk
    _create(client, headers, requester, "Warm-up")  # loads the token's actor and the configuration
    seen, traced = _statements(database)
    sqlalchemy_saw: list[str] = []

    def record(_conn: Any, _cur: Any, statement: str, *_args: Any) -> None:
        sqlalchemy_saw.append(statement.split()[0].upper())

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        _create(client, headers, requester, "Card declined")
    finally:
        event.remove(database.engine, "before_cursor_execute", record)
        _stop(database, traced)
    # The generation token (which serves the actor and the configuration from the process's
    # cache) and the requester, in one read transaction; then the batch's writes.
    assert seen[:4] == ["BEGIN", "SELECT", "SELECT", "BEGIN IMMEDIATE"], seen
    assert set(seen[4:]) <= {"INSERT", "UPDATE"}, seen
    assert "SELECT" not in sqlalchemy_saw  # the reads went past SQLAlchemy's Session
    with database.session(write=False) as db:
        ticket = db.scalars(select(Ticket).where(Ticket.subject == "Card declined")).one()
        assert ticket.requester_id == requester


def test_a_ticket_created_read_first_is_whole_with_its_event_and_timers(desk: Any) -> None:
    client, database, headers, requester = desk
    r = client.post("/api/v1/tickets", json={"subject": "Refund", "requester_id": requester}, headers=headers)
    assert r.status_code == 201
    with database.session(write=False) as db:
        ticket = db.scalars(select(Ticket).where(Ticket.subject == "Refund")).one()
        kinds = list(db.scalars(select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket.id)))
    assert kinds == ["created"]


def test_a_refused_create_writes_nothing_and_leaves_the_write_lock_free(desk: Any) -> None:
    client, database, headers, _ = desk
    r = client.post("/api/v1/tickets", json={"subject": "Who?", "requester_id": 999999}, headers=headers)
    assert r.status_code == 422
    assert "999999" in r.json()["detail"]
    with database.session(write=True) as db:  # BEGIN IMMEDIATE would wait if the lock were held
        assert db.scalars(select(Ticket).where(Ticket.subject == "Who?")).first() is None
        db.commit()
