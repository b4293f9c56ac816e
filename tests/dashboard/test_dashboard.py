"""The supervisor dashboard: its figures match what the services did, and only supervisors
and administrators see it (API and page)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests import factories as f
from tests.portal.test_pages import _sign_in as portal_sign_in
from tests.sla.factories import office_calendar, policy
from tests.workspace.test_pages import sign_in
from tierdesk.core.clock import FrozenClock
from tierdesk.core.security import SYSTEM
from tierdesk.csat import service as csat
from tierdesk.dashboard import service
from tierdesk.escalation import service as escalation
from tierdesk.escalation.schemas import DeEscalateIn, EscalateIn, Handoff
from tierdesk.sla import tasks as sla_tasks
from tierdesk.tickets import service as tickets
from tierdesk.tickets.models import Ticket
from tierdesk.tickets.schemas import TicketPatch
from tierdesk.tiers import service as tiers
from tierdesk.tiers.schemas import AgentWorkIn

HANDOFF = Handoff(problem="Export fails", tried="Restarted the job", impact="One customer")


@pytest.fixture
def hd(db: Session) -> f.Helpdesk:
    return f.helpdesk(db)


def _ticket(db: Session, hd: f.Helpdesk, clock: FrozenClock, **fields: object) -> Ticket:
    data: dict[str, object] = {"requester_id": hd.customers["alice"], "channel": "web"} | fields
    t = f.ticket(db, SYSTEM, clock.now(), **data)
    db.flush()
    return t


def _busy_morning(db: Session, hd: f.Helpdesk, clock: FrozenClock) -> dict[str, Ticket]:
    """Four L1 tickets: one assigned to the L1 agent, one escalated to L2 and sent back,
    one escalated to L2, one solved."""
    policy(db, office_calendar(db, "UTC"), targets=[{"metric": "first_response", "minutes": 60}])
    l1 = f.actor(db, hd.users["l1"])
    t = {name: _ticket(db, hd, clock, subject=f"Ticket {name}") for name in ("a", "b", "c", "d")}
    tickets.update_ticket(db, SYSTEM, t["a"].id, TicketPatch(assignee_id=hd.users["l1"]), clock.now())
    for name in ("b", "c"):
        escalation.escalate(db, l1, t[name].id, EscalateIn(reason="needs logs", handoff=HANDOFF), clock.now())
    escalation.de_escalate(
        db,
        f.actor(db, hd.users["supervisor"]),
        t["c"].id,
        DeEscalateIn(to_tier_id=hd.tiers["L1"], note="a known fix: reset the export"),
        clock.now(),
    )
    tickets.update_ticket(db, SYSTEM, t["d"].id, TicketPatch(status="solved"), clock.now())
    db.commit()  # as a request would: the counters are written at commit
    return t


def _supervisor(db: Session, hd: f.Helpdesk):  # type: ignore[no-untyped-def]
    return f.actor(db, hd.users["supervisor"])


def test_tickets_per_tier_and_status_come_from_the_counters(
    db: Session, hd: f.Helpdesk, clock: FrozenClock
) -> None:
    _busy_morning(db, hd, clock)
    out = service.dashboard(db, _supervisor(db, hd), clock.now())
    rows = {r.tier: r for r in out.tickets}
    # a (open, assigned), c (new, back in L1); b went to L2; d is solved (not counted).
    assert (rows["L1"].new, rows["L1"].open, rows["L1"].total) == (1, 1, 2)
    assert (rows["L2"].new, rows["L2"].total) == (1, 1)
    assert rows["L3"].total == 0 and "L0" not in rows  # every human queue, no self-service
    assert rows["L1"].href == "/desk/tier/L1"


def test_escalations_and_de_escalations_are_counted_per_path_today_and_over_7_days(
    db: Session, hd: f.Helpdesk, clock: FrozenClock
) -> None:
    _busy_morning(db, hd, clock)
    clock.advance(days=1)
    later = _ticket(db, hd, clock)
    escalation.escalate(
        db,
        f.actor(db, hd.users["l1"]),
        later.id,
        EscalateIn(reason="needs logs", handoff=HANDOFF),
        clock.now(),
    )
    db.flush()
    out = service.dashboard(db, _supervisor(db, hd), clock.now())
    moves = {(m.kind, m.from_tier, m.to_tier): (m.today, m.last_7_days) for m in out.moves}
    assert moves[("escalated", "L1", "L2")] == (1, 3)
    assert moves[("de_escalated", "L2", "L1")] == (0, 1)
    clock.advance(days=7, seconds=1)
    out = service.dashboard(db, _supervisor(db, hd), clock.now())
    assert [(m.kind, m.last_7_days) for m in out.moves] == []  # out of the window


def test_created_and_solved_per_day_cover_14_days_in_the_viewers_time_zone(
    db: Session, hd: f.Helpdesk, clock: FrozenClock
) -> None:
    _busy_morning(db, hd, clock)  # Monday 09:00 UTC
    clock.advance(days=2, hours=14)  # Wednesday 23:00 UTC = Thursday 08:00 in Tokyo
    _ticket(db, hd, clock)
    sup = _supervisor(db, hd)
    utc = service.dashboard(db, sup, clock.now())
    assert len(utc.days) == 14 and utc.days[-1].day.isoformat() == "2026-03-04"
    by_day = {d.day.isoformat(): (d.created, d.solved) for d in utc.days}
    assert by_day["2026-03-02"] == (4, 1) and by_day["2026-03-04"] == (1, 0)
    tokyo = service.dashboard(db, sup.__class__(**{**sup.__dict__, "timezone": "Asia/Tokyo"}), clock.now())
    assert tokyo.timezone == "Asia/Tokyo" and tokyo.days[-1].day.isoformat() == "2026-03-05"
    assert {d.day.isoformat(): d.created for d in tokyo.days}["2026-03-05"] == 1


def test_a_breached_sla_target_shows_until_it_is_met_and_one_due_within_the_hour_is_counted(
    db: Session, hd: f.Helpdesk, clock: FrozenClock
) -> None:
    t = _busy_morning(db, hd, clock)  # first response due 10:00 UTC on the office calendar
    sup = _supervisor(db, hd)
    due = {(r.tier, r.metric): r for r in service.dashboard(db, sup, clock.now()).sla}
    assert due[("L1", "first_response")].due_next_hour == 3 and due[("L1", "first_response")].breached == 0
    clock.advance(hours=1, minutes=1)
    sla_tasks.tick(db, clock.now())
    db.flush()
    rows = {(r.tier, r.metric): r for r in service.dashboard(db, sup, clock.now()).sla}
    assert rows[("L1", "first_response")].breached == 3  # a, c (L1) and b's, started in L1
    tickets.update_ticket(db, SYSTEM, t["a"].id, TicketPatch(status="solved"), clock.now())
    db.flush()
    rows = {(r.tier, r.metric): r for r in service.dashboard(db, sup, clock.now()).sla}
    assert rows[("L1", "first_response")].breached == 2


def test_agent_load_counts_open_assigned_tickets_against_capacity(
    db: Session, hd: f.Helpdesk, clock: FrozenClock
) -> None:
    _busy_morning(db, hd, clock)
    tiers.set_agent_work(db, hd.users["l1"], AgentWorkIn(max_open_tickets=1))
    extra = _ticket(db, hd, clock)
    tickets.update_ticket(db, SYSTEM, extra.id, TicketPatch(assignee_id=hd.users["l1"]), clock.now())
    db.flush()
    agents = {a.name: a for a in service.dashboard(db, _supervisor(db, hd), clock.now()).agents}
    l1 = agents["l1"]
    assert (l1.open, l1.capacity, l1.over_capacity, l1.tiers) == (2, 1, True, ["L1"])
    assert l1.links == {"L1": f"/desk/tier/L1?assignee={hd.users['l1']}"}
    assert agents["l2"].open == 0 and not agents["l2"].at_capacity
    assert next(iter(agents)) == "l1"  # the most loaded first


def test_csat_counts_the_ratings_of_the_last_7_days(db: Session, hd: f.Helpdesk, clock: FrozenClock) -> None:
    alice = f.actor(db, hd.users["alice"])
    for score in (5, 4, 2):
        t = _ticket(db, hd, clock)
        tickets.update_ticket(db, SYSTEM, t.id, TicketPatch(status="solved"), clock.now())
        csat.rate(db, alice, t.id, score, "", clock.now())
    db.flush()
    out = service.dashboard(db, _supervisor(db, hd), clock.now()).csat
    assert (out.ratings, out.satisfied, out.rate, out.average) == (3, 2, 0.6667, 3.67)
    clock.advance(days=8)
    assert service.dashboard(db, _supervisor(db, hd), clock.now()).csat.ratings == 0


def test_slow_figures_are_cached_for_a_minute_and_live_ones_are_not(
    db: Session, hd: f.Helpdesk, clock: FrozenClock
) -> None:
    cache = service.DashboardCache()
    sup = _supervisor(db, hd)
    first = service.dashboard(db, sup, clock.now(), cache)
    _ticket(db, hd, clock)
    clock.advance(seconds=30)
    second = service.dashboard(db, sup, clock.now(), cache)
    assert second.as_of == first.as_of and second.days[-1].created == 0  # cached
    assert {r.tier: r.new for r in second.tickets}["L1"] == 1  # the counters are live
    clock.advance(seconds=31)
    third = service.dashboard(db, sup, clock.now(), cache)
    assert third.as_of == clock.now() and third.days[-1].created == 1


def test_a_target_past_due_that_the_scheduler_has_not_fired_shows_at_once_through_the_cache(
    db: Session, hd: f.Helpdesk, clock: FrozenClock
) -> None:
    _busy_morning(db, hd, clock)  # three L1 first responses due at 10:00 UTC
    cache = service.DashboardCache()
    sup = _supervisor(db, hd)
    clock.advance(minutes=59, seconds=30)
    before = {(r.tier, r.metric): r for r in service.dashboard(db, sup, clock.now(), cache).sla}
    assert (before[("L1", "first_response")].due_next_hour, before[("L1", "first_response")].overdue) == (
        3,
        0,
    )
    clock.advance(seconds=40)  # 10:00:10, and the scheduler is late: nothing fired
    after = service.dashboard(db, sup, clock.now(), cache)
    row = {(r.tier, r.metric): r for r in after.sla}[("L1", "first_response")]
    assert row.overdue == 3  # live
    assert after.as_of == clock.now() - timedelta(seconds=40) and row.due_next_hour == 3  # as of then


# --- who may see it ------------------------------------------------------------------------
@pytest.mark.parametrize("who", ["l1", "fraud", "alice"])
def test_agents_and_customers_are_refused_the_dashboard_api(
    client: TestClient, db: Session, hd: f.Helpdesk, clock: FrozenClock, who: str
) -> None:
    token = f.token(db, hd.users[who], clock.now())
    r = client.get("/api/v1/dashboard", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
    assert "supervisors" in r.json()["detail"]


def test_anonymous_callers_get_401_and_the_page_sends_them_to_sign_in(client: TestClient) -> None:
    r = client.get("/api/v1/dashboard")
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")
    page = client.get("/desk/dashboard", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")


@pytest.mark.parametrize("who", ["supervisor", "admin"])
def test_supervisors_and_admins_read_the_dashboard_api(
    client: TestClient, db: Session, hd: f.Helpdesk, clock: FrozenClock, who: str
) -> None:
    _busy_morning(db, hd, clock)
    token = f.token(db, hd.users[who], clock.now())
    r = client.get("/api/v1/dashboard", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["cache_seconds"] == 60 and len(body["days"]) == 14
    assert {row["tier"]: row["total"] for row in body["tickets"]}["L1"] == 2


@pytest.mark.parametrize("email", ["l1@desk.example.com", "alice@cust.example.com"])
def test_agents_and_customers_are_refused_the_dashboard_page_and_see_no_link(
    client: TestClient, hd: f.Helpdesk, email: str
) -> None:
    if email.startswith("l1"):
        sign_in(client, email)
        assert 'href="/desk/dashboard"' not in client.get("/desk/mine").text
    else:
        portal_sign_in(client, email)
    r = client.get("/desk/dashboard")
    assert r.status_code == 403 and "supervisors" in r.text


def test_a_supervisor_sees_the_dashboard_page_with_links_to_the_queues(
    client: TestClient, db: Session, hd: f.Helpdesk, clock: FrozenClock
) -> None:
    _busy_morning(db, hd, clock)
    sign_in(client, "sup@desk.example.com")
    assert 'href="/desk/dashboard"' in client.get("/desk/mine").text  # the nav link
    r = client.get("/desk/dashboard")
    assert r.status_code == 200
    html = r.text
    assert "Unsolved tickets per tier" in html and "Agent load" in html
    assert 'href="/desk/tier/L1?status=open"' in html and 'href="/desk/tier/L2"' in html
    assert f'href="/desk/tier/L1?assignee={hd.users["l1"]}"' in html
    assert 'hx-trigger="every 60s"' in html and "as of 09:00:00" in html
    assert 'aria-current="page"' in html
