"""CSAT: the requester rates a solved answer 1-5; every rating is a ticket event."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests import factories as f
from tierdesk.core.clock import FrozenClock
from tierdesk.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from tierdesk.csat import service as csat
from tierdesk.tickets import service as tickets
from tierdesk.tickets.models import EventKind, Status, TicketEvent
from tierdesk.tickets.schemas import TicketPatch


def _solved_ticket(db: Session, clock: FrozenClock, who: str = "alice") -> tuple[f.Helpdesk, int]:
    hd = f.helpdesk(db)
    ticket = f.ticket(db, f.actor(db, hd.users[who]), clock.now())
    tickets.update_ticket(
        db, f.actor(db, hd.users["l1"]), ticket.id, TicketPatch(status=Status.solved), clock.now()
    )
    return hd, ticket.id


def test_the_requester_rates_a_solved_ticket_and_the_rating_is_an_event(
    db: Session, clock: FrozenClock
) -> None:
    hd, ticket_id = _solved_ticket(db, clock)
    alice = f.actor(db, hd.users["alice"])
    rating = csat.rate(db, alice, ticket_id, 4, "  Quick and kind.  ", clock.now())
    assert (rating.score, rating.comment, rating.customer_id) == (4, "Quick and kind.", hd.customers["alice"])
    ticket = tickets.get_ticket(db, alice, ticket_id)
    assert rating.tier_id == ticket.tier_id and rating.channel == ticket.channel
    events = db.scalars(
        select(TicketEvent).where(
            TicketEvent.ticket_id == ticket_id, TicketEvent.kind == EventKind.satisfaction_rated.value
        )
    ).all()
    assert [e.data for e in events] == [{"score": 4, "comment": True}]
    assert events[0].actor_customer_id == hd.customers["alice"]


def test_rating_again_replaces_the_score_and_keeps_both_in_the_history(
    db: Session, clock: FrozenClock
) -> None:
    hd, ticket_id = _solved_ticket(db, clock)
    alice = f.actor(db, hd.users["alice"])
    csat.rate(db, alice, ticket_id, 2, "", clock.now())
    clock.advance(minutes=5)
    csat.rate(db, alice, ticket_id, 5, "They called me back.", clock.now())
    rating = csat.rating_for(db, alice, ticket_id)
    assert rating is not None and rating.score == 5
    kinds = [
        e.data
        for e in tickets.list_events(db, f.actor(db, hd.users["l1"]), ticket_id)
        if e.kind == "satisfaction_rated"
    ]
    assert kinds == [{"score": 2, "comment": False}, {"score": 5, "comment": True, "previous": 2}]


def test_an_unsolved_ticket_cannot_be_rated(db: Session, clock: FrozenClock) -> None:
    hd = f.helpdesk(db)
    alice = f.actor(db, hd.users["alice"])
    ticket = f.ticket(db, alice, clock.now())
    with pytest.raises(Conflict):
        csat.rate(db, alice, ticket.id, 5, "", clock.now())


@pytest.mark.parametrize("score", [0, 6, -1])
def test_a_score_outside_one_to_five_is_refused_naming_the_field(
    db: Session, clock: FrozenClock, score: int
) -> None:
    hd, ticket_id = _solved_ticket(db, clock)
    with pytest.raises(InvalidInput) as err:
        csat.rate(db, f.actor(db, hd.users["alice"]), ticket_id, score, "", clock.now())
    assert err.value.extra["field"] == "score"


def test_a_too_long_comment_is_refused(db: Session, clock: FrozenClock) -> None:
    hd, ticket_id = _solved_ticket(db, clock)
    with pytest.raises(InvalidInput) as err:
        csat.rate(db, f.actor(db, hd.users["alice"]), ticket_id, 3, "x" * 2001, clock.now())
    assert err.value.extra["field"] == "comment"


def test_a_colleague_who_sees_the_organizations_ticket_may_not_rate_it(
    db: Session, clock: FrozenClock
) -> None:
    hd, ticket_id = _solved_ticket(db, clock)  # alice and bob share Acme's tickets
    bob = f.actor(db, hd.users["bob"])
    assert tickets.get_ticket(db, bob, ticket_id).id == ticket_id
    with pytest.raises(Forbidden):
        csat.rate(db, bob, ticket_id, 1, "", clock.now())


def test_staff_may_not_rate_and_strangers_do_not_learn_the_ticket_exists(
    db: Session, clock: FrozenClock
) -> None:
    hd, ticket_id = _solved_ticket(db, clock)
    with pytest.raises(Forbidden):
        csat.rate(db, f.actor(db, hd.users["l1"]), ticket_id, 5, "", clock.now())
    with pytest.raises(NotFound):
        csat.rate(db, f.actor(db, hd.users["carol"]), ticket_id, 5, "", clock.now())
    with pytest.raises(NotFound):
        csat.rating_for(db, f.actor(db, hd.users["carol"]), ticket_id)


def test_the_customer_sees_their_rating_event_on_the_timeline(db: Session, clock: FrozenClock) -> None:
    hd, ticket_id = _solved_ticket(db, clock)
    alice = f.actor(db, hd.users["alice"])
    csat.rate(db, alice, ticket_id, 5, "", clock.now())
    assert "satisfaction_rated" in [e.kind for e in tickets.list_events(db, alice, ticket_id)]
