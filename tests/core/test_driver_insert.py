"""core/bulk.py DriverInsert: rows written on SQLite's driver connection are stored exactly as
SQLAlchemy Core stores them (same text for datetimes and JSON), inside the caller's
transaction."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast

import pytest
from sqlalchemy import Table, insert, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tests import factories as f
from tierdesk.core import db as _registers_the_null_adapter  # noqa: F401
from tierdesk.core.bulk import DriverInsert
from tierdesk.tickets.models import Ticket, TicketEvent


@pytest.fixture
def sqlite_only(db: Session) -> Session:
    if not DriverInsert.applies(db.connection()):
        pytest.skip("DriverInsert is for SQLite; PostgreSQL keeps Core")
    return db


def _stored(db: Session, table: str, row_id: int) -> dict[str, Any]:
    """The row as SQLite holds it (no SQLAlchemy type processing on the way out)."""
    raw = db.connection().connection.driver_connection
    cursor = raw.execute(f"SELECT * FROM {table} WHERE id = ?", (row_id,))  # type: ignore[union-attr]
    names = [d[0] for d in cursor.description]
    return dict(zip(names, cursor.fetchone(), strict=True))


def test_a_ticket_written_through_the_driver_is_stored_exactly_as_core_writes_it(
    sqlite_only: Session,
) -> None:
    db = sqlite_only
    hd = f.helpdesk(db)
    at = datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))  # not UTC
    values = {
        "subject": "Fattura doppia 請求書",
        "description": "body",
        "status": "new",
        "priority": "high",
        "category": "billing",
        "channel": "email",
        "language": "it",
        "requester_id": hd.customers["carol"],
        "organization_id": None,
        "tier_id": hd.tiers["L1"],
        "team_id": None,
        "assignee_id": None,
        "tags": ["vip", "請求"],
        "merged_into_id": None,
        "reopen_count": 0,
        "source": "tierdesk",
        "external_id": None,
        "created_at": at,
        "updated_at": at,
        "first_responded_at": None,
        "solved_at": None,
        "closed_at": None,
    }
    table = cast(Table, Ticket.__table__)
    by_core = int(db.connection().execute(insert(table).returning(table.c.id), values).scalar_one())
    by_driver = DriverInsert(table, list(values)).one(db.connection(), values)
    assert by_driver == by_core + 1
    core_row, driver_row = _stored(db, "tickets", by_core), _stored(db, "tickets", by_driver)
    assert {**core_row, "id": 0} == {**driver_row, "id": 0}
    assert driver_row["created_at"] == "2026-03-28 23:30:15.123456"  # naive UTC, as Core writes it
    # And the ORM reads it back like any other ticket.
    ticket = db.get(Ticket, by_driver)
    assert ticket is not None and ticket.tags == ["vip", "請求"] and ticket.created_at == at.astimezone(UTC)


def test_events_written_through_the_driver_in_a_batch_keep_their_order_and_json(sqlite_only: Session) -> None:
    db = sqlite_only
    hd = f.helpdesk(db)
    now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    ticket = f.ticket(db, f.actor(db, hd.users["l1"]), now, requester_id=hd.customers["carol"])
    rows = [
        {
            "ticket_id": ticket.id,
            "kind": "note",
            "data": {"n": i, "text": "しばらく"},
            "at": now,
            "actor_kind": "system",
            "actor_user_id": None,
            "actor_customer_id": None,
        }
        for i in range(3)
    ]
    table = cast(Table, TicketEvent.__table__)
    DriverInsert(table, list(rows[0])).many(db.connection(), rows)
    stored = [
        e.data
        for e in db.query(TicketEvent).filter_by(ticket_id=ticket.id, kind="note").order_by(TicketEvent.id)
    ]
    assert stored == [
        {"n": 0, "text": "しばらく"},
        {"n": 1, "text": "しばらく"},
        {"n": 2, "text": "しばらく"},
    ]
    db.rollback()  # the driver's rows belong to the session's transaction: they go with it
    assert db.execute(text("SELECT count(*) FROM ticket_events WHERE kind = 'note'")).scalar_one() == 0


def test_a_row_the_driver_refuses_raises_sqlalchemys_integrity_error_answered_409(
    sqlite_only: Session,
) -> None:
    db = sqlite_only
    table = cast(Table, TicketEvent.__table__)
    row = {
        "ticket_id": 987654,
        "kind": "note",
        "at": datetime(2026, 12, 7, tzinfo=UTC),
        "actor_kind": "system",
    }
    with pytest.raises(IntegrityError):  # web/errors.py answers it with 409, not a 500
        DriverInsert(table, list(row)).many(db.connection(), [row])


def test_none_is_still_stored_as_null_through_the_registered_adapter() -> None:
    """core/db.py registers an adapter for None (a dict lookup instead of sqlite3's failing
    attribute lookups); a None parameter must still be bound as SQL NULL, never as text."""
    assert (type(None), sqlite3.PrepareProtocol) in sqlite3.adapters
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (v)")
    conn.execute("INSERT INTO t VALUES (?)", (None,))
    conn.executemany("INSERT INTO t VALUES (?)", [(None,), (1,)])
    assert conn.execute("SELECT typeof(v) FROM t ORDER BY rowid").fetchall() == [
        ("null",),
        ("null",),
        ("integer",),
    ]
    assert conn.execute("SELECT ? IS NULL", (None,)).fetchone() == (1,)
