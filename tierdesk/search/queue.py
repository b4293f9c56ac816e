"""The one write helper the tickets service calls: `enqueue(db, ticket_id)`.

It depends on nothing but the queue table, so `tickets.service` can import it without a
cycle (search's service and repository read tickets; this module never does — an
import-linter contract keeps it so). One INSERT of one integer, in the caller's
transaction: the ticket change and its queue row commit or roll back together, and the
create path pays no analysis or index maintenance.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from tierdesk.core.bulk import DriverInsert
from tierdesk.search.models import SearchQueue


def enqueue(db: Session, ticket_id: int) -> None:
    """Queue `ticket_id` to be (re)indexed by the worker (`search.tasks.index_queued`)."""
    db.execute(insert(SearchQueue).values(ticket_id=ticket_id))


def enqueue_many(db: Session, ticket_ids: Sequence[int]) -> None:
    """Queue several tickets in one statement (new tickets written as a batch)."""
    if ticket_ids:
        _DRIVER_INSERT.many(db.connection(), [{"ticket_id": i} for i in ticket_ids])


# SQLite's driver, Core elsewhere (core/bulk.py): the ORM bulk path costs more.
_DRIVER_INSERT = DriverInsert(cast(Table, SearchQueue.__table__), ["ticket_id"])
