"""The L3 -> engineering workflow: link a bug to tickets (they wait, SLA paused), the bug is
fixed (API or signed webhook), L3 verifies the fix, then answers every customer at once."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests import factories as f
from tests.factories import Helpdesk
from tests.sla import factories as sf
from tierdesk.core.clock import FrozenClock
from tierdesk.core.config import Settings
from tierdesk.core.security import SYSTEM
from tierdesk.engineering import api as engineering_api
from tierdesk.engineering.models import EngineeringBug
from tierdesk.notifications import service as notifications
from tierdesk.sla import service as sla
from tierdesk.tickets import service as tickets
from tierdesk.tickets.models import Message, Ticket, TicketEvent
from tierdesk.tickets.schemas import TicketPatch

API = "/api/v1/engineering"
BUGS = f"{API}/bugs"
PROBLEM = "application/problem+json"
SECRET = "s3cret-shared-with-the-tracker"
BUG = {
    "key": "ENG-231",
    "title": "PDF export fails on invoices",
    "url": "https://tracker.example.com/ENG-231",
}
ANSWER = "We fixed the PDF export in 3.2.1; please try again and tell us if anything is off."


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    # Until web/app.py registers the engineering router, add it here (once).
    if not any(getattr(r, "path", None) == BUGS for r in app.routes):
        app.include_router(engineering_api.router)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def h(db: Session, user_id: int, clock: FrozenClock) -> dict[str, str]:
    return {"Authorization": f"Bearer {f.token(db, user_id, clock.now())}"}


def l3_ticket(db: Session, hd: Helpdesk, clock: FrozenClock, customer: str, **fields: Any) -> Ticket:
    data = {"requester_id": hd.customers[customer], "tier_id": hd.tiers["L3"]} | fields
    return f.ticket(db, SYSTEM, clock.now(), subject=f"Invoices of {customer} do not export", **data)


def events(db: Session, ticket_id: int, kind: str) -> list[TicketEvent]:
    stmt = select(TicketEvent).where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == kind)
    return list(db.scalars(stmt.order_by(TicketEvent.id)))


def messages(db: Session, ticket_id: int) -> list[Message]:
    return list(db.scalars(select(Message).where(Message.ticket_id == ticket_id).order_by(Message.id)))


def timers(db: Session, ticket_id: int, clock: FrozenClock) -> dict[str, str]:
    return {t.metric: t.state for t in sla.ticket_sla(db, ticket_id, clock.now()).timers}


def status_of(db: Session, *ticket_ids: int) -> list[str]:
    db.expire_all()
    return [tickets.get_ticket(db, SYSTEM, tid).status for tid in ticket_ids]


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    return body


def fixed_and_verified(client: TestClient, auth: dict[str, str]) -> None:
    assert client.patch(f"{BUGS}/ENG-231", json={"status": "fixed"}, headers=auth).status_code == 200
    r = client.post(f"{BUGS}/ENG-231/verify", json={"note": "Exported 20 invoices on 3.2.1"}, headers=auth)
    assert r.status_code == 200, r.text


# --- linking -----------------------------------------------------------------------------------
def test_linking_tickets_to_a_bug_puts_them_on_hold_with_their_sla_paused(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    sf.policy(db, sf.office_calendar(db))
    first, second, third = (l3_ticket(db, hd, clock, c) for c in ("alice", "bob", "carol"))
    assert timers(db, first.id, clock)["resolution"] == "running"
    l3 = h(db, hd.users["l3"], clock)

    clock.advance(minutes=10)
    r = client.post(BUGS, json=BUG | {"ticket_ids": [first.id, f"T-{second.id}"]}, headers=l3)
    assert r.status_code == 201, r.text
    bug = r.json()
    assert (bug["key"], bug["status"], bug["owner_user_id"]) == ("ENG-231", "open", hd.users["l3"])
    assert bug["ticket_ids"] == [first.id, second.id]

    r = client.post(f"{BUGS}/eng-231/tickets", json={"ticket_id": third.id}, headers=l3)
    assert r.status_code == 200, r.text
    assert r.json()["ticket_ids"] == [first.id, second.id, third.id]

    assert status_of(db, first.id, second.id, third.id) == ["on_hold"] * 3
    for t in (first, second, third):
        held = events(db, t.id, "field_changed")[-1]
        assert (held.field, held.new, held.reason) == ("status", "on_hold", "waiting on engineering: ENG-231")
        [link] = tickets.list_links(db, SYSTEM, t.id)
        assert (link.kind, link.external_key, link.url) == ("engineering_bug", "ENG-231", BUG["url"])
        clocks = timers(db, t.id, clock)
        # Resolution waits with the ticket; first response never pauses (nobody answered yet).
        assert clocks["resolution"] == "paused" and clocks["first_response"] == "running"

    r = client.post(f"{BUGS}/ENG-231/tickets", json={"ticket_id": third.id}, headers=l3)
    assert "already linked" in problem(r, 409)["detail"]
    assert len(tickets.list_links(db, SYSTEM, third.id)) == 1


def test_a_ticket_linked_to_a_bug_that_is_already_fixed_does_not_wait(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    early, late = l3_ticket(db, hd, clock, "alice"), l3_ticket(db, hd, clock, "carol")
    l3 = h(db, hd.users["l3"], clock)
    client.post(BUGS, json=BUG | {"ticket_ids": [early.id]}, headers=l3)
    client.patch(f"{BUGS}/ENG-231", json={"status": "fixed"}, headers=l3)
    assert client.post(f"{BUGS}/ENG-231/tickets", json={"ticket_id": late.id}, headers=l3).status_code == 200
    assert status_of(db, early.id, late.id) == ["on_hold", "new"]


def test_an_agent_cannot_link_a_ticket_they_may_not_see(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    hidden = l3_ticket(db, hd, clock, "alice")
    l1 = h(db, hd.users["l1"], clock)
    assert client.post(BUGS, json=BUG, headers=l1).status_code == 201
    r = client.post(f"{BUGS}/ENG-231/tickets", json={"ticket_id": hidden.id}, headers=l1)
    problem(r, 404)
    r = client.post(BUGS, json=BUG | {"key": "ENG-232", "ticket_ids": [hidden.id]}, headers=l1)
    problem(r, 404)
    # The refused call left nothing behind: no second bug, no link, the ticket still new.
    assert client.get(f"{BUGS}/ENG-232", headers=l1).status_code == 404
    assert tickets.list_links(db, SYSTEM, hidden.id) == []
    assert status_of(db, hidden.id) == ["new"]


# --- fixed, verified, announced ------------------------------------------------------------------
def test_marking_a_bug_fixed_asks_its_owner_and_the_assignees_to_verify_the_fix(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    mine = l3_ticket(db, hd, clock, "alice")
    theirs = l3_ticket(db, hd, clock, "carol", assignee_id=hd.users["l2"])
    l3 = h(db, hd.users["l3"], clock)
    client.post(BUGS, json=BUG | {"ticket_ids": [mine.id, theirs.id]}, headers=l3)
    assert (
        client.patch(f"{BUGS}/ENG-231", json={"status": "in_progress"}, headers=l3).json()["fixed_at"] is None
    )

    clock.advance(hours=2)
    r = client.patch(f"{BUGS}/ENG-231", json={"status": "fixed", "fix_note": "Fixed in 3.2.1"}, headers=l3)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "fixed"
    assert r.json()["fixed_at"] == clock.now().isoformat().replace("+00:00", "Z")

    body = "ENG-231 is fixed: verify the fix before answering the customers"
    owner = notifications.list_mine(db, f.actor(db, hd.users["l3"]), True, 10)
    assert [(n.kind, n.body, n.ticket_id) for n in owner] == [("verify_fix", body, None)]
    assignee = notifications.list_mine(db, f.actor(db, hd.users["l2"]), True, 10)
    assert [(n.kind, n.body, n.ticket_id) for n in assignee] == [("verify_fix", body, theirs.id)]
    for t in (mine, theirs):
        [fixed] = events(db, t.id, "engineering_fixed")
        assert fixed.actor_user_id == hd.users["l3"]
        assert (
            fixed.data is not None
            and fixed.data["bug"] == "ENG-231"
            and fixed.data["note"] == "Fixed in 3.2.1"
        )
    # Still waiting: the customers hear nothing before someone verified the fix.
    assert status_of(db, mine.id, theirs.id) == ["on_hold", "on_hold"]


def test_announcing_before_the_fix_is_verified_is_refused(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    t = l3_ticket(db, hd, clock, "alice")
    l3 = h(db, hd.users["l3"], clock)
    client.post(BUGS, json=BUG | {"ticket_ids": [t.id]}, headers=l3)
    r = client.post(f"{BUGS}/ENG-231/announce", json={"body": ANSWER}, headers=l3)
    assert "verify the fix first" in problem(r, 409)["detail"]
    client.patch(f"{BUGS}/ENG-231", json={"status": "fixed"}, headers=l3)
    r = client.post(f"{BUGS}/ENG-231/announce", json={"body": ANSWER}, headers=l3)
    assert "verify the fix first" in problem(r, 409)["detail"]
    assert messages(db, t.id) == []


def test_only_a_fixed_bug_is_verified_and_only_by_its_owner_an_l3_agent_or_a_supervisor(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    sup = h(db, hd.users["supervisor"], clock)
    client.post(BUGS, json=BUG | {"owner_user_id": hd.users["l2"]}, headers=sup)
    note = {"note": "Checked on staging"}
    r = client.post(f"{BUGS}/ENG-231/verify", json=note, headers=sup)
    assert "only a fixed bug" in problem(r, 409)["detail"]
    client.patch(f"{BUGS}/ENG-231", json={"status": "fixed"}, headers=sup)
    problem(client.post(f"{BUGS}/ENG-231/verify", json=note, headers=h(db, hd.users["l1"], clock)), 403)
    r = client.post(f"{BUGS}/ENG-231/verify", json=note, headers=h(db, hd.users["l2"], clock))  # the owner
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["verified_by_user_id"]) == ("verified", hd.users["l2"])
    assert r.json()["verify_note"] == "Checked on staging"


def test_verify_then_announce_answers_every_linked_customer_with_one_message_and_solves_them(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    sf.policy(db, sf.office_calendar(db))
    alice, carol, gone = (l3_ticket(db, hd, clock, c) for c in ("alice", "carol", "bob"))
    l3 = h(db, hd.users["l3"], clock)
    client.post(BUGS, json=BUG | {"ticket_ids": [alice.id, carol.id, gone.id]}, headers=l3)
    for status in ("solved", "closed"):
        tickets.update_ticket(db, SYSTEM, gone.id, TicketPatch(status=status), clock.now())  # type: ignore[arg-type]

    clock.advance(days=1)
    fixed_and_verified(client, l3)
    for t in (alice, carol, gone):
        [verified] = events(db, t.id, "fix_verified")
        assert verified.data is not None and verified.data["note"] == "Exported 20 invoices on 3.2.1"

    clock.advance(minutes=5)
    r = client.post(f"{BUGS}/ENG-231/announce", json={"body": ANSWER}, headers=l3)
    assert r.status_code == 200, r.text
    assert r.json() == {"answered": [alice.id, carol.id], "skipped_closed": [gone.id]}
    assert status_of(db, alice.id, carol.id, gone.id) == ["solved", "solved", "closed"]
    for t in (alice, carol):
        [reply] = messages(db, t.id)
        assert (reply.kind, reply.body, reply.author_user_id) == ("public", ANSWER, hd.users["l3"])
        assert timers(db, t.id, clock)["resolution"] == "met"
    assert messages(db, gone.id) == []

    # The customer reads the answer on the timeline, and nothing of the engineering side.
    r = client.get(f"/api/v1/tickets/{alice.id}/timeline", headers=h(db, hd.users["alice"], clock))
    assert r.status_code == 200, r.text
    replies = [e["message"]["body"] for e in r.json()["entries"] if e["type"] == "message"]
    assert replies == [ANSWER]
    assert "ENG-231" not in r.text and "waiting on engineering" not in r.text

    r = client.post(f"{BUGS}/ENG-231/announce", json={"body": ANSWER}, headers=l3)
    assert "already announced" in problem(r, 409)["detail"]
    assert len(messages(db, alice.id)) == 1


def test_announce_can_leave_the_tickets_pending_instead(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    waiting, solved = l3_ticket(db, hd, clock, "alice"), l3_ticket(db, hd, clock, "carol")
    l3 = h(db, hd.users["l3"], clock)
    client.post(BUGS, json=BUG | {"ticket_ids": [waiting.id, solved.id]}, headers=l3)
    tickets.update_ticket(db, SYSTEM, solved.id, TicketPatch(status="solved"), clock.now())  # type: ignore[arg-type]
    fixed_and_verified(client, l3)
    r = client.post(f"{BUGS}/ENG-231/announce", json={"body": ANSWER, "status": "pending"}, headers=l3)
    assert r.json() == {"answered": [waiting.id, solved.id], "skipped_closed": []}
    # A ticket someone already solved keeps its status; it still gets the answer.
    assert status_of(db, waiting.id, solved.id) == ["pending", "solved"]
    assert [len(messages(db, t)) for t in (waiting.id, solved.id)] == [1, 1]


def test_an_agent_who_cannot_see_one_of_the_tickets_gets_404_on_announce_and_nothing_changes(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    theirs = l3_ticket(db, hd, clock, "alice")
    hidden = l3_ticket(db, hd, clock, "carol", tier_id=hd.tiers["L1"])
    sup = h(db, hd.users["supervisor"], clock)
    body = BUG | {"owner_user_id": hd.users["l3"], "ticket_ids": [theirs.id, hidden.id]}
    assert client.post(BUGS, json=body, headers=sup).status_code == 201
    l3 = h(db, hd.users["l3"], clock)
    assert client.get(f"{BUGS}/ENG-231", headers=l3).json()["ticket_ids"] == [theirs.id]
    fixed_and_verified(client, l3)
    # The fix reached the ticket l3 cannot see too, as a system event naming who acted.
    [event] = events(db, hidden.id, "fix_verified")
    assert event.actor_kind == "system" and event.data is not None
    assert event.data["by_user_id"] == hd.users["l3"]

    r = client.post(f"{BUGS}/ENG-231/announce", json={"body": ANSWER}, headers=l3)
    detail = problem(r, 404)["detail"]
    assert f"T-{hidden.id}" not in detail and f"T-{theirs.id}" not in detail
    assert messages(db, theirs.id) == [] and messages(db, hidden.id) == []
    assert status_of(db, theirs.id, hidden.id) == ["on_hold", "on_hold"]
    db.expire_all()
    bug = db.scalars(select(EngineeringBug).where(EngineeringBug.key == "ENG-231")).one()
    assert bug.announced_at is None

    r = client.post(f"{BUGS}/ENG-231/announce", json={"body": ANSWER}, headers=sup)
    assert r.json() == {"answered": [theirs.id, hidden.id], "skipped_closed": []}


# --- the webhook ------------------------------------------------------------------------------------
def test_the_webhook_takes_a_signed_status_and_refuses_a_bad_or_missing_signature(
    client: TestClient, app: FastAPI, db: Session, clock: FrozenClock, settings: Settings
) -> None:
    hd = f.helpdesk(db)
    t = l3_ticket(db, hd, clock, "alice")
    client.post(BUGS, json=BUG | {"ticket_ids": [t.id]}, headers=h(db, hd.users["l3"], clock))
    raw = json.dumps({"key": "ENG-231", "status": "fixed", "note": "Released in 3.2.1"}).encode()
    url = f"{API}/webhook"
    problem(client.post(url, content=raw, headers={"X-Tierdesk-Signature": sign(raw)}), 503)

    app.state.settings = settings.model_copy(update={"engineering_webhook_secret": SECRET})
    problem(client.post(url, content=raw), 401)
    problem(client.post(url, content=raw, headers={"X-Tierdesk-Signature": sign(raw, "wrong")}), 401)
    problem(client.post(url, content=raw, headers={"X-Tierdesk-Signature": sign(raw + b" ")}), 401)
    assert status_of(db, t.id) == ["on_hold"] and events(db, t.id, "engineering_fixed") == []

    r = client.post(url, content=raw, headers={"X-Tierdesk-Signature": sign(raw)})
    assert r.status_code == 200, r.text
    assert r.json() == {"key": "ENG-231", "status": "fixed", "changed": True}
    # A retried delivery changes nothing and asks nobody twice.
    r = client.post(url, content=raw, headers={"X-Tierdesk-Signature": sign(raw)})
    assert r.json() == {"key": "ENG-231", "status": "fixed", "changed": False}
    [fixed] = events(db, t.id, "engineering_fixed")
    assert (
        fixed.actor_kind == "system" and fixed.data is not None and fixed.data["note"] == "Released in 3.2.1"
    )
    assert len(notifications.list_mine(db, f.actor(db, hd.users["l3"]), True, 10)) == 1

    unknown = json.dumps({"key": "ENG-999", "status": "fixed"}).encode()
    problem(client.post(url, content=unknown, headers={"X-Tierdesk-Signature": sign(unknown)}), 404)
    verified = json.dumps({"key": "ENG-231", "status": "verified"}).encode()
    body = problem(client.post(url, content=verified, headers={"X-Tierdesk-Signature": sign(verified)}), 422)
    assert body["errors"][0]["field"] == "status"
    # A regression reported by the tracker opens the bug again...
    regressed = json.dumps({"key": "ENG-231", "status": "open"}).encode()
    r = client.post(url, content=regressed, headers={"X-Tierdesk-Signature": sign(regressed)})
    assert r.json() == {"key": "ENG-231", "status": "open", "changed": True}
    db.expire_all()
    bug = db.scalars(select(EngineeringBug).where(EngineeringBug.key == "ENG-231")).one()
    assert bug.fixed_at is None
    # ...and once support verified the fix, a late "fixed" from the tracker is simply true already.
    r = client.post(url, content=raw, headers={"X-Tierdesk-Signature": sign(raw)})
    assert r.json()["changed"] is True
    r = client.post(f"{BUGS}/ENG-231/verify", json={"note": "Checked"}, headers=h(db, hd.users["l3"], clock))
    assert r.status_code == 200, r.text
    r = client.post(url, content=raw, headers={"X-Tierdesk-Signature": sign(raw)})
    assert r.json() == {"key": "ENG-231", "status": "verified", "changed": False}


# --- validation and who may see bugs ----------------------------------------------------------------
def test_an_invalid_key_url_or_transition_is_a_422_problem(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    l3 = h(db, hd.users["l3"], clock)
    r = client.post(BUGS, json=BUG | {"key": "ENG 231", "url": "ftp://tracker.example.com/1"}, headers=l3)
    fields = {e["field"]: e["message"] for e in problem(r, 422)["errors"]}
    assert set(fields) == {"key", "url"}
    assert "e.g. ENG-231" in fields["key"] and "https://" in fields["url"]
    problem(client.post(BUGS, json=BUG | {"url": "https://"}, headers=l3), 422)

    problem(client.post(BUGS, json=BUG | {"title": "  "}, headers=l3), 422)

    t = l3_ticket(db, hd, clock, "alice")
    sloppy = {"key": " eng-231", "url": "HTTPS://Tracker.example.com/ENG-231", "ticket_ids": [t.id]}
    r = client.post(BUGS, json=BUG | sloppy, headers=l3)
    assert r.status_code == 201, r.text
    assert (r.json()["key"], r.json()["url"]) == ("ENG-231", "https://Tracker.example.com/ENG-231")
    problem(client.post(BUGS, json=BUG, headers=l3), 409)

    r = client.patch(f"{BUGS}/ENG-231", json={"status": "verified"}, headers=l3)
    assert "/verify" in problem(r, 422)["detail"]
    client.patch(f"{BUGS}/ENG-231", json={"status": "fixed"}, headers=l3)
    r = client.patch(f"{BUGS}/ENG-231", json={"status": "in_progress"}, headers=l3)
    body = problem(r, 422)
    assert body["detail"] == (
        "ENG-231 is fixed and cannot become in_progress; from fixed it can go to: open, wont_fix."
    )
    assert body["field"] == "status"
    assert client.patch(f"{BUGS}/ENG-231", json={"status": "wont_fix"}, headers=l3).status_code == 200
    problem(client.patch(f"{BUGS}/ENG-231", json={"status": "open"}, headers=l3), 422)
    problem(client.patch(f"{BUGS}/ENG-231", json={}, headers=l3), 422)


def test_customers_and_strangers_cannot_see_bugs(client: TestClient, db: Session, clock: FrozenClock) -> None:
    hd = f.helpdesk(db)
    t = l3_ticket(db, hd, clock, "alice")
    client.post(BUGS, json=BUG | {"ticket_ids": [t.id]}, headers=h(db, hd.users["l3"], clock))
    alice = h(db, hd.users["alice"], clock)
    problem(client.get(BUGS, headers=alice), 403)
    problem(client.get(f"{BUGS}/ENG-231", headers=alice), 403)
    problem(client.post(BUGS, json=BUG | {"key": "ENG-1"}, headers=alice), 403)
    problem(client.post(f"{BUGS}/ENG-231/announce", json={"body": ANSWER}, headers=alice), 403)
    problem(client.get(BUGS), 401)
    # Their ticket's own view shows no trace of the link either.
    r = client.get(f"/api/v1/tickets/{t.id}/timeline", headers=alice)
    assert r.status_code == 200 and "ENG-231" not in r.text


def test_staff_list_bugs_by_status(client: TestClient, db: Session, clock: FrozenClock) -> None:
    hd = f.helpdesk(db)
    l1 = h(db, hd.users["l1"], clock)
    for n in (1, 2, 3):
        clock.advance(minutes=1)
        client.post(BUGS, json=BUG | {"key": f"ENG-{n}"}, headers=l1)
    client.patch(f"{BUGS}/ENG-2", json={"status": "in_progress"}, headers=l1)
    assert [b["key"] for b in client.get(BUGS, headers=l1).json()] == ["ENG-3", "ENG-2", "ENG-1"]
    assert [b["key"] for b in client.get(BUGS, params={"status": "open"}, headers=l1).json()] == [
        "ENG-3",
        "ENG-1",
    ]
    problem(client.get(BUGS, params={"status": "done"}, headers=l1), 422)
