"""JSON API for the signed-in agent's notifications."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from tierdesk.notifications import service
from tierdesk.notifications.service import NotificationOut
from tierdesk.web.deps import DB, CurrentActor, Now, TxRoute

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"], route_class=TxRoute)


@router.get("", summary="My notifications, newest first")
def mine(
    db: DB, actor: CurrentActor, unread: bool = False, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> list[NotificationOut]:
    return service.list_mine(db, actor, unread, limit)


@router.post("/{notification_id}/read", status_code=204, summary="Mark one as read")
def read(notification_id: int, db: DB, actor: CurrentActor, now: Now) -> Response:
    service.mark_read(db, actor, notification_id, now)
    return Response(status_code=204)
