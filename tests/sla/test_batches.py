"""The scheduler handles due timers set-wise: a backlog drains in full batches, an outage
does not bury supervisors in one alert per ticket, and the scheduler loop keeps ticking
while a batch came back full."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests import factories as f
from tests.conftest import START
from tests.sla import factories as sf
from tierdesk.accounts import service as accounts
from tierdesk.core.clock import FrozenClock
from tierdesk.core.config import Settings
from tierdesk.core.db import Database
from tierdesk.core.migrate import upgrade
from tierdesk.core.security import SYSTEM
from tierdesk.notifications import service as notifications
from tierdesk.notifications.models import Notification
from tierdesk.sla import tasks
from tierdesk.sla.models import SlaTimer
from tierdesk.tickets import service as tickets
from tierdesk.tickets.models import EventKind, TicketEvent
from tierdesk.tickets.schemas import TicketPatch
from tierdesk.tiers import service as tiers
from tierdesk.worker import Job, run_forever


def _events(db: Session, kind: EventKind) -> int:
    return db.scalar(select(func.count()).select_from(TicketEvent).where(TicketEvent.kind == kind.value)) or 0


def test_a_backlog_larger_than_a_batch_fires_every_timer_once_over_several_ticks(
    db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    sf.policy(db, sf.office_calendar(db), targets=[{"metric": "first_response", "minutes": 30}])
    carol = f.actor(db, hd.users["carol"])
    made = [f.ticket(db, carol, clock.now()) for _ in range(7)]
    clock.advance(hours=1)
    ids = [t.id for t in made]
    due = db.scalar(select(func.count()).where(SlaTimer.ticket_id.in_(ids), SlaTimer.due_at <= clock.now()))
    assert due == 14  # first response (30 min) and the L1 time box (15 min) of each ticket
    first = tasks.tick(db, clock.now(), batch=3, box_batch=2)
    # 3 first responses + 2 time boxes (their own, smaller batch: each escalates); overdue
    # timers breach without a warning first.
    assert (first.warned, first.breached, first.escalated) == (0, 5, 2)
    assert tasks.more_pending(first)
    totals = [first]
    while tasks.more_pending(totals[-1]):
        totals.append(tasks.tick(db, clock.now(), batch=3, box_batch=2))
    assert sum(r.breached for r in totals) == 14 and sum(r.warned for r in totals) == 0
    assert not tasks.more_pending(totals[-1])
    assert _events(db, EventKind.sla_breached) == 14  # one per timer, none twice
    assert sum(r.escalated for r in totals) == 7  # each L1 box breach moved its ticket up
    assert tasks.tick(db, clock.now(), batch=3).fired == 0
    unfired = select(func.count()).where(
        SlaTimer.ticket_id.in_(ids),
        SlaTimer.due_at <= clock.now() - timedelta(minutes=1),
        SlaTimer.fired_at.is_(None),
    )
    assert db.scalar(unfired) == 0


def test_many_first_response_breaches_at_once_reach_supervisors_as_one_digest(
    db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    sf.policy(db, sf.office_calendar(db), targets=[{"metric": "first_response", "minutes": 30}])
    carol = f.actor(db, hd.users["carol"])
    many = [f.ticket(db, carol, clock.now()) for _ in range(tasks.DIGEST_OVER + 2)]
    clock.advance(hours=1)
    assert tasks.tick(db, clock.now()).breached == 2 * len(many)  # first response + L1 time box
    inbox = notifications.list_mine(db, f.actor(db, hd.users["supervisor"]), unread_only=True, limit=50)
    breaches = [n for n in inbox if n.kind.startswith("sla_breached")]
    assert len(breaches) == 1 and breaches[0].kind == "sla_breached_digest"
    assert f"{len(many)} tickets breached first response" in breaches[0].body
    assert f"T-{many[0].id}" in breaches[0].body


def test_a_warning_reaches_the_assignee_and_the_team_lead_once_each(db: Session, clock: FrozenClock) -> None:
    hd = f.helpdesk(db)
    sf.policy(db, sf.office_calendar(db), targets=[{"metric": "first_response", "minutes": 10}])
    t = f.ticket(db, f.actor(db, hd.users["carol"]), clock.now())
    billing = tiers.team_by_id(db, hd.teams["billing"])
    assert billing is not None
    billing.lead_id = hd.users["l2"]
    tickets.update_ticket(
        db, SYSTEM, t.id, TicketPatch(assignee_id=hd.users["l1"], team_id=billing.id), clock.now()
    )
    clock.advance(minutes=9)  # past first response's 80% (8 min); the L1 box warns at 12
    result = tasks.tick(db, clock.now())
    assert (result.warned, result.breached) == (1, 0)
    for who in ("l1", "l2"):
        inbox = notifications.list_mine(db, f.actor(db, hd.users[who]), unread_only=True, limit=10)
        assert [n.kind for n in inbox] == ["sla_warning"]
        assert f"T-{t.id}" in inbox[0].body


class _OneRound(threading.Event):
    """Stops run_forever after its first round (instead of waiting a second)."""

    def wait(self, timeout: float | None = None) -> bool:
        self.set()
        return True


def test_the_scheduler_loop_keeps_ticking_while_batches_come_back_full(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'loop.db'}")
    upgrade(database.url)
    start = FrozenClock(START)
    with database.session(write=True) as db:
        hd = f.helpdesk(db)
        sf.policy(db, sf.office_calendar(db), targets=[{"metric": "first_response", "minutes": 30}])
        carol = f.actor(db, hd.users["carol"])
        for _ in range(5):
            f.ticket(db, carol, start.now())
        db.commit()
    start.advance(hours=1)
    job = Job(
        "sla_tick",
        1.0,
        lambda db, now, s: tasks.tick(db, now, batch=2, box_batch=1),
        again=tasks.more_pending,
    )
    run_forever(database, Settings(), start, _OneRound(), jobs=(job,))
    with database.session() as db:
        # 10 due timers (first response and L1 box of 5 tickets), batches of 2: one round drains all
        assert _events(db, EventKind.sla_breached) == 10
    database.dispose()


def test_each_breach_event_names_its_metric_due_time_and_timer_in_the_order_they_fell_due(
    db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    sf.policy(db, sf.office_calendar(db), targets=[{"metric": "first_response", "minutes": 30}])
    carol = f.actor(db, hd.users["carol"])
    made = [f.ticket(db, carol, clock.now() + timedelta(minutes=i)) for i in range(3)]
    timers = {
        (t.ticket_id, t.metric): (t.id, t.due_at)
        for t in db.scalars(select(SlaTimer).where(SlaTimer.ticket_id.in_([t.id for t in made])))
    }
    clock.advance(hours=2)
    # first response and L1 box of each (the box breach escalates, which re-targets timers)
    assert tasks.tick(db, clock.now()).breached == 6
    events = list(
        db.scalars(
            select(TicketEvent)
            .where(TicketEvent.kind == EventKind.sla_breached.value)
            .order_by(TicketEvent.id)
        )
    )
    assert len(events) == 6
    for event in events:
        assert event.actor_kind == "system" and event.actor_user_id is None and event.at == clock.now()
        assert event.data is not None
        timer_id, due_at = timers[(event.ticket_id, event.data["metric"])]
        assert event.data == {
            "metric": event.data["metric"],
            "due_at": due_at.isoformat(),
            "timer_id": timer_id,
        }
    # One INSERT for the batch keeps the claim's order: oldest deadline first within each
    # claim (first responses, then the time boxes of their own batch).
    for metric in ("first_response", "time_in_tier"):
        due_order = [
            timers[(e.ticket_id, metric)][1] for e in events if e.data and e.data["metric"] == metric
        ]
        assert len(due_order) == 3 and due_order == sorted(due_order)


def test_a_warning_shows_the_subject_as_written_quotes_accents_and_cjk_included(
    db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    sf.policy(db, sf.office_calendar(db), targets=[{"metric": "first_response", "minutes": 10}])
    subject = 'Can\'t export "Q3" — 請求書 ü \\ back'
    t = f.ticket(db, f.actor(db, hd.users["carol"]), clock.now(), subject=subject)
    tickets.update_ticket(db, SYSTEM, t.id, TicketPatch(assignee_id=hd.users["l1"]), clock.now())
    clock.advance(minutes=9)
    assert tasks.tick(db, clock.now()).warned == 1
    inbox = notifications.list_mine(db, f.actor(db, hd.users["l1"]), unread_only=True, limit=10)
    assert [n.kind for n in inbox] == ["sla_warning"]
    assert f"T-{t.id} '{subject}': first response due at" in inbox[0].body
    assert inbox[0].ticket_id == t.id and inbox[0].created_at == clock.now()


def test_a_breach_on_a_ticket_nobody_holds_is_recorded_and_alerts_only_the_supervisors(
    db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    sf.policy(db, sf.office_calendar(db), targets=[{"metric": "first_response", "minutes": 30}])
    t = f.ticket(db, f.actor(db, hd.users["carol"]), clock.now())
    assert t.assignee_id is None and t.team_id is None
    before = db.scalar(select(func.count()).select_from(Notification)) or 0
    clock.advance(minutes=35)  # first response breached; the L1 box too (15 min)
    assert tasks.tick(db, clock.now()).breached == 2
    assert _events(db, EventKind.sla_breached) == 2
    added = list(db.scalars(select(Notification).order_by(Notification.id).offset(before)))
    supervisors = set(accounts.supervisor_ids(db))
    # Nobody holds the ticket, so no per-person notice is written; the supervisors get the
    # first-response alert, one each.
    assert {n.user_id for n in added} == supervisors
    assert [n.kind for n in added] == ["sla_breached"] * len(supervisors)
    assert all(f"T-{t.id}" in n.body and "first response breached" in n.body for n in added)
