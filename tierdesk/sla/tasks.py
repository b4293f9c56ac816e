"""The SLA scheduler's single step: fire warnings and breaches that are due.

`tick(db, now)` is what `tierdesk scheduler` runs (and `--once` runs once); tests call it
with a fake clock. Claims and their consequences (events, notifications, automatic
escalation) share one transaction per batch, so a crash loses nothing and two schedulers
never fire the same timer twice (see repository.claim).

A batch is handled set-wise: the claimed timers' tickets are read in one query, their
events and notifications written with one INSERT each (the rows as one JSON array,
core.bulk), a notice's text worded only when someone will receive it, and configuration
(tiers, paths, calendars, rules, policies) read once per tick (core.memo). Only automatic escalation
stays per ticket, because it moves the ticket through the same service call a person's
escalation does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from tierdesk.accounts import service as accounts
from tierdesk.core.memo import memo_scope
from tierdesk.core.security import SYSTEM
from tierdesk.escalation import service as escalation
from tierdesk.notifications import service as notifications
from tierdesk.sla import service as sla
from tierdesk.sla.models import Metric
from tierdesk.tickets import service as tickets
from tierdesk.tickets.models import EventKind
from tierdesk.tickets.service import TicketBrief
from tierdesk.tiers import service as tiers

# One batch is one short transaction: on SQLite it holds the only write lock (web writes
# wait behind it), on PostgreSQL the claimed timers' row locks. 1,000 first-response
# breaches take ~0.05 s (SQLite) to ~0.15 s (PostgreSQL) here at 1M open tickets on a busy
# machine (bench/sla_sweep.py); the scheduler loop repeats full batches.
BATCH = 1000
# Each time-box breach escalates its ticket through the same service a person uses (about
# 4-6 ms each here), so they get their own, smaller batch: a tick stays a few tenths of a
# second even when a whole queue's boxes run out at once.
BOX_BATCH = 50
# Above this many first-response breaches in one batch, supervisors get one digest each
# instead of one alert per ticket (an outage must not bury them in thousands of alerts).
DIGEST_OVER = 10

Notice = tuple[list[int | None], str, int | None, str]


@dataclass
class TickResult:
    warned: int = 0
    breached: int = 0
    escalated: int = 0
    more: bool = False  # a batch came back full: more may be due

    @property
    def fired(self) -> int:
        return self.warned + self.breached


class _Recipients:
    """Who hears about a ticket's timers: its assignee and its team's lead (each team read
    once per batch)."""

    def __init__(self, db: Session) -> None:
        self.db = db
        self.leads: dict[int, int | None] = {}

    def of(self, ticket: TicketBrief) -> list[int | None]:
        people: list[int | None] = [ticket.assignee_id] if ticket.assignee_id is not None else []
        if ticket.team_id is not None:
            if ticket.team_id not in self.leads:
                team = tiers.team_by_id(self.db, ticket.team_id)
                self.leads[ticket.team_id] = team.lead_id if team else None
            lead = self.leads[ticket.team_id]
            if lead is not None and lead != ticket.assignee_id:
                people.append(lead)
        return people


def _label(timer: sla.ClaimedTimer) -> str:
    return timer.metric.replace("_", " ")


def _data(timer: sla.ClaimedTimer) -> dict[str, object]:
    return {"metric": timer.metric, "due_at": timer.due_at.isoformat(), "timer_id": timer.id}


def _warn(db: Session, timers: list[sla.ClaimedTimer], now: datetime) -> None:
    by_id = tickets.briefs(db, [t.ticket_id for t in timers])
    tickets.record_events(db, SYSTEM, [(t.ticket_id, EventKind.sla_warning, _data(t)) for t in timers], now)
    recipients = _Recipients(db)
    notices: list[Notice] = []
    for t in timers:
        ticket = by_id[t.ticket_id]
        people = recipients.of(ticket)
        if people:  # a text is worded only when someone will read it
            body = f"T-{ticket.id} '{ticket.subject[:80]}': {_label(t)} due at {t.due_at:%Y-%m-%d %H:%M} UTC."
            notices.append((people, "sla_warning", ticket.id, body))
    notifications.notify_many(db, notices, now)


def _breach(db: Session, timers: list[sla.ClaimedTimer], now: datetime, result: TickResult) -> None:
    by_id = tickets.briefs(db, [t.ticket_id for t in timers])
    # Time boxes of the tier the ticket is still in: each escalates its ticket.
    boxes = {
        t.id
        for t in timers
        if t.metric == Metric.time_in_tier.value and t.tier_id == by_id[t.ticket_id].tier_id
    }
    if boxes:  # escalation reads these tickets again: one query for them all
        # (On PostgreSQL the claim has locked them already: repository._claim_statement.)
        tickets.preload_tickets(db, [t.ticket_id for t in timers if t.id in boxes])
    tickets.record_events(db, SYSTEM, [(t.ticket_id, EventKind.sla_breached, _data(t)) for t in timers], now)
    first_responses = [t.ticket_id for t in timers if t.metric == Metric.first_response.value]
    supervisors: list[int | None] = list(accounts.supervisor_ids(db)) if first_responses else []
    # Up to DIGEST_OVER first-response breaches alert the supervisors one by one, with the
    # text the assignee gets; above that they get one digest (below).
    alert_each = bool(supervisors) and len(first_responses) <= DIGEST_OVER
    recipients = _Recipients(db)
    notices: list[Notice] = []
    alerts: list[Notice] = []
    for t in timers:
        ticket = by_id[t.ticket_id]
        people = recipients.of(ticket)
        alert = alert_each and t.metric == Metric.first_response.value
        if people or alert:  # a text is worded only when someone will read it
            body = (
                f"T-{ticket.id} '{ticket.subject[:80]}': {_label(t)} breached "
                f"(was due {t.due_at:%Y-%m-%d %H:%M} UTC)."
            )
            if people:
                notices.append((people, "sla_breached", ticket.id, body))
            if alert:
                alerts.append((supervisors, "sla_breached", ticket.id, body))
        if t.id in boxes:
            tier = tiers.tier_by_id(db, t.tier_id) if t.tier_id else None
            reason = f"Time box of {tier.key if tier else 'the tier'} ({t.target_seconds // 60} min) ran out"
            if escalation.auto_escalate(db, ticket.id, reason, now) is not None:
                result.escalated += 1
    notices.extend(alerts)
    if supervisors and not alert_each:
        notices.append(_digest(supervisors, first_responses))
    notifications.notify_many(db, notices, now)


def _digest(supervisors: list[int | None], ticket_ids: list[int]) -> Notice:
    """One notice for many first-response breaches (an outage must not bury the supervisors
    in thousands of alerts), listing the oldest first."""
    listed = ", ".join(f"T-{ticket_id}" for ticket_id in ticket_ids[:20])
    more = f" and {len(ticket_ids) - 20} more" if len(ticket_ids) > 20 else ""
    body = f"{len(ticket_ids)} tickets breached first response: {listed}{more}."
    return (supervisors, "sla_breached_digest", None, body)


def tick(db: Session, now: datetime, batch: int = BATCH, box_batch: int = BOX_BATCH) -> TickResult:
    """One scheduler step: up to `batch` warnings, `batch` breaches and `box_batch` time-box
    breaches (each of which escalates its ticket) due at `now`. The caller commits; the
    scheduler loop runs another step at once while `more_pending` says so."""
    result = TickResult()
    with memo_scope(db):
        warnings = sla.claim_warnings(db, now, batch)
        if warnings:
            _warn(db, warnings, now)
            result.warned = len(warnings)
        due = sla.claim_due(db, now, batch, boxes=False)
        boxes = sla.claim_due(db, now, box_batch, boxes=True)
        if due or boxes:
            _breach(db, [*due, *boxes], now, result)
            result.breached = len(due) + len(boxes)
        result.more = len(warnings) >= batch or len(due) >= batch or len(boxes) >= box_batch
        db.flush()
    return result


def more_pending(result: object) -> bool:
    """Whether a tick came back full, so the scheduler should run another one right away."""
    return isinstance(result, TickResult) and result.more
