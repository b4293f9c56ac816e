"""SLA timers driven by ticket changes and the scheduler tick, with an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests import factories as f
from tests.sla import factories as sf
from tierdesk.core.clock import FrozenClock
from tierdesk.core.security import SYSTEM
from tierdesk.notifications import service as notifications
from tierdesk.sla import service as sla
from tierdesk.sla import tasks
from tierdesk.sla.schemas import PolicyPatch
from tierdesk.tickets import service as tickets
from tierdesk.tickets.models import TicketEvent
from tierdesk.tickets.schemas import MessageCreate, TicketPatch

FRIDAY_1755_ROME = datetime(2026, 3, 6, 16, 55, tzinfo=UTC)  # 17:55 in Rome (CET)
MONDAY_0910_ROME = datetime(2026, 3, 9, 8, 10, tzinfo=UTC)


def timer(db: Session, ticket_id: int, metric: str, now: datetime) -> dict[str, object]:
    for t in sla.ticket_sla(db, ticket_id, now).timers:
        if t.metric == metric and t.state not in ("met", "met_late", "cancelled"):
            return t.model_dump()
    raise AssertionError(f"no open {metric} timer")


def breached(db: Session, ticket_id: int) -> list[str]:
    rows = db.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == "sla_breached")
    )
    return [str((e.data or {}).get("metric")) for e in rows]


def kinds(db: Session, ticket_id: int) -> list[str]:
    return list(
        db.scalars(
            select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
        )
    )


def test_l1_ticket_at_friday_1755_is_due_monday_0910_and_escalates_to_l2_exactly_once(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    sf.policy(db, sf.office_calendar(db))
    clock.set(FRIDAY_1755_ROME)
    t = f.ticket(db, f.actor(db, hd.users["carol"]), clock.now())
    token = f.token(db, hd.users["l1"], clock.now())
    body = client.get(f"/api/v1/tickets/{t.id}/sla", headers={"Authorization": f"Bearer {token}"}).json()
    in_tier = next(x for x in body["timers"] if x["metric"] == "time_in_tier")
    assert in_tier["due_at"] == "2026-03-09T08:10:00Z"  # Monday 09:10 in Rome
    assert in_tier["remaining_business_seconds"] == 15 * 60

    clock.set(MONDAY_0910_ROME - timedelta(seconds=1))
    assert tasks.tick(db, clock.now()).breached == 0
    clock.set(MONDAY_0910_ROME + timedelta(minutes=1))
    result = tasks.tick(db, clock.now())
    assert (result.breached, result.escalated) == (1, 1)
    assert t.tier_id == hd.tiers["L2"]
    assert tasks.tick(db, clock.now() + timedelta(minutes=5)).escalated == 0
    assert kinds(db, t.id).count("escalated") == 1
    path = tickets.list_events(db, SYSTEM, t.id)
    escalated = next(e for e in path if e.kind == "escalated")
    assert (
        escalated.actor_kind == "system"
        and escalated.data is not None
        and escalated.data["automatic"] is True
    )
    assert "L1 (15 min)" in (escalated.reason or "")
    # the new tier's box starts at once: L2 has 30 minutes
    assert timer(db, t.id, "time_in_tier", clock.now())["target_minutes"] == 30


def test_warning_at_80_percent_notifies_the_assignee_once(db: Session, clock: FrozenClock) -> None:
    hd = f.helpdesk(db)
    sf.policy(db, sf.office_calendar(db))
    t = f.ticket(db, f.actor(db, hd.users["carol"]), clock.now())  # Monday 10:00 Rome
    tickets.update_ticket(
        db, f.actor(db, hd.users["l1"]), t.id, TicketPatch(assignee_id=hd.users["l1"]), clock.now()
    )
    clock.advance(minutes=12)
    assert tasks.tick(db, clock.now()).warned == 1
    assert tasks.tick(db, clock.now()).warned == 0
    mine = notifications.list_mine(db, f.actor(db, hd.users["l1"]), unread_only=True, limit=10)
    assert [n.kind for n in mine] == ["sla_warning"] and f"T-{t.id}" in mine[0].body
    assert "sla_warning" in kinds(db, t.id)


def test_pending_customer_stops_the_clock_and_resuming_pushes_the_deadline(
    db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    sf.policy(db, sf.office_calendar(db))
    agent = f.actor(db, hd.users["l1"])
    t = f.ticket(db, f.actor(db, hd.users["carol"]), clock.now())
    clock.advance(minutes=5)
    tickets.add_message(db, agent, t.id, MessageCreate(body="Which browser?", status="pending"), clock.now())
    paused = timer(db, t.id, "time_in_tier", clock.now())
    assert paused["state"] == "paused" and paused["remaining_business_seconds"] == 10 * 60
    clock.advance(hours=3)
    assert tasks.tick(db, clock.now()).breached == 0
    tickets.add_message(db, f.actor(db, hd.users["carol"]), t.id, MessageCreate(body="Firefox"), clock.now())
    resumed = timer(db, t.id, "time_in_tier", clock.now())
    assert resumed["state"] == "running"
    assert resumed["due_at"] == clock.now() + timedelta(minutes=10)


def test_first_reply_meets_first_response_and_a_breach_alerts_supervisors(
    db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    sf.policy(db, sf.office_calendar(db), targets=[{"metric": "first_response", "minutes": 30}])
    carol = f.actor(db, hd.users["carol"])
    answered = f.ticket(db, carol, clock.now())
    ignored = f.ticket(db, carol, clock.now())
    clock.advance(minutes=10)
    tickets.add_message(
        db, f.actor(db, hd.users["l1"]), answered.id, MessageCreate(body="On it"), clock.now()
    )
    states = {t.metric: t.state for t in sla.ticket_sla(db, answered.id, clock.now()).timers}
    assert states["first_response"] == "met"
    clock.advance(minutes=25)
    tasks.tick(db, clock.now())
    assert "first_response" in breached(db, ignored.id)
    assert "first_response" not in breached(db, answered.id)
    sup = notifications.list_mine(db, f.actor(db, hd.users["supervisor"]), unread_only=True, limit=10)
    assert any(n.kind == "sla_breached" and f"T-{ignored.id}" in n.body for n in sup)


def test_shorter_policy_target_never_backdates_a_running_deadline(db: Session, clock: FrozenClock) -> None:
    hd = f.helpdesk(db)
    pid = sf.policy(db, sf.office_calendar(db))
    t = f.ticket(db, f.actor(db, hd.users["carol"]), clock.now())
    clock.advance(minutes=50)
    sla.update_policy(
        db,
        SYSTEM,
        pid,
        PolicyPatch.model_validate({"targets": [{"metric": "first_response", "minutes": 20}]}),
        clock.now(),
    )
    first = timer(db, t.id, "first_response", clock.now())
    assert first["due_at"] == clock.now()  # overdue under the new target: due now, not in the past
    tasks.tick(db, clock.now())
    assert "first_response" in breached(db, t.id)
    resolution = [x for x in sla.ticket_sla(db, t.id, clock.now()).timers if x.metric == "resolution"]
    assert resolution[0].state == "cancelled"  # the new targets no longer have one


def test_solving_meets_the_timers_and_reopening_starts_them_again(db: Session, clock: FrozenClock) -> None:
    hd = f.helpdesk(db)
    sf.policy(db, sf.office_calendar(db))
    agent = f.actor(db, hd.users["l1"])
    t = f.ticket(db, f.actor(db, hd.users["carol"]), clock.now())
    clock.advance(minutes=3)
    tickets.add_message(db, agent, t.id, MessageCreate(body="Done", status="solved"), clock.now())
    assert all(x.state in ("met", "cancelled") for x in sla.ticket_sla(db, t.id, clock.now()).timers)
    clock.advance(days=1)
    tickets.update_ticket(db, agent, t.id, TicketPatch(status="open"), clock.now())
    assert timer(db, t.id, "time_in_tier", clock.now())["state"] == "running"


def test_priority_change_recomputes_targets_from_the_matching_policy(db: Session, clock: FrozenClock) -> None:
    hd = f.helpdesk(db)
    cal = sf.office_calendar(db)
    sf.policy(
        db,
        cal,
        name="Urgent",
        position=1,
        priority="urgent",
        targets=[{"metric": "first_response", "minutes": 15}],
    )
    sf.policy(db, cal, name="Others", position=2)
    t = f.ticket(db, f.actor(db, hd.users["carol"]), clock.now())
    assert timer(db, t.id, "first_response", clock.now())["target_minutes"] == 60
    clock.advance(minutes=5)
    tickets.update_ticket(db, f.actor(db, hd.users["l1"]), t.id, TicketPatch(priority="urgent"), clock.now())
    first = timer(db, t.id, "first_response", clock.now())
    assert first["target_minutes"] == 15 and first["due_at"] == clock.now() + timedelta(minutes=10)


def test_strategic_account_with_24_7_coverage_runs_its_clock_at_night(
    db: Session, clock: FrozenClock
) -> None:
    from tierdesk.customers import service as customers
    from tierdesk.customers.schemas import OrganizationPatch
    from tierdesk.tiers import service as tiers
    from tierdesk.tiers.schemas import CalendarIn

    hd = f.helpdesk(db)
    sf.policy(db, sf.office_calendar(db))
    always = tiers.create_calendar(
        db, SYSTEM, CalendarIn(name="24/7", hours={str(d): [("00:00", "24:00")] for d in range(7)})
    ).id
    customers.update_organization(db, SYSTEM, hd.orgs["acme"], OrganizationPatch(calendar_id=always))
    clock.set(datetime(2026, 3, 7, 2, 0, tzinfo=UTC))  # Saturday night
    t = f.ticket(db, f.actor(db, hd.users["alice"]), clock.now())
    assert timer(db, t.id, "first_response", clock.now())["due_at"] == clock.now() + timedelta(hours=1)


def test_sla_policy_needs_a_calendar_and_distinct_targets(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    h = {"Authorization": f"Bearer {f.token(db, hd.users['supervisor'], clock.now())}"}
    no_cal = {"name": "x", "targets": [{"metric": "first_response", "minutes": 5}]}
    r = client.post("/api/v1/sla-policies", json=no_cal, headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "calendar_id"
    cal = sf.office_calendar(db)
    twice = {"name": "x", "calendar_id": cal, "targets": [{"metric": "resolution", "minutes": 5}] * 2}
    r = client.post("/api/v1/sla-policies", json=twice, headers=h)
    assert r.status_code == 422 and "repeated: resolution" in r.json()["detail"]
    r = client.post(
        "/api/v1/sla-policies",
        json={"name": "x", "calendar_id": 999, "targets": [{"metric": "resolution", "minutes": 5}]},
        headers=h,
    )
    assert r.status_code == 422 and "Calendar 999" in r.json()["detail"]
    r = client.post(
        "/api/v1/sla-policies",
        json={
            "name": "ok",
            "calendar_id": cal,
            "pause_statuses": ["solved"],
            "targets": [{"metric": "resolution", "minutes": 5}],
        },
        headers=h,
    )
    assert r.status_code == 422 and "pause" in r.json()["detail"]


def test_customers_do_not_see_sla_targets(client: TestClient, db: Session, clock: FrozenClock) -> None:
    hd = f.helpdesk(db)
    t = f.ticket(db, f.actor(db, hd.users["carol"]), clock.now())
    carol = {"Authorization": f"Bearer {f.token(db, hd.users['carol'], clock.now())}"}
    assert client.get(f"/api/v1/tickets/{t.id}/sla", headers=carol).status_code == 403
    alice = {"Authorization": f"Bearer {f.token(db, hd.users['alice'], clock.now())}"}
    assert client.get(f"/api/v1/tickets/{t.id}/sla", headers=alice).status_code == 404


def test_a_policy_changed_by_a_supervisor_applies_to_the_next_ticket_created_through_the_api(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    # Policies are kept per process (core/memo.py `shared`); the change must reach the very
    # next create, which reads the policy in its read-first part.
    hd = f.helpdesk(db)
    pid = sf.policy(db, sf.office_calendar(db))
    sup = {"Authorization": f"Bearer {f.token(db, hd.users['supervisor'], clock.now())}"}
    agent = {"Authorization": f"Bearer {f.token(db, hd.users['l1'], clock.now())}"}
    new = {"subject": "Printer", "requester_id": hd.customers["carol"]}

    def first_response_minutes() -> float:
        r = client.post("/api/v1/tickets", json=new, headers=agent)
        assert r.status_code == 201, r.text
        body = client.get(f"/api/v1/tickets/{r.json()['id']}/sla", headers=agent).json()
        return next(x["target_minutes"] for x in body["timers"] if x["metric"] == "first_response")

    assert first_response_minutes() == 60
    targets = {"targets": [{"metric": "first_response", "minutes": 20}]}
    assert client.patch(f"/api/v1/sla-policies/{pid}", json=targets, headers=sup).status_code == 200
    assert first_response_minutes() == 20
