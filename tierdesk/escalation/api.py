"""JSON API for escalating and de-escalating tickets."""

from __future__ import annotations

from fastapi import APIRouter

from tierdesk.escalation import service
from tierdesk.escalation.schemas import DeEscalateIn, EscalateIn, EscalationPath, HandoffDraft
from tierdesk.tickets import service as tickets
from tierdesk.tickets.schemas import TicketOut
from tierdesk.web.deps import DB, CurrentActor, Now, TxRoute

router = APIRouter(prefix="/api/v1/tickets", tags=["escalation"], route_class=TxRoute)


@router.get("/{ref}/escalation/draft", summary="A hand-off summary prefilled from the timeline")
def draft(ref: str, db: DB, actor: CurrentActor) -> HandoffDraft:
    return service.draft(db, actor, tickets.parse_ref(ref))


@router.post(
    "/{ref}/escalate", summary="Escalate with a reason and a hand-off (omit the target: one step up)"
)
def escalate(ref: str, data: EscalateIn, db: DB, actor: CurrentActor, now: Now) -> TicketOut:
    return TicketOut.model_validate(service.escalate(db, actor, tickets.parse_ref(ref), data, now))


@router.post("/{ref}/de-escalate", summary="Send back down to a lower tier with a note")
def de_escalate(ref: str, data: DeEscalateIn, db: DB, actor: CurrentActor, now: Now) -> TicketOut:
    return TicketOut.model_validate(service.de_escalate(db, actor, tickets.parse_ref(ref), data, now))


@router.get("/{ref}/escalations", summary="The ticket's escalation path, from its events")
def escalations(ref: str, db: DB, actor: CurrentActor) -> EscalationPath:
    return service.path(db, actor, tickets.parse_ref(ref))
