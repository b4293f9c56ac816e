"""The SLA scheduler's single step: fire warnings and breaches that are due.

`tick(db, now)` is what `tierdesk scheduler` runs every second (and `--once` runs once);
tests call it with a fake clock. Claims and their consequences (events, notifications,
automatic escalation) share one transaction per batch, so a crash loses nothing and two
schedulers never fire the same timer twice (see repository.claim).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from tierdesk.accounts import service as accounts
from tierdesk.core.security import SYSTEM
from tierdesk.escalation import service as escalation
from tierdesk.notifications import service as notifications
from tierdesk.sla import service as sla
from tierdesk.sla.models import Metric, SlaTimer
from tierdesk.tickets import service as tickets
from tierdesk.tickets.models import EventKind
from tierdesk.tiers import service as tiers

# Small batches keep each tick's transaction short: on SQLite it holds the only write lock
# (web writes wait behind it), on PostgreSQL it holds the claimed tickets' row locks.
# bench/sla_sweep.py measured 0.2-0.4 s per 100 first-response breaches on this machine.
BATCH = 100


@dataclass
class TickResult:
    warned: int = 0
    breached: int = 0
    escalated: int = 0
    _supervisors: list[int] | None = None

    def supervisors(self, db: Session) -> list[int]:
        """Looked up once per tick, not once per breach."""
        if self._supervisors is None:
            self._supervisors = accounts.supervisor_ids(db)
        return self._supervisors


def _people(db: Session, ticket_id: int) -> tuple[list[int | None], str, int | None]:
    ticket = tickets.get_ticket(db, SYSTEM, ticket_id)
    lead = None
    if ticket.team_id is not None:
        team = tiers.team_by_id(db, ticket.team_id)
        lead = team.lead_id if team else None
    return [ticket.assignee_id, lead], ticket.subject, ticket.tier_id


def _warn(db: Session, timer: SlaTimer, now: datetime) -> None:
    people, subject, _ = _people(db, timer.ticket_id)
    data = {"metric": timer.metric, "due_at": timer.due_at.isoformat(), "timer_id": timer.id}
    tickets.record_event(db, SYSTEM, timer.ticket_id, EventKind.sla_warning, now, data)
    body = f"T-{timer.ticket_id} '{subject[:80]}': {timer.metric.replace('_', ' ')} due at {timer.due_at:%Y-%m-%d %H:%M} UTC."
    notifications.notify(db, people, "sla_warning", timer.ticket_id, body, now)


def _breach(db: Session, timer: SlaTimer, now: datetime, result: TickResult) -> None:
    people, subject, tier_id = _people(db, timer.ticket_id)
    data = {"metric": timer.metric, "due_at": timer.due_at.isoformat(), "timer_id": timer.id}
    tickets.record_event(db, SYSTEM, timer.ticket_id, EventKind.sla_breached, now, data)
    label = timer.metric.replace("_", " ")
    body = (
        f"T-{timer.ticket_id} '{subject[:80]}': {label} breached (was due {timer.due_at:%Y-%m-%d %H:%M} UTC)."
    )
    if timer.metric == Metric.time_in_tier.value and timer.tier_id == tier_id:
        tier = tiers.tier_by_id(db, tier_id) if tier_id else None
        minutes = timer.target_seconds // 60
        reason = f"Time box of {tier.key if tier else 'the tier'} ({minutes} min) ran out"
        if escalation.auto_escalate(db, timer.ticket_id, reason, now) is not None:
            result.escalated += 1
        notifications.notify(db, people, "sla_breached", timer.ticket_id, body, now)
    elif timer.metric == Metric.first_response.value:
        notifications.notify(
            db, [*people, *result.supervisors(db)], "sla_breached", timer.ticket_id, body, now
        )
    else:
        notifications.notify(db, people, "sla_breached", timer.ticket_id, body, now)


def tick(db: Session, now: datetime, batch: int = BATCH) -> TickResult:
    """One scheduler step: every warning and breach due at `now`, in batches. The caller
    commits (per call); call again until it returns zeros to drain a backlog faster."""
    result = TickResult()
    for timer in sla.claim_warnings(db, now, batch):
        _warn(db, timer, now)
        result.warned += 1
    for timer in sla.claim_due(db, now, batch):
        _breach(db, timer, now, result)
        result.breached += 1
    db.flush()
    return result
