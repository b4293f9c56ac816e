"""Need-to-know teams (fraud, compliance): other agents learn that a ticket exists and who
holds it, never what it says; customers and tickets of ordinary teams keep the plain 404."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests import factories as f
from tierdesk.core.clock import FrozenClock
from tierdesk.core.security import SYSTEM
from tierdesk.tickets import service as tickets
from tierdesk.tickets.schemas import TicketPatch


def _auth(db: Session, user_id: int, clock: FrozenClock) -> dict[str, str]:
    return {"Authorization": f"Bearer {f.token(db, user_id, clock.now())}"}


def test_agents_outside_a_need_to_know_team_learn_only_that_its_ticket_exists(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    secret = f.ticket(
        db, f.actor(db, hd.users["carol"]), clock.now(), subject="Stolen card 4111", description="chargeback"
    )
    tickets.update_ticket(db, SYSTEM, secret.id, TicketPatch(team_id=hd.teams["fraud"]), clock.now())

    for who in ("l1", "l2", "supervisor"):
        for path in (f"/api/v1/tickets/{secret.id}", f"/api/v1/tickets/{secret.id}/timeline"):
            r = client.get(path, headers=_auth(db, hd.users[who], clock))
            assert r.status_code == 403, (who, path, r.text)
            problem = r.json()
            assert f"T-{secret.id} exists" in problem["detail"] and "need-to-know" in problem["detail"]
            assert "Stolen card" not in r.text and "chargeback" not in r.text
        listed = client.get("/api/v1/tickets", headers=_auth(db, hd.users[who], clock)).json()
        assert secret.id not in [t["id"] for t in listed["items"]]

    member = client.get(f"/api/v1/tickets/{secret.id}", headers=_auth(db, hd.users["fraud"], clock))
    assert member.status_code == 200 and member.json()["subject"] == "Stolen card 4111"
    other_customer = client.get(f"/api/v1/tickets/{secret.id}", headers=_auth(db, hd.users["alice"], clock))
    assert other_customer.status_code == 404


def test_a_ticket_of_another_tier_still_answers_not_found_to_an_agent(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    t = f.ticket(db, f.actor(db, hd.users["carol"]), clock.now())
    tickets.update_ticket(db, SYSTEM, t.id, TicketPatch(tier_id=hd.tiers["L3"]), clock.now())
    r = client.get(f"/api/v1/tickets/{t.id}", headers=_auth(db, hd.users["l1"], clock))
    assert r.status_code == 404
