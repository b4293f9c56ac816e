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
from tierdesk.core.clock import FrozenClock
from tierdesk.core.config import Settings
from tierdesk.core.db import Database
from tierdesk.core.migrate import upgrade
from tierdesk.core.security import SYSTEM
from tierdesk.notifications import service as notifications
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
