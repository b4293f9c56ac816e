"""Staff notifications: written in the same transaction as what caused them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import cast

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from tierdesk.core.bulk import insert_rows
from tierdesk.core.errors import NotFound
from tierdesk.core.security import Actor, require_staff
from tierdesk.notifications.models import Notification


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: str
    ticket_id: int | None
    body: str
    created_at: datetime
    read_at: datetime | None


def notify(
    db: Session, user_ids: Iterable[int | None], kind: str, ticket_id: int | None, body: str, now: datetime
) -> int:
    targets = sorted({u for u in user_ids if u is not None})
    db.add_all(
        Notification(user_id=u, kind=kind, ticket_id=ticket_id, body=body[:1000], created_at=now)
        for u in targets
    )
    return len(targets)


def notify_many(
    db: Session, items: Iterable[tuple[Iterable[int | None], str, int | None, str]], now: datetime
) -> int:
    """Many notifications in one statement: (user ids, kind, ticket id, body) per item, each
    user at most once per item. The rows travel as one JSON array, serialised once per
    batch (core.bulk)."""
    rows = [
        (u, kind, ticket_id, body[:1000])
        for user_ids, kind, ticket_id, body in items
        for u in sorted({u for u in user_ids if u is not None})
    ]
    if rows:
        table = cast(Table, Notification.__table__)
        insert_rows(db, table, ("user_id", "kind", "ticket_id", "body"), rows, {"created_at": now})
    return len(rows)


def list_mine(db: Session, actor: Actor, unread_only: bool, limit: int) -> list[NotificationOut]:
    require_staff(actor)
    stmt = select(Notification).where(Notification.user_id == actor.user_id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    rows = db.scalars(stmt.order_by(Notification.id.desc()).limit(limit))
    return [NotificationOut.model_validate(n) for n in rows]


def mark_read(db: Session, actor: Actor, notification_id: int, now: datetime) -> None:
    require_staff(actor)
    result = db.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.user_id == actor.user_id)
        .values(read_at=now)
        .returning(Notification.id)
    )
    if result.first() is None:
        raise NotFound(f"Notification {notification_id} does not exist.")
