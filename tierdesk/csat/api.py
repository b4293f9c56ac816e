"""JSON API for CSAT under /api/v1/tickets/{ref}/satisfaction."""

from __future__ import annotations

from fastapi import APIRouter

from tierdesk.core.errors import NotFound
from tierdesk.csat import service
from tierdesk.csat.schemas import RatingIn, RatingOut
from tierdesk.tickets import service as tickets
from tierdesk.web.deps import DB, CurrentActor, Now, TxRoute

router = APIRouter(prefix="/api/v1/tickets", tags=["satisfaction"], route_class=TxRoute)


@router.get("/{ref}/satisfaction", summary="The ticket's current satisfaction rating (404 when not rated)")
def get_rating(ref: str, db: DB, actor: CurrentActor) -> RatingOut:
    ticket_id = tickets.parse_ref(ref)
    rating = service.rating_for(db, actor, ticket_id)
    if rating is None:
        raise NotFound(f"T-{ticket_id} has not been rated.")
    return RatingOut.model_validate(rating)


@router.put(
    "/{ref}/satisfaction",
    summary="Rate the answer to a solved ticket, 1-5 (its requester only; rating again replaces the score)",
)
def rate(ref: str, data: RatingIn, db: DB, actor: CurrentActor, now: Now) -> RatingOut:
    rating = service.rate(db, actor, tickets.parse_ref(ref), data.score, data.comment, now)
    return RatingOut.model_validate(rating)
