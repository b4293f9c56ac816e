"""JSON API for skip-tier routing rules and their dry run."""

from __future__ import annotations

from fastapi import APIRouter, Response

from tierdesk.routing import service
from tierdesk.routing.models import Stage
from tierdesk.routing.schemas import DecisionOut, FactsIn, RuleIn, RuleOut, RulePatch
from tierdesk.web.deps import DB, CurrentActor, Now, TxRoute

router = APIRouter(prefix="/api/v1", route_class=TxRoute)


@router.get("/routing-rules", tags=["routing"], summary="Routing rules in evaluation order")
def list_rules(db: DB, actor: CurrentActor, stage: Stage | None = None) -> list[RuleOut]:
    return [RuleOut.model_validate(r) for r in service.list_rules(db, actor, stage)]


@router.post("/routing-rules", tags=["routing"], status_code=201)
def create_rule(data: RuleIn, db: DB, actor: CurrentActor, now: Now) -> RuleOut:
    return RuleOut.model_validate(service.create_rule(db, actor, data, now))


@router.post(
    "/routing-rules/test",
    tags=["routing"],
    summary="Dry run: where the enabled rules would send a ticket with these facts",
)
def dry_run(data: FactsIn, db: DB, actor: CurrentActor) -> DecisionOut:
    return service.dry_run(db, actor, data)


@router.get("/routing-rules/{rule_id}", tags=["routing"])
def get_rule(rule_id: int, db: DB, actor: CurrentActor) -> RuleOut:
    return RuleOut.model_validate(service.get_rule(db, actor, rule_id))


@router.patch("/routing-rules/{rule_id}", tags=["routing"])
def update_rule(rule_id: int, data: RulePatch, db: DB, actor: CurrentActor, now: Now) -> RuleOut:
    return RuleOut.model_validate(service.update_rule(db, actor, rule_id, data, now))


@router.delete("/routing-rules/{rule_id}", tags=["routing"], status_code=204)
def delete_rule(rule_id: int, db: DB, actor: CurrentActor) -> Response:
    service.delete_rule(db, actor, rule_id)
    return Response(status_code=204)
