"""SLA policies and the timers they start.

Timers are stored deadlines. This module keeps them right as tickets change: the tickets
service calls the `on_*` hooks inside the same transaction as the change. Deadlines are
computed in business time on the timer's calendar (organization coverage first, then the
tier's calendar for time-in-tier, then the policy's), and never land before "now" when a
target is recomputed, so a policy change cannot silently backdate a running deadline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import cast

from sqlalchemy import Table, delete
from sqlalchemy.orm import Session

from tierdesk.core import crud
from tierdesk.core.bulk import DriverInsert
from tierdesk.core.errors import InvalidInput
from tierdesk.core.memo import shared
from tierdesk.core.security import Actor, require_staff, require_supervisor
from tierdesk.sla import repository as repo
from tierdesk.sla.calendar import BusinessCalendar, add_business_times, business_time_between
from tierdesk.sla.models import Metric, SlaPolicy, SlaTarget, SlaTimer
from tierdesk.sla.schemas import PolicyIn, PolicyOut, PolicyPatch, TargetOut, TicketSla, TimerOut
from tierdesk.tiers import service as tiers

ALWAYS_OPEN = BusinessCalendar.always_open("UTC")
CLOSED_STATUSES = ("solved", "closed")


@dataclass(frozen=True)
class TicketFacts:
    """What the SLA engine needs to know about a ticket (built by the tickets service)."""

    ticket_id: int
    tier_id: int | None
    priority: str
    status: str
    plan: str | None = None
    segment: str | None = None
    org_calendar_id: int | None = None
    first_responded: bool = False


# --- policies (CRUD) ---------------------------------------------------------------------
def _policy_out(policy: SlaPolicy, targets: list[SlaTarget]) -> PolicyOut:
    return PolicyOut(
        id=policy.id,
        name=policy.name,
        position=policy.position,
        enabled=policy.enabled,
        tier_id=policy.tier_id,
        priority=policy.priority,
        plan=policy.plan,
        segment=policy.segment,
        calendar_id=policy.calendar_id,
        pause_statuses=list(policy.pause_statuses or []),
        targets=[TargetOut(metric=t.metric, minutes=t.minutes, warn_percent=t.warn_percent) for t in targets],
    )


def list_policies(db: Session, actor: Actor) -> list[PolicyOut]:
    require_staff(actor)
    rows = repo.policies(db)
    targets = repo.targets_of(db, [p.id for p in rows])
    return [_policy_out(p, targets[p.id]) for p in rows]


def get_policy(db: Session, actor: Actor, policy_id: int) -> PolicyOut:
    require_staff(actor)
    policy = crud.get_or_404(db, SlaPolicy, policy_id, "SLA policy")
    return _policy_out(policy, repo.targets_of(db, [policy.id])[policy.id])


def _check_refs(db: Session, calendar_id: int | None, tier_id: int | None) -> None:
    if calendar_id is not None and not tiers.calendar_exists(db, calendar_id):
        raise InvalidInput(f"Calendar {calendar_id} does not exist.", field="calendar_id")
    if tier_id is not None and not tiers.tier_exists(db, tier_id):
        raise InvalidInput(f"Tier {tier_id} does not exist.", field="tier_id")


def create_policy(db: Session, actor: Actor, data: PolicyIn) -> PolicyOut:
    require_supervisor(actor)
    _check_refs(db, data.calendar_id, data.tier_id)
    policy = SlaPolicy(
        name=data.name,
        position=data.position,
        enabled=data.enabled,
        tier_id=data.tier_id,
        priority=data.priority.value if data.priority else None,
        plan=data.plan,
        segment=data.segment,
        calendar_id=data.calendar_id,
        pause_statuses=[s.value for s in data.pause_statuses],
    )
    db.add(policy)
    crud.flush_or_conflict(db, f"SLA policy '{data.name}'")
    targets = [
        SlaTarget(policy_id=policy.id, metric=t.metric.value, minutes=t.minutes, warn_percent=t.warn_percent)
        for t in data.targets
    ]
    db.add_all(targets)
    db.flush()
    return _policy_out(policy, targets)


def update_policy(db: Session, actor: Actor, policy_id: int, patch: PolicyPatch, now: datetime) -> PolicyOut:
    """Change a policy; running timers under it get their targets recomputed from now on
    (deadlines already passed stay passed: a shorter target fires at the next tick)."""
    require_supervisor(actor)
    policy = crud.get_or_404(db, SlaPolicy, policy_id, "SLA policy")
    fields = patch.model_fields_set
    if "calendar_id" in fields and patch.calendar_id is None:
        raise InvalidInput("A policy needs a calendar.", field="calendar_id")
    _check_refs(db, patch.calendar_id, patch.tier_id if "tier_id" in fields else None)
    for name in ("name", "position", "enabled", "tier_id", "plan", "segment", "calendar_id"):
        if name in fields:
            setattr(policy, name, getattr(patch, name))
    if "priority" in fields:
        policy.priority = patch.priority.value if patch.priority else None
    if patch.pause_statuses is not None:
        policy.pause_statuses = [s.value for s in patch.pause_statuses]
    if patch.targets is not None:
        db.execute(delete(SlaTarget).where(SlaTarget.policy_id == policy.id))
        db.add_all(
            SlaTarget(
                policy_id=policy.id, metric=t.metric.value, minutes=t.minutes, warn_percent=t.warn_percent
            )
            for t in patch.targets
        )
    crud.flush_or_conflict(db, f"SLA policy '{policy.name}'")
    targets = repo.targets_of(db, [policy.id])[policy.id]
    by_metric = {t.metric: t for t in targets}
    for timer in repo.timers_of_policy(db, policy.id):
        target = by_metric.get(timer.metric)
        if target is None and timer.metric != Metric.time_in_tier.value:
            _cancel(timer, now)
        elif target is not None:
            _retarget(db, timer, target.minutes * 60, target.warn_percent, now, policy.calendar_id)
    db.flush()
    return _policy_out(policy, targets)


def delete_policy(db: Session, actor: Actor, policy_id: int) -> None:
    require_supervisor(actor)
    crud.delete_or_conflict(db, crud.get_or_404(db, SlaPolicy, policy_id, "SLA policy"), "SLA policy")


# --- timer arithmetic ----------------------------------------------------------------------
def _calendar(db: Session, calendar_id: int | None) -> BusinessCalendar:
    if calendar_id is None:
        return ALWAYS_OPEN

    def load() -> BusinessCalendar:
        row = tiers.calendar_by_id(db, calendar_id)
        if row is None:
            return ALWAYS_OPEN
        return BusinessCalendar.from_data(row.timezone, row.hours or {}, row.holidays or [])

    # Immutable, so one per process and configuration generation (core/memo.py `shared`).
    return shared(db, ("business_calendar", calendar_id), load)


def _consumed_now(db: Session, timer: SlaTimer | _Draft, now: datetime) -> int:
    if timer.resumed_at is None:
        return timer.consumed_seconds
    used = business_time_between(
        timer.resumed_at, max(now, timer.resumed_at), _calendar(db, timer.calendar_id)
    )
    return timer.consumed_seconds + int(used.total_seconds())


def _schedule(db: Session, timer: SlaTimer | _Draft, now: datetime) -> None:
    """(Re)compute due_at and warn_at for a running timer whose clock restarts at `now`
    with `consumed_seconds` already used. Never earlier than now."""
    _schedule_all(db, (timer,), now)


def _schedule_all(db: Session, timers: Sequence[SlaTimer | _Draft], now: datetime) -> None:
    """`_schedule` for several timers at once, with one walk over each calendar for all of
    their deadlines and warnings (a new ticket starts up to four timers on one calendar).
    A timer paused at its start keeps its clock stopped (resumed_at stays None)."""
    by_calendar: dict[int | None, list[SlaTimer | _Draft]] = {}
    for timer in timers:
        by_calendar.setdefault(timer.calendar_id, []).append(timer)
    for calendar_id, group in by_calendar.items():
        asks: list[tuple[SlaTimer | _Draft, str, timedelta]] = []
        for timer in group:
            if timer.paused_at is None:
                timer.resumed_at = now
            remaining = timer.target_seconds - timer.consumed_seconds
            timer.due_at = now
            if remaining > 0:
                asks.append((timer, "due_at", timedelta(seconds=remaining)))
            warn_point = timer.target_seconds * timer.warn_percent // 100
            if timer.warned_at is not None or timer.warn_percent >= 100:
                timer.warn_at = None
            else:
                timer.warn_at = now
                if warn_point > timer.consumed_seconds:
                    asks.append((timer, "warn_at", timedelta(seconds=warn_point - timer.consumed_seconds)))
        if asks:
            cal = _calendar(db, calendar_id)
            at = add_business_times(now, [seconds for _, _, seconds in asks], cal)
            for (timer, column, _), when in zip(asks, at, strict=True):
                setattr(timer, column, when)


@dataclass(slots=True)
class _Draft:
    """A timer about to start, before it is a row: the same fields as SlaTimer without the
    ORM's instance state, which cost more than the arithmetic on every new ticket
    (plan_created). `_add` turns one into an SlaTimer of the session."""

    ticket_id: int
    metric: str
    policy_id: int | None
    tier_id: int | None
    calendar_id: int | None
    target_seconds: int
    warn_percent: int
    started_at: datetime
    consumed_seconds: int = 0
    resumed_at: datetime | None = None
    due_at: datetime | None = None
    warn_at: datetime | None = None
    paused_at: datetime | None = None
    warned_at: datetime | None = None
    fired_at: datetime | None = None
    met_at: datetime | None = None
    cancelled_at: datetime | None = None


def _start(
    ticket_id: int,
    metric: Metric,
    seconds: int,
    warn_percent: int,
    calendar_id: int | None,
    policy_id: int | None,
    tier_id: int | None,
    now: datetime,
) -> _Draft:
    """A timer of `seconds` starting at `now`, not yet scheduled (`_schedule_all` sets its
    deadline and warning, for all of a ticket's new timers in one calendar walk)."""
    return _Draft(
        ticket_id=ticket_id,
        metric=metric.value,
        policy_id=policy_id,
        tier_id=tier_id,
        calendar_id=calendar_id,
        target_seconds=seconds,
        warn_percent=warn_percent,
        started_at=now,
    )


def _pause(db: Session, timer: SlaTimer | _Draft, now: datetime) -> None:
    if timer.paused_at is not None:
        return
    timer.consumed_seconds = _consumed_now(db, timer, now)
    timer.resumed_at = None
    timer.paused_at = now


def _resume(db: Session, timer: SlaTimer, now: datetime) -> None:
    if timer.paused_at is None:
        return
    timer.paused_at = None
    _schedule(db, timer, now)


def _met(db: Session, timer: SlaTimer, now: datetime) -> None:
    timer.consumed_seconds = _consumed_now(db, timer, now)
    timer.resumed_at = None
    timer.met_at = now


def _cancel(timer: SlaTimer, now: datetime) -> None:
    timer.cancelled_at = now
    timer.resumed_at = None


def _retarget(
    db: Session,
    timer: SlaTimer,
    seconds: int,
    warn_percent: int,
    now: datetime,
    calendar_id: int | None = None,
) -> None:
    if timer.paused_at is None:
        timer.consumed_seconds = _consumed_now(db, timer, now)
    timer.target_seconds = seconds
    timer.warn_percent = warn_percent
    if (
        calendar_id is not None
        and timer.calendar_id != calendar_id
        and timer.metric != Metric.time_in_tier.value
    ):
        timer.calendar_id = calendar_id
    if timer.paused_at is None:
        if timer.fired_at is not None and timer.consumed_seconds < seconds:
            timer.fired_at = None  # a longer target un-breaches a timer that is still running
        _schedule(db, timer, now)


# --- hooks called by the tickets service ---------------------------------------------------
@dataclass(frozen=True)
class _Policy:
    """What the timer hooks use of a policy: an immutable copy shared by the process."""

    id: int
    calendar_id: int | None
    pause_statuses: tuple[str, ...]


@dataclass(frozen=True)
class _Target:
    metric: str
    minutes: int
    warn_percent: int


@dataclass(frozen=True)
class _TierBox:
    id: int
    time_box_minutes: int | None
    calendar_id: int | None


def _policy_and_targets(db: Session, facts: TicketFacts) -> tuple[_Policy | None, Mapping[str, _Target]]:
    """The policy matching the ticket and its targets by metric, per process and
    configuration generation (core/memo.py `shared`)."""

    def load() -> tuple[_Policy | None, Mapping[str, _Target]]:
        policy = repo.matching_policy(db, facts.tier_id, facts.priority, facts.plan, facts.segment)
        if policy is None:
            return None, MappingProxyType({})
        targets = repo.targets_of(db, [policy.id])[policy.id]
        return (
            _Policy(policy.id, policy.calendar_id, tuple(policy.pause_statuses or ())),
            MappingProxyType({t.metric: _Target(t.metric, t.minutes, t.warn_percent) for t in targets}),
        )

    return shared(db, ("sla_policy", facts.tier_id, facts.priority, facts.plan, facts.segment), load)


def _tier_box(db: Session, tier_id: int) -> _TierBox | None:
    def load() -> _TierBox | None:
        tier = tiers.tier_by_id(db, tier_id)
        return _TierBox(tier.id, tier.time_box_minutes, tier.calendar_id) if tier else None

    return shared(db, ("sla_tier_box", tier_id), load)


def _calendar_for(facts: TicketFacts, policy: _Policy | None) -> int | None:
    if facts.org_calendar_id is not None:
        return facts.org_calendar_id
    return policy.calendar_id if policy else None


def _start_time_in_tier(
    db: Session, facts: TicketFacts, policy: _Policy | None, targets: Mapping[str, _Target], now: datetime
) -> _Draft | None:
    """The time-in-tier timer the ticket's tier and policy call for (not yet scheduled or added)."""
    if facts.tier_id is None or facts.status in CLOSED_STATUSES:
        return None
    tier = _tier_box(db, facts.tier_id)
    target = targets.get(Metric.time_in_tier.value)
    minutes = target.minutes if target else (tier.time_box_minutes if tier else None)
    if not minutes or tier is None:
        return None
    calendar_id = facts.org_calendar_id or tier.calendar_id or (policy.calendar_id if policy else None)
    timer = _start(
        facts.ticket_id,
        Metric.time_in_tier,
        minutes * 60,
        target.warn_percent if target else 80,
        calendar_id,
        policy.id if policy else None,
        tier.id,
        now,
    )
    if policy is not None and facts.status in (policy.pause_statuses or []):
        _pause(db, timer, now)
    return timer


def _start_target(
    db: Session,
    facts: TicketFacts,
    metric: Metric,
    policy: _Policy | None,
    targets: Mapping[str, _Target],
    now: datetime,
) -> _Draft | None:
    """The `metric` timer from the policy's target, if the policy has one (not yet scheduled
    or added)."""
    target = targets.get(metric.value)
    if policy is None or target is None:
        return None
    return _start(
        facts.ticket_id,
        metric,
        target.minutes * 60,
        target.warn_percent,
        _calendar_for(facts, policy),
        policy.id,
        facts.tier_id,
        now,
    )


def _add(db: Session, timer: _Draft | None, now: datetime) -> None:
    if timer is not None:
        _schedule(db, timer, now)
        db.add(SlaTimer(**{c: getattr(timer, c) for c in _DRAFT_FIELDS}))


@dataclass(frozen=True)
class PlannedTimers:
    """The timers a new ticket starts, computed before the ticket row exists (plan_created),
    so creating a ticket holds SQLite's write lock only for the INSERTs (start_planned)."""

    rows: tuple[Mapping[str, object], ...]


_TIMER_COLUMNS = tuple(c.key for c in SlaTimer.__table__.columns if c.key not in ("id", "ticket_id"))
_DRAFT_FIELDS = ("ticket_id", *_TIMER_COLUMNS)


def plan_created(db: Session, facts: TicketFacts, now: datetime) -> PlannedTimers:
    """First response, resolution, periodic update and time-in-tier timers for a ticket with
    these facts (its id is not needed yet). Reads configuration only."""
    policy, targets = _policy_and_targets(db, facts)
    timers = [
        _start_target(db, facts, metric, policy, targets, now)
        for metric in (Metric.first_response, Metric.resolution, Metric.periodic_update)
        if not (metric == Metric.first_response and facts.first_responded)
    ]
    timers.append(_start_time_in_tier(db, facts, policy, targets, now))
    started = [t for t in timers if t is not None]
    _schedule_all(db, started, now)
    return PlannedTimers(tuple(MappingProxyType({c: getattr(t, c) for c in _TIMER_COLUMNS}) for t in started))


def start_planned(db: Session, ticket_id: int, planned: PlannedTimers) -> None:
    """Insert planned timers for the ticket in one statement."""
    start_planned_many(db, [(ticket_id, planned)])


def start_planned_many(db: Session, planned: Sequence[tuple[int, PlannedTimers]]) -> None:
    """Insert the planned timers of several new tickets in one statement."""
    rows = [{**row, "ticket_id": ticket_id} for ticket_id, timers in planned for row in timers.rows]
    if rows:
        db.flush()  # the insert below does not autoflush (e.g. timers a reopen just ended)
        _DRIVER_INSERT_TIMER.many(db.connection(), rows)  # not the ORM's slower execution path


_DRIVER_INSERT_TIMER = DriverInsert(cast(Table, SlaTimer.__table__), _DRAFT_FIELDS)


def on_created(db: Session, facts: TicketFacts, now: datetime) -> None:
    """Start first response, resolution, periodic update and time-in-tier timers."""
    start_planned(db, facts.ticket_id, plan_created(db, facts, now))


def on_status_changed(db: Session, facts: TicketFacts, old: str, new: str, now: datetime) -> None:
    """Pause on the policy's pause statuses, resume when leaving them, stop on solved/closed,
    restart time-in-tier on reopen."""
    timers = repo.open_timers(db, facts.ticket_id)
    if new in CLOSED_STATUSES:
        for timer in timers:
            if timer.metric == Metric.first_response.value:
                _cancel(timer, now)  # solved without a public reply: nothing to measure
            else:
                _met(db, timer, now)
        db.flush()
        return
    if old in CLOSED_STATUSES:  # reopened: the work starts again
        on_created(db, facts, now)
        return
    policy, _ = _policy_and_targets(db, facts)
    pausing = set(policy.pause_statuses or []) if policy else {"pending", "on_hold"}
    for timer in timers:
        if timer.metric == Metric.first_response.value:
            continue
        if new in pausing:
            _pause(db, timer, now)
        else:
            _resume(db, timer, now)
    db.flush()


def on_public_reply(db: Session, facts: TicketFacts, by_customer: bool, now: datetime) -> None:
    """A customer's reply (after a first response) starts next response; a staff reply
    meets first/next response and restarts the periodic-update cadence."""
    timers = repo.open_timers(db, facts.ticket_id)
    if by_customer:
        if facts.first_responded and not any(t.metric == Metric.next_response.value for t in timers):
            policy, targets = _policy_and_targets(db, facts)
            _add(db, _start_target(db, facts, Metric.next_response, policy, targets, now), now)
        db.flush()
        return
    restart_update = False
    for timer in timers:
        if timer.metric in (
            Metric.first_response.value,
            Metric.next_response.value,
            Metric.periodic_update.value,
        ):
            _met(db, timer, now)
            restart_update = restart_update or timer.metric == Metric.periodic_update.value
    if restart_update:
        policy, targets = _policy_and_targets(db, facts)
        _add(db, _start_target(db, facts, Metric.periodic_update, policy, targets, now), now)
    db.flush()


def on_tier_changed(db: Session, facts: TicketFacts, now: datetime) -> None:
    """The old tier's box is met (the ticket left in time, or was escalated on breach); the
    new tier's box starts; other targets follow the policy of the new tier."""
    timers = repo.open_timers(db, facts.ticket_id)
    for timer in timers:
        if timer.metric == Metric.time_in_tier.value:
            _met(db, timer, now)
    policy, targets = _policy_and_targets(db, facts)
    _retarget_open(db, facts, policy, targets, now, timers)
    _add(db, _start_time_in_tier(db, facts, policy, targets, now), now)
    db.flush()


def on_priority_changed(db: Session, facts: TicketFacts, now: datetime) -> None:
    policy, targets = _policy_and_targets(db, facts)
    _retarget_open(db, facts, policy, targets, now)
    db.flush()


def _retarget_open(
    db: Session,
    facts: TicketFacts,
    policy: _Policy | None,
    targets: Mapping[str, _Target],
    now: datetime,
    timers: list[SlaTimer] | None = None,
) -> None:
    """Re-target the ticket's open timers (those given, else read) other than time in tier."""
    for timer in repo.open_timers(db, facts.ticket_id) if timers is None else timers:
        if timer.metric == Metric.time_in_tier.value or timer.met_at is not None:
            continue
        target = targets.get(timer.metric)
        if target is None:
            _cancel(timer, now)
            continue
        timer.policy_id = policy.id if policy else None
        _retarget(db, timer, target.minutes * 60, target.warn_percent, now, _calendar_for(facts, policy))


# --- reading ----------------------------------------------------------------------------------
def _state(timer: SlaTimer) -> str:
    if timer.cancelled_at is not None:
        return "cancelled"
    if timer.met_at is not None:
        return "met_late" if timer.fired_at is not None else "met"
    if timer.fired_at is not None:
        return "breached"
    if timer.paused_at is not None:
        return "paused"
    return "warned" if timer.warned_at is not None else "running"


def ticket_sla(db: Session, ticket_id: int, now: datetime) -> TicketSla:
    """Every timer of a ticket with its state and remaining business time. The caller has
    already checked that the actor may see the ticket."""
    out = []
    for timer in repo.all_timers(db, ticket_id):
        consumed = (
            _consumed_now(db, timer, now)
            if timer.met_at is None and timer.cancelled_at is None
            else timer.consumed_seconds
        )
        running = timer.met_at is None and timer.cancelled_at is None
        out.append(
            TimerOut(
                metric=timer.metric,
                state=_state(timer),
                policy_id=timer.policy_id,
                tier_id=timer.tier_id,
                target_minutes=timer.target_seconds / 60,
                started_at=timer.started_at,
                due_at=timer.due_at if running and timer.paused_at is None else None,
                warn_at=timer.warn_at
                if running and timer.paused_at is None and timer.warned_at is None
                else None,
                remaining_business_seconds=timer.target_seconds - consumed,
                paused_at=timer.paused_at,
                warned_at=timer.warned_at,
                breached_at=timer.fired_at,
                met_at=timer.met_at,
            )
        )
    return TicketSla(ticket_id=ticket_id, timers=out)


ClaimedTimer = repo.ClaimedTimer


def claim_due(db: Session, now: datetime, limit: int, boxes: bool | None = None) -> list[ClaimedTimer]:
    """Claim due timers (see repository.claim); `boxes` picks time-in-tier timers only (True)
    or all others (False)."""
    return repo.claim(db, now, limit, "fired_at", boxes)


def claim_warnings(db: Session, now: datetime, limit: int) -> list[ClaimedTimer]:
    return repo.claim(db, now, limit, "warned_at")


# --- supervisor dashboard ----------------------------------------------------------------------
def breached_open_counts(db: Session) -> list[tuple[int | None, str, int]]:
    """(tier_id of the target, metric, count) of targets that breached and are not yet met
    (their ticket is not solved; paused ones included)."""
    return repo.breached_open_counts(db)


def overdue_counts(db: Session, now: datetime) -> list[tuple[int | None, str, int]]:
    """(tier_id, metric, n) of running targets past due and not yet fired (the scheduler is late)."""
    return repo.overdue_counts(db, now)


def due_counts(db: Session, now: datetime, until: datetime) -> list[tuple[int | None, str, int]]:
    """(tier_id, metric, n) of running targets that run out after `now` and by `until`."""
    return repo.due_counts(db, now, until)
