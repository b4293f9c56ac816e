"""All queries of the engineering domain.

Bugs are staff-only and every staff member may read them; which *tickets* of a bug a caller
sees is decided by the tickets service (its visibility rules), never here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tierdesk.engineering.models import BugStatus, EngineeringBug, EngineeringBugTicket


def bug_by_key(db: Session, key: str, for_update: bool = False) -> EngineeringBug | None:
    stmt = select(EngineeringBug).where(EngineeringBug.key == key)
    if for_update:
        # Status changes, verification and the announcement serialize on the bug row, so
        # two concurrent "announce" calls cannot both see announced_at empty.
        stmt = stmt.with_for_update()
    return db.scalars(stmt).first()


def bugs(db: Session, status: BugStatus | None, limit: int) -> list[EngineeringBug]:
    """Newest first; with a status, one range scan of ix_engineering_bugs_status_created."""
    stmt = select(EngineeringBug)
    if status is not None:
        stmt = stmt.where(EngineeringBug.status == status.value)
    stmt = stmt.order_by(EngineeringBug.created_at.desc(), EngineeringBug.id.desc()).limit(limit)
    return list(db.scalars(stmt))


def ticket_ids(db: Session, bug_id: int) -> list[int]:
    """Every ticket linked to the bug, in the order they were linked."""
    stmt = (
        select(EngineeringBugTicket.ticket_id)
        .where(EngineeringBugTicket.bug_id == bug_id)
        .order_by(EngineeringBugTicket.linked_at, EngineeringBugTicket.ticket_id)
    )
    return list(db.scalars(stmt))


def is_linked(db: Session, bug_id: int, ticket_id: int) -> bool:
    return db.get(EngineeringBugTicket, (bug_id, ticket_id)) is not None


def add_ticket(db: Session, bug_id: int, ticket_id: int, now: datetime) -> None:
    db.add(EngineeringBugTicket(bug_id=bug_id, ticket_id=ticket_id, linked_at=now))
