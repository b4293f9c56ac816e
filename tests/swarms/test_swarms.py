"""Swarming: the owner keeps the ticket and pulls skilled colleagues in; members see the
ticket while they are in the swarm, talk in an internal thread, and the swarm closes with
the ticket."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests import factories as f
from tests.factories import Helpdesk
from tierdesk.core.clock import FrozenClock
from tierdesk.core.security import SYSTEM, Role
from tierdesk.notifications import service as notifications
from tierdesk.swarms import api as swarms_api
from tierdesk.swarms import tasks as swarm_tasks
from tierdesk.swarms.models import Swarm, SwarmMember
from tierdesk.tickets import service as tickets
from tierdesk.tickets.models import Ticket, TicketEvent
from tierdesk.tickets.schemas import TicketPatch
from tierdesk.tiers import service as tiers
from tierdesk.tiers.schemas import AgentWorkIn, CalendarIn, SkillIn

PROBLEM = "application/problem+json"
SECRET_POST = "The refund went to the old IBAN; ask treasury to recall it"


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    # Until web/app.py registers the swarms router, add it here (once).
    if not any(getattr(r, "path", None) == "/api/v1/tickets/{ref}/swarm" for r in app.routes):
        app.include_router(swarms_api.router)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def h(db: Session, user_id: int, clock: FrozenClock) -> dict[str, str]:
    return {"Authorization": f"Bearer {f.token(db, user_id, clock.now())}"}


def url(ticket: Ticket, rest: str = "") -> str:
    return f"/api/v1/tickets/T-{ticket.id}/swarm{rest}"


def l1_ticket(db: Session, hd: Helpdesk, clock: FrozenClock, **fields: Any) -> Ticket:
    data = {"requester_id": hd.customers["alice"], "tier_id": hd.tiers["L1"]} | fields
    return f.ticket(db, SYSTEM, clock.now(), subject="Refund landed on a closed account", **data)


def skills(db: Session, *keys: str) -> None:
    for key in keys:
        tiers.create_skill(db, SYSTEM, SkillIn(key=key, name=key.title()))


def work(db: Session, user_id: int, **fields: Any) -> None:
    tiers.set_agent_work(db, user_id, AgentWorkIn(**fields))


def events(db: Session, ticket_id: int, kind: str) -> list[TicketEvent]:
    stmt = select(TicketEvent).where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == kind)
    return list(db.scalars(stmt.order_by(TicketEvent.id)))


def problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = r.json()
    return body


# --- membership and visibility ------------------------------------------------------------------
def test_an_invited_l3_agent_reads_the_l1_ticket_while_in_the_swarm_and_loses_it_after_leaving(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    skills(db, "refunds")
    t = l1_ticket(db, hd, clock)
    l1, l3 = h(db, hd.users["l1"], clock), h(db, hd.users["l3"], clock)
    ticket_url = f"/api/v1/tickets/{t.id}"
    problem(client.get(ticket_url, headers=l3), 404)

    clock.advance(minutes=3)
    r = client.post(url(t), json={"skills": ["refunds"], "note": "Anyone done a recall?"}, headers=l1)
    assert r.status_code == 201, r.text
    swarm = r.json()
    # Starting on an unassigned ticket makes the starter its owner; nobody else is in yet.
    assert (swarm["owner_user_id"], swarm["skills"], swarm["members"]) == (hd.users["l1"], ["refunds"], [])
    db.expire_all()
    assert tickets.get_ticket(db, SYSTEM, t.id).assignee_id == hd.users["l1"]
    [started] = events(db, t.id, "swarm_started")
    assert started.data == {"swarm_id": swarm["id"], "owner_user_id": hd.users["l1"], "skills": ["refunds"]}

    r = client.post(url(t, "/invite"), json={"user_ids": [hd.users["l3"]]}, headers=l1)
    assert r.status_code == 200, r.text
    [member] = r.json()["members"]
    assert (member["user_id"], member["invited_by_user_id"], member["joined_at"]) == (
        hd.users["l3"],
        hd.users["l1"],
        None,
    )
    [note] = notifications.list_mine(db, f.actor(db, hd.users["l3"]), True, 10)
    assert note.kind == "swarm_invite" and note.ticket_id == t.id and "refunds" in note.body

    # Invited: the L3 agent now reads the L1 ticket (it is not in their tier), and only that one.
    assert client.get(ticket_url, headers=l3).status_code == 200
    other = l1_ticket(db, hd, clock)
    problem(client.get(f"/api/v1/tickets/{other.id}", headers=l3), 404)
    listed = [item["id"] for item in client.get("/api/v1/tickets", headers=l3).json()["items"]]
    assert t.id in listed and other.id not in listed

    clock.advance(minutes=1)
    r = client.post(url(t, "/join"), headers=l3)
    assert r.status_code == 200, r.text
    assert r.json()["members"][0]["joined_at"] is not None
    [joined] = events(db, t.id, "swarm_joined")
    assert joined.actor_user_id == hd.users["l3"]

    clock.advance(minutes=20)
    assert client.post(url(t, "/leave"), headers=l3).status_code == 204
    [left] = events(db, t.id, "swarm_left")
    assert left.actor_user_id == hd.users["l3"] and left.data == {"swarm_id": swarm["id"], "joined": True}
    problem(client.get(ticket_url, headers=l3), 404)
    problem(client.get(url(t), headers=l3), 404)
    # Joining without an invitation is refused.
    problem(client.post(url(t, "/join"), headers=h(db, hd.users["l1"], clock)), 403)


def test_only_the_assignee_or_a_supervisor_starts_a_swarm_once_with_known_skills(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    skills(db, "refunds")
    t = l1_ticket(db, hd, clock, assignee_id=hd.users["supervisor"])
    l1, sup = h(db, hd.users["l1"], clock), h(db, hd.users["supervisor"], clock)
    assert (
        "another agent"
        in problem(client.post(url(t), json={"skills": ["refunds"]}, headers=l1), 403)["detail"]
    )
    body = problem(client.post(url(t), json={"skills": ["refunds", "klingon"]}, headers=sup), 422)
    assert "klingon" in body["detail"]
    problem(client.post(url(t), json={"skills": ["not a key!"]}, headers=sup), 422)
    problem(client.post(url(t), json={"skills": []}, headers=sup), 422)
    assert client.post(url(t), json={"skills": "Refunds"}, headers=sup).status_code == 201
    assert (
        "already has an open swarm"
        in problem(client.post(url(t), json={"skills": ["refunds"]}, headers=sup), 409)["detail"]
    )
    alice = h(db, hd.users["alice"], clock)
    problem(client.post(url(t), json={"skills": ["refunds"]}, headers=alice), 403)
    problem(client.get(url(t), headers=alice), 403)
    problem(client.get(url(t)), 401)


# --- suggestions ---------------------------------------------------------------------------
def test_suggestions_rank_a_skilled_on_shift_colleague_with_room_first_and_leave_out_the_unavailable(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    skills(db, "refunds", "japanese")
    # The clock is Monday 09:00 UTC: the office is open, the weekend desk is not.
    office = tiers.create_calendar(db, SYSTEM, CalendarIn(name="Office", hours={"0": [("08:00", "17:00")]}))
    weekend = tiers.create_calendar(db, SYSTEM, CalendarIn(name="Weekend", hours={"5": [("08:00", "17:00")]}))
    busy = f.staff(db, "busy@desk.example.com", Role.agent, [hd.tiers["L2"]])
    asleep = f.staff(db, "asleep@desk.example.com", Role.agent, [hd.tiers["L2"]])
    weekender = f.staff(db, "weekend@desk.example.com", Role.agent, [hd.tiers["L2"]])
    both = {"refunds": 4, "japanese": 3}
    work(db, hd.users["l2"], skills=both, presence="online", calendar_id=office.id, max_open_tickets=5)
    work(db, hd.users["l3"], skills={"refunds": 5}, presence="away")  # no calendar: always on shift
    work(db, busy, skills={"refunds": 5, "japanese": 5}, presence="online", max_open_tickets=1)
    work(db, asleep, skills={"refunds": 5, "japanese": 5}, presence="offline")
    work(db, weekender, skills={"refunds": 5, "japanese": 5}, presence="online", calendar_id=weekend.id)
    work(db, hd.users["fraud"], skills={"refunds": 1}, presence="online")
    l1_ticket(db, hd, clock, assignee_id=busy)  # fills busy's one slot
    l1_ticket(db, hd, clock, assignee_id=hd.users["l2"])
    t = l1_ticket(db, hd, clock)

    l1 = h(db, hd.users["l1"], clock)
    r = client.get(url(t, "/suggestions"), params={"skills": "refunds,japanese"}, headers=l1)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["skills"] == ["refunds", "japanese"]
    ranked = [s["user_id"] for s in out["suggestions"]]
    assert ranked == [hd.users["l2"], hd.users["l3"], hd.users["fraud"]]
    first = out["suggestions"][0]
    assert (first["score"], first["open_tickets"], first["max_open_tickets"]) == (7, 1, 5)
    assert first["reasons"] == [
        "refunds level 4",
        "japanese level 3",
        "on shift",
        "online",
        "1 of 5 open tickets",
    ]
    assert "lacks japanese" in out["suggestions"][1]["reasons"]
    assert out["left_out"] == {
        str(busy): "at capacity (1 of 1 open tickets)",
        str(asleep): "offline",
        str(weekender): "off shift (their calendar is closed now)",
    }

    # On a need-to-know ticket only the team's own people are suggested (nobody else is even named).
    insider = f.staff(db, "fraud2@desk.example.com", Role.specialist, [], [hd.teams["fraud"]])
    work(db, insider, skills={"refunds": 2}, presence="online")
    fraud_ticket = l1_ticket(db, hd, clock, team_id=hd.teams["fraud"])
    r = client.get(
        url(fraud_ticket, "/suggestions"),
        params={"skills": "refunds"},
        headers=h(db, hd.users["fraud"], clock),
    )
    assert [s["user_id"] for s in r.json()["suggestions"]] == [insider] and r.json()["left_out"] == {}
    problem(client.get(url(t, "/suggestions"), params={"skills": "refunds,??"}, headers=l1), 422)
    problem(client.get(url(fraud_ticket, "/suggestions"), params={"skills": "refunds"}, headers=l1), 403)


# --- the thread and contributions ----------------------------------------------------------------
def test_the_swarm_thread_is_for_its_members_and_records_their_contributions(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    skills(db, "refunds")
    t = l1_ticket(db, hd, clock)
    l1, l3 = h(db, hd.users["l1"], clock), h(db, hd.users["l3"], clock)
    start = {"skills": ["refunds"], "invite_user_ids": [hd.users["l3"]], "note": "Who knows recalls?"}
    assert client.post(url(t), json=start, headers=l1).status_code == 201
    clock.advance(minutes=2)
    r = client.post(url(t, "/posts"), json={"body": SECRET_POST}, headers=l3)
    assert r.status_code == 201, r.text
    client.post(url(t, "/posts"), json={"body": "Treasury says 2 days."}, headers=l3)
    problem(client.post(url(t, "/posts"), json={"body": ""}, headers=l3), 422)

    swarm = client.get(url(t), headers=l3).json()
    assert swarm["thread_visible"] is True
    assert [p["body"] for p in swarm["posts"]] == ["Who knows recalls?", SECRET_POST, "Treasury says 2 days."]
    # Posting is joining; contributions are the posts per member.
    [member] = swarm["members"]
    assert member["posts"] == 2 and member["joined_at"] is not None
    assert swarm["measures"] == {
        "people_touched": 2,
        "posts": 3,
        "handoffs": 0,
        "time_to_resolve_seconds": None,
    }
    assert client.get(url(t), headers=l1).json()["posts"] == swarm["posts"]

    # The supervisor sees the ticket but is not in the swarm: no thread, no posting.
    sup = h(db, hd.users["supervisor"], clock)
    r = client.get(url(t), headers=sup)
    assert r.status_code == 200 and r.json()["thread_visible"] is False and r.json()["posts"] == []
    assert SECRET_POST not in r.text
    problem(client.post(url(t, "/posts"), json={"body": "me too"}, headers=sup), 403)
    # L2 does not even see the ticket.
    problem(client.get(url(t), headers=h(db, hd.users["l2"], clock)), 404)
    # The customer gets nothing, and the thread never reaches their ticket view.
    alice = h(db, hd.users["alice"], clock)
    problem(client.get(url(t), headers=alice), 403)
    for path in ("", "/timeline", "/messages", "/events"):
        r = client.get(f"/api/v1/tickets/{t.id}{path}", headers=alice)
        assert r.status_code == 200 and SECRET_POST not in r.text and "swarm" not in r.text, path


# --- closing ---------------------------------------------------------------------------------
def test_the_job_closes_the_swarm_when_the_ticket_is_solved_with_an_event(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    skills(db, "refunds")
    t = l1_ticket(db, hd, clock)
    l1, l3 = h(db, hd.users["l1"], clock), h(db, hd.users["l3"], clock)
    other = l1_ticket(db, hd, clock)
    for ticket in (t, other):
        body = {"skills": ["refunds"], "invite_user_ids": [hd.users["l3"]]}
        assert client.post(url(ticket), json=body, headers=l1).status_code == 201
    client.post(url(t, "/posts"), json={"body": "Recall sent."}, headers=l3)

    clock.advance(hours=2)
    solved_at = clock.now()
    tickets.update_ticket(db, f.actor(db, hd.users["l1"]), t.id, TicketPatch(status="solved"), solved_at)  # type: ignore[arg-type]
    clock.advance(minutes=5)
    assert swarm_tasks.close_finished_swarms(db, clock.now()) == 1
    assert swarm_tasks.close_finished_swarms(db, clock.now()) == 0

    db.expire_all()
    swarm = db.scalars(select(Swarm).where(Swarm.ticket_id == t.id)).one()
    assert (swarm.closed_at, swarm.outcome) == (solved_at, "solved")
    assert db.scalars(select(SwarmMember.left_at).where(SwarmMember.swarm_id == swarm.id)).all() == [
        solved_at
    ]
    [closed] = events(db, t.id, "swarm_closed")
    assert closed.actor_kind == "system" and closed.at == solved_at
    assert closed.data == {
        "swarm_id": swarm.id,
        "outcome": "solved",
        "people_touched": 1,
        "posts": 1,
        "members": 1,
    }
    # The other ticket's swarm stays open; l3 still sees that one, no longer the solved one.
    assert db.scalars(select(Swarm.closed_at).where(Swarm.ticket_id == other.id)).one() is None
    problem(client.get(f"/api/v1/tickets/{t.id}", headers=l3), 404)
    assert client.get(f"/api/v1/tickets/{other.id}", headers=l3).status_code == 200
    # The owner reads the closed swarm with the comparison measures.
    out = client.get(url(t), headers=l1).json()
    assert out["outcome"] == "solved" and out["measures"]["time_to_resolve_seconds"] == int(
        (solved_at - t.created_at).total_seconds()
    )
    problem(client.post(url(t, "/posts"), json={"body": "late"}, headers=l1), 409)

    # Closing by hand: the owner abandons the other swarm.
    r = client.post(url(other, "/close"), json={"outcome": "abandoned"}, headers=l1)
    assert r.status_code == 200 and r.json()["outcome"] == "abandoned", r.text
    assert [e.data["outcome"] for e in events(db, other.id, "swarm_closed") if e.data] == ["abandoned"]
    # A new swarm may start on the same ticket afterwards.
    assert client.post(url(other), json={"skills": ["refunds"]}, headers=l1).status_code == 201


def test_the_job_closes_the_swarm_of_a_ticket_closed_without_being_solved(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    skills(db, "refunds")
    t, into = l1_ticket(db, hd, clock), l1_ticket(db, hd, clock)
    l1 = h(db, hd.users["l1"], clock)
    assert client.post(url(t), json={"skills": ["refunds"]}, headers=l1).status_code == 201
    clock.advance(minutes=10)
    r = client.post(f"/api/v1/tickets/{t.id}/merge", json={"into_ticket_id": into.id}, headers=l1)
    assert r.status_code == 200, r.text
    closed_at = clock.now()
    clock.advance(minutes=1)
    assert swarm_tasks.close_finished_swarms(db, clock.now()) == 1
    db.expire_all()
    swarm = db.scalars(select(Swarm).where(Swarm.ticket_id == t.id)).one()
    assert (swarm.outcome, swarm.closed_at) == ("closed", closed_at)


# --- need-to-know ----------------------------------------------------------------------------
def test_an_outsider_cannot_be_invited_to_a_fraud_ticket(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    skills(db, "refunds")
    colleague = f.staff(db, "fraud2@desk.example.com", Role.specialist, [], [hd.teams["fraud"]])
    t = l1_ticket(db, hd, clock, team_id=hd.teams["fraud"])
    fraud = h(db, hd.users["fraud"], clock)
    body = {"skills": ["refunds"], "invite_user_ids": [hd.users["l1"]]}
    r = client.post(url(t), json=body, headers=fraud)
    assert "need-to-know" in problem(r, 422)["detail"]
    # Nothing was kept: no swarm, the ticket is still unassigned, the outsider only learns it exists.
    db.expire_all()
    assert db.scalars(select(Swarm).where(Swarm.ticket_id == t.id)).all() == []
    assert tickets.get_ticket(db, SYSTEM, t.id).assignee_id is None
    problem(client.get(f"/api/v1/tickets/{t.id}", headers=h(db, hd.users["l1"], clock)), 403)

    assert client.post(url(t), json={"skills": ["refunds"]}, headers=fraud).status_code == 201
    for outsider in (hd.users["l1"], hd.users["supervisor"]):
        r = client.post(url(t, "/invite"), json={"user_ids": [outsider]}, headers=fraud)
        problem(r, 422)
    r = client.post(url(t, "/invite"), json={"user_ids": [colleague]}, headers=fraud)
    assert r.status_code == 200, r.text
    problem(client.post(url(t, "/invite"), json={"user_ids": [hd.users["alice"]]}, headers=fraud), 422)
    assert client.get(f"/api/v1/tickets/{t.id}", headers=h(db, colleague, clock)).status_code == 200


def test_a_swarm_member_loses_the_ticket_when_it_moves_into_a_need_to_know_team(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    skills(db, "refunds")
    t = l1_ticket(db, hd, clock)
    l1, l3 = h(db, hd.users["l1"], clock), h(db, hd.users["l3"], clock)
    body = {"skills": ["refunds"], "invite_user_ids": [hd.users["l3"]]}
    assert client.post(url(t), json=body, headers=l1).status_code == 201
    assert client.get(f"/api/v1/tickets/{t.id}", headers=l3).status_code == 200
    tickets.update_ticket(
        db, SYSTEM, t.id, TicketPatch(team_id=hd.teams["fraud"]), clock.now() + timedelta(minutes=1)
    )
    assert "need-to-know" in problem(client.get(f"/api/v1/tickets/{t.id}", headers=l3), 403)["detail"]
