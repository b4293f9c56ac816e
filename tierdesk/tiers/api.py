"""JSON API for the tier ladder, escalation paths, teams, skills and calendars."""

from __future__ import annotations

from fastapi import APIRouter, Response

from tierdesk.core.security import require_supervisor
from tierdesk.tickets import service as tickets
from tierdesk.tiers import service
from tierdesk.tiers.schemas import (
    CalendarIn,
    CalendarOut,
    CalendarPatch,
    EscalationPathIn,
    EscalationPathOut,
    SkillIn,
    SkillOut,
    TeamIn,
    TeamOut,
    TeamPatch,
    TierIn,
    TierOut,
    TierPatch,
)
from tierdesk.web.deps import DB, CurrentActor, TxRoute

router = APIRouter(prefix="/api/v1", route_class=TxRoute)


@router.get("/tiers", tags=["tiers"], summary="The tier ladder, lowest level first")
def list_tiers(db: DB, actor: CurrentActor) -> list[TierOut]:
    return [TierOut.model_validate(t) for t in service.list_tiers(db, actor)]


@router.post("/tiers", tags=["tiers"], status_code=201)
def create_tier(data: TierIn, db: DB, actor: CurrentActor) -> TierOut:
    return TierOut.model_validate(service.create_tier(db, actor, data))


@router.get("/tiers/{tier_id}", tags=["tiers"])
def get_tier(tier_id: int, db: DB, actor: CurrentActor) -> TierOut:
    return TierOut.model_validate(service.get_tier(db, actor, tier_id))


@router.patch("/tiers/{tier_id}", tags=["tiers"])
def update_tier(tier_id: int, data: TierPatch, db: DB, actor: CurrentActor) -> TierOut:
    return TierOut.model_validate(service.update_tier(db, actor, tier_id, data))


@router.delete("/tiers/{tier_id}", tags=["tiers"], status_code=204)
def delete_tier(tier_id: int, db: DB, actor: CurrentActor) -> Response:
    """409 while tickets are in the tier: switch it off instead."""
    require_supervisor(actor)
    service.get_tier(db, actor, tier_id)
    tickets.ensure_tier_unused(db, tier_id)
    service.delete_tier(db, actor, tier_id)
    return Response(status_code=204)


@router.get("/escalation-paths", tags=["tiers"], summary="Who may move a ticket from which tier to where")
def list_paths(db: DB, actor: CurrentActor) -> list[EscalationPathOut]:
    return [EscalationPathOut.model_validate(p) for p in service.list_paths(db, actor)]


@router.post("/escalation-paths", tags=["tiers"], status_code=201)
def create_path(data: EscalationPathIn, db: DB, actor: CurrentActor) -> EscalationPathOut:
    return EscalationPathOut.model_validate(service.create_path(db, actor, data))


@router.delete("/escalation-paths/{path_id}", tags=["tiers"], status_code=204)
def delete_path(path_id: int, db: DB, actor: CurrentActor) -> Response:
    service.delete_path(db, actor, path_id)
    return Response(status_code=204)


@router.get("/teams", tags=["teams"])
def list_teams(db: DB, actor: CurrentActor) -> list[TeamOut]:
    return service.list_teams(db, actor)


@router.post("/teams", tags=["teams"], status_code=201)
def create_team(data: TeamIn, db: DB, actor: CurrentActor) -> TeamOut:
    return service.create_team(db, actor, data)


@router.get("/teams/{team_id}", tags=["teams"])
def get_team(team_id: int, db: DB, actor: CurrentActor) -> TeamOut:
    return service.get_team(db, actor, team_id)


@router.patch("/teams/{team_id}", tags=["teams"])
def update_team(team_id: int, data: TeamPatch, db: DB, actor: CurrentActor) -> TeamOut:
    return service.update_team(db, actor, team_id, data)


@router.delete("/teams/{team_id}", tags=["teams"], status_code=204)
def delete_team(team_id: int, db: DB, actor: CurrentActor) -> Response:
    service.delete_team(db, actor, team_id)
    return Response(status_code=204)


@router.get("/skills", tags=["teams"])
def list_skills(db: DB, actor: CurrentActor) -> list[SkillOut]:
    return [SkillOut.model_validate(s) for s in service.list_skills(db, actor)]


@router.post("/skills", tags=["teams"], status_code=201)
def create_skill(data: SkillIn, db: DB, actor: CurrentActor) -> SkillOut:
    return SkillOut.model_validate(service.create_skill(db, actor, data))


@router.delete("/skills/{skill_id}", tags=["teams"], status_code=204)
def delete_skill(skill_id: int, db: DB, actor: CurrentActor) -> Response:
    service.delete_skill(db, actor, skill_id)
    return Response(status_code=204)


@router.get("/calendars", tags=["calendars"])
def list_calendars(db: DB, actor: CurrentActor) -> list[CalendarOut]:
    return [CalendarOut.model_validate(c) for c in service.list_calendars(db, actor)]


@router.post("/calendars", tags=["calendars"], status_code=201)
def create_calendar(data: CalendarIn, db: DB, actor: CurrentActor) -> CalendarOut:
    return CalendarOut.model_validate(service.create_calendar(db, actor, data))


@router.get("/calendars/{calendar_id}", tags=["calendars"])
def get_calendar(calendar_id: int, db: DB, actor: CurrentActor) -> CalendarOut:
    return CalendarOut.model_validate(service.get_calendar(db, actor, calendar_id))


@router.patch("/calendars/{calendar_id}", tags=["calendars"])
def update_calendar(calendar_id: int, data: CalendarPatch, db: DB, actor: CurrentActor) -> CalendarOut:
    return CalendarOut.model_validate(service.update_calendar(db, actor, calendar_id, data))


@router.delete("/calendars/{calendar_id}", tags=["calendars"], status_code=204)
def delete_calendar(calendar_id: int, db: DB, actor: CurrentActor) -> Response:
    service.delete_calendar(db, actor, calendar_id)
    return Response(status_code=204)
