"""SLA fixtures: an office calendar and policies built through the services."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tierdesk.core.security import SYSTEM
from tierdesk.sla import service as sla
from tierdesk.sla.schemas import PolicyIn
from tierdesk.tiers import service as tiers
from tierdesk.tiers.schemas import CalendarIn

OFFICE_HOURS = {str(d): [("09:00", "18:00")] for d in range(5)}


def office_calendar(db: Session, tz: str = "Europe/Rome") -> int:
    return tiers.create_calendar(
        db, SYSTEM, CalendarIn(name=f"Office {tz}", timezone=tz, hours=OFFICE_HOURS)
    ).id


def policy(db: Session, calendar_id: int, name: str = "Default", **fields: object) -> int:
    data: dict[str, object] = {
        "name": name,
        "calendar_id": calendar_id,
        "targets": [
            {"metric": "first_response", "minutes": 60},
            {"metric": "resolution", "minutes": 8 * 60},
        ],
    } | fields
    return sla.create_policy(db, SYSTEM, PolicyIn.model_validate(data)).id
