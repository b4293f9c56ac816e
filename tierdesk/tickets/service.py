"""Ticket rules. The only entry point other domains may use for tickets.

Every function that changes a ticket appends its `ticket_event` rows in the same
transaction (services flush; the request or job commits), so the event log can replay
every metric. Authorization: reads and writes start from `repository.readable(actor)`;
a ticket the actor may not see is reported as not found.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, NamedTuple, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from tierdesk.accounts import service as accounts
from tierdesk.core.bulk import DriverInsert, insert_rows
from tierdesk.core.db import begin_write
from tierdesk.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from tierdesk.core.memo import memoised, remember
from tierdesk.core.security import SYSTEM, Actor, Scope, require_admin, require_signed_in, require_staff
from tierdesk.core.storage import FileStore, check_upload
from tierdesk.customers import service as customers
from tierdesk.routing import service as routing
from tierdesk.search import queue as search
from tierdesk.sla import service as sla
from tierdesk.tickets import repository as repo
from tierdesk.tickets.models import (
    CUSTOMER_VISIBLE_EVENTS,
    CUSTOMER_VISIBLE_FIELDS,
    TRANSITIONS,
    Attachment,
    AuthorKind,
    EventKind,
    LinkKind,
    Message,
    MessageKind,
    Status,
    Ticket,
    TicketEvent,
    TicketLink,
    TicketTag,
)
from tierdesk.tickets.repository import TicketFilter

__all__ = ["TicketFilter"]
from tierdesk.tickets.schemas import (
    EventOut,
    ImportRequest,
    ImportResult,
    LinkCreate,
    MessageCreate,
    MessageOut,
    TicketCreate,
    TicketPatch,
    Timeline,
    TimelineEntry,
)
from tierdesk.tiers import service as tiers

OPEN_STATUSES = (Status.new, Status.open, Status.pending, Status.on_hold)


# --- helpers ------------------------------------------------------------------------------
def _actor_kind(actor: Actor) -> str:
    if actor.user_id is None:
        return AuthorKind.system.value
    return AuthorKind.customer.value if actor.is_customer else AuthorKind.agent.value


def _actor_columns(actor: Actor) -> dict[str, Any]:
    """Who did it, as a ticket event records it (one place for single and bulk events)."""
    return {
        "actor_kind": _actor_kind(actor),
        "actor_user_id": None if actor.is_customer else actor.user_id,
        "actor_customer_id": actor.customer_id if actor.is_customer else None,
    }


def _event(
    db: Session,
    ticket: Ticket,
    actor: Actor,
    kind: EventKind,
    now: datetime,
    field: str | None = None,
    old: Any = None,
    new: Any = None,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
) -> TicketEvent:
    event = TicketEvent(
        ticket_id=ticket.id,
        at=now,
        **_actor_columns(actor),
        kind=kind.value,
        field=field,
        old=None if old is None else str(old)[:500],
        new=None if new is None else str(new)[:500],
        reason=reason,
        data=data,
    )
    db.add(event)
    return event


def _require_write(actor: Actor) -> None:
    require_signed_in(actor)
    if not actor.can(Scope.write):
        raise Forbidden("This API token is read-only; create one with the write scope.")


def get_ticket(db: Session, actor: Actor, ticket_id: int, for_update: bool = False) -> Ticket:
    require_signed_in(actor)
    if not for_update:
        # A job step or a page render reads the same ticket through several services; inside
        # its memo scope the first read for this actor is reused (jobs preload theirs in bulk:
        # preload_tickets). Outside a scope this is a plain read.
        ticket = memoised(db, ("ticket", actor, ticket_id), lambda: repo.get_readable(db, actor, ticket_id))
    else:
        ticket = repo.get_readable(db, actor, ticket_id, for_update=for_update)
    if ticket is None:
        _refuse_need_to_know(db, actor, ticket_id)
        raise NotFound(f"Ticket T-{ticket_id} does not exist or you may not see it.")
    return ticket


def _refuse_need_to_know(db: Session, actor: Actor, ticket_id: int) -> None:
    """Staff outside a need-to-know team (fraud, compliance) learn that its ticket exists
    and who holds it, nothing more: 403 instead of 404, so a colleague who has the number
    from a customer knows whom to ask. Customers and other tickets still get 404."""
    if not actor.is_staff or not actor.hidden_team_ids:
        return
    team_id = repo.team_id_of(db, ticket_id)
    if team_id is None or team_id not in actor.hidden_team_ids:
        return
    team = tiers.team_by_id(db, team_id)
    raise Forbidden(
        f"T-{ticket_id} exists but belongs to the need-to-know team "
        f"'{team.name if team else team_id}'; only its members can open it. Ask the team's lead."
    )


def parse_ref(ref: str) -> int:
    """Accept 1042, T-1042 or t-1042."""
    text = ref.strip().upper().removeprefix("T-")
    if not text.isdigit() or len(text) > 12:
        raise NotFound(f"'{ref[:40]}' is not a ticket number (expected e.g. T-1042).")
    return int(text)


def _check_refs(db: Session, tier_id: int | None, team_id: int | None, assignee_id: int | None) -> None:
    if tier_id is not None and not tiers.tier_exists(db, tier_id):
        raise InvalidInput(f"Tier {tier_id} does not exist.", field="tier_id")
    if team_id is not None and tiers.team_by_id(db, team_id) is None:
        raise InvalidInput(f"Team {team_id} does not exist.", field="team_id")
    if assignee_id is not None and not accounts.user_exists(db, assignee_id, staff_only=True):
        raise InvalidInput(f"Agent {assignee_id} does not exist.", field="assignee_id")


def _routing_facts(
    db: Session,
    requester: customers.RequesterFacts,
    category: str | None,
    priority: str,
    channel: str,
    language: str,
    tags: list[str],
    subject: str,
    tier_id: int | None,
    has_incident: bool = False,
) -> routing.RoutingFacts:
    org = customers.org_facts(db, requester.organization_id) if requester.organization_id else None
    return routing.RoutingFacts(
        category=category,
        priority=priority,
        channel=channel,
        language=language,
        tags=tuple(tags),
        subject=subject,
        tier_key=tiers.tier_key_of(db, tier_id) if tier_id else None,
        has_incident=has_incident,
        customer_vip=requester.vip,
        customer_language=requester.language,
        customer_flags=requester.flags or {},
        org_strategic=bool(org and org.strategic),
        org_plan=org.plan if org else None,
        org_segment=org.segment if org else None,
        org_flags=dict(org.flags) if org else {},
        org_dedicated_team_id=org.dedicated_team_id if org else None,
    )


def routing_facts_for(db: Session, ticket: Ticket, has_incident: bool | None = None) -> routing.RoutingFacts:
    """Routing facts of an existing ticket (escalation-stage rules)."""
    requester = customers.customer_by_id(db, ticket.requester_id)
    if requester is None:
        raise NotFound(f"The requester of T-{ticket.id} does not exist.")
    incident = has_incident
    if incident is None:
        incident = any(lk.kind == LinkKind.part_of_incident.value for lk in _links(db, ticket.id))
    return _routing_facts(
        db,
        customers.facts_of(requester),
        ticket.category,
        ticket.priority,
        ticket.channel,
        ticket.language,
        list(ticket.tags or []),
        ticket.subject,
        ticket.tier_id,
        incident,
    )


def _sla_facts(
    db: Session,
    ticket_id: int,
    tier_id: int | None,
    priority: str,
    status: str,
    organization_id: int | None,
    first_responded: bool = False,
) -> sla.TicketFacts:
    org = customers.org_facts(db, organization_id) if organization_id else None
    return sla.TicketFacts(
        ticket_id=ticket_id,
        tier_id=tier_id,
        priority=priority,
        status=status,
        plan=org.plan if org else None,
        segment=org.segment if org else None,
        org_calendar_id=org.calendar_id if org else None,
        first_responded=first_responded,
    )


def _facts(db: Session, ticket: Ticket) -> sla.TicketFacts:
    return _sla_facts(
        db,
        ticket.id,
        ticket.tier_id,
        ticket.priority,
        ticket.status,
        ticket.organization_id,
        ticket.first_responded_at is not None,
    )


# --- create --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CreatePlan:
    """Everything a new ticket writes, decided before any write (plan_ticket): its columns,
    its `created` event, its SLA timers. `wrote` is true when planning already wrote (a new
    requester was added), so the plan must be written in that same transaction."""

    actor: Actor
    values: dict[str, Any]
    event: dict[str, Any]
    timers: sla.PlannedTimers
    wrote: bool = False


def plan_ticket(db: Session, actor: Actor, data: TicketCreate, now: datetime) -> CreatePlan:
    """Check a new ticket and decide its tier, team, priority, tags and SLA timers; reads
    only, except that a requester named by e-mail is added on first contact.

    Customers always create for themselves and cannot route (tier/team/assignee are
    staff decisions); staff name the requester by id or e-mail.
    """
    _require_write(actor)
    wrote = False
    if actor.is_customer:
        staff_only = [
            f
            for f in ("requester_id", "requester", "tier_id", "team_id", "assignee_id")
            if getattr(data, f) is not None
        ]
        if staff_only or data.tags:
            raise Forbidden(f"Customers cannot set {', '.join(staff_only or ['tags'])} on a ticket.")
        if actor.customer_id is None:
            raise Forbidden("This customer login has no customer record.")
        requester = customers.requester_facts(db, actor.customer_id)
    else:
        require_staff(actor)
        if data.requester_id is not None:
            requester = customers.requester_facts(db, data.requester_id)
            if requester is None:
                raise InvalidInput(f"Customer {data.requester_id} does not exist.", field="requester_id")
        elif data.requester is not None:
            begin_write(db)  # may add the customer
            requester = customers.facts_of(
                customers.find_or_create_customer(db, data.requester.email, data.requester.name)
            )
            wrote = True
        else:
            raise InvalidInput("Say who asks: requester_id or requester {email, name}.", field="requester")
    if requester is None:
        raise NotFound("The requester does not exist.")
    _check_refs(db, data.tier_id, data.team_id, data.assignee_id)
    tier_id = data.tier_id if data.tier_id is not None else tiers.default_tier_id(db)
    language = data.language or requester.language
    # Skip-tier rules: what the creator set explicitly wins over a rule.
    decision = routing.decide(
        db,
        _routing_facts(
            db,
            requester,
            data.category,
            data.priority.value,
            data.channel.value,
            language,
            data.tags,
            data.subject,
            tier_id,
        ),
        "create",
    )
    if data.tier_id is None and decision.tier_id is not None:
        tier_id = decision.tier_id
    team_id = data.team_id if data.team_id is not None else decision.team_id
    priority = (
        decision.priority
        if decision.priority and "priority" not in data.model_fields_set
        else data.priority.value
    )
    tags = list(dict.fromkeys([*data.tags, *decision.add_tags]))
    status = Status.open if data.assignee_id else Status.new
    # The ticket id is not known yet (0); write_planned fills it in.
    facts = _sla_facts(db, 0, tier_id, priority, status.value, requester.organization_id)
    values: dict[str, Any] = {
        "subject": data.subject.strip(),
        "description": data.description,
        "status": status.value,
        "priority": priority,
        "category": data.category,
        "channel": data.channel.value,
        "language": language,
        "requester_id": requester.id,
        "organization_id": requester.organization_id,
        "tier_id": tier_id,
        "team_id": team_id,
        "assignee_id": data.assignee_id,
        "tags": tags,
        "merged_into_id": None,
        "reopen_count": 0,
        "source": "tierdesk",
        "external_id": None,
        "created_at": now,
        "updated_at": now,
        "first_responded_at": None,
        "solved_at": None,
        "closed_at": None,
    }
    event = {
        "status": status.value,
        "priority": priority,
        "category": data.category,
        "channel": data.channel.value,
        "tier_id": tier_id,
        "team_id": team_id,
        "assignee_id": data.assignee_id,
        "tags": tags,
        "routing": list(decision.reasons) or None,
    }
    return CreatePlan(actor, values, event, sla.plan_created(db, facts, now), wrote)


_DRIVER_INSERT_TAG = DriverInsert(cast(Table, TicketTag.__table__), ["ticket_id", "tag"])
_DRIVER_INSERT_EVENT = DriverInsert(
    cast(Table, TicketEvent.__table__),
    ["ticket_id", "kind", "data", "at", "actor_kind", "actor_user_id", "actor_customer_id"],
)


def write_planned_rows(db: Session, plans: Sequence[CreatePlan]) -> list[dict[str, Any]]:
    """Write planned tickets, each with its tags, `created` event, counter and SLA timers,
    and queue them for search; a batch of plans costs a few statements more than one
    (core.group.GroupWriter groups concurrent creations into one transaction this way).
    Returns each ticket's columns with its new id, as plain rows: building ORM objects cost
    more than inserting them, and the API's answer needs only the columns. Takes the write
    lock first on a read-first session (core.db.begin_write)."""
    begin_write(db)  # everything so far only read: on SQLite the write lock is taken here
    rows = [{"id": repo.insert_ticket_row(db, plan.values), **plan.values} for plan in plans]
    # Inserts on the session's connection (SQLite's driver, Core elsewhere: core/bulk.py): an
    # ORM entity, or Session.execute, takes SQLAlchemy's ORM execution path, which cost more
    # than the database's work (docs/performance.md, "Creating a ticket"). None of these tables
    # is configuration (core.db CONFIG_TABLES), so the session's hooks have nothing to see.
    conn = db.connection()
    _DRIVER_INSERT_TAG.many(
        conn, [{"ticket_id": row["id"], "tag": tag} for row in rows for tag in row["tags"]]
    )
    event_rows = [
        {
            "ticket_id": row["id"],
            "kind": EventKind.created.value,
            "data": plan.event,
            "at": row["created_at"],
            **_actor_columns(plan.actor),
        }
        for row, plan in zip(rows, plans, strict=True)
    ]
    _DRIVER_INSERT_EVENT.many(conn, event_rows)
    repo.bump_counters(db, Counter((row["status"], row["tier_id"]) for row in rows))
    sla.start_planned_many(db, [(row["id"], plan.timers) for row, plan in zip(rows, plans, strict=True)])
    search.enqueue_many(db, [row["id"] for row in rows])
    return rows


def write_planned(db: Session, plans: Sequence[CreatePlan]) -> list[Ticket]:
    """write_planned_rows, returning the new tickets as clean objects of the session."""
    return [repo.attach_ticket(db, row) for row in write_planned_rows(db, plans)]


def create_ticket(db: Session, actor: Actor, data: TicketCreate, now: datetime) -> Ticket:
    """Create a ticket with its tags, its `created` event and counter, in one transaction
    (plan_ticket, then write_planned)."""
    return write_planned(db, [plan_ticket(db, actor, data, now)])[0]


# --- update --------------------------------------------------------------------------------
def _set_status(
    db: Session, ticket: Ticket, actor: Actor, new: Status, now: datetime, reason: str | None
) -> None:
    old = Status(ticket.status)
    if new == old:
        return
    if new not in TRANSITIONS[old]:
        allowed = (
            ", ".join(s.value for s in sorted(TRANSITIONS[old]))
            or "nothing (closed is final; open a follow-up)"
        )
        raise Conflict(
            f"A {old.value} ticket cannot become {new.value}. From {old.value} it can go to: {allowed}."
        )
    repo.bump_counter(db, old.value, ticket.tier_id, -1)
    repo.bump_counter(db, new.value, ticket.tier_id, +1)
    ticket.status = new.value
    if new == Status.solved:
        ticket.solved_at = now
    elif new == Status.closed:
        ticket.closed_at = now
    if old == Status.solved and new == Status.open:
        ticket.reopen_count += 1
        ticket.solved_at = None
        _event(db, ticket, actor, EventKind.reopened, now, "status", old.value, new.value, reason)
    else:
        _event(db, ticket, actor, EventKind.field_changed, now, "status", old.value, new.value, reason)
    sla.on_status_changed(db, _facts(db, ticket), old.value, new.value, now)


def update_ticket(db: Session, actor: Actor, ticket_id: int, patch: TicketPatch, now: datetime) -> Ticket:
    """Apply the fields the caller sent; one event per field that really changed."""
    _require_write(actor)
    ticket = get_ticket(db, actor, ticket_id, for_update=True)
    if actor.is_customer:
        sent = patch.model_fields_set - {"reason"}
        if sent - {"status"} or patch.status not in (Status.solved, Status.open, None):
            raise Forbidden(
                "Customers may only mark their ticket solved or reopen it; reply to change anything else."
            )
    if ticket.status == Status.closed.value:
        raise Conflict(f"T-{ticket.id} is closed and can no longer change. Open a follow-up ticket instead.")
    fields = patch.model_fields_set
    _check_refs(
        db,
        patch.tier_id if "tier_id" in fields else None,
        patch.team_id if "team_id" in fields else None,
        patch.assignee_id if "assignee_id" in fields else None,
    )
    reason = patch.reason
    changed_names: set[str] = set()
    for name in ("subject", "priority", "category", "team_id", "assignee_id"):
        if name not in fields:
            continue
        value = getattr(patch, name)
        if name in ("subject", "priority") and value is None:
            raise InvalidInput(f"{name} cannot be empty.", field=name)
        value = value.value if hasattr(value, "value") else value
        old = getattr(ticket, name)
        if old != value:
            setattr(ticket, name, value)
            _event(
                db, ticket, actor, EventKind.field_changed, now, name.removesuffix("_id"), old, value, reason
            )
            changed_names.add(name)
    if "subject" in changed_names:
        search.enqueue(db, ticket.id)
    if "priority" in changed_names:
        sla.on_priority_changed(db, _facts(db, ticket), now)
    if "tier_id" in fields and patch.tier_id != ticket.tier_id:
        _change_tier(db, ticket, actor, patch.tier_id, EventKind.field_changed, reason, None, now)
        changed_names.add("tier_id")
    if "tags" in fields and patch.tags is not None and patch.tags != ticket.tags:
        repo.set_tags(db, ticket.id, list(ticket.tags or []), patch.tags)
        _event(
            db,
            ticket,
            actor,
            EventKind.field_changed,
            now,
            "tags",
            ",".join(ticket.tags or []),
            ",".join(patch.tags),
            reason,
        )
        ticket.tags = patch.tags
        changed_names.add("tags")
    if (
        "assignee_id" in fields
        and ticket.assignee_id
        and ticket.status == Status.new.value
        and patch.status is None
    ):
        _set_status(db, ticket, actor, Status.open, now, "assigned")
    if patch.status is not None and patch.status.value != ticket.status:
        _set_status(db, ticket, actor, patch.status, now, reason)
        changed_names.add("status")
    if changed_names:
        ticket.updated_at = now
    db.flush()
    return ticket


def _change_tier(
    db: Session,
    ticket: Ticket,
    actor: Actor,
    tier_id: int | None,
    kind: EventKind,
    reason: str | None,
    data: dict[str, Any] | None,
    now: datetime,
) -> None:
    repo.bump_counter(db, ticket.status, ticket.tier_id, -1)
    repo.bump_counter(db, ticket.status, tier_id, +1)
    _event(db, ticket, actor, kind, now, "tier", ticket.tier_id, tier_id, reason, data)
    ticket.tier_id = tier_id
    db.flush()
    sla.on_tier_changed(db, _facts(db, ticket), now)


def move_ticket(
    db: Session,
    actor: Actor,
    ticket_id: int,
    *,
    tier_id: int | None,
    team_id: int | None,
    kind: EventKind,
    reason: str,
    data: dict[str, Any],
    now: datetime,
    unassign: bool,
) -> Ticket:
    """Move a ticket to another tier and/or team as one escalation step: one `kind` event
    (escalated / de_escalated) carrying the hand-off in its data, the counters, the SLA
    timers (time-in-tier restarts) and, when asked, the assignment cleared so the new
    tier's queue picks it up. The caller (escalation service) has checked the path."""
    _require_write(actor)
    ticket = get_ticket(db, actor, ticket_id, for_update=True)
    if ticket.status in (Status.solved.value, Status.closed.value):
        raise Conflict(f"T-{ticket.id} is {ticket.status}; reopen it before moving it between tiers.")
    _check_refs(db, tier_id, team_id, None)
    payload = dict(data) | {
        "from_tier_id": ticket.tier_id,
        "to_tier_id": tier_id,
        "from_team_id": ticket.team_id,
        "to_team_id": team_id,
    }
    if tier_id != ticket.tier_id:
        _change_tier(db, ticket, actor, tier_id, kind, reason, payload, now)
    else:
        _event(db, ticket, actor, kind, now, "team", ticket.team_id, team_id, reason, payload)
    ticket.team_id = team_id
    if unassign and ticket.assignee_id is not None:
        _event(
            db,
            ticket,
            actor,
            EventKind.field_changed,
            now,
            "assignee",
            ticket.assignee_id,
            None,
            f"moved: {reason}"[:1000],
        )
        ticket.assignee_id = None
    ticket.updated_at = now
    db.flush()
    return ticket


class TicketBrief(NamedTuple):
    """The few fields a batch job needs to word a notice and find who hears it (a named
    tuple: a scheduler batch builds a thousand, and a frozen dataclass cost 10x as much)."""

    id: int
    subject: str
    assignee_id: int | None
    team_id: int | None
    tier_id: int | None


def briefs(db: Session, ticket_ids: Sequence[int]) -> dict[int, TicketBrief]:
    """Many tickets' briefs in one query (system use only: no authorization)."""
    # Rows unpacked by position (id, subject, assignee_id, team_id, tier_id): a Row's
    # attribute access is ~20x slower, which showed at a scheduler batch of 1,000.
    return {r[0]: TicketBrief._make(r) for r in repo.briefs(db, ticket_ids)}


def ensure_tier_unused(db: Session, tier_id: int) -> None:
    """Refuse to let a tier that still holds tickets be deleted (their tier would silently
    become empty, and queues and reports would lose them). Callers deleting a tier call this."""
    held = repo.tickets_in_tier(db, tier_id)
    if held:
        raise Conflict(
            f"This tier holds {held:,} ticket(s), open or closed; switch it off (enabled: false) instead, "
            "so its tickets keep their history."
        )


def preload_tickets(db: Session, ticket_ids: Sequence[int]) -> dict[int, Ticket]:
    """Load many tickets in one query for a job (no authorization: system use only). Inside
    a memo scope they also serve later `get_ticket(SYSTEM, …)` calls without a query."""
    loaded = {t.id: t for t in repo.by_ids(db, ticket_ids)}
    for ticket_id, ticket in loaded.items():
        remember(db, ("ticket", SYSTEM, ticket_id), ticket)
    return loaded


def record_events(
    db: Session, actor: Actor, events: Sequence[tuple[int, EventKind, dict[str, Any] | None]], now: datetime
) -> None:
    """Append many field-less events (SLA warnings and breaches) in one INSERT; the
    caller vouches that the tickets exist (e.g. they own claimed timers of them)."""
    # One statement whose rows travel as one JSON array (core.bulk): an executemany cost more
    # in Python, binding each row's columns, than the INSERT itself.
    rows = [(ticket_id, kind.value, data) for ticket_id, kind, data in events]
    same = {"at": now, **_actor_columns(actor)}
    insert_rows(db, cast(Table, TicketEvent.__table__), ("ticket_id", "kind", "data"), rows, same)


def _links(db: Session, ticket_id: int) -> list[TicketLink]:
    """A ticket's links, read once per job step (memo scope) for routing facts and hand-offs."""
    return memoised(db, ("links", ticket_id), lambda: repo.links(db, ticket_id))


def record_event(
    db: Session,
    actor: Actor,
    ticket_id: int,
    kind: EventKind,
    now: datetime,
    data: dict[str, Any] | None = None,
    reason: str | None = None,
) -> Ticket:
    """Append an event that changes no field (SLA warnings and breaches)."""
    ticket = get_ticket(db, actor, ticket_id)
    _event(db, ticket, actor, kind, now, reason=reason, data=data)
    db.flush()
    return ticket


# --- messages --------------------------------------------------------------------------------
def add_message(db: Session, actor: Actor, ticket_id: int, data: MessageCreate, now: datetime) -> Message:
    """A public reply or an internal note. A customer's reply reopens a solved ticket and
    takes a pending one back to open; the first public staff reply stamps first response."""
    _require_write(actor)
    ticket = get_ticket(db, actor, ticket_id, for_update=True)
    if ticket.status == Status.closed.value:
        raise Conflict(f"T-{ticket.id} is closed. Open a follow-up ticket instead.")
    internal = data.kind == MessageKind.internal
    if actor.is_customer and (internal or data.status is not None):
        raise Forbidden("Customers write public replies only.")
    message = Message(
        ticket_id=ticket.id,
        kind=data.kind.value,
        author_kind=_actor_kind(actor),
        author_user_id=None if actor.is_customer else actor.user_id,
        author_customer_id=actor.customer_id if actor.is_customer else None,
        body=data.body,
        created_at=now,
    )
    db.add(message)
    db.flush()
    kind = EventKind.internal_note if internal else EventKind.public_reply
    _event(db, ticket, actor, kind, now, data={"message_id": message.id})
    search.enqueue(db, ticket.id)
    if actor.is_customer:
        if ticket.status in (Status.pending.value, Status.solved.value, Status.on_hold.value):
            _set_status(db, ticket, actor, Status.open, now, "customer replied")
        sla.on_public_reply(db, _facts(db, ticket), by_customer=True, now=now)
    elif not internal:
        sla.on_public_reply(db, _facts(db, ticket), by_customer=False, now=now)
        if ticket.first_responded_at is None:
            ticket.first_responded_at = now
            _event(db, ticket, actor, EventKind.first_response, now, data={"message_id": message.id})
        target = data.status or (Status.open if ticket.status == Status.new.value else None)
        if target is not None:
            _set_status(db, ticket, actor, target, now, "set with reply")
    elif data.status is not None:
        _set_status(db, ticket, actor, data.status, now, "set with note")
    ticket.updated_at = now
    db.flush()
    return message


# --- attachments ------------------------------------------------------------------------------
def add_attachment(
    db: Session,
    actor: Actor,
    ticket_id: int,
    filename: str,
    content_type: str | None,
    data: bytes,
    internal: bool,
    now: datetime,
    store: FileStore,
    allowed_types: list[str],
    max_bytes: int,
) -> Attachment:
    _require_write(actor)
    ticket = get_ticket(db, actor, ticket_id, for_update=True)
    if actor.is_customer and internal:
        raise Forbidden("Customers cannot add internal attachments.")
    safe_name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()[:255] or "attachment"
    ctype = check_upload(safe_name, content_type, data, allowed_types, max_bytes)
    key, digest = store.put(data)
    att = Attachment(
        ticket_id=ticket.id,
        filename=safe_name,
        content_type=ctype,
        size=len(data),
        sha256=digest,
        storage_key=key,
        internal=internal,
        uploaded_by_user_id=actor.user_id,
        created_at=now,
    )
    db.add(att)
    db.flush()
    _event(
        db,
        ticket,
        actor,
        EventKind.attachment_added,
        now,
        data={"attachment_id": att.id, "filename": safe_name, "internal": internal},
    )
    ticket.updated_at = now
    db.flush()
    return att


def list_attachments(db: Session, actor: Actor, ticket_id: int) -> list[Attachment]:
    ticket = get_ticket(db, actor, ticket_id)
    return repo.attachments(db, ticket.id, include_internal=actor.is_staff)


def get_attachment(db: Session, actor: Actor, ticket_id: int, attachment_id: int) -> Attachment:
    for att in list_attachments(db, actor, ticket_id):
        if att.id == attachment_id:
            return att
    raise NotFound(f"Attachment {attachment_id} does not exist on T-{ticket_id}.")


# --- links and merge ----------------------------------------------------------------------------
def add_link(db: Session, actor: Actor, ticket_id: int, data: LinkCreate, now: datetime) -> TicketLink:
    _require_write(actor)
    ticket = get_ticket(db, actor, ticket_id, for_update=True)
    require_staff(actor)
    if ticket.status == Status.closed.value:
        raise Conflict(f"T-{ticket.id} is closed; link from the open follow-up ticket instead.")
    if data.kind == LinkKind.merged_into:
        raise InvalidInput("Use POST /tickets/{id}/merge to merge tickets.", field="kind")
    if data.target_ticket_id is not None:
        if data.target_ticket_id == ticket.id:
            raise InvalidInput("A ticket cannot link to itself.", field="target_ticket_id")
        get_ticket(db, actor, data.target_ticket_id)
    link = TicketLink(
        ticket_id=ticket.id,
        kind=data.kind.value,
        target_ticket_id=data.target_ticket_id,
        external_key=data.external_key,
        url=data.url,
        note=data.note,
        created_by_user_id=actor.user_id,
        created_at=now,
    )
    db.add(link)
    db.flush()
    target = f"T-{data.target_ticket_id}" if data.target_ticket_id else data.external_key
    _event(
        db, ticket, actor, EventKind.link_added, now, data.kind.value, None, target, data={"link_id": link.id}
    )
    if data.kind == LinkKind.part_of_incident:
        _reroute(db, actor, ticket, now)
    ticket.updated_at = now
    db.flush()
    return link


def _reroute(db: Session, actor: Actor, ticket: Ticket, now: datetime) -> None:
    """Run the create-stage skip-tier rules again once a ticket joins an incident (e.g. an
    outage rule sends it to the crisis team)."""
    decision = routing.decide(db, routing_facts_for(db, ticket, has_incident=True), "create")
    reason = "; ".join(decision.reasons) or None
    if decision.team_id is not None and decision.team_id != ticket.team_id:
        _event(
            db, ticket, actor, EventKind.field_changed, now, "team", ticket.team_id, decision.team_id, reason
        )
        ticket.team_id = decision.team_id
    if decision.tier_id is not None and decision.tier_id != ticket.tier_id:
        _change_tier(db, ticket, actor, decision.tier_id, EventKind.field_changed, reason, None, now)


def list_links(db: Session, actor: Actor, ticket_id: int) -> list[TicketLink]:
    ticket = get_ticket(db, actor, ticket_id)
    require_staff(actor)
    return repo.links(db, ticket.id)


def remove_link(db: Session, actor: Actor, ticket_id: int, link_id: int, now: datetime) -> None:
    _require_write(actor)
    ticket = get_ticket(db, actor, ticket_id, for_update=True)
    require_staff(actor)
    link = next((lk for lk in repo.links(db, ticket.id) if lk.id == link_id), None)
    if link is None:
        raise NotFound(f"Link {link_id} does not exist on T-{ticket.id}.")
    if link.kind == LinkKind.merged_into.value:
        raise Conflict("A merge cannot be undone by removing its link.")
    target = f"T-{link.target_ticket_id}" if link.target_ticket_id else link.external_key
    db.delete(link)
    _event(db, ticket, actor, EventKind.link_removed, now, link.kind, target, None)
    ticket.updated_at = now
    db.flush()


def merge(
    db: Session, actor: Actor, ticket_id: int, into_id: int, reason: str | None, now: datetime
) -> Ticket:
    """Close `ticket_id` into `into_id`: the source is closed with a merged_into link, both
    tickets get a `merged` event and the target an internal note pointing back."""
    _require_write(actor)
    source = get_ticket(db, actor, ticket_id, for_update=True)
    require_staff(actor)
    if ticket_id == into_id:
        raise InvalidInput("A ticket cannot be merged into itself.", field="into_ticket_id")
    target = get_ticket(db, actor, into_id, for_update=True)
    if source.status == Status.closed.value:
        raise Conflict(f"T-{source.id} is already closed.")
    if target.status == Status.closed.value:
        raise Conflict(f"T-{target.id} is closed; merge into an open ticket.")
    db.add(
        TicketLink(
            ticket_id=source.id,
            kind=LinkKind.merged_into.value,
            target_ticket_id=target.id,
            note=reason or "",
            created_by_user_id=actor.user_id,
            created_at=now,
        )
    )
    source.merged_into_id = target.id
    repo.bump_counter(db, source.status, source.tier_id, -1)
    repo.bump_counter(db, Status.closed.value, source.tier_id, +1)
    _event(
        db,
        source,
        actor,
        EventKind.merged,
        now,
        "status",
        source.status,
        Status.closed.value,
        reason,
        {"into": target.id},
    )
    source.status = Status.closed.value
    source.closed_at = now
    source.updated_at = now
    note = Message(
        ticket_id=target.id,
        kind=MessageKind.internal.value,
        author_kind=AuthorKind.system.value,
        body=f"T-{source.id} ({source.subject}) was merged into this ticket.",
        created_at=now,
    )
    db.add(note)
    _event(db, target, actor, EventKind.merged, now, data={"from": source.id}, reason=reason)
    search.enqueue(db, target.id)
    target.updated_at = now
    db.flush()
    return target


def impact_facts(db: Session, ticket: Ticket) -> str:
    """One paragraph on who is affected and how much it matters, for hand-offs."""
    lines = [f"Priority {ticket.priority}; channel {ticket.channel}; language {ticket.language}."]
    requester = customers.customer_by_id(db, ticket.requester_id)
    if requester is not None and requester.vip:
        lines.append("The requester is a VIP customer.")
    org = customers.organization_by_id(db, ticket.organization_id) if ticket.organization_id else None
    if org is not None:
        kind = "strategic account" if org.strategic else "account"
        lines.append(f"{org.name}: {kind}, plan {org.plan}, segment {org.segment}.")
    if ticket.reopen_count:
        lines.append(f"Reopened {ticket.reopen_count} time(s).")
    incidents = [
        lk.external_key for lk in _links(db, ticket.id) if lk.kind == LinkKind.part_of_incident.value
    ]
    if incidents:
        lines.append(f"Part of incident(s): {', '.join(k for k in incidents if k)}.")
    return " ".join(lines)


# --- reads ---------------------------------------------------------------------------------------
def list_tickets(
    db: Session, actor: Actor, flt: TicketFilter, sort: str, cursor: str | None, limit: int
) -> tuple[list[Ticket], str | None]:
    require_signed_in(actor)
    # Filtering on a field customers cannot see would reveal it, so they may not filter on it.
    hidden = (flt.tier_id, flt.team_id, flt.assignee_id, flt.tag)
    if actor.is_customer and (any(v is not None for v in hidden) or flt.unassigned):
        raise Forbidden("Customers cannot filter by tier, team, assignee or tag.")
    return repo.list_page(db, actor, flt, sort, cursor, limit)


# The columns a side panel lists a ticket's neighbours by (ticket_lines).
LineColumn = Literal["requester_id", "organization_id"]


class TicketLine(NamedTuple):
    """A ticket as a one-line mention in a side panel: number, subject and status."""

    id: int
    subject: str
    status: str

    @property
    def number(self) -> str:
        return f"T-{self.id}"


def ticket_lines(
    db: Session,
    actor: Actor,
    column: LineColumn,
    value: int,
    statuses: Sequence[str],
    limit: int,
) -> list[TicketLine]:
    """The newest `limit` tickets `actor` may see whose `column` is `value` (one requester's
    or one organization's) with one of `statuses`, as one-line mentions (a side panel shows
    three fields)."""
    require_signed_in(actor)
    rows = repo.lines_of(db, actor, column, value, tuple(statuses), limit)
    return [TicketLine._make(row) for row in rows]


def list_messages(db: Session, actor: Actor, ticket_id: int) -> list[Message]:
    ticket = get_ticket(db, actor, ticket_id)
    return repo.messages(db, ticket.id, include_internal=actor.is_staff)


def list_events(db: Session, actor: Actor, ticket_id: int) -> list[EventOut]:
    ticket = get_ticket(db, actor, ticket_id)
    return _visible_events(actor, repo.events(db, ticket.id))


# What of an event a customer may read: never the routing (tier, team, assignee, tags) and
# never the staff-written reason.
_CUSTOMER_EVENT_DATA = ("status", "priority", "channel", "category")


def _visible_events(actor: Actor, events: Sequence[TicketEvent]) -> list[EventOut]:
    if actor.is_staff:
        return [EventOut.model_validate(e) for e in events]
    visible = []
    for e in events:
        if e.kind in CUSTOMER_VISIBLE_EVENTS or (
            e.kind == EventKind.field_changed and e.field in CUSTOMER_VISIBLE_FIELDS
        ):
            out = EventOut.model_validate(e)
            data = {k: v for k, v in (e.data or {}).items() if k in _CUSTOMER_EVENT_DATA} or None
            visible.append(out.model_copy(update={"data": data, "reason": None, "actor_user_id": None}))
    return visible


def timeline(db: Session, actor: Actor, ticket_id: int) -> Timeline:
    """Messages and events in the order they happened (customers: public ones only)."""
    ticket = get_ticket(db, actor, ticket_id)
    entries = [
        TimelineEntry(type="message", at=m.created_at, message=MessageOut.model_validate(m))
        for m in repo.messages(db, ticket.id, include_internal=actor.is_staff)
    ]
    entries += [
        TimelineEntry(type="event", at=e.at, event=e)
        for e in _visible_events(actor, repo.events(db, ticket.id))
    ]
    entries.sort(key=lambda entry: (entry.at, 0 if entry.type == "event" else 1))
    return Timeline(ticket_id=ticket.id, number=ticket.number, entries=entries)


def count_tickets(db: Session, actor: Actor, flt: TicketFilter, cap: int = 1000) -> int:
    """How many tickets the actor may see match `flt`, counting at most `cap` (badges show
    "999+"): bounded by the same index range as the list, never a full COUNT(*)."""
    require_staff(actor)
    return repo.count_capped(db, actor, flt, cap)


@dataclass(frozen=True)
class DueTarget:
    """A running SLA target of a visible ticket, for "breaching soon"."""

    ticket: Ticket
    timer_id: int
    metric: str
    due_at: datetime
    warned: bool


def _due_cursor(due_at: datetime, timer_id: int) -> str:
    return repo.encode_cursor("due_at", due_at, timer_id)


def due_soon(
    db: Session, actor: Actor, until: datetime, cursor: str | None, limit: int
) -> tuple[list[DueTarget], str | None]:
    """Running, not yet breached SLA targets due by `until` on tickets the actor may see,
    soonest first; one row per target. Walks the partial due-index, O(page)."""
    require_staff(actor)
    after = repo.decode_cursor(cursor, "due_at") if cursor else None
    rows = repo.due_soon_page(db, actor, until, after, limit + 1)
    out = [
        DueTarget(
            ticket=t,
            timer_id=timer.id,
            metric=timer.metric,
            due_at=timer.due_at,
            warned=timer.warned_at is not None,
        )
        for t, timer in rows[:limit]
    ]
    next_cursor = _due_cursor(out[-1].due_at, out[-1].timer_id) if len(rows) > limit else None
    return out, next_cursor


def count_due_soon(db: Session, actor: Actor, until: datetime, cap: int = 1000) -> int:
    require_staff(actor)
    return repo.due_soon_count(db, actor, until, cap)


def status_counts(db: Session) -> list[tuple[str, int, int]]:
    """(status, tier_id or 0, count) from the maintained counters, for /metrics."""
    return repo.counters(db)


# --- bulk import -----------------------------------------------------------------------------------
def import_tickets(db: Session, actor: Actor, req: ImportRequest, now: datetime) -> ImportResult:
    """Import tickets with their messages and history from another helpdesk.

    Admin only. Idempotent per (source, external_id): tickets already imported are skipped.
    Each ticket gets its given events plus one `imported` event, so the log stays complete.
    All or nothing: one bad ticket rejects the whole batch with a message naming it.
    """
    _require_write(actor)
    require_admin(actor)
    existing = repo.existing_external_ids(db, req.source, [t.external_id for t in req.tickets])
    tier_cache: dict[str, int] = {}
    team_cache: dict[str, int] = {}
    user_cache: dict[str, int | None] = {}
    org_cache: dict[str, int] = {}
    created_ids: list[int] = []
    seen: set[str] = set()

    def tier_id_of(key: str, index: int) -> int:
        if key not in tier_cache:
            tier = tiers.tier_by_key(db, key)
            if tier is None:
                raise InvalidInput(
                    f"tickets[{index}]: tier '{key}' does not exist.", field=f"tickets.{index}.tier_key"
                )
            tier_cache[key] = tier.id
        return tier_cache[key]

    def team_id_of(key: str, index: int) -> int:
        if key not in team_cache:
            team = tiers.team_by_key(db, key)
            if team is None:
                raise InvalidInput(
                    f"tickets[{index}]: team '{key}' does not exist.", field=f"tickets.{index}.team_key"
                )
            team_cache[key] = team.id
        return team_cache[key]

    def user_id_of(email: str | None) -> int | None:
        if email is None:
            return None
        if email not in user_cache:
            user = accounts.user_by_email(db, email)
            user_cache[email] = user.id if user else None
        return user_cache[email]

    default = tiers.default_tier(db)
    counts: Counter[tuple[str, int | None]] = Counter()
    for index, item in enumerate(req.tickets):
        if item.external_id in existing or item.external_id in seen:
            continue
        seen.add(item.external_id)
        org_id = None
        if item.organization:
            if item.organization not in org_cache:
                org_cache[item.organization] = customers.find_or_create_organization(db, item.organization).id
            org_id = org_cache[item.organization]
        requester = customers.find_or_create_customer(
            db, item.requester.email, item.requester.name, org_id, item.language
        )
        assignee = user_id_of(item.assignee_email)
        if item.assignee_email and assignee is None:
            raise InvalidInput(f"tickets[{index}]: no agent has the e-mail {item.assignee_email}.")
        tier_id = tier_id_of(item.tier_key, index) if item.tier_key else (default.id if default else None)
        ticket = Ticket(
            subject=item.subject,
            description=item.description,
            status=item.status.value,
            priority=item.priority.value,
            category=item.category,
            channel=item.channel.value,
            language=item.language,
            requester_id=requester.id,
            organization_id=org_id or requester.organization_id,
            tier_id=tier_id,
            team_id=team_id_of(item.team_key, index) if item.team_key else None,
            assignee_id=assignee,
            tags=item.tags,
            source=req.source,
            external_id=item.external_id,
            reopen_count=0,
            created_at=item.created_at,
            updated_at=item.updated_at or item.created_at,
            first_responded_at=item.first_responded_at,
            solved_at=item.solved_at,
            closed_at=item.closed_at,
        )
        db.add(ticket)
        db.flush()
        created_ids.append(ticket.id)
        if item.tags:
            db.execute(insert(TicketTag), [{"ticket_id": ticket.id, "tag": t} for t in item.tags])
        if item.messages:
            db.execute(
                insert(Message),
                [
                    {
                        "ticket_id": ticket.id,
                        "kind": m.kind.value,
                        "author_kind": m.author_kind.value,
                        "author_user_id": user_id_of(m.author_email)
                        if m.author_kind == AuthorKind.agent
                        else None,
                        "author_customer_id": requester.id if m.author_kind == AuthorKind.customer else None,
                        "body": m.body,
                        "created_at": m.created_at,
                    }
                    for m in item.messages
                ],
            )
        history: list[dict[str, Any]] = [
            {
                "ticket_id": ticket.id,
                "at": e.at,
                "actor_kind": AuthorKind.agent.value if e.actor_email else AuthorKind.system.value,
                "actor_user_id": user_id_of(e.actor_email),
                "actor_customer_id": None,
                "kind": e.kind.value,
                "field": e.field,
                "old": e.old,
                "new": e.new,
                "reason": e.reason,
                "data": None,
            }
            for e in item.events
        ]
        if not any(e.kind == EventKind.created for e in item.events):
            history.insert(
                0,
                {
                    "ticket_id": ticket.id,
                    "at": item.created_at,
                    "actor_kind": AuthorKind.system.value,
                    "actor_user_id": None,
                    "actor_customer_id": None,
                    "kind": EventKind.created.value,
                    "field": None,
                    "old": None,
                    "new": None,
                    "reason": f"imported from {req.source}",
                    "data": {"status": item.status.value, "priority": item.priority.value},
                },
            )
        history.append(
            {
                "ticket_id": ticket.id,
                "at": now,
                "actor_kind": AuthorKind.agent.value if actor.user_id else AuthorKind.system.value,
                "actor_user_id": actor.user_id,
                "actor_customer_id": None,
                "kind": EventKind.imported.value,
                "field": None,
                "old": None,
                "new": None,
                "reason": None,
                "data": {"source": req.source, "external_id": item.external_id},
            }
        )
        db.execute(insert(TicketEvent), history)
        search.enqueue(db, ticket.id)
        counts[(ticket.status, ticket.tier_id)] += 1
    repo.bump_counters(db, counts)
    db.flush()
    return ImportResult(
        created=len(created_ids), skipped_existing=len(req.tickets) - len(created_ids), ticket_ids=created_ids
    )


# --- figures for the supervisor dashboard (aggregates only: no ticket leaves here) -----------
def created_per_window(db: Session, bounds: Sequence[datetime]) -> list[int]:
    """Tickets created (`created` events) in each window [bounds[i], bounds[i+1])."""
    return repo.event_counts_in_windows(db, EventKind.created.value, bounds)


def solved_per_window(db: Session, bounds: Sequence[datetime]) -> list[int]:
    """Status changes to solved in each window (a ticket solved twice counts twice)."""
    return repo.event_counts_in_windows(db, EventKind.field_changed.value, bounds, solved_only=True)


def tier_moves_since(
    db: Session, since: datetime, today: datetime
) -> list[tuple[str, str | None, str | None, str | None, int, int]]:
    """Escalations and de-escalations since `since`, grouped by (kind, field, old, new):
    field "tier" moves between tier ids, field "team" between teams of one tier. The last
    two numbers are the moves since `today` and since `since`."""
    kinds = [EventKind.escalated.value, EventKind.de_escalated.value]
    return repo.moves_since(db, kinds, since, today)


def open_assigned_counts(db: Session, user_ids: Sequence[int]) -> dict[int, int]:
    """Open (new, open, pending, on hold) tickets assigned to each of `user_ids`."""
    return repo.open_assigned_counts(db, user_ids, [s.value for s in OPEN_STATUSES])
