"""All queries of the swarms domain.

Who may see a swarm is decided by the service (the ticket's visibility, then owner or
member); these functions only read and write rows. Tickets, users and agents' working
profiles are read here, never written: every ticket change goes through the tickets service.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from tierdesk.accounts.models import User
from tierdesk.core.security import STAFF_ROLES
from tierdesk.swarms.models import Swarm, SwarmMember, SwarmPost
from tierdesk.tickets.models import Status, Ticket
from tierdesk.tiers.models import AgentProfile, AgentSkill, Skill, TeamMember

_OPEN_TICKET = (Status.new.value, Status.open.value, Status.pending.value, Status.on_hold.value)
_FINISHED_TICKET = (Status.solved.value, Status.closed.value)


# --- swarms ----------------------------------------------------------------------------------
def open_swarm(db: Session, ticket_id: int, for_update: bool = False) -> Swarm | None:
    """The ticket's open swarm (one partial-unique-index lookup)."""
    stmt = select(Swarm).where(Swarm.ticket_id == ticket_id, Swarm.closed_at.is_(None))
    if for_update:
        stmt = stmt.with_for_update()
    return db.scalars(stmt).first()


def latest_swarm(db: Session, ticket_id: int) -> Swarm | None:
    stmt = (
        select(Swarm)
        .where(Swarm.ticket_id == ticket_id)
        .order_by(Swarm.started_at.desc(), Swarm.id.desc())
        .limit(1)
    )
    return db.scalars(stmt).first()


@dataclass(frozen=True)
class Finished:
    swarm_id: int
    ticket_id: int
    status: str
    solved_at: datetime | None
    closed_at: datetime | None


def open_swarms_of_finished_tickets(db: Session, limit: int) -> list[Finished]:
    """Open swarms whose ticket is solved or closed. Reads only open swarms (the partial
    index ux_swarms_open_ticket), each joined to its ticket by primary key."""
    stmt = (
        select(Swarm.id, Ticket.id, Ticket.status, Ticket.solved_at, Ticket.closed_at)
        .join(Ticket, Ticket.id == Swarm.ticket_id)
        .where(Swarm.closed_at.is_(None), Ticket.status.in_(_FINISHED_TICKET))
        .order_by(Swarm.id)
        .limit(limit)
    )
    return [Finished(*row) for row in db.execute(stmt)]


def close_swarm(db: Session, swarm_id: int, outcome: str, closed_at: datetime) -> bool:
    """Close it if still open (a conditional UPDATE, so two closers never both close it);
    every member still in it leaves at the same moment (they stop seeing the ticket
    through the swarm)."""
    done = db.execute(
        update(Swarm)
        .where(Swarm.id == swarm_id, Swarm.closed_at.is_(None))
        .values(closed_at=closed_at, outcome=outcome)
        .returning(Swarm.id)
    ).first()
    if done is None:
        return False
    db.execute(
        update(SwarmMember)
        .where(SwarmMember.swarm_id == swarm_id, SwarmMember.left_at.is_(None))
        .values(left_at=closed_at)
    )
    return True


# --- members and posts ---------------------------------------------------------------------
def members(db: Session, swarm_id: int) -> list[SwarmMember]:
    stmt = select(SwarmMember).where(SwarmMember.swarm_id == swarm_id)
    return list(db.scalars(stmt.order_by(SwarmMember.invited_at, SwarmMember.user_id)))


def member(db: Session, swarm_id: int, user_id: int) -> SwarmMember | None:
    return db.get(SwarmMember, (swarm_id, user_id))


def posts(db: Session, swarm_id: int) -> list[SwarmPost]:
    return list(db.scalars(select(SwarmPost).where(SwarmPost.swarm_id == swarm_id).order_by(SwarmPost.id)))


def post_counts(db: Session, swarm_id: int) -> dict[int, int]:
    """Posts per author: the contributions."""
    rows = db.execute(
        select(SwarmPost.author_user_id, func.count())
        .where(SwarmPost.swarm_id == swarm_id, SwarmPost.author_user_id.is_not(None))
        .group_by(SwarmPost.author_user_id)
    )
    return {int(uid): int(n) for uid, n in rows if uid is not None}


# --- people ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Person:
    user_id: int
    name: str
    skills: dict[str, int]


def skilled_staff(db: Session, skill_keys: Iterable[str]) -> list[Person]:
    """Active staff with at least one of the skills, with their levels in them."""
    keys = list(skill_keys)
    if not keys:
        return []
    rows = db.execute(
        select(User.id, User.name, Skill.key, AgentSkill.level)
        .join(AgentSkill, AgentSkill.user_id == User.id)
        .join(Skill, Skill.id == AgentSkill.skill_id)
        .where(
            Skill.key.in_(keys),
            User.is_active.is_(True),
            User.role.in_([r.value for r in STAFF_ROLES]),
        )
        .order_by(User.id)
    )
    people: dict[int, Person] = {}
    for uid, name, key, level in rows:
        people.setdefault(uid, Person(uid, name, {})).skills[key] = level
    return list(people.values())


def known_skill_keys(db: Session, keys: Iterable[str]) -> set[str]:
    keys = list(keys)
    if not keys:
        return set()
    return set(db.scalars(select(Skill.key).where(Skill.key.in_(keys))))


def profiles(db: Session, user_ids: Iterable[int]) -> dict[int, AgentProfile]:
    ids = list(user_ids)
    if not ids:
        return {}
    return {p.user_id: p for p in db.scalars(select(AgentProfile).where(AgentProfile.user_id.in_(ids)))}


def open_assigned_counts(db: Session, user_ids: Iterable[int]) -> dict[int, int]:
    """Open tickets assigned to each user: ranges of ix_tickets_assignee_status_created."""
    ids = list(user_ids)
    if not ids:
        return {}
    rows = db.execute(
        select(Ticket.assignee_id, func.count())
        .where(Ticket.assignee_id.in_(ids), Ticket.status.in_(_OPEN_TICKET))
        .group_by(Ticket.assignee_id)
    )
    return {int(uid): int(n) for uid, n in rows if uid is not None}


def team_member_ids(db: Session, team_id: int) -> set[int]:
    return set(db.scalars(select(TeamMember.user_id).where(TeamMember.team_id == team_id)))
