"""All queries of the SLA domain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple, TypeVar, cast

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Table,
    Update,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from tierdesk.sla.models import SlaPolicy, SlaTarget, SlaTimer


def policies(db: Session) -> list[SlaPolicy]:
    return list(db.scalars(select(SlaPolicy).order_by(SlaPolicy.position, SlaPolicy.id)))


def targets_of(db: Session, policy_ids: Sequence[int]) -> dict[int, list[SlaTarget]]:
    out: dict[int, list[SlaTarget]] = {pid: [] for pid in policy_ids}
    if policy_ids:
        for t in db.scalars(
            select(SlaTarget).where(SlaTarget.policy_id.in_(policy_ids)).order_by(SlaTarget.metric)
        ):
            out[t.policy_id].append(t)
    return out


def matching_policy(
    db: Session, tier_id: int | None, priority: str, plan: str | None, segment: str | None
) -> SlaPolicy | None:
    """First enabled policy, by position, whose set conditions all match (null = any)."""

    def any_or(column: InstrumentedAttribute[Any], value: object) -> ColumnElement[bool]:
        return or_(column.is_(None), column == value) if value is not None else column.is_(None)

    stmt = (
        select(SlaPolicy)
        .where(
            SlaPolicy.enabled.is_(True),
            any_or(SlaPolicy.tier_id, tier_id),
            any_or(SlaPolicy.priority, priority),
            any_or(SlaPolicy.plan, plan),
            any_or(SlaPolicy.segment, segment),
        )
        .order_by(SlaPolicy.position, SlaPolicy.id)
        .limit(1)
    )
    return db.scalars(stmt).first()


S = TypeVar("S", bound=Select[Any])


def running(stmt: S) -> S:
    return stmt.where(
        SlaTimer.paused_at.is_(None), SlaTimer.met_at.is_(None), SlaTimer.cancelled_at.is_(None)
    )


def open_timers(db: Session, ticket_id: int) -> list[SlaTimer]:
    """Timers of a ticket that are running or paused (not met, not cancelled)."""
    stmt = select(SlaTimer).where(
        SlaTimer.ticket_id == ticket_id, SlaTimer.met_at.is_(None), SlaTimer.cancelled_at.is_(None)
    )
    return list(db.scalars(stmt.order_by(SlaTimer.id)))


def all_timers(db: Session, ticket_id: int) -> list[SlaTimer]:
    return list(db.scalars(select(SlaTimer).where(SlaTimer.ticket_id == ticket_id).order_by(SlaTimer.id)))


def timers_of_policy(db: Session, policy_id: int) -> list[SlaTimer]:
    stmt = select(SlaTimer).where(
        SlaTimer.policy_id == policy_id, SlaTimer.met_at.is_(None), SlaTimer.cancelled_at.is_(None)
    )
    return list(db.scalars(stmt))


class ClaimedTimer(NamedTuple):
    """What the scheduler needs of a timer it claimed."""

    id: int
    ticket_id: int
    metric: str
    tier_id: int | None
    target_seconds: int
    due_at: datetime


def claim(
    db: Session, now: datetime, limit: int, column: str, boxes: bool | None = None
) -> list[ClaimedTimer]:
    """Claim up to `limit` running timers whose `due_at` (column="fired_at") or `warn_at`
    (column="warned_at") has passed, by stamping that column with `now`. `boxes`: only
    time-in-tier timers (True), all but those (False), any (None).

    The SELECT walks the matching partial index only (O(due)). On PostgreSQL it takes row
    locks on the timers and their tickets with SKIP LOCKED, so concurrent schedulers take
    disjoint tickets (see _claim_statement); the UPDATE is
    conditional on the column still being NULL, so a row is claimed exactly once even if
    two schedulers read it. Claim and action share the caller's transaction: a crash before
    commit un-claims the rows and the next tick fires them.
    """
    stmt = _claim_statement(column, boxes, db.get_bind().dialect.name == "postgresql")
    rows = db.execute(stmt, {"claim_now": now, "claim_limit": limit}).all()
    if not rows:
        return []
    # Plain rows, not ORM objects: building thousands of SlaTimer instances was most of a
    # batch's cost. A copy of a claimed timer already in this session is told it changed.
    held = {obj.id: obj for obj in db.identity_map.values() if isinstance(obj, SlaTimer)}
    if held:
        for row in rows:
            if row.id in held:
                db.expire(held[row.id], [column])
    return sorted(map(ClaimedTimer._make, rows), key=lambda t: (t.due_at, t.id))


@lru_cache(maxsize=16)
def _claim_statement(column: str, boxes: bool | None, lock_tickets: bool) -> Update:
    """The claiming statement, built once per variant (a Core UPDATE on the table: the ORM's
    bulk-update path and rebuilding the statement each time cost more than a small claim).

    `lock_tickets` (PostgreSQL): the due timers are picked together with their tickets, and
    both rows are locked, skipping a timer whose ticket another transaction holds. So a
    scheduler owns the tickets of every timer it claims, until it commits. Another
    scheduler can then claim no other timer of those tickets. A person's change waits for
    the ticket, which it locks before its timers. Locking only the timers let two
    schedulers deadlock: one escalating a ticket whose time box it had claimed changed
    that ticket's other timers, which the other scheduler had claimed; the other, writing
    the breach events of those timers, waited for the ticket (the events' foreign key)."""
    timers = cast(Table, SlaTimer.__table__)
    c = timers.c
    now = bindparam("claim_now", type_=c.due_at.type)
    stamp = c.fired_at if column == "fired_at" else c.warned_at
    deadline = c.due_at if column == "fired_at" else c.warn_at
    stmt = select(c.id).where(
        c.paused_at.is_(None), c.met_at.is_(None), c.cancelled_at.is_(None), stamp.is_(None), deadline <= now
    )
    if lock_tickets:
        # The table the timers' ticket_id refers to (this module does not import tickets).
        ticket = next(iter(c.ticket_id.foreign_keys)).column
        stmt = stmt.join_from(timers, ticket.table, ticket == c.ticket_id)
    if column == "warned_at":
        # A timer already past its deadline gets its breach, not a warning first (a
        # scheduler that was down must not send both for the same timer).
        stmt = stmt.where(c.fired_at.is_(None), c.due_at > now)
    if boxes is not None:
        # A literal, not a bound parameter: only then may SQLite (and a generic PostgreSQL
        # plan) use the partial index ix_sla_timers_box_due, whose predicate names it.
        box = c.metric == literal_column("'time_in_tier'")
        stmt = stmt.where(box if boxes else ~box)
    # The batch size is written into the SQL (it is a constant per variant), so PostgreSQL's
    # cached generic plan for the prepared statement knows it; with LIMIT as a parameter that
    # plan assumed a tenth of the table and chose a hash join over a sequential scan.
    limit = bindparam("claim_limit", type_=Integer(), literal_execute=True)
    due = stmt.order_by(deadline).limit(limit).with_for_update(skip_locked=True)
    # One statement: the subquery picks the due ids (and, on PostgreSQL, locks them and their
    # tickets, skipping rows another transaction holds); the UPDATE stamps those still unstamped. Binding a
    # thousand ids into an IN list instead cost more than the rest of the batch.
    return (
        update(timers)
        .where(c.id.in_(due.scalar_subquery()), stamp.is_(None))
        .values({stamp: now})
        .returning(c.id, c.ticket_id, c.metric, c.tier_id, c.target_seconds, c.due_at)
    )


# --- supervisor dashboard ----------------------------------------------------------------------
def breached_open_counts(db: Session) -> list[tuple[int | None, str, int]]:
    """(tier_id, metric, n) of fired targets not met or cancelled: the partial index
    ix_sla_timers_breached holds only those rows (its predicate is repeated here)."""
    stmt = (
        select(SlaTimer.tier_id, SlaTimer.metric, func.count())
        .where(SlaTimer.fired_at.is_not(None), SlaTimer.met_at.is_(None), SlaTimer.cancelled_at.is_(None))
        .group_by(SlaTimer.tier_id, SlaTimer.metric)
    )
    return [(t, m, int(n)) for t, m, n in db.execute(stmt)]


def _running_unfired_counts(*window: ColumnElement[bool]) -> Select[int | None, str, int]:
    """(tier_id, metric, n) of running, unfired targets in a due_at window: the predicate of
    the partial ix_sla_timers_due in full (so the index is used), then the range."""
    return (
        select(SlaTimer.tier_id, SlaTimer.metric, func.count())
        .where(
            SlaTimer.fired_at.is_(None),
            SlaTimer.paused_at.is_(None),
            SlaTimer.met_at.is_(None),
            SlaTimer.cancelled_at.is_(None),
            *window,
        )
        .group_by(SlaTimer.tier_id, SlaTimer.metric)
    )


def overdue_counts(db: Session, now: datetime) -> list[tuple[int | None, str, int]]:
    """(tier_id, metric, n) of running targets past due that the scheduler has not fired yet
    (it is late): the head of ix_sla_timers_due up to `now`, empty while it keeps up."""
    return [(t, m, int(n)) for t, m, n in db.execute(_running_unfired_counts(SlaTimer.due_at <= now))]


def due_counts(db: Session, now: datetime, until: datetime) -> list[tuple[int | None, str, int]]:
    """(tier_id, metric, n) of running targets that run out after `now` and by `until`: a
    range of ix_sla_timers_due, as long as the number of targets due in the window."""
    window = (SlaTimer.due_at > now, SlaTimer.due_at <= until)
    return [(t, m, int(n)) for t, m, n in db.execute(_running_unfired_counts(*window))]
