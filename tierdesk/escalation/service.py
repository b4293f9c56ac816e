"""Escalation: moving a ticket up (with a hand-off) or down (with a note) the tier ladder.

Who may move a ticket from which tier to which is data (`escalation_paths`); supervisors
and administrators may override. Every move is one `escalated` / `de_escalated` event whose
data holds the hand-off, so a ticket's escalation path can be read back from its events.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from tierdesk.core.errors import Forbidden, InvalidInput
from tierdesk.core.security import SYSTEM, Actor, require_staff
from tierdesk.escalation.schemas import DeEscalateIn, EscalateIn, EscalationPath, EscalationStep, HandoffDraft
from tierdesk.routing import service as routing
from tierdesk.tickets import service as tickets
from tierdesk.tickets.models import EventKind, MessageKind, Ticket
from tierdesk.tiers import service as tiers
from tierdesk.tiers.models import Tier


def next_step(db: Session, tier_id: int | None) -> tuple[int | None, int | None]:
    """Where "one step up" goes from `tier_id`: the lowest configured path to a higher tier,
    else a path straight to a team (small shop: L1 -> engineering), else the next enabled tier
    of the ladder. (None, None) at the top."""
    ladder = [t for t in tiers.ladder(db) if t.enabled]
    current = next((t for t in ladder if t.id == tier_id), None)
    level = current.level if current else -1
    paths = tiers.paths_from(db, tier_id) if tier_id is not None else []
    by_id = {t.id: t for t in ladder}
    upward = sorted(
        (by_id[p.to_tier_id] for p in paths if p.to_tier_id in by_id and by_id[p.to_tier_id].level > level),
        key=lambda t: t.level,
    )
    if upward:
        return upward[0].id, None
    to_team = next((p.to_team_id for p in paths if p.to_team_id is not None), None)
    if to_team is not None:
        return tier_id, to_team
    higher = [t for t in ladder if t.level > level and not t.self_service]
    return (higher[0].id, None) if higher else (None, None)


def _one_step_up(db: Session, ticket: Ticket) -> tuple[int | None, int | None, list[str]]:
    """Escalation-stage skip-tier rules first (e.g. a small shop: L1 -> engineering), then
    the configured paths / the ladder."""
    decision = routing.decide(db, tickets.routing_facts_for(db, ticket), "escalate")
    if decision.tier_id is not None or decision.team_id is not None:
        tier_id = decision.tier_id if decision.tier_id is not None else ticket.tier_id
        return tier_id, decision.team_id, list(decision.reasons)
    tier_id, team_id = next_step(db, ticket.tier_id)
    return tier_id, team_id, []


def _level(tier: Tier | None) -> int:
    return tier.level if tier else -1


def _check_path(
    db: Session, actor: Actor, ticket: Ticket, to_tier_id: int | None, to_team_id: int | None
) -> None:
    if actor.is_supervisor:
        return
    paths = tiers.paths_from(db, ticket.tier_id) if ticket.tier_id is not None else []
    if not paths:
        return  # no paths configured from this tier: the plain ladder applies
    role = actor.role.value if actor.role else ""
    for p in paths:
        target_ok = (to_tier_id == p.to_tier_id and p.to_tier_id is not None) or (
            p.to_team_id is not None and to_team_id == p.to_team_id
        )
        if target_ok and role in (p.allowed_roles or []):
            return
    raise Forbidden(
        "No escalation path lets your role move this ticket there. Ask a supervisor, or pick a configured path "
        "(GET /api/v1/escalation-paths)."
    )


def escalate(db: Session, actor: Actor, ticket_id: int, data: EscalateIn, now: datetime) -> Ticket:
    """Move a ticket up with a reason and a hand-off summary."""
    require_staff(actor)
    ticket = tickets.get_ticket(db, actor, ticket_id)
    to_tier_id, to_team_id = data.to_tier_id, data.to_team_id
    rules: list[str] = []
    if to_tier_id is None and to_team_id is None:
        to_tier_id, to_team_id, rules = _one_step_up(db, ticket)
        if to_tier_id is None and to_team_id is None:
            raise InvalidInput(
                f"T-{ticket.id} is at the top of the ladder; there is no tier above it.", field="to_tier_id"
            )
    if to_tier_id is None:
        to_tier_id = ticket.tier_id
    current = tiers.tier_by_id(db, ticket.tier_id) if ticket.tier_id else None
    target = tiers.tier_by_id(db, to_tier_id) if to_tier_id else None
    if to_tier_id is not None and target is None:
        raise InvalidInput(f"Tier {to_tier_id} does not exist.", field="to_tier_id")
    if target is not None and not target.enabled:
        raise InvalidInput(f"Tier {target.key} is switched off in the ladder.", field="to_tier_id")
    if _level(target) < _level(current):
        raise InvalidInput("That tier is below the current one: de-escalate instead.", field="to_tier_id")
    if _level(target) == _level(current) and (to_team_id is None or to_team_id == ticket.team_id):
        raise InvalidInput("Escalate to a higher tier or to a team.", field="to_tier_id")
    _check_path(db, actor, ticket, to_tier_id if to_tier_id != ticket.tier_id else None, to_team_id)
    return tickets.move_ticket(
        db,
        actor,
        ticket.id,
        tier_id=to_tier_id,
        team_id=to_team_id if to_team_id is not None else ticket.team_id,
        kind=EventKind.escalated,
        reason=data.reason,
        data={"handoff": data.handoff.model_dump(), "automatic": False, "rules": rules or None},
        now=now,
        unassign=not data.keep_assignee,
    )


def de_escalate(db: Session, actor: Actor, ticket_id: int, data: DeEscalateIn, now: datetime) -> Ticket:
    """Send a ticket back down with a note for the lower tier."""
    require_staff(actor)
    ticket = tickets.get_ticket(db, actor, ticket_id)
    current = tiers.tier_by_id(db, ticket.tier_id) if ticket.tier_id else None
    target = tiers.tier_by_id(db, data.to_tier_id)
    if target is None:
        raise InvalidInput(f"Tier {data.to_tier_id} does not exist.", field="to_tier_id")
    if _level(target) >= _level(current):
        raise InvalidInput("De-escalation goes to a lower tier; to go up, escalate.", field="to_tier_id")
    if target.self_service:
        raise InvalidInput(
            f"{target.key} is self-service; a human ticket cannot go back there.", field="to_tier_id"
        )
    return tickets.move_ticket(
        db,
        actor,
        ticket.id,
        tier_id=target.id,
        team_id=data.to_team_id,
        kind=EventKind.de_escalated,
        reason=data.note,
        data={"note": data.note, "automatic": False},
        now=now,
        unassign=True,
    )


def auto_escalate(db: Session, ticket_id: int, reason: str, now: datetime) -> Ticket | None:
    """Escalate one step because a time box ran out (called by the scheduler as the system).
    Returns None when there is nowhere higher to go."""
    ticket = tickets.get_ticket(db, SYSTEM, ticket_id)
    to_tier_id, to_team_id, rules = _one_step_up(db, ticket)
    if to_tier_id is None and to_team_id is None:
        return None
    handoff = draft(db, SYSTEM, ticket.id)
    return tickets.move_ticket(
        db,
        SYSTEM,
        ticket.id,
        tier_id=to_tier_id,
        team_id=to_team_id if to_team_id is not None else ticket.team_id,
        kind=EventKind.escalated,
        reason=reason,
        data={
            "handoff": {"problem": handoff.problem, "tried": handoff.tried, "impact": handoff.impact},
            "automatic": True,
            "rules": rules or None,
        },
        now=now,
        unassign=True,
    )


def draft(db: Session, actor: Actor, ticket_id: int) -> HandoffDraft:
    """A hand-off prefilled from the timeline: the problem as the customer put it, what
    staff already said and noted, and what the ticket says about impact."""
    require_staff(actor)
    ticket = tickets.get_ticket(db, actor, ticket_id)
    description = (ticket.description or "").strip()
    problem = ticket.subject + (f"\n\n{description[:1500]}" if description else "")
    staff_lines = []
    for m in tickets.list_messages(db, actor, ticket.id):
        if m.author_kind != "agent":
            continue
        label = "Note" if m.kind == MessageKind.internal.value else "Replied"
        staff_lines.append(f"- {label} {m.created_at:%Y-%m-%d %H:%M}: {' '.join(m.body.split())[:300]}")
    tried = "\n".join(staff_lines[-10:]) or "Nothing recorded yet."
    facts = tickets.impact_facts(db, ticket)
    next_tier_id, next_team_id = next_step(db, ticket.tier_id)
    return HandoffDraft(
        problem=problem, tried=tried, impact=facts, next_tier_id=next_tier_id, next_team_id=next_team_id
    )


def path(db: Session, actor: Actor, ticket_id: int) -> EscalationPath:
    """The ticket's escalation path, read back from its events."""
    require_staff(actor)
    steps = []
    for e in tickets.list_events(db, actor, ticket_id):
        if e.kind not in (EventKind.escalated.value, EventKind.de_escalated.value):
            continue
        data = e.data or {}
        steps.append(
            EscalationStep(
                at=e.at,
                kind=e.kind,
                by_user_id=e.actor_user_id,
                automatic=bool(data.get("automatic")),
                from_tier_id=data.get("from_tier_id"),
                to_tier_id=data.get("to_tier_id"),
                from_team_id=data.get("from_team_id"),
                to_team_id=data.get("to_team_id"),
                reason=e.reason,
                handoff=data.get("handoff"),
            )
        )
    return EscalationPath(ticket_id=ticket_id, steps=steps)
