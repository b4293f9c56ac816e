"""JSON API for SLA policies and a ticket's running SLA targets."""

from __future__ import annotations

from fastapi import APIRouter, Response

from tierdesk.core.errors import Forbidden
from tierdesk.sla import service
from tierdesk.sla.schemas import PolicyIn, PolicyOut, PolicyPatch, TicketSla
from tierdesk.tickets import service as tickets
from tierdesk.web.deps import DB, CurrentActor, Now, TxRoute

router = APIRouter(prefix="/api/v1", tags=["sla"], route_class=TxRoute)


@router.get("/sla-policies", summary="SLA policies, in the order they are tried")
def list_policies(db: DB, actor: CurrentActor) -> list[PolicyOut]:
    return service.list_policies(db, actor)


@router.post("/sla-policies", status_code=201, summary="Create a policy (supervisor)")
def create_policy(data: PolicyIn, db: DB, actor: CurrentActor) -> PolicyOut:
    return service.create_policy(db, actor, data)


@router.get("/sla-policies/{policy_id}")
def get_policy(policy_id: int, db: DB, actor: CurrentActor) -> PolicyOut:
    return service.get_policy(db, actor, policy_id)


@router.patch("/sla-policies/{policy_id}", summary="Change a policy; running deadlines are recomputed")
def update_policy(policy_id: int, data: PolicyPatch, db: DB, actor: CurrentActor, now: Now) -> PolicyOut:
    return service.update_policy(db, actor, policy_id, data, now)


@router.delete("/sla-policies/{policy_id}", status_code=204)
def delete_policy(policy_id: int, db: DB, actor: CurrentActor) -> Response:
    service.delete_policy(db, actor, policy_id)
    return Response(status_code=204)


@router.get("/tickets/{ref}/sla", summary="A ticket's SLA targets: due time, remaining business time, state")
def ticket_sla(ref: str, db: DB, actor: CurrentActor, now: Now) -> TicketSla:
    ticket = tickets.get_ticket(db, actor, tickets.parse_ref(ref))
    if actor.is_customer:
        raise Forbidden("SLA targets are for staff.")
    return service.ticket_sla(db, ticket.id, now)
