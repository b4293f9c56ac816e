"""All queries of the tiers domain."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tierdesk.tiers.models import (
    AgentProfile,
    AgentSkill,
    AgentTier,
    Calendar,
    EscalationPath,
    Skill,
    Team,
    TeamMember,
    Tier,
)


def tiers(db: Session, enabled_only: bool = False) -> list[Tier]:
    stmt = select(Tier).order_by(Tier.level)
    if enabled_only:
        stmt = stmt.where(Tier.enabled.is_(True))
    return list(db.scalars(stmt))


def tier_by_key(db: Session, key: str) -> Tier | None:
    return db.scalars(select(Tier).where(Tier.key == key)).first()


def default_tier(db: Session) -> Tier | None:
    """The tier flagged default, else the lowest enabled tier that is not self-service."""
    flagged = db.scalars(
        select(Tier).where(Tier.is_default.is_(True), Tier.enabled.is_(True)).limit(1)
    ).first()
    if flagged is not None:
        return flagged
    return db.scalars(
        select(Tier).where(Tier.enabled.is_(True), Tier.self_service.is_(False)).order_by(Tier.level).limit(1)
    ).first()


def clear_default_tier(db: Session, except_id: int) -> None:
    for tier in db.scalars(select(Tier).where(Tier.is_default.is_(True), Tier.id != except_id)):
        tier.is_default = False


def calendars(db: Session) -> list[Calendar]:
    return list(db.scalars(select(Calendar).order_by(Calendar.name)))


def teams(db: Session) -> list[Team]:
    return list(db.scalars(select(Team).order_by(Team.name)))


def team_by_key(db: Session, key: str) -> Team | None:
    return db.scalars(select(Team).where(Team.key == key)).first()


def team_members(db: Session, team_ids: Iterable[int]) -> dict[int, list[int]]:
    ids = list(team_ids)
    out: dict[int, list[int]] = {i: [] for i in ids}
    if not ids:
        return out
    rows = db.execute(
        select(TeamMember.team_id, TeamMember.user_id)
        .where(TeamMember.team_id.in_(ids))
        .order_by(TeamMember.user_id)
    )
    for team_id, user_id in rows:
        out[team_id].append(user_id)
    return out


def need_to_know_team_ids(db: Session) -> set[int]:
    return set(db.scalars(select(Team.id).where(Team.need_to_know.is_(True))))


def skills(db: Session) -> list[Skill]:
    return list(db.scalars(select(Skill).order_by(Skill.key)))


def skills_by_key(db: Session, keys: Iterable[str]) -> dict[str, Skill]:
    keys = list(keys)
    if not keys:
        return {}
    return {s.key: s for s in db.scalars(select(Skill).where(Skill.key.in_(keys)))}


def escalation_paths(db: Session, from_tier_id: int | None = None) -> list[EscalationPath]:
    stmt = select(EscalationPath).order_by(EscalationPath.from_tier_id, EscalationPath.id)
    if from_tier_id is not None:
        stmt = stmt.where(EscalationPath.from_tier_id == from_tier_id)
    return list(db.scalars(stmt))


def agent_tier_ids(db: Session, user_id: int) -> set[int]:
    return set(db.scalars(select(AgentTier.tier_id).where(AgentTier.user_id == user_id)))


def agent_team_ids(db: Session, user_id: int) -> set[int]:
    return set(db.scalars(select(TeamMember.team_id).where(TeamMember.user_id == user_id)))


def agent_skills(db: Session, user_id: int) -> dict[str, int]:
    rows = db.execute(
        select(Skill.key, AgentSkill.level)
        .join(Skill, Skill.id == AgentSkill.skill_id)
        .where(AgentSkill.user_id == user_id)
    )
    return {key: level for key, level in rows}


def agent_profile(db: Session, user_id: int) -> AgentProfile | None:
    return db.get(AgentProfile, user_id)


def replace_agent_tiers(db: Session, user_id: int, tier_ids: Iterable[int]) -> None:
    db.execute(delete(AgentTier).where(AgentTier.user_id == user_id))
    db.add_all(AgentTier(user_id=user_id, tier_id=t) for t in set(tier_ids))


def replace_team_members(db: Session, team_id: int, user_ids: Iterable[int]) -> None:
    db.execute(delete(TeamMember).where(TeamMember.team_id == team_id))
    db.add_all(TeamMember(team_id=team_id, user_id=u) for u in set(user_ids))


def skills_of_agents(db: Session, user_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    ids = list(user_ids)
    out: dict[int, dict[str, int]] = {i: {} for i in ids}
    if not ids:
        return out
    rows = db.execute(
        select(AgentSkill.user_id, Skill.key, AgentSkill.level)
        .join(Skill, Skill.id == AgentSkill.skill_id)
        .where(AgentSkill.user_id.in_(ids))
        .order_by(Skill.key)
    )
    for user_id, key, level in rows:
        out[user_id][key] = level
    return out


def replace_agent_teams(db: Session, user_id: int, team_ids: Iterable[int]) -> None:
    db.execute(delete(TeamMember).where(TeamMember.user_id == user_id))
    db.add_all(TeamMember(user_id=user_id, team_id=t) for t in set(team_ids))


def replace_agent_skills(db: Session, user_id: int, levels: dict[int, int]) -> None:
    db.execute(delete(AgentSkill).where(AgentSkill.user_id == user_id))
    db.add_all(AgentSkill(user_id=user_id, skill_id=s, level=lvl) for s, lvl in levels.items())


def agents_tiers_and_capacity(
    db: Session, user_ids: Iterable[int]
) -> tuple[dict[int, list[int]], dict[int, int]]:
    """Tier ids and max open tickets of many agents in two queries (dashboard agent load)."""
    ids = list(user_ids)
    if not ids:
        return {}, {}
    tiers_of: dict[int, list[int]] = {}
    for uid, tid in db.execute(
        select(AgentTier.user_id, AgentTier.tier_id)
        .where(AgentTier.user_id.in_(ids))
        .order_by(AgentTier.tier_id)
    ):
        tiers_of.setdefault(uid, []).append(tid)
    caps = dict(
        db.execute(
            select(AgentProfile.user_id, AgentProfile.max_open_tickets).where(AgentProfile.user_id.in_(ids))
        )
        .tuples()
        .all()
    )
    return tiers_of, caps
