"""CSAT over the REST API: the requester rates with a token; problems are problem+json."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests import factories as f
from tierdesk.core.clock import FrozenClock
from tierdesk.tickets import service as tickets
from tierdesk.tickets.models import Status
from tierdesk.tickets.schemas import TicketPatch


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_requester_rates_over_the_api_and_staff_read_it(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    ticket = f.ticket(db, f.actor(db, hd.users["carol"]), clock.now())
    carol, l1 = f.token(db, hd.users["carol"], clock.now()), f.token(db, hd.users["l1"], clock.now())
    url = f"/api/v1/tickets/T-{ticket.id}/satisfaction"
    early = client.put(url, json={"score": 5}, headers=auth(carol))
    assert early.status_code == 409 and early.headers["content-type"] == "application/problem+json"
    tickets.update_ticket(
        db, f.actor(db, hd.users["l1"]), ticket.id, TicketPatch(status=Status.solved), clock.now()
    )
    assert client.get(url, headers=auth(l1)).status_code == 404  # not rated yet
    r = client.put(url, json={"score": 4, "comment": "Good"}, headers=auth(carol))
    assert r.status_code == 200 and r.json()["score"] == 4
    read = client.get(url, headers=auth(l1)).json()
    assert (read["score"], read["comment"], read["channel"]) == (4, "Good", ticket.channel)


def test_a_score_outside_one_to_five_is_a_422_naming_the_field(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    ticket = f.ticket(db, f.actor(db, hd.users["carol"]), clock.now())
    r = client.put(
        f"/api/v1/tickets/T-{ticket.id}/satisfaction",
        json={"score": 6},
        headers=auth(f.token(db, hd.users["carol"], clock.now())),
    )
    assert r.status_code == 422 and "score" in r.text


def test_a_stranger_cannot_read_or_rate_someone_elses_ticket(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    ticket = f.ticket(db, f.actor(db, hd.users["alice"]), clock.now())
    carol = f.token(db, hd.users["carol"], clock.now())
    url = f"/api/v1/tickets/T-{ticket.id}/satisfaction"
    assert client.get(url, headers=auth(carol)).status_code == 404
    assert client.put(url, json={"score": 1}, headers=auth(carol)).status_code == 404
