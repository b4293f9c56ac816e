"""All queries of the tickets domain.

Authorization lives here: every read starts from `readable(actor)`, so a caller who may not
see a ticket gets "not found" whatever the endpoint.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from itertools import pairwise
from typing import Any, TypeVar, cast

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    Table,
    and_,
    bindparam,
    case,
    delete,
    event,
    false,
    func,
    insert,
    or_,
    select,
    text,
    true,
    tuple_,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, SessionTransaction, make_transient_to_detached

from tierdesk.core.bulk import DriverInsert, id_in
from tierdesk.core.errors import InvalidInput
from tierdesk.core.security import Actor
from tierdesk.sla.models import SlaTimer
from tierdesk.swarms.models import SwarmMember
from tierdesk.tickets.models import (
    SOLVED_EVENT,
    Attachment,
    Message,
    MessageKind,
    Ticket,
    TicketCounter,
    TicketEvent,
    TicketLink,
    TicketTag,
)


def visibility(actor: Actor) -> ColumnElement[bool]:
    """The WHERE clause that limits tickets to what `actor` may see.

    - admin: everything;
    - supervisor: everything but need-to-know teams they are not in;
    - agent / specialist: tickets in their tiers, their teams, assigned to them, or whose
      swarm they are in (invited and not left), minus need-to-know teams they are not in
      (a swarm overrides tier scope, never need-to-know);
    - customer: tickets they asked for, plus their organization's if it shares tickets;
    - anonymous: nothing.
    """
    if actor.is_anonymous or actor.role is None:
        return false()
    if actor.is_admin:
        return true()
    hidden = (
        or_(Ticket.team_id.is_(None), Ticket.team_id.not_in(actor.hidden_team_ids))
        if actor.hidden_team_ids
        else true()
    )
    if actor.is_supervisor:
        return hidden
    if actor.is_staff:
        scope: list[ColumnElement[bool]] = [
            Ticket.assignee_id == actor.user_id,
            # One range of the partial index ix_swarm_members_active_user.
            Ticket.id.in_(
                select(SwarmMember.ticket_id).where(
                    SwarmMember.user_id == actor.user_id, SwarmMember.left_at.is_(None)
                )
            ),
        ]
        if actor.tier_ids:
            scope.append(Ticket.tier_id.in_(actor.tier_ids))
        if actor.team_ids:
            scope.append(Ticket.team_id.in_(actor.team_ids))
        return and_(or_(*scope), hidden)
    if actor.customer_id is None:
        return false()
    if actor.sees_organization_tickets and actor.organization_id is not None:
        return or_(Ticket.requester_id == actor.customer_id, Ticket.organization_id == actor.organization_id)
    return Ticket.requester_id == actor.customer_id


def readable(actor: Actor) -> Select[Ticket]:
    return select(Ticket).where(visibility(actor))


def get_readable(db: Session, actor: Actor, ticket_id: int, for_update: bool = False) -> Ticket | None:
    stmt = readable(actor).where(Ticket.id == ticket_id)
    if for_update:
        stmt = stmt.with_for_update()
    return db.scalars(stmt).first()


# --- keyset pagination -------------------------------------------------------------------
SORTS = {
    "-created_at": (Ticket.created_at, True),
    "created_at": (Ticket.created_at, False),
    "-updated_at": (Ticket.updated_at, True),
}


def encode_cursor(sort: str, value: datetime, ticket_id: int) -> str:
    raw = json.dumps([sort, value.isoformat(), ticket_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        got_sort, iso, ticket_id = json.loads(base64.urlsafe_b64decode(padded))
        if got_sort != sort:
            raise ValueError
        return datetime.fromisoformat(iso), int(ticket_id)
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise InvalidInput(
            "The cursor is not valid for this list. Use the next_cursor value of the previous page, with the same sort.",
            field="cursor",
        ) from exc


@dataclass
class TicketFilter:
    status: list[str] | None = None
    tier_id: int | None = None
    team_id: int | None = None
    assignee_id: int | None = None
    unassigned: bool = False
    requester_id: int | None = None
    organization_id: int | None = None
    tag: str | None = None
    priority: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    # Tickets whose swarm this user is in (invited and not left): "swarms I'm in".
    swarm_member_id: int | None = None


S = TypeVar("S", bound=Select[Any])


def _filtered(stmt: S, flt: TicketFilter) -> S:
    if flt.status:
        stmt = stmt.where(Ticket.status.in_(flt.status))
    if flt.tier_id is not None:
        stmt = stmt.where(Ticket.tier_id == flt.tier_id)
    if flt.team_id is not None:
        stmt = stmt.where(Ticket.team_id == flt.team_id)
    if flt.unassigned:
        stmt = stmt.where(Ticket.assignee_id.is_(None))
    elif flt.assignee_id is not None:
        stmt = stmt.where(Ticket.assignee_id == flt.assignee_id)
    if flt.requester_id is not None:
        stmt = stmt.where(Ticket.requester_id == flt.requester_id)
    if flt.organization_id is not None:
        stmt = stmt.where(Ticket.organization_id == flt.organization_id)
    if flt.priority is not None:
        stmt = stmt.where(Ticket.priority == flt.priority)
    if flt.tag is not None:
        stmt = stmt.where(Ticket.id.in_(select(TicketTag.ticket_id).where(TicketTag.tag == flt.tag)))
    if flt.created_from is not None:
        stmt = stmt.where(Ticket.created_at >= flt.created_from)
    if flt.created_to is not None:
        stmt = stmt.where(Ticket.created_at < flt.created_to)
    if flt.swarm_member_id is not None:
        # One range of the partial index ix_swarm_members_active_user.
        stmt = stmt.where(
            Ticket.id.in_(
                select(SwarmMember.ticket_id).where(
                    SwarmMember.user_id == flt.swarm_member_id, SwarmMember.left_at.is_(None)
                )
            )
        )
    return stmt


def list_page(
    db: Session, actor: Actor, flt: TicketFilter, sort: str, cursor: str | None, limit: int
) -> tuple[list[Ticket], str | None]:
    """One page of tickets, newest first by default. Each filter is an equality on a column
    that leads an index ending in (created_at, id), so the page is an index range scan."""
    column, desc = SORTS[sort]
    stmt = _filtered(readable(actor), flt)
    if cursor:
        value, last_id = decode_cursor(cursor, sort)
        key = tuple_(column, Ticket.id)
        stmt = stmt.where(key < tuple_(value, last_id) if desc else key > tuple_(value, last_id))
    order = (column.desc(), Ticket.id.desc()) if desc else (column.asc(), Ticket.id.asc())
    rows = list(db.scalars(stmt.order_by(*order).limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(sort, getattr(last, column.key), last.id)
    return rows, next_cursor


def lines_of(
    db: Session, actor: Actor, column: str, value: int, statuses: tuple[str, ...], limit: int
) -> list[tuple[int, str, str]]:
    """(id, subject, status) of the newest `limit` tickets `actor` may see whose `column`
    (requester_id or organization_id) is `value` and whose status is one of `statuses`:
    three columns instead of whole tickets, for side panels."""
    stmt = _lines_statement(actor, column, statuses, limit)
    return [(r[0], r[1], r[2]) for r in db.connection().execute(stmt, {"lines_of": value})]


# The ticket page's side panel runs three of these per view; building the statement and its
# cache key cost more than SQLite's work, so, like the badges' counts below, the built
# statements are kept per (actor, column, statuses, limit), with the value bound.
@lru_cache(maxsize=512)
def _lines_statement(
    actor: Actor, column: str, statuses: tuple[str, ...], limit: int
) -> Select[int, str, str]:
    by = {"requester_id": Ticket.requester_id, "organization_id": Ticket.organization_id}[column]
    return (
        select(Ticket.id, Ticket.subject, Ticket.status)
        .where(visibility(actor), by == bindparam("lines_of"), Ticket.status.in_(statuses))
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(limit)
    )


def count_capped(db: Session, actor: Actor, flt: TicketFilter, cap: int) -> int:
    """How many tickets match, counting at most `cap`: the same index range as the list,
    stopped after `cap` rows, so a badge never costs a COUNT(*) over a big queue."""
    fields = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in vars(flt).items())
    return int(db.scalar(_count_statement(actor, fields, cap)) or 0)


# Every staff page shows the same handful of badges (mine, each team, swarms) for the same
# actors. Building the statement and its cache key costs about twice what SQLite takes to run
# it, so the built statements are kept, per (actor, filter, cap), a bounded number per process.
# A statement holds only the actor's own visibility values, so reusing it is always correct.
@lru_cache(maxsize=512)
def _count_statement(actor: Actor, fields: tuple[tuple[str, Any], ...], cap: int) -> Select[Any]:
    values: dict[str, Any] = {k: list(v) if isinstance(v, tuple) else v for k, v in fields}
    flt = TicketFilter(**values)
    inner = _filtered(select(Ticket.id).where(visibility(actor)), flt).limit(cap).subquery()
    return select(func.count()).select_from(inner)


# --- SLA targets due soonest ("breaching soon") ----------------------------------------------
# The WHERE repeats the predicate of the partial index ix_sla_timers_due (running and not
# fired), so the planner walks that index in due_at order and stops after the page.
def _due_soon(actor: Actor, until: datetime | BindParameter[datetime]) -> Select[Ticket, SlaTimer]:
    return (
        select(Ticket, SlaTimer)
        .join(Ticket, Ticket.id == SlaTimer.ticket_id)
        .where(
            SlaTimer.fired_at.is_(None),
            SlaTimer.paused_at.is_(None),
            SlaTimer.met_at.is_(None),
            SlaTimer.cancelled_at.is_(None),
            SlaTimer.due_at <= until,
            visibility(actor),
        )
    )


def due_soon_page(
    db: Session, actor: Actor, until: datetime, after: tuple[datetime, int] | None, limit: int
) -> list[tuple[Ticket, SlaTimer]]:
    """Running, unfired SLA targets due by `until`, soonest first, keyset after
    (due_at, timer id), on tickets the actor may see."""
    stmt = _due_soon(actor, until)
    if after is not None:
        stmt = stmt.where(tuple_(SlaTimer.due_at, SlaTimer.id) > tuple_(after[0], after[1]))
    rows = db.execute(stmt.order_by(SlaTimer.due_at, SlaTimer.id).limit(limit))
    return [(t, timer) for t, timer in rows]


def due_soon_count(db: Session, actor: Actor, until: datetime, cap: int) -> int:
    return int(db.scalar(_due_count_statement(actor, cap), {"until": until}) or 0)


@lru_cache(maxsize=256)
def _due_count_statement(actor: Actor, cap: int) -> Select[Any]:
    """Kept per (actor, cap) like _count_statement; the instant is a bound parameter."""
    until = bindparam("until", type_=SlaTimer.__table__.c.due_at.type)
    inner = _due_soon(actor, until).with_only_columns(SlaTimer.id).limit(cap).subquery()
    return select(func.count()).select_from(inner)


# --- children ------------------------------------------------------------------------------
def messages(db: Session, ticket_id: int, include_internal: bool) -> list[Message]:
    stmt = select(Message).where(Message.ticket_id == ticket_id).order_by(Message.id)
    if not include_internal:
        stmt = stmt.where(Message.kind == MessageKind.public.value)
    return list(db.scalars(stmt))


def events(db: Session, ticket_id: int) -> list[TicketEvent]:
    return list(
        db.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id))
    )


def attachments(db: Session, ticket_id: int, include_internal: bool) -> list[Attachment]:
    stmt = select(Attachment).where(Attachment.ticket_id == ticket_id).order_by(Attachment.id)
    if not include_internal:
        stmt = stmt.where(Attachment.internal.is_(False))
    return list(db.scalars(stmt))


def briefs(db: Session, ticket_ids: Sequence[int]) -> list[Any]:
    """(id, subject, assignee_id, team_id, tier_id) rows, no authorization (system jobs)."""
    if not ticket_ids:
        return []
    cols = (Ticket.id, Ticket.subject, Ticket.assignee_id, Ticket.team_id, Ticket.tier_id)
    # The ids travel as one parameter (core.bulk.id_in): a scheduler batch names 1,000.
    return list(db.execute(select(*cols).where(id_in(db, Ticket.id, sorted(set(ticket_ids))))).all())


def team_id_of(db: Session, ticket_id: int) -> int | None:
    """The team holding a ticket, with no authorization (used only to say "restricted")."""
    return db.scalar(select(Ticket.team_id).where(Ticket.id == ticket_id))


def by_ids(db: Session, ticket_ids: Sequence[int]) -> list[Ticket]:
    """Tickets by primary key, no authorization (system jobs)."""
    if not ticket_ids:
        return []
    return list(db.scalars(select(Ticket).where(Ticket.id.in_(sorted(set(ticket_ids))))))


def links(db: Session, ticket_id: int) -> list[TicketLink]:
    return list(
        db.scalars(select(TicketLink).where(TicketLink.ticket_id == ticket_id).order_by(TicketLink.id))
    )


def existing_external_ids(db: Session, source: str, external_ids: list[str]) -> dict[str, int]:
    if not external_ids:
        return {}
    rows = db.execute(
        select(Ticket.external_id, Ticket.id).where(
            Ticket.source == source, Ticket.external_id.in_(external_ids)
        )
    )
    return {ext: tid for ext, tid in rows if ext is not None}


def set_tags(db: Session, ticket_id: int, old: list[str], new: list[str]) -> None:
    removed = set(old) - set(new)
    if removed:
        db.execute(delete(TicketTag).where(TicketTag.ticket_id == ticket_id, TicketTag.tag.in_(removed)))
    added = [t for t in new if t not in old]
    if added:
        db.execute(insert(TicketTag), [{"ticket_id": ticket_id, "tag": t} for t in added])


# --- create -----------------------------------------------------------------------------------


_DRIVER_INSERT_TICKET = DriverInsert(
    cast(Table, Ticket.__table__), [c.key for c in Ticket.__table__.columns if c.key != "id"]
)


def insert_ticket_row(db: Session, values: dict[str, Any]) -> int:
    """INSERT a ticket with every column given (Core, or SQLite's driver: no ORM path); its
    new id."""
    return _DRIVER_INSERT_TICKET.one(db.connection(), values)


def attach_ticket(db: Session, row: dict[str, Any]) -> Ticket:
    """A ticket row just inserted (every column and its id), as a persistent, clean object of
    the session: no unit-of-work flush and no re-read."""
    ticket = Ticket(**row)
    make_transient_to_detached(ticket)
    db.add(ticket)
    return ticket


def insert_ticket(db: Session, values: dict[str, Any]) -> Ticket:
    """INSERT a ticket with every column given, and return it as a persistent, clean object
    of the session (no unit-of-work flush and no re-read: creation is the hottest write)."""
    return attach_ticket(db, {"id": insert_ticket_row(db, values), **values})


# --- counters --------------------------------------------------------------------------------
# The (status, tier) counters are a few dozen rows that nearly every ticket write changes. A
# transaction that changed them as it went held each row it touched until its commit, and
# two transactions touching two rows in opposite orders deadlocked on PostgreSQL: a customer
# reopening a pending ticket ((pending, L1) then (open, L1)) while an agent set another one
# pending ((open, L1) then (pending, L1)); or two SLA schedulers each escalating tickets of
# several statuses in one tick. So a transaction only adds its changes up in the session
# (`bump_counter`), and writes the sums when it commits, as its last statements, in one
# order: (status, tier). Those rows are then held only from there to COMMIT, and no two
# transactions can wait on each other for them.
_PENDING = "tierdesk.tickets.counter_deltas"


def _pending(db: Session) -> dict[tuple[str, int], int]:
    pending: dict[tuple[str, int], int] | None = db.info.get(_PENDING)
    if pending is None:
        pending = db.info[_PENDING] = {}
    return pending


def tickets_in_tier(db: Session, tier_id: int) -> int:
    """Tickets of any status in a tier, from the kept counters (no scan)."""
    write_counters(db)
    total = db.scalar(select(func.sum(TicketCounter.count)).where(TicketCounter.tier_id == tier_id))
    return int(total or 0)


def _counter_upsert(dialect: str) -> Any:
    """INSERT … ON CONFLICT DO UPDATE for one (status, tier) counter, built once per dialect:
    it runs on every ticket write, so it is not rebuilt (and re-keyed for the cache) each time."""
    make = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = make(TicketCounter).values(
        status=bindparam("status"), tier_id=bindparam("tier_id"), count=bindparam("delta")
    )
    return stmt.on_conflict_do_update(
        index_elements=["status", "tier_id"],
        set_={"count": TicketCounter.count + stmt.excluded["count"]},
    )


_COUNTER_UPSERT = {name: _counter_upsert(name) for name in ("postgresql", "sqlite")}


def bump_counter(db: Session, status: str, tier_id: int | None, delta: int) -> None:
    """Add `delta` to the (status, tier) counter when this transaction commits (see above)."""
    pending = _pending(db)
    key = (status, tier_id or 0)
    pending[key] = pending.get(key, 0) + delta


def bump_counters(db: Session, deltas: Mapping[tuple[str, int | None], int]) -> None:
    """bump_counter for each (status, tier) of `deltas`."""
    for (status, tier_id), delta in deltas.items():
        bump_counter(db, status, tier_id, delta)


def write_counters(db: Session) -> None:
    """Write the counter changes this transaction has added up so far: one upsert per
    (status, tier) whose sum is not zero, in (status, tier) order. Runs when the session
    commits (a `before_commit` hook) and before the counters are read in the same transaction."""
    pending: dict[tuple[str, int], int] | None = db.info.pop(_PENDING, None)
    if not pending:
        return
    stmt = _COUNTER_UPSERT[db.get_bind().dialect.name]
    conn = db.connection()
    for status, tier_id in sorted(pending):
        delta = pending[(status, tier_id)]
        if delta:
            conn.execute(stmt, {"status": status, "tier_id": tier_id, "delta": delta})


def _forget_at_end(session: Session, transaction: SessionTransaction) -> None:
    # A rolled-back transaction's changes die with it. (A savepoint's rollback leaves them:
    # no code changes the counters inside a savepoint.)
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


if not event.contains(Session, "before_commit", write_counters):
    event.listen(Session, "before_commit", write_counters)
    event.listen(Session, "after_transaction_end", _forget_at_end)


def counters(db: Session) -> list[tuple[str, int, int]]:
    write_counters(db)
    return [
        (s, t, c)
        for s, t, c in db.execute(select(TicketCounter.status, TicketCounter.tier_id, TicketCounter.count))
    ]


# --- dashboard figures (supervisor dashboard) --------------------------------------------------
def event_counts_in_windows(
    db: Session, kind: str, bounds: Sequence[datetime], solved_only: bool = False
) -> list[int]:
    """Events of `kind` in each window [bounds[i], bounds[i+1]), in one statement over one
    index range: ix_ticket_events_kind_at for a kind, or the partial ix_ticket_events_solved
    (status changes to solved only) when `solved_only`. Reads the events of the whole span,
    never the tickets."""
    if len(bounds) < 2:
        return []
    buckets = [
        func.coalesce(func.sum(case((and_(TicketEvent.at >= lo, TicketEvent.at < hi), 1), else_=0)), 0)
        for lo, hi in pairwise(bounds)
    ]
    # Solved: the partial index's predicate as literal SQL, because SQLite uses a partial
    # index only when the query's WHERE names the same constants (a bound parameter never
    # matches). Only field_changed events set field = 'status' AND new = 'solved' (a reopen
    # sets 'open').
    which = text(SOLVED_EVENT) if solved_only else TicketEvent.kind == kind
    stmt = select(*buckets).where(which, TicketEvent.at >= bounds[0], TicketEvent.at < bounds[-1])
    row = db.execute(stmt).one()
    return [int(n or 0) for n in row]


def moves_since(
    db: Session, kinds: Sequence[str], since: datetime, today: datetime
) -> list[tuple[str, str | None, str | None, str | None, int, int]]:
    """(kind, field, old, new, since `today`, since `since`) of tier/team moves: a range of
    ix_ticket_events_kind_at per kind, grouped by where the ticket went from and to."""
    stmt = (
        select(
            TicketEvent.kind,
            TicketEvent.field,
            TicketEvent.old,
            TicketEvent.new,
            func.sum(case((TicketEvent.at >= today, 1), else_=0)),
            func.count(),
        )
        .where(TicketEvent.kind.in_(list(kinds)), TicketEvent.at >= since)
        .group_by(TicketEvent.kind, TicketEvent.field, TicketEvent.old, TicketEvent.new)
    )
    return [(k, f, o, n, int(t or 0), int(c)) for k, f, o, n, t, c in db.execute(stmt)]


def open_assigned_counts(db: Session, user_ids: Sequence[int], statuses: Sequence[str]) -> dict[int, int]:
    """Open tickets per assignee: one range of ix_tickets_assignee_status_created per user
    and status (reads every open assigned ticket's index entry: cache the result)."""
    if not user_ids:
        return {}
    rows = db.execute(
        select(Ticket.assignee_id, func.count())
        .where(Ticket.assignee_id.in_(list(user_ids)), Ticket.status.in_(list(statuses)))
        .group_by(Ticket.assignee_id)
    )
    return {int(uid): int(n) for uid, n in rows if uid is not None}
