"""Group commit on SQLite (core/group.py LoopGroupWriter): batches are written on the event
loop; only the wait for the write gate leaves it, and a write lock held by a writer outside
the gate is waited for asynchronously, so the loop keeps serving meanwhile."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, func, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from tests.core.writers import run_in_thread, ticket_plans
from tierdesk.core.clock import FrozenClock
from tierdesk.core.db import Database
from tierdesk.core.group import LoopGroupWriter
from tierdesk.tickets import service
from tierdesk.tickets.models import Ticket, TicketEvent


def _ticket_writer(connection: Connection) -> LoopGroupWriter[Any, dict[str, Any]]:
    return LoopGroupWriter(
        lambda: Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False),
        service.write_planned_rows,
    )


async def _submit_all(writer: LoopGroupWriter[Any, Any], items: Sequence[Any]) -> list[Any]:
    return await asyncio.gather(*(writer.submit(i) for i in items), return_exceptions=True)


def test_tickets_submitted_in_the_same_turn_of_the_loop_are_written_in_one_transaction(
    db: Session, connection: Connection, clock: FrozenClock
) -> None:
    plans = ticket_plans(db, clock, 5)
    writer = _ticket_writer(connection)
    results = run_in_thread(_submit_all(writer, plans))
    assert (writer.batches, writer.items) == (1, 5)
    ids = [r["id"] for r in results]
    assert [r["subject"] for r in results] == [f"Printer {i}" for i in range(5)]
    created = db.scalar(
        select(func.count())
        .select_from(TicketEvent)
        .where(TicketEvent.ticket_id.in_(ids), TicketEvent.kind == "created")
    )
    assert created == 5


def test_a_ticket_the_loop_writer_cannot_write_fails_alone(
    db: Session, connection: Connection, clock: FrozenClock
) -> None:
    plans = ticket_plans(db, clock, 3)
    plans[1] = dataclasses.replace(plans[1], values={**plans[1].values, "requester_id": 987654})
    writer = _ticket_writer(connection)
    results = run_in_thread(_submit_all(writer, plans))
    assert isinstance(results[1], IntegrityError)
    assert [r["subject"] for r in (results[0], results[2])] == ["Printer 0", "Printer 2"]
    assert db.scalar(select(func.count()).select_from(Ticket).where(Ticket.subject.like("Printer %"))) == 2


# --- the write lock, on a database file of its own -------------------------------------------
@pytest.fixture
def notes_db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'notes.db'}")
    with database.engine.begin() as conn:
        conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"))
    yield database
    database.dispose()


def _write_notes(db: Session, bodies: Sequence[str]) -> list[int]:
    return [
        int(db.execute(text("INSERT INTO notes (body) VALUES (:b) RETURNING id"), {"b": b}).scalar_one())
        for b in bodies
    ]


def _notes(database: Database) -> list[str]:
    with database.engine.connect() as conn:
        return list(conn.execute(text("SELECT body FROM notes ORDER BY id")).scalars())


def _holder(database: Database) -> sqlite3.Connection:
    """Another connection that takes SQLite's write lock, as the worker or the CLI would."""
    path = str(database.url).removeprefix("sqlite:///")
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO notes (body) VALUES ('from elsewhere')")
    return other


def test_while_another_connection_holds_the_write_lock_the_loop_keeps_serving_and_the_write_follows(
    notes_db: Database,
) -> None:
    writer = LoopGroupWriter(lambda: notes_db.session(True), _write_notes, gate=lambda: notes_db.write_gate)
    other = _holder(notes_db)

    async def scenario() -> tuple[int, int]:
        ticks = 0
        task = asyncio.create_task(writer.submit("mine"))
        for _ in range(20):  # 100 ms during which the lock is held elsewhere
            await asyncio.sleep(0.005)
            ticks += 1
        assert not task.done()
        other.execute("COMMIT")
        return await asyncio.wait_for(task, 10), ticks

    try:
        note_id, ticks = run_in_thread(scenario())
    finally:
        other.close()
        writer.stop()
    assert ticks == 20  # the loop was never blocked by SQLite's busy handler
    assert note_id == 2 and _notes(notes_db) == ["from elsewhere", "mine"]


def test_a_write_lock_held_past_the_busy_timeout_fails_the_batch_and_writes_nothing(
    notes_db: Database,
) -> None:
    writer = LoopGroupWriter(lambda: notes_db.session(True), _write_notes, busy_timeout=0.05)
    other = _holder(notes_db)
    try:
        results = run_in_thread(_submit_all(writer, ["a", "b"]))
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert all(isinstance(r, OperationalError) and "locked" in str(r) for r in results)
    assert _notes(notes_db) == [] and writer.batches == 0


def test_while_another_process_holds_the_write_gate_the_batch_waits_for_its_turn(notes_db: Database) -> None:
    gate = notes_db.write_gate
    assert gate is not None
    writer = LoopGroupWriter(lambda: notes_db.session(True), _write_notes, gate=lambda: gate)
    # Another holder of the gate (a thread here; another worker process in production).
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        gate.acquire()
        taken.set()
        release.wait(30)
        gate.release()

    holder = threading.Thread(target=hold)
    holder.start()
    assert taken.wait(10)

    async def scenario() -> list[int]:
        first = asyncio.create_task(writer.submit("one"))
        await asyncio.sleep(0.05)
        assert not first.done()  # waiting for the gate, in the helper thread
        second = asyncio.create_task(writer.submit("two"))
        await asyncio.sleep(0.01)
        release.set()
        return [await first, await second]

    try:
        ids = run_in_thread(scenario())
    finally:
        release.set()
        holder.join(10)
        writer.stop()
    assert ids == [1, 2] and _notes(notes_db) == ["one", "two"]
