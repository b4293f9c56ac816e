from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests import factories as f
from tierdesk.core.clock import FrozenClock


def h(db: Session, user_id: int, clock: FrozenClock) -> dict[str, str]:
    return {"Authorization": f"Bearer {f.token(db, user_id, clock.now())}"}


def test_strategic_organization_keeps_dedicated_team_owner_and_flags(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    sup = h(db, hd.users["supervisor"], clock)
    body = {
        "name": "Kitsune K.K.",
        "segment": "enterprise",
        "plan": "enterprise",
        "strategic": True,
        "dedicated_team_id": hd.teams["billing"],
        "account_owner_id": hd.users["l3"],
        "flags": {"proactive_contact": True, "region": "jp"},
    }
    r = client.post("/api/v1/organizations", json=body, headers=sup)
    assert r.status_code == 201, r.text
    got = client.get(f"/api/v1/organizations/{r.json()['id']}", headers=sup).json()
    assert got["strategic"] and got["flags"] == {"proactive_contact": True, "region": "jp"}


def test_customer_with_bad_email_or_missing_org_gets_clear_errors(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    agent = h(db, hd.users["l1"], clock)
    r = client.post("/api/v1/customers", json={"name": "Mario", "email": "not-an-email"}, headers=agent)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "email"
    r = client.post("/api/v1/customers", json={"name": "Mario", "organization_id": 424242}, headers=agent)
    assert r.status_code == 422 and "424242" in r.json()["detail"]
    r = client.post(
        "/api/v1/customers",
        json={
            "name": "Mario",
            "email": "mario@cust.example.com",
            "language": "it",
            "timezone": "Europe/Rome",
        },
        headers=agent,
    )
    assert r.status_code == 201
    dup = client.post(
        "/api/v1/customers", json={"name": "Mario 2", "email": "MARIO@cust.example.com"}, headers=agent
    )
    assert dup.status_code == 409


def test_customers_list_pages_by_id(client: TestClient, db: Session, clock: FrozenClock) -> None:
    hd = f.helpdesk(db)
    agent = h(db, hd.users["l1"], clock)
    first = client.get("/api/v1/customers", params={"limit": 2}, headers=agent).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = client.get(
        "/api/v1/customers", params={"limit": 2, "after_id": first["next_cursor"]}, headers=agent
    ).json()
    assert rest["items"][0]["id"] > first["items"][-1]["id"]


def test_customer_with_tickets_cannot_be_deleted(client: TestClient, db: Session, clock: FrozenClock) -> None:
    hd = f.helpdesk(db)
    f.ticket(db, f.actor(db, hd.users["carol"]), clock.now())
    r = client.delete(f"/api/v1/customers/{hd.customers['carol']}", headers=h(db, hd.users["admin"], clock))
    assert r.status_code == 409
