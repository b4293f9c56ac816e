"""Tier ladder, teams, skills, calendars and agents' working profiles.

Reads are open to staff; every change needs a supervisor or an administrator. Services
flush, never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from tierdesk.core import crud
from tierdesk.core.errors import Conflict, InvalidInput
from tierdesk.core.memo import memoised, shared
from tierdesk.core.security import Actor, require_staff, require_supervisor
from tierdesk.tiers import repository as repo
from tierdesk.tiers.models import AgentProfile, Calendar, EscalationPath, Skill, Team, Tier
from tierdesk.tiers.schemas import (
    AgentWorkIn,
    AgentWorkOut,
    CalendarIn,
    CalendarPatch,
    EscalationPathIn,
    SkillIn,
    TeamIn,
    TeamOut,
    TeamPatch,
    TierIn,
    TierPatch,
)


# --- tiers -------------------------------------------------------------------------------
def list_tiers(db: Session, actor: Actor) -> list[Tier]:
    require_staff(actor)
    return repo.tiers(db)


def get_tier(db: Session, actor: Actor, tier_id: int) -> Tier:
    require_staff(actor)
    return crud.get_or_404(db, Tier, tier_id, "Tier")


def create_tier(db: Session, actor: Actor, data: TierIn) -> Tier:
    require_supervisor(actor)
    tier = crud.create_from(db, Tier, data, f"Tier {data.key}")
    if tier.is_default:
        repo.clear_default_tier(db, tier.id)
    return tier


def update_tier(db: Session, actor: Actor, tier_id: int, patch: TierPatch) -> Tier:
    tier = get_tier(db, actor, tier_id)
    require_supervisor(actor)
    crud.apply_patch(tier, patch)
    if tier.is_default:
        repo.clear_default_tier(db, tier.id)
    crud.flush_or_conflict(db, f"Tier {tier.key}")
    return tier


def delete_tier(db: Session, actor: Actor, tier_id: int) -> None:
    tier = get_tier(db, actor, tier_id)
    require_supervisor(actor)
    crud.delete_or_conflict(db, tier, f"Tier {tier.key}")


def tier_exists(db: Session, tier_id: int) -> bool:
    return tier_by_id(db, tier_id) is not None


def tier_by_id(db: Session, tier_id: int) -> Tier | None:
    return memoised(db, ("tier", tier_id), lambda: db.get(Tier, tier_id))


def tier_by_key(db: Session, key: str) -> Tier | None:
    return repo.tier_by_key(db, key)


def default_tier(db: Session) -> Tier | None:
    return repo.default_tier(db)


def default_tier_id(db: Session) -> int | None:
    """The tier new tickets start in, per process and configuration generation."""

    def load() -> int | None:
        tier = repo.default_tier(db)
        return tier.id if tier else None

    return shared(db, "default_tier_id", load)


def tier_key_of(db: Session, tier_id: int) -> str | None:
    """A tier's key (what routing conditions name), per process and configuration generation."""

    def load() -> str | None:
        tier = db.get(Tier, tier_id)
        return tier.key if tier else None

    return shared(db, ("tier_key", tier_id), load)


def all_tiers(db: Session) -> list[Tier]:
    """Every tier, lowest level first, without an authorization check (for system jobs)."""
    return memoised(db, "tiers", lambda: repo.tiers(db))


@dataclass(frozen=True)
class TierView:
    """What pages show of a tier: an immutable copy, kept per process (see `ladder`)."""

    id: int
    key: str
    name: str
    level: int
    self_service: bool
    vendor: bool
    enabled: bool


def ladder(db: Session) -> tuple[TierView, ...]:
    """Every tier, lowest level first, as immutable views kept per process and configuration
    generation (core/memo.py: shared): pages read the ladder on every request."""

    def load() -> tuple[TierView, ...]:
        return tuple(
            TierView(t.id, t.key, t.name, t.level, t.self_service, t.vendor, t.enabled)
            for t in repo.tiers(db)
        )

    return shared(db, "tier_ladder", load)


# --- escalation paths ---------------------------------------------------------------------
def list_paths(db: Session, actor: Actor) -> list[EscalationPath]:
    require_staff(actor)
    return repo.escalation_paths(db)


def paths_from(db: Session, tier_id: int) -> list[EscalationPath]:
    return memoised(db, ("paths_from", tier_id), lambda: repo.escalation_paths(db, from_tier_id=tier_id))


def create_path(db: Session, actor: Actor, data: EscalationPathIn) -> EscalationPath:
    require_supervisor(actor)
    if (data.to_tier_id is None) == (data.to_team_id is None):
        raise InvalidInput(
            "An escalation path goes to exactly one place: set to_tier_id or to_team_id, not both."
        )
    source = db.get(Tier, data.from_tier_id)
    if source is None:
        raise InvalidInput(f"Tier {data.from_tier_id} does not exist.", field="from_tier_id")
    if data.to_tier_id is not None:
        target = db.get(Tier, data.to_tier_id)
        if target is None:
            raise InvalidInput(f"Tier {data.to_tier_id} does not exist.", field="to_tier_id")
        # Paths only go up the ladder, so they can never form a cycle; going down is
        # de-escalation, which needs no path.
        if target.level <= source.level:
            raise InvalidInput(
                f"An escalation path goes up the ladder: {target.key} (level {target.level}) is not above "
                f"{source.key} (level {source.level}). De-escalation needs no path.",
                field="to_tier_id",
            )
    # The unique constraint cannot catch a repeat: one of to_tier_id / to_team_id is always
    # NULL, and NULLs never collide in a UNIQUE index (SQLite and PostgreSQL alike).
    for existing in repo.escalation_paths(db, from_tier_id=data.from_tier_id):
        if (existing.to_tier_id, existing.to_team_id) == (data.to_tier_id, data.to_team_id):
            raise Conflict(
                "This escalation path already exists; remove it first to change who may use it.",
                field="to_tier_id" if data.to_tier_id is not None else "to_team_id",
            )
    path = EscalationPath(
        from_tier_id=data.from_tier_id,
        to_tier_id=data.to_tier_id,
        to_team_id=data.to_team_id,
        allowed_roles=[r.value for r in data.allowed_roles],
    )
    db.add(path)
    crud.flush_or_conflict(db, "Escalation path")
    return path


def delete_path(db: Session, actor: Actor, path_id: int) -> None:
    require_supervisor(actor)
    crud.delete_or_conflict(
        db, crud.get_or_404(db, EscalationPath, path_id, "Escalation path"), "Escalation path"
    )


# --- calendars -----------------------------------------------------------------------------
def list_calendars(db: Session, actor: Actor) -> list[Calendar]:
    require_staff(actor)
    return repo.calendars(db)


def create_calendar(db: Session, actor: Actor, data: CalendarIn) -> Calendar:
    require_supervisor(actor)
    return crud.create_from(db, Calendar, data, f"Calendar {data.name}")


def update_calendar(db: Session, actor: Actor, calendar_id: int, patch: CalendarPatch) -> Calendar:
    require_supervisor(actor)
    cal = crud.get_or_404(db, Calendar, calendar_id, "Calendar")
    crud.apply_patch(cal, patch)
    crud.flush_or_conflict(db, f"Calendar {cal.name}")
    return cal


def get_calendar(db: Session, actor: Actor, calendar_id: int) -> Calendar:
    require_staff(actor)
    return crud.get_or_404(db, Calendar, calendar_id, "Calendar")


def calendar_by_id(db: Session, calendar_id: int) -> Calendar | None:
    return memoised(db, ("calendar", calendar_id), lambda: db.get(Calendar, calendar_id))


def calendar_exists(db: Session, calendar_id: int) -> bool:
    return db.get(Calendar, calendar_id) is not None


def delete_calendar(db: Session, actor: Actor, calendar_id: int) -> None:
    require_supervisor(actor)
    crud.delete_or_conflict(db, crud.get_or_404(db, Calendar, calendar_id, "Calendar"), "Calendar")


# --- teams -----------------------------------------------------------------------------------
def _team_out(team: Team, members: list[int]) -> TeamOut:
    out = TeamOut.model_validate(team)
    out.member_ids = members
    return out


def list_teams(db: Session, actor: Actor) -> list[TeamOut]:
    """Every team with its members, by name. Loaded once per process and configuration
    generation (teams and team_members are configuration); each caller gets its own copies,
    so the kept snapshot never changes."""
    require_staff(actor)

    def load() -> tuple[TeamOut, ...]:
        teams = repo.teams(db)
        members = repo.team_members(db, [t.id for t in teams])
        return tuple(_team_out(t, members[t.id]) for t in teams)

    return [t.model_copy(update={"member_ids": list(t.member_ids)}) for t in shared(db, "team_list", load)]


def get_team(db: Session, actor: Actor, team_id: int) -> TeamOut:
    require_staff(actor)
    team = crud.get_or_404(db, Team, team_id, "Team")
    return _team_out(team, repo.team_members(db, [team.id])[team.id])


def create_team(db: Session, actor: Actor, data: TeamIn) -> TeamOut:
    require_supervisor(actor)
    team = crud.create_from(db, Team, data, f"Team {data.key}")
    return _team_out(team, [])


def update_team(db: Session, actor: Actor, team_id: int, patch: TeamPatch) -> TeamOut:
    require_supervisor(actor)
    team = crud.get_or_404(db, Team, team_id, "Team")
    crud.apply_patch(team, patch)
    crud.flush_or_conflict(db, f"Team {team.key}")
    return _team_out(team, repo.team_members(db, [team.id])[team.id])


def delete_team(db: Session, actor: Actor, team_id: int) -> None:
    require_supervisor(actor)
    crud.delete_or_conflict(db, crud.get_or_404(db, Team, team_id, "Team"), "Team")


def set_team_members(db: Session, actor: Actor, team_id: int, user_ids: list[int]) -> TeamOut:
    """Make exactly these users the team's members. The caller has checked that every id
    is a staff user (tiers knows nothing of accounts)."""
    require_supervisor(actor)
    team = crud.get_or_404(db, Team, team_id, "Team")
    repo.replace_team_members(db, team.id, user_ids)
    crud.flush_or_conflict(db, f"Team {team.key}")
    return _team_out(team, repo.team_members(db, [team.id])[team.id])


def team_by_id(db: Session, team_id: int) -> Team | None:
    return memoised(db, ("team", team_id), lambda: db.get(Team, team_id))


def team_by_key(db: Session, key: str) -> Team | None:
    return repo.team_by_key(db, key)


# --- skills ---------------------------------------------------------------------------------
def list_skills(db: Session, actor: Actor) -> list[Skill]:
    require_staff(actor)
    return repo.skills(db)


def create_skill(db: Session, actor: Actor, data: SkillIn) -> Skill:
    require_supervisor(actor)
    return crud.create_from(db, Skill, data, f"Skill {data.key}")


def delete_skill(db: Session, actor: Actor, skill_id: int) -> None:
    require_supervisor(actor)
    crud.delete_or_conflict(db, crud.get_or_404(db, Skill, skill_id, "Skill"), "Skill")


def skills_of_agents(db: Session, actor: Actor, user_ids: list[int]) -> dict[int, dict[str, int]]:
    """Skill key -> level for each of these users, in one query."""
    require_staff(actor)
    return repo.skills_of_agents(db, user_ids)


def set_agent_skills(db: Session, actor: Actor, user_id: int, levels: dict[str, int]) -> dict[str, int]:
    """Replace an agent's skills (key -> level 1..5). Supervisors manage skills; the caller
    has checked that `user_id` is a staff user."""
    require_supervisor(actor)
    set_agent_work(db, user_id, AgentWorkIn(skills=levels))
    return repo.agent_skills(db, user_id)


# --- agents' working side ------------------------------------------------------------------
@dataclass(frozen=True)
class Membership:
    tier_ids: frozenset[int]
    team_ids: frozenset[int]
    hidden_team_ids: frozenset[int]


def membership(db: Session, user_id: int | None, staff: bool) -> Membership:
    """What an actor's ticket visibility is computed from (see tickets.repository.readable)."""
    need_to_know = repo.need_to_know_team_ids(db)
    if user_id is None or not staff:
        return Membership(frozenset(), frozenset(), frozenset(need_to_know))
    team_ids = repo.agent_team_ids(db, user_id)
    return Membership(
        tier_ids=frozenset(repo.agent_tier_ids(db, user_id)),
        team_ids=frozenset(team_ids),
        hidden_team_ids=frozenset(need_to_know - team_ids),
    )


def agent_work(db: Session, user_id: int) -> AgentWorkOut:
    profile = repo.agent_profile(db, user_id) or AgentProfile(
        user_id=user_id, max_open_tickets=25, max_concurrent_chats=3, languages=[], presence="offline"
    )
    return AgentWorkOut(
        tier_ids=sorted(repo.agent_tier_ids(db, user_id)),
        team_ids=sorted(repo.agent_team_ids(db, user_id)),
        skills=repo.agent_skills(db, user_id),
        languages=list(profile.languages or []),
        max_open_tickets=profile.max_open_tickets,
        max_concurrent_chats=profile.max_concurrent_chats,
        calendar_id=profile.calendar_id,
        presence=profile.presence,
    )


def set_agent_work(db: Session, user_id: int, data: AgentWorkIn) -> AgentWorkOut:
    """Replace the parts of an agent's working profile the caller sent. The caller (accounts
    service) has already checked that the actor may edit this user."""
    profile = repo.agent_profile(db, user_id)
    if profile is None:
        profile = AgentProfile(user_id=user_id, max_open_tickets=25, max_concurrent_chats=3, languages=[])
        db.add(profile)
    for name in ("languages", "max_open_tickets", "max_concurrent_chats", "calendar_id", "presence"):
        if name in data.model_fields_set:
            value = getattr(data, name)
            if value is not None or name == "calendar_id":
                setattr(profile, name, value)
    if data.tier_ids is not None:
        missing = [t for t in data.tier_ids if db.get(Tier, t) is None]
        if missing:
            raise InvalidInput(f"Tier(s) {missing} do not exist.")
        repo.replace_agent_tiers(db, user_id, data.tier_ids)
    if data.team_ids is not None:
        missing = [t for t in data.team_ids if db.get(Team, t) is None]
        if missing:
            raise InvalidInput(f"Team(s) {missing} do not exist.")
        repo.replace_agent_teams(db, user_id, data.team_ids)
    if data.skills is not None:
        known = repo.skills_by_key(db, data.skills)
        unknown = sorted(set(data.skills) - set(known))
        if unknown:
            raise InvalidInput(
                f"Unknown skill(s): {', '.join(unknown)}. Create them first under /api/v1/skills."
            )
        repo.replace_agent_skills(db, user_id, {known[k].id: lvl for k, lvl in data.skills.items()})
    crud.flush_or_conflict(db, "Agent profile")
    return agent_work(db, user_id)


DEFAULT_MAX_OPEN_TICKETS = 25  # an agent without a working profile (as agent_work shows it)


def agents_tiers_and_capacity(
    db: Session, user_ids: Sequence[int]
) -> tuple[dict[int, list[int]], dict[int, int]]:
    """({user: tier ids}, {user: max open tickets}) for many agents at once; users without a
    profile get DEFAULT_MAX_OPEN_TICKETS."""
    tiers_of, caps = repo.agents_tiers_and_capacity(db, user_ids)
    return tiers_of, {uid: caps.get(uid, DEFAULT_MAX_OPEN_TICKETS) for uid in user_ids}
