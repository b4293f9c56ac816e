from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests import factories as f
from tierdesk.core.clock import FrozenClock


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_agent_creates_ticket_lists_it_and_reads_its_creation_event(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    token = f.token(db, hd.users["l1"], clock.now())
    created = client.post(
        "/api/v1/tickets",
        json={
            "subject": "Refund for order 1234",
            "requester": {"email": "zoe@cust.example.com", "name": "Zoe"},
            "tags": ["refund"],
        },
        headers=auth(token),
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["number"].startswith("T-")
    assert body["status"] == "new"
    assert body["tier_id"] == hd.tiers["L1"]

    listed = client.get("/api/v1/tickets", params={"tag": "refund"}, headers=auth(token))
    assert [t["id"] for t in listed.json()["items"]] == [body["id"]]

    timeline = client.get(f"/api/v1/tickets/{body['number']}/timeline", headers=auth(token)).json()
    kinds = [e["event"]["kind"] for e in timeline["entries"] if e["type"] == "event"]
    assert kinds == ["created"]


def test_list_pages_through_every_ticket_once_with_the_cursor(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    agent = f.actor(db, hd.users["l1"])
    made = []
    for i in range(7):
        clock.advance(minutes=1)
        made.append(f.ticket(db, agent, clock.now(), subject=f"t{i}", requester_id=hd.customers["carol"]).id)
    token = f.token(db, hd.users["l1"], clock.now())
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/v1/tickets", params=params, headers=auth(token)).json()
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(made))


def test_unknown_field_gets_a_readable_problem_not_a_500(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    token = f.token(db, hd.users["l1"], clock.now())
    r = client.post("/api/v1/tickets", json={"subject": "", "colour": "red"}, headers=auth(token))
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    fields = {e["field"] for e in problem["errors"]}
    assert {"subject", "colour"} <= fields
    assert "subject" in problem["detail"]
