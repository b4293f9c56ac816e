"""The agent workspace's view models: what the staff pages show, assembled from the other
domains' services only (tickets, escalation, sla, swarms, customers, tiers, accounts).

It owns no table and changes nothing itself: every action on the pages calls the owning
domain's service, which appends the ticket events. Every list starts from the tickets
visibility rule (through `tickets.service`), so need-to-know tickets never show up, and
every list is one keyset page; no page loads all tickets.

Counts: tier queues read the maintained (status, tier) counters; the other badges (my
tickets, team queues, swarms, breaching soon) are index-range counts stopped at
`COUNT_CAP`, shown as "999+" beyond it, so a badge never costs a COUNT(*) over the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from tierdesk.accounts import service as accounts
from tierdesk.core.errors import InvalidInput, NotFound
from tierdesk.core.memo import memoised
from tierdesk.core.security import Actor, require_staff
from tierdesk.customers import service as customers
from tierdesk.customers.models import Customer, Organization
from tierdesk.escalation import service as escalation
from tierdesk.escalation.schemas import HandoffDraft
from tierdesk.sla import service as sla
from tierdesk.sla.schemas import TimerOut
from tierdesk.swarms import service as swarms
from tierdesk.swarms.schemas import SwarmOut
from tierdesk.tickets import service as tickets
from tierdesk.tickets.models import LinkKind, Message, MessageKind, Priority, Status, Ticket, TicketLink
from tierdesk.tickets.schemas import EventOut
from tierdesk.tickets.service import DueTarget, TicketFilter, TicketLine
from tierdesk.tiers import service as tiers
from tierdesk.tiers.schemas import TeamOut
from tierdesk.tiers.service import TierView

OPEN_STATUSES = [s.value for s in tickets.OPEN_STATUSES]
ALL_STATUSES = [s.value for s in Status]
FINISHED = [Status.solved.value, Status.closed.value]
PRIORITIES = [p.value for p in Priority]
SORTS = {"-created_at": "newest first", "created_at": "oldest first", "-updated_at": "recently updated"}
# Badges count at most this many (then "99+"): the cost of a capped count grows with the
# cap (each counted row is checked against the visibility rule), so it stays small.
COUNT_CAP = 100
PAGE_SIZE = 25
# "Breaching soon": running SLA targets due within this window (or already overdue and not
# yet fired by the scheduler).
BREACH_WINDOW = timedelta(hours=2)
PANEL_LIMIT = 5  # tickets per list in the requester / organization panel


# --- navigation ----------------------------------------------------------------------------
@dataclass(frozen=True)
class NavItem:
    view: str  # mine | tier | team | swarms | breaching
    key: str  # tier key / team key, "" otherwise
    name: str  # tier key ("L1") / team name
    href: str
    count: int
    capped: bool

    @property
    def badge(self) -> str:
        return f"{COUNT_CAP - 1}+" if self.capped else str(self.count)


def _capped(n: int) -> tuple[int, bool]:
    return n, n >= COUNT_CAP


def queue_tiers(db: Session, actor: Actor) -> list[TierView]:
    """Tiers with a human queue the actor works: their own, or all for supervisors."""
    ladder = [t for t in tiers.ladder(db) if t.enabled and not t.self_service]
    if actor.is_supervisor:
        return ladder
    return [t for t in ladder if t.id in actor.tier_ids]


def _teams(db: Session, actor: Actor) -> list[TeamOut]:
    return memoised(db, ("workspace_teams", actor.user_id), lambda: tiers.list_teams(db, actor))


def queue_teams(db: Session, actor: Actor) -> list[TeamOut]:
    """Teams whose queue the actor may open: their own, or (supervisors) every team that is
    not a need-to-know team they are outside of."""
    teams = _teams(db, actor)
    if actor.is_supervisor:
        return [t for t in teams if t.id not in actor.hidden_team_ids]
    return [t for t in teams if t.id in actor.team_ids]


def nav(db: Session, actor: Actor, now: datetime) -> list[NavItem]:
    require_staff(actor)
    items: list[NavItem] = []
    mine = tickets.count_tickets(
        db, actor, TicketFilter(status=OPEN_STATUSES, assignee_id=actor.user_id), COUNT_CAP
    )
    items.append(NavItem("mine", "", "", "/desk/mine", *_capped(mine)))
    per_tier: dict[int, int] = {}
    for status, tier_id, count in tickets.status_counts(db):
        if status in OPEN_STATUSES:
            per_tier[tier_id] = per_tier.get(tier_id, 0) + count
    for tier in queue_tiers(db, actor):
        items.append(
            NavItem("tier", tier.key, tier.key, f"/desk/tier/{tier.key}", per_tier.get(tier.id, 0), False)
        )
    for team in queue_teams(db, actor):
        n = tickets.count_tickets(db, actor, TicketFilter(status=OPEN_STATUSES, team_id=team.id), COUNT_CAP)
        items.append(NavItem("team", team.key, team.name, f"/desk/team/{team.key}", *_capped(n)))
    swarming = tickets.count_tickets(db, actor, TicketFilter(swarm_member_id=actor.user_id), COUNT_CAP)
    items.append(NavItem("swarms", "", "", "/desk/swarms", *_capped(swarming)))
    due = tickets.count_due_soon(db, actor, now + BREACH_WINDOW, COUNT_CAP)
    items.append(NavItem("breaching", "", "", "/desk/breaching", *_capped(due)))
    return items


# --- queues --------------------------------------------------------------------------------
@dataclass
class QueueQuery:
    """Filters and sort of a list page, as read from the query string."""

    status: list[str] = field(default_factory=lambda: list(OPEN_STATUSES))
    priority: str | None = None
    team: str | None = None  # team key
    assignee: str | None = None  # "me", "none" or a user id
    tag: str | None = None
    sort: str = "-created_at"
    cursor: str | None = None

    def params(self, **override: Any) -> dict[str, Any]:
        """The query string of this list (for the next-page link and the filter form)."""
        values: dict[str, Any] = {
            "status": self.status,
            "priority": self.priority,
            "team": self.team,
            "assignee": self.assignee,
            "tag": self.tag,
            "sort": self.sort,
        } | override
        return {k: v for k, v in values.items() if v not in (None, "", [])}


@dataclass(frozen=True)
class Row:
    ticket: Ticket
    tier: str
    team: str
    assignee: str
    due: DueTarget | None = None


@dataclass
class Queue:
    view: str
    key: str
    name: str
    query: QueueQuery
    rows: list[Row]
    next_cursor: str | None
    teams: list[TeamOut]
    staff: list[tuple[int, str]]


def _check_query(q: QueueQuery) -> None:
    bad = [s for s in q.status if s not in ALL_STATUSES]
    if bad:
        raise InvalidInput(
            f"Unknown status '{bad[0][:20]}'. Pick one of: {', '.join(ALL_STATUSES)}.", field="status"
        )
    if q.priority is not None and q.priority not in PRIORITIES:
        raise InvalidInput(f"Unknown priority. Pick one of: {', '.join(PRIORITIES)}.", field="priority")
    if q.sort not in SORTS:
        raise InvalidInput(f"Unknown sort. Pick one of: {', '.join(SORTS)}.", field="sort")
    if q.assignee not in (None, "me", "none") and not q.assignee.isdigit():
        raise InvalidInput("Assignee is 'me', 'none' or an agent's id.", field="assignee")


def _rows(db: Session, ticket_rows: list[Ticket], dues: list[DueTarget] | None = None) -> list[Row]:
    tier_keys = {t.id: t.key for t in tiers.ladder(db)}
    team_ids = {t.team_id for t in ticket_rows if t.team_id is not None}
    team_names = {tid: team.name for tid in team_ids if (team := tiers.team_by_id(db, tid)) is not None}
    people = accounts.names_of(db, (t.assignee_id for t in ticket_rows))
    out = []
    for i, t in enumerate(ticket_rows):
        out.append(
            Row(
                ticket=t,
                tier=tier_keys.get(t.tier_id, "") if t.tier_id else "",
                team=team_names.get(t.team_id, "") if t.team_id else "",
                assignee=people.get(t.assignee_id, "") if t.assignee_id else "",
                due=dues[i] if dues is not None else None,
            )
        )
    return out


def queue(db: Session, actor: Actor, view: str, key: str, q: QueueQuery, now: datetime) -> Queue:
    """One page of a view. Unknown tiers/teams (or ones the actor has no queue for) are 404."""
    require_staff(actor)
    _check_query(q)
    teams = queue_teams(db, actor)
    all_teams = [t for t in _teams(db, actor) if t.id not in actor.hidden_team_ids]
    flt = TicketFilter(status=q.status or None, priority=q.priority, tag=q.tag)
    name = ""
    if q.team:
        team = next((t for t in all_teams if t.key == q.team), None)
        if team is None:
            raise InvalidInput(f"There is no team '{q.team[:40]}'.", field="team")
        flt.team_id = team.id
    if q.assignee == "me":
        flt.assignee_id = actor.user_id
    elif q.assignee == "none":
        flt.unassigned = True
    elif q.assignee:
        flt.assignee_id = int(q.assignee)
    if view == "mine":
        flt.assignee_id, flt.unassigned = actor.user_id, False
    elif view == "tier":
        tier = next((t for t in queue_tiers(db, actor) if t.key == key), None)
        if tier is None:
            raise NotFound(f"There is no {key[:20]} queue for you.")
        flt.tier_id, name = tier.id, tier.key
    elif view == "team":
        team = next((t for t in teams if t.key == key), None)
        if team is None:
            raise NotFound(f"There is no {key[:40]} team queue for you.")
        flt.team_id, name = team.id, team.name
    elif view == "swarms":
        flt.swarm_member_id = actor.user_id
    elif view == "breaching":
        dues, next_cursor = tickets.due_soon(db, actor, now + BREACH_WINDOW, q.cursor, PAGE_SIZE)
        return Queue(
            view, key, name, q, _rows(db, [d.ticket for d in dues], dues), next_cursor, all_teams, []
        )
    else:
        raise NotFound("There is no such view.")
    rows, next_cursor = tickets.list_tickets(db, actor, flt, q.sort, q.cursor, PAGE_SIZE)
    return Queue(view, key, name, q, _rows(db, rows), next_cursor, all_teams, accounts.staff_names(db, actor))


# --- the ticket page -----------------------------------------------------------------------
@dataclass(frozen=True)
class LinkView:
    kind: str
    label: str  # T-1042, ENG-231, INC-7
    href: str | None
    note: str


@dataclass
class Profile:
    """The requester and organization panel (the 360° view), bounded lists."""

    requester: Customer | None
    organization: Organization | None
    dedicated_team: str
    requester_open: list[TicketLine]
    requester_recent: list[TicketLine]
    organization_open: list[TicketLine]


@dataclass
class TicketPage:
    ticket: Ticket
    tier: TierView | None
    team: str
    assignee: str
    conversation: list[Message]
    notes: list[Message]
    events: list[EventOut]
    timers: list[TimerOut]
    profile: Profile
    links: list[LinkView]
    swarm: SwarmOut | None
    draft: HandoffDraft | None
    ladder: list[TierView]
    teams: list[TeamOut]
    staff: list[tuple[int, str]]
    names: dict[int, str]
    tier_keys: dict[int, str]
    team_names: dict[int, str]


def sla_timers(db: Session, actor: Actor, ticket_id: int, now: datetime) -> list[TimerOut]:
    """The ticket's running and finished SLA targets, remaining time in business seconds
    computed by the SLA engine on each target's calendar."""
    ticket = tickets.get_ticket(db, actor, ticket_id)
    require_staff(actor)
    return sla.ticket_sla(db, ticket.id, now).timers


def _profile(db: Session, actor: Actor, ticket: Ticket) -> Profile:
    requester = customers.customer_by_id(db, ticket.requester_id)
    org = customers.organization_by_id(db, ticket.organization_id) if ticket.organization_id else None
    dedicated = ""
    if org is not None and org.dedicated_team_id is not None:
        team = tiers.team_by_id(db, org.dedicated_team_id)
        dedicated = team.name if team else ""

    def others(column: tickets.LineColumn, value: int, statuses: Sequence[str]) -> list[TicketLine]:
        rows = tickets.ticket_lines(db, actor, column, value, statuses, PANEL_LIMIT + 1)
        return [t for t in rows if t.id != ticket.id][:PANEL_LIMIT]

    return Profile(
        requester=requester,
        organization=org,
        dedicated_team=dedicated,
        requester_open=others("requester_id", ticket.requester_id, OPEN_STATUSES),
        # Recent = finished ones: the open ones are listed just above.
        requester_recent=others("requester_id", ticket.requester_id, FINISHED),
        organization_open=others("organization_id", org.id, OPEN_STATUSES) if org else [],
    )


def _links(links: list[TicketLink]) -> list[LinkView]:
    out = []
    for lk in links:
        if lk.target_ticket_id is not None:
            out.append(
                LinkView(lk.kind, f"T-{lk.target_ticket_id}", f"/tickets/T-{lk.target_ticket_id}", lk.note)
            )
        else:
            out.append(LinkView(lk.kind, lk.external_key or "", lk.url, lk.note))
    return out


def ticket_page(db: Session, actor: Actor, ref: str, now: datetime) -> TicketPage:
    require_staff(actor)
    ticket = tickets.get_ticket(db, actor, tickets.parse_ref(ref))
    messages = tickets.list_messages(db, actor, ticket.id)
    events = tickets.list_events(db, actor, ticket.id)
    swarm: SwarmOut | None
    try:
        swarm = swarms.get_swarm(db, actor, ticket.id)
    except NotFound:
        swarm = None
    every_tier = tiers.ladder(db)
    ladder = [t for t in every_tier if t.enabled]
    teams = [t for t in _teams(db, actor) if t.id not in actor.hidden_team_ids]
    people: set[int | None] = {ticket.assignee_id}
    people |= {m.author_user_id for m in messages}
    people |= {e.actor_user_id for e in events}
    for e in events:
        if e.field == "assignee":
            people |= {int(v) for v in (e.old, e.new) if v and v.isdigit()}
    if swarm is not None:
        people |= {m.user_id for m in swarm.members} | {p.author_user_id for p in swarm.posts}
        people.add(swarm.owner_user_id)
    finished = ticket.status in (Status.solved.value, Status.closed.value)
    tier = next((t for t in every_tier if t.id == ticket.tier_id), None)
    names = accounts.names_of(db, people)
    team_names = {t.id: t.name for t in teams}
    return TicketPage(
        ticket=ticket,
        tier=tier,
        team=team_names.get(ticket.team_id, "") if ticket.team_id else "",
        assignee=names.get(ticket.assignee_id, "") if ticket.assignee_id else "",
        conversation=[m for m in messages if m.kind == MessageKind.public.value],
        notes=[m for m in messages if m.kind == MessageKind.internal.value],
        events=events,
        timers=sla.ticket_sla(db, ticket.id, now).timers,
        profile=_profile(db, actor, ticket),
        links=_links(tickets.list_links(db, actor, ticket.id)),
        swarm=swarm,
        draft=None if finished else escalation.draft(db, actor, ticket.id),
        ladder=ladder,
        teams=teams,
        staff=accounts.staff_names(db, actor),
        names=names,
        tier_keys={t.id: t.key for t in every_tier},
        team_names=team_names,
    )


def engineering_links(page: TicketPage) -> list[LinkView]:
    return [lk for lk in page.links if lk.kind == LinkKind.engineering_bug.value]
