"""CSAT rules: who may rate, when, and what a rating records.

Only the person who asked (the ticket's requester, signed in as a customer) rates, and only
a solved or closed ticket: the rating is about the answer they got. Rating again replaces
the score (people change their mind, as in Zendesk) and appends another event, so the
history keeps both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from tierdesk.core.errors import Conflict, Forbidden, InvalidInput
from tierdesk.core.i18n import N_
from tierdesk.core.security import Actor
from tierdesk.csat import repository as repo
from tierdesk.csat.models import MAX_SCORE, MIN_SCORE, SatisfactionRating
from tierdesk.tickets import service as tickets
from tierdesk.tickets.models import EventKind, Status

MAX_COMMENT = 2000
RATEABLE = (Status.solved.value, Status.closed.value)


def rating_for(db: Session, actor: Actor, ticket_id: int) -> SatisfactionRating | None:
    """The ticket's current rating, for anyone who may read the ticket (404 otherwise)."""
    ticket = tickets.get_ticket(db, actor, ticket_id)
    return repo.for_ticket(db, ticket.id)


def may_rate(actor: Actor, requester_id: int | None, status: str) -> bool:
    return actor.is_customer and actor.customer_id == requester_id and status in RATEABLE


def rate(
    db: Session, actor: Actor, ticket_id: int, score: int, comment: str, now: datetime
) -> SatisfactionRating:
    """Record the requester's 1-5 rating of a solved ticket and its `satisfaction_rated`
    event in the caller's transaction. Strangers get 404; other people 403; a ticket that
    is not solved 409; a score outside 1-5 or an over-long comment 422 naming the field."""
    ticket = tickets.get_ticket(db, actor, ticket_id, for_update=True)
    if not actor.is_customer or actor.customer_id != ticket.requester_id:
        raise Forbidden(N_("Only the person who asked may rate the answer."))
    if ticket.status not in RATEABLE:
        raise Conflict(N_("You can rate the answer once the ticket is solved."))
    if not MIN_SCORE <= score <= MAX_SCORE:
        raise InvalidInput(N_("Choose a rating from 1 to 5."), field="score")
    comment = comment.strip()
    if len(comment) > MAX_COMMENT:
        raise InvalidInput(N_("The comment can be at most 2000 characters long."), field="comment")
    rating = repo.for_ticket(db, ticket.id)
    previous = rating.score if rating is not None else None
    if rating is None:
        rating = SatisfactionRating(ticket_id=ticket.id)
        db.add(rating)
    rating.customer_id = actor.customer_id
    rating.score = score
    rating.comment = comment
    rating.tier_id = ticket.tier_id
    rating.team_id = ticket.team_id
    rating.assignee_id = ticket.assignee_id
    rating.channel = ticket.channel
    rating.rated_at = now
    db.flush()
    data: dict[str, int | bool] = {"score": score, "comment": bool(comment)}
    if previous is not None:
        data["previous"] = previous
    tickets.record_event(db, actor, ticket.id, EventKind.satisfaction_rated, now, data=data)
    return rating


SATISFIED_FROM = 4  # 4 and 5 of 5 count as satisfied (Zendesk's "good")


@dataclass(frozen=True)
class CsatSummary:
    ratings: int
    satisfied: int
    score_sum: int

    @property
    def rate(self) -> float | None:
        """Share of satisfied ratings (CSAT), None without ratings."""
        return round(self.satisfied / self.ratings, 4) if self.ratings else None

    @property
    def average(self) -> float | None:
        return round(self.score_sum / self.ratings, 2) if self.ratings else None


def summary(db: Session, since: datetime, until: datetime) -> CsatSummary:
    """CSAT of the ratings given in [since, until): current ratings whose (last) rating time
    falls in the window. Aggregates only; the caller checks who may see them."""
    return CsatSummary(*repo.totals_between(db, since, until, SATISFIED_FROM))
