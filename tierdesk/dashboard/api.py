"""JSON API of the supervisor dashboard: GET /api/v1/dashboard."""

from __future__ import annotations

from fastapi import APIRouter, Request

from tierdesk.dashboard import service
from tierdesk.dashboard.schemas import DashboardOut
from tierdesk.web.deps import DB, CurrentActor, Now, TxRoute

router = APIRouter(prefix="/api/v1", tags=["dashboard"], route_class=TxRoute)


@router.get(
    "/dashboard",
    summary="Supervisor dashboard: tickets per tier and status, SLA breaches, escalations, "
    "daily volume, agent load, CSAT and deflection (supervisors and admins)",
)
def dashboard(request: Request, db: DB, actor: CurrentActor, now: Now) -> DashboardOut:
    return service.dashboard(db, actor, now, service.cache_for(request.app.state))
