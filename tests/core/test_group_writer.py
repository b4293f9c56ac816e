"""Group commit (core/group.py): tickets created by concurrent requests share one
transaction, written by one thread per process, and each ticket is still all-or-nothing."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tests import factories as f
from tests.core.writers import run_in_thread, ticket_plans
from tierdesk.core.clock import FrozenClock
from tierdesk.core.config import Settings
from tierdesk.core.db import Database
from tierdesk.core.group import GroupWriter, LoopGroupWriter
from tierdesk.sla.models import SlaTimer
from tierdesk.tickets import service
from tierdesk.tickets.models import Ticket, TicketEvent
from tierdesk.web.app import create_app


def _writer(
    connection: Connection, gate: Callable[[], Any] | None = None
) -> GroupWriter[Any, dict[str, Any]]:
    # Sessions on the test's connection: their commits are savepoint releases, rolled back
    # with the test.
    return GroupWriter(
        lambda: Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False),
        service.write_planned_rows,
        gate=gate,
    )


def _held_first_time() -> tuple[Callable[[], Any], threading.Event, threading.Event]:
    """A gate that holds the first transaction until released, as a slow write would."""
    entered, release = threading.Event(), threading.Event()
    first = [True]

    @contextmanager
    def gate() -> Iterator[None]:
        if first[0]:
            first[0] = False
            entered.set()
            release.wait(30)
        yield

    return gate, entered, release


async def _submit_while_first_is_held(
    writer: GroupWriter[Any, dict[str, Any]],
    plans: list[Any],
    entered: threading.Event,
    release: threading.Event,
) -> list[dict[str, Any] | BaseException]:
    first = asyncio.create_task(writer.submit(plans[0]))
    assert await asyncio.to_thread(entered.wait, 30)
    rest = [asyncio.create_task(writer.submit(p)) for p in plans[1:]]
    await asyncio.sleep(0)  # one turn of the loop: the tasks reach the writer's queue
    release.set()
    return await asyncio.gather(first, *rest, return_exceptions=True)


def test_tickets_submitted_while_a_write_is_under_way_share_the_next_transaction(
    db: Session, connection: Connection, clock: FrozenClock
) -> None:
    plans = ticket_plans(db, clock, 6)
    gate, entered, release = _held_first_time()
    writer = _writer(connection, gate)
    try:
        results = run_in_thread(_submit_while_first_is_held(writer, plans, entered, release))
    finally:
        writer.stop()
    assert (writer.batches, writer.items) == (2, 6)  # one alone, then five together
    ids = [r["id"] for r in results if isinstance(r, dict)]
    assert len(set(ids)) == 6
    assert [r["subject"] for r in results if isinstance(r, dict)] == [f"Printer {i}" for i in range(6)]
    created = db.scalar(
        select(func.count())
        .select_from(TicketEvent)
        .where(TicketEvent.ticket_id.in_(ids), TicketEvent.kind == "created")
    )
    assert created == 6
    assert db.scalar(select(func.count()).select_from(SlaTimer).where(SlaTimer.ticket_id.in_(ids))) >= 6


def test_a_ticket_that_cannot_be_written_fails_alone_and_the_rest_of_its_batch_is_written(
    db: Session, connection: Connection, clock: FrozenClock
) -> None:
    plans = ticket_plans(db, clock, 4)
    # The requester vanished between planning and writing: a foreign-key error.
    plans[2] = dataclasses.replace(plans[2], values={**plans[2].values, "requester_id": 987654})
    gate, entered, release = _held_first_time()
    writer = _writer(connection, gate)
    try:
        results = run_in_thread(_submit_while_first_is_held(writer, plans, entered, release))
    finally:
        writer.stop()
    assert isinstance(results[2], IntegrityError)
    written = [r for r in results if isinstance(r, dict)]
    assert [t["subject"] for t in written] == ["Printer 0", "Printer 1", "Printer 3"]
    stored = db.scalars(select(Ticket.subject).where(Ticket.id.in_([t["id"] for t in written]))).all()
    assert sorted(stored) == ["Printer 0", "Printer 1", "Printer 3"]
    # Nothing of the failed ticket is half-written, and no ticket was written twice.
    assert db.scalar(select(func.count()).select_from(Ticket).where(Ticket.subject.like("Printer %"))) == 3


@pytest.fixture
def grouped(
    connection: Connection, database: Database, settings: Settings, clock: FrozenClock
) -> Iterator[Any]:
    """The app with group commit on (the default; forced here so the tests say what they need)."""

    def session_factory(write: bool = True) -> Session:
        return Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)

    app = create_app(
        settings.model_copy(update={"group_commit": True}),
        database=database,
        clock=clock,
        session_factory=session_factory,
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        yield app, client


def test_group_commit_is_on_by_default_on_both_databases_and_can_be_turned_off(
    app: Any, database: Database, settings: Settings, clock: FrozenClock
) -> None:
    assert app.state.ticket_writer is not None
    # A writer on the event loop for SQLite, a writer thread for PostgreSQL.
    assert isinstance(app.state.ticket_writer, LoopGroupWriter) == database.is_sqlite
    off = create_app(settings.model_copy(update={"group_commit": False}), database=database, clock=clock)
    assert off.state.ticket_writer is None


def test_a_ticket_created_through_the_api_goes_through_the_group_writer(grouped: Any, db: Session) -> None:
    app, client = grouped
    hd = f.helpdesk(db)
    token = f.token(db, hd.users["l1"], app.state.clock.now())
    r = client.post(
        "/api/v1/tickets",
        json={"subject": "Grouped", "requester_id": hd.customers["carol"]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["subject"] == "Grouped"
    assert app.state.ticket_writer.items == 1


def test_a_ticket_for_a_requester_named_by_email_is_created_in_one_transaction_with_the_requester(
    grouped: Any, db: Session
) -> None:
    app, client = grouped
    hd = f.helpdesk(db)
    token = f.token(db, hd.users["l1"], app.state.clock.now())
    r = client.post(
        "/api/v1/tickets",
        json={
            "subject": "From a new person",
            "requester": {"email": "new.person@example.com", "name": "New"},
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 201, r.text
    assert app.state.ticket_writer.items == 0  # not through the writer: the requester is new
    assert r.json()["requester_id"] > 0
