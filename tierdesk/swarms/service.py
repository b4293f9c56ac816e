"""Swarming rules. The only entry point other domains may use.

1. The ticket's owner (its assignee; an unassigned ticket is assigned to whoever starts)
   starts a swarm naming the skills wanted. tierdesk suggests colleagues who have those
   skills, are on shift, not offline and under their open-ticket capacity.
2. Invited colleagues see the ticket while they are in the swarm, whatever their tier
   (`tickets.repository.visibility`), never a need-to-know ticket of a team they are not
   in: such an invite is refused. They join, post in the internal swarm thread, leave.
3. The swarm closes with the ticket (`tasks.close_finished_swarms`) or by hand.

Every step appends a ticket event (swarm_started / swarm_joined / swarm_left /
swarm_closed) through the tickets service, in the same transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from tierdesk.accounts import service as accounts
from tierdesk.core import crud
from tierdesk.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from tierdesk.core.security import SYSTEM, Actor, Scope, require_staff
from tierdesk.notifications import service as notifications
from tierdesk.sla.calendar import BusinessCalendar
from tierdesk.swarms import repository as repo
from tierdesk.swarms.models import Outcome, Swarm, SwarmMember, SwarmPost
from tierdesk.swarms.schemas import (
    Measures,
    MemberOut,
    PostOut,
    SuggestionOut,
    SuggestionsOut,
    SwarmOut,
    SwarmStart,
)
from tierdesk.tickets import service as tickets
from tierdesk.tickets.models import EventKind, Status, Ticket
from tierdesk.tickets.schemas import TicketPatch
from tierdesk.tiers import service as tiers
from tierdesk.tiers.models import Presence

NOTIFY_KIND = "swarm_invite"
DEFAULT_MAX_OPEN = 25
_FINISHED = frozenset({Status.solved.value, Status.closed.value})


# --- helpers ---------------------------------------------------------------------------------
def _require_write(actor: Actor) -> None:
    require_staff(actor)
    if not actor.can(Scope.write):
        raise Forbidden("This API token is read-only; create one with the write scope.")


def _ticket(db: Session, actor: Actor, ticket_id: int, for_update: bool = False) -> Ticket:
    require_staff(actor)
    return tickets.get_ticket(db, actor, ticket_id, for_update=for_update)


def _open_swarm(db: Session, ticket: Ticket, for_update: bool = False) -> Swarm:
    swarm = repo.open_swarm(db, ticket.id, for_update=for_update)
    if swarm is None:
        raise Conflict(f"T-{ticket.id} has no open swarm; start one with POST …/swarm.")
    return swarm


def _in_thread(db: Session, swarm: Swarm, actor: Actor) -> bool:
    """The swarm thread belongs to the owner and the members: current ones while it is
    open; once it is closed, everyone who was in it (if they still see the ticket)."""
    if actor.user_id is None:
        return False
    if actor.user_id == swarm.owner_user_id:
        return True
    m = repo.member(db, swarm.id, actor.user_id)
    return m is not None and (m.left_at is None or swarm.closed_at is not None)


def _need_to_know_team(db: Session, ticket: Ticket) -> int | None:
    if ticket.team_id is None:
        return None
    team = tiers.team_by_id(db, ticket.team_id)
    return team.id if team is not None and team.need_to_know else None


def _check_skills(db: Session, skills: list[str]) -> None:
    unknown = sorted(set(skills) - repo.known_skill_keys(db, skills))
    if unknown:
        raise InvalidInput(
            f"Unknown skill(s): {', '.join(unknown)}. Create them first under /api/v1/skills.",
            field="skills",
        )


def _on_shift(db: Session, calendar_id: int | None, now: datetime) -> bool:
    """No calendar = always on shift."""
    if calendar_id is None:
        return True
    cal = tiers.calendar_by_id(db, calendar_id)
    if cal is None:
        return True
    return BusinessCalendar.from_data(cal.timezone, cal.hours or {}, cal.holidays or []).is_open(now)


# --- start, invite, join, leave ------------------------------------------------------------
def start(db: Session, actor: Actor, ticket_id: int, data: SwarmStart, now: datetime) -> SwarmOut:
    """Start the ticket's swarm. The assignee keeps the ticket; an unassigned ticket is
    assigned to the starter. Only the assignee or a supervisor may start one."""
    _require_write(actor)
    ticket = _ticket(db, actor, ticket_id, for_update=True)
    if ticket.status in _FINISHED:
        raise Conflict(f"T-{ticket.id} is {ticket.status}; reopen it before swarming on it.")
    if repo.open_swarm(db, ticket.id) is not None:
        raise Conflict(f"T-{ticket.id} already has an open swarm; invite people into it instead.")
    _check_skills(db, data.skills)
    if ticket.assignee_id is None:
        ticket = tickets.update_ticket(
            db, actor, ticket.id, TicketPatch(assignee_id=actor.user_id, reason="started a swarm"), now
        )
    elif ticket.assignee_id != actor.user_id and not actor.is_supervisor:
        raise Forbidden(
            f"T-{ticket.id} belongs to another agent: only its assignee or a supervisor may start a swarm."
        )
    swarm = Swarm(
        ticket_id=ticket.id,
        owner_user_id=ticket.assignee_id,
        started_by_user_id=actor.user_id,
        skills=data.skills,
        started_at=now,
    )
    db.add(swarm)
    crud.flush_or_conflict(db, f"The swarm of T-{ticket.id}")
    tickets.record_event(
        db,
        actor,
        ticket.id,
        EventKind.swarm_started,
        now,
        data={"swarm_id": swarm.id, "owner_user_id": swarm.owner_user_id, "skills": data.skills},
    )
    if data.note:
        db.add(SwarmPost(swarm_id=swarm.id, author_user_id=actor.user_id, body=data.note, created_at=now))
    if data.invite_user_ids:
        _invite(db, actor, ticket, swarm, data.invite_user_ids, now)
    db.flush()
    return _out(db, actor, ticket, swarm)


def _invite(
    db: Session, actor: Actor, ticket: Ticket, swarm: Swarm, user_ids: list[int], now: datetime
) -> None:
    if actor.user_id != swarm.owner_user_id and not actor.is_supervisor:
        raise Forbidden(f"Only the owner of T-{ticket.id}'s swarm or a supervisor may invite colleagues.")
    secret_team = _need_to_know_team(db, ticket)
    fresh: list[int] = []
    for uid in dict.fromkeys(user_ids):
        invitee = accounts.actor_for_user_id(db, uid)
        if invitee is None or not invitee.is_staff:
            raise InvalidInput(f"User {uid} is not an active staff member.", field="user_ids")
        if uid == swarm.owner_user_id:
            raise InvalidInput(f"User {uid} owns the ticket already.", field="user_ids")
        if secret_team is not None and secret_team in invitee.hidden_team_ids:
            # A swarm overrides tier scope, never need-to-know: no outsider on a fraud case.
            raise InvalidInput(
                f"User {uid} is not in the need-to-know team of T-{ticket.id}; only its members may be invited.",
                field="user_ids",
            )
        m = repo.member(db, swarm.id, uid)
        if m is not None and m.left_at is None:
            continue  # already in: inviting twice changes nothing
        if m is None:
            db.add(
                SwarmMember(
                    swarm_id=swarm.id,
                    user_id=uid,
                    ticket_id=ticket.id,
                    invited_by_user_id=actor.user_id,
                    invited_at=now,
                )
            )
        else:  # invited again after leaving
            m.invited_by_user_id, m.invited_at, m.joined_at, m.left_at = actor.user_id, now, None, None
        fresh.append(uid)
    db.flush()
    skills = ", ".join(swarm.skills or [])
    notifications.notify(
        db,
        fresh,
        NOTIFY_KIND,
        ticket.id,
        f"{actor.name} asks for your help on T-{ticket.id} ({skills}).",
        now,
    )


def invite(db: Session, actor: Actor, ticket_id: int, user_ids: list[int], now: datetime) -> SwarmOut:
    _require_write(actor)
    ticket = _ticket(db, actor, ticket_id)
    swarm = _open_swarm(db, ticket, for_update=True)
    _invite(db, actor, ticket, swarm, user_ids, now)
    return _out(db, actor, ticket, swarm)


def _mark_joined(
    db: Session, actor: Actor, ticket_id: int, swarm_id: int, m: SwarmMember, now: datetime
) -> None:
    """First time an invitee joins (or posts): stamp it and record swarm_joined once."""
    if m.joined_at is not None:
        return
    m.joined_at = now
    tickets.record_event(
        db,
        actor,
        ticket_id,
        EventKind.swarm_joined,
        now,
        data={"swarm_id": swarm_id, "invited_by_user_id": m.invited_by_user_id},
    )


def join(db: Session, actor: Actor, ticket_id: int, now: datetime) -> SwarmOut:
    _require_write(actor)
    ticket = _ticket(db, actor, ticket_id)
    swarm = _open_swarm(db, ticket)
    m = repo.member(db, swarm.id, actor.user_id) if actor.user_id is not None else None
    if m is None or m.left_at is not None:
        raise Forbidden(f"You are not invited to T-{ticket.id}'s swarm; ask its owner to invite you.")
    _mark_joined(db, actor, ticket.id, swarm.id, m, now)
    db.flush()
    return _out(db, actor, ticket, swarm)


def leave(db: Session, actor: Actor, ticket_id: int, now: datetime) -> None:
    """Leave (or decline) the swarm. The member stops seeing the ticket unless their tier,
    team or assignment shows it to them anyway."""
    _require_write(actor)
    ticket = _ticket(db, actor, ticket_id)
    swarm = _open_swarm(db, ticket)
    m = repo.member(db, swarm.id, actor.user_id) if actor.user_id is not None else None
    if m is None or m.left_at is not None:
        raise Conflict(f"You are not in T-{ticket.id}'s swarm.")
    # Recorded while the member still sees the ticket.
    tickets.record_event(
        db,
        actor,
        ticket.id,
        EventKind.swarm_left,
        now,
        data={"swarm_id": swarm.id, "joined": m.joined_at is not None},
    )
    m.left_at = now
    db.flush()


# --- the thread ----------------------------------------------------------------------------
def add_post(db: Session, actor: Actor, ticket_id: int, body: str, now: datetime) -> PostOut:
    _require_write(actor)
    ticket = _ticket(db, actor, ticket_id)
    swarm = _open_swarm(db, ticket)
    if not _in_thread(db, swarm, actor):
        raise Forbidden(f"Only the owner and the members of T-{ticket.id}'s swarm may post in its thread.")
    m = repo.member(db, swarm.id, actor.user_id) if actor.user_id is not None else None
    if m is not None:
        _mark_joined(db, actor, ticket.id, swarm.id, m, now)  # answering is joining
    post = SwarmPost(swarm_id=swarm.id, author_user_id=actor.user_id, body=body, created_at=now)
    db.add(post)
    db.flush()
    return PostOut.model_validate(post)


def get_swarm(db: Session, actor: Actor, ticket_id: int) -> SwarmOut:
    ticket = _ticket(db, actor, ticket_id)
    swarm = repo.latest_swarm(db, ticket.id)
    if swarm is None:
        raise NotFound(f"T-{ticket.id} has never had a swarm.")
    return _out(db, actor, ticket, swarm)


# --- closing -----------------------------------------------------------------------------------
def _close(db: Session, actor: Actor, ticket_id: int, swarm_id: int, outcome: Outcome, at: datetime) -> bool:
    if not repo.close_swarm(db, swarm_id, outcome.value, at):
        return False
    counts = repo.post_counts(db, swarm_id)
    tickets.record_event(
        db,
        actor,
        ticket_id,
        EventKind.swarm_closed,
        at,
        data={
            "swarm_id": swarm_id,
            "outcome": outcome.value,
            "people_touched": len(counts),
            "posts": sum(counts.values()),
            "members": len(repo.members(db, swarm_id)),
        },
    )
    return True


def close(db: Session, actor: Actor, ticket_id: int, outcome: Outcome, now: datetime) -> SwarmOut:
    """The owner or a supervisor ends the swarm (the ticket keeps its status)."""
    _require_write(actor)
    ticket = _ticket(db, actor, ticket_id)
    swarm = _open_swarm(db, ticket, for_update=True)
    if actor.user_id != swarm.owner_user_id and not actor.is_supervisor:
        raise Forbidden(f"Only the owner of T-{ticket.id}'s swarm or a supervisor may close it.")
    _close(db, actor, ticket.id, swarm.id, outcome, now)
    db.refresh(swarm)
    return _out(db, actor, ticket, swarm)


def close_finished(db: Session, now: datetime, limit: int = 500) -> int:
    """Close every open swarm whose ticket is solved or closed, as of the moment the
    ticket was solved (else closed, else now). Returns how many were closed."""
    closed = 0
    for row in repo.open_swarms_of_finished_tickets(db, limit):
        # A closed ticket that had been solved first (it keeps solved_at) was solved.
        if row.solved_at is not None:
            outcome, at = Outcome.solved, row.solved_at
        else:
            outcome, at = Outcome.closed, row.closed_at or now
        if _close(db, SYSTEM, row.ticket_id, row.swarm_id, outcome, at):
            closed += 1
    db.flush()
    return closed


# --- suggestions ---------------------------------------------------------------------------
def suggestions(
    db: Session, actor: Actor, ticket_id: int, skills: list[str], now: datetime
) -> SuggestionsOut:
    """Colleagues to invite: they have the skills (ranked by the sum of their levels), are
    on shift now, not offline and under capacity. Skilled people who are not are listed in
    `left_out` with the reason."""
    ticket = _ticket(db, actor, ticket_id)
    _check_skills(db, skills)
    swarm = repo.open_swarm(db, ticket.id)
    already = {m.user_id for m in repo.members(db, swarm.id) if m.left_at is None} if swarm else set()
    owner = swarm.owner_user_id if swarm else ticket.assignee_id
    secret_team = _need_to_know_team(db, ticket)
    insiders = repo.team_member_ids(db, secret_team) if secret_team is not None else set()

    skip = already | {owner, actor.user_id}
    people = [p for p in repo.skilled_staff(db, skills) if p.user_id not in skip]
    if secret_team is not None:
        # Need-to-know: people outside the team are not even mentioned.
        people = [p for p in people if p.user_id in insiders]
    ids = [p.user_id for p in people]
    profiles = repo.profiles(db, ids)
    load = repo.open_assigned_counts(db, ids)

    ranked: list[tuple[tuple[int, int, int, int], SuggestionOut]] = []
    left_out: dict[str, str] = {}
    for p in people:
        profile = profiles.get(p.user_id)
        presence = profile.presence if profile else Presence.offline.value
        cap = profile.max_open_tickets if profile else DEFAULT_MAX_OPEN
        calendar_id = profile.calendar_id if profile else None
        open_n = load.get(p.user_id, 0)
        if presence == Presence.offline.value:
            left_out[str(p.user_id)] = "offline"
            continue
        if not _on_shift(db, calendar_id, now):
            left_out[str(p.user_id)] = "off shift (their calendar is closed now)"
            continue
        if open_n >= cap:
            left_out[str(p.user_id)] = f"at capacity ({open_n} of {cap} open tickets)"
            continue
        score = sum(p.skills.values())
        reasons = [
            f"{k} level {lvl}" for k, lvl in sorted(p.skills.items(), key=lambda kv: skills.index(kv[0]))
        ]
        missing = [k for k in skills if k not in p.skills]
        if missing:
            reasons.append(f"lacks {', '.join(missing)}")
        reasons.append("on shift" if calendar_id is not None else "on shift (no calendar)")
        reasons.append(presence)
        reasons.append(f"{open_n} of {cap} open tickets")
        out = SuggestionOut(
            user_id=p.user_id,
            name=p.name,
            score=score,
            skills=p.skills,
            open_tickets=open_n,
            max_open_tickets=cap,
            presence=presence,
            reasons=reasons,
        )
        # Most skills covered, highest levels, online before away, most spare capacity.
        key = (-len(p.skills), -score, 0 if presence == Presence.online.value else 1, open_n - cap)
        ranked.append((key, out))
    ranked.sort(key=lambda kv: (kv[0], kv[1].user_id))
    return SuggestionsOut(skills=skills, suggestions=[s for _, s in ranked], left_out=left_out)


# --- output ------------------------------------------------------------------------------------
def _out(db: Session, actor: Actor, ticket: Ticket, swarm: Swarm) -> SwarmOut:
    counts = repo.post_counts(db, swarm.id)
    visible = _in_thread(db, swarm, actor)
    all_posts = repo.posts(db, swarm.id)
    handoffs = sum(
        1 for e in tickets.list_events(db, SYSTEM, ticket.id) if e.kind == EventKind.escalated.value
    )
    resolve = (
        int((ticket.solved_at - ticket.created_at).total_seconds()) if ticket.solved_at is not None else None
    )
    return SwarmOut(
        id=swarm.id,
        ticket_id=swarm.ticket_id,
        owner_user_id=swarm.owner_user_id,
        started_by_user_id=swarm.started_by_user_id,
        skills=list(swarm.skills or []),
        started_at=swarm.started_at,
        closed_at=swarm.closed_at,
        outcome=swarm.outcome,
        members=[
            MemberOut.model_validate(m).model_copy(update={"posts": counts.get(m.user_id, 0)})
            for m in repo.members(db, swarm.id)
        ],
        thread_visible=visible,
        posts=[PostOut.model_validate(p) for p in all_posts] if visible else [],
        measures=Measures(
            people_touched=len(counts),
            posts=sum(counts.values()),
            handoffs=handoffs,
            time_to_resolve_seconds=resolve,
        ),
    )
