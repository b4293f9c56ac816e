"""The tier ladder, escalation paths, teams, skills, agent profiles and working calendars."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tierdesk.core.clock import utcnow
from tierdesk.core.db import Base, JSONType, UTCDateTime


class TeamKind(StrEnum):
    general = "general"
    billing = "billing"
    compliance = "compliance"
    fraud = "fraud"
    crisis = "crisis"
    enterprise = "enterprise"
    vendor = "vendor"
    engineering = "engineering"


class Presence(StrEnum):
    online = "online"
    away = "away"
    offline = "offline"


class Calendar(Base):
    """Working hours. `hours` maps weekday 0-6 (Monday=0) to [["09:00","17:00"], ...]."""

    __tablename__ = "calendars"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    hours: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    holidays: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Tier(Base):
    __tablename__ = "tiers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[int] = mapped_column(Integer, unique=True)
    description: Mapped[str] = mapped_column(String(1000), default="")
    # Minutes a ticket may stay in this tier before it must move up; None = no limit.
    time_box_minutes: Mapped[int | None] = mapped_column(Integer)
    self_service: Mapped[bool] = mapped_column(Boolean, default=False)
    vendor: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Where new human-handled tickets land.
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    # Working hours that count for this tier's time box (else the SLA policy's calendar).
    calendar_id: Mapped[int | None] = mapped_column(ForeignKey("calendars.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20), default=TeamKind.general.value)
    # Need-to-know teams (fraud, compliance): their tickets are invisible to non-members.
    need_to_know: Mapped[bool] = mapped_column(Boolean, default=False)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    calendar_id: Mapped[int | None] = mapped_column(ForeignKey("calendars.id", ondelete="SET NULL"))
    email: Mapped[str | None] = mapped_column(String(320))
    description: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class EscalationPath(Base):
    """Who may move a ticket from one tier to another tier or straight to a team."""

    __tablename__ = "escalation_paths"
    __table_args__ = (
        UniqueConstraint("from_tier_id", "to_tier_id", "to_team_id", name="uq_escalation_paths_route"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    from_tier_id: Mapped[int] = mapped_column(ForeignKey("tiers.id", ondelete="CASCADE"))
    to_tier_id: Mapped[int | None] = mapped_column(ForeignKey("tiers.id", ondelete="CASCADE"))
    to_team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    allowed_roles: Mapped[list[str]] = mapped_column(JSONType, default=list)


class Skill(Base):
    __tablename__ = "skills"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))


class AgentProfile(Base):
    """The working side of a staff user: capacity, languages, calendar, presence."""

    __tablename__ = "agent_profiles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    max_open_tickets: Mapped[int] = mapped_column(Integer, default=25)
    max_concurrent_chats: Mapped[int] = mapped_column(Integer, default=3)
    languages: Mapped[list[str]] = mapped_column(JSONType, default=list)
    calendar_id: Mapped[int | None] = mapped_column(ForeignKey("calendars.id", ondelete="SET NULL"))
    presence: Mapped[str] = mapped_column(String(10), default=Presence.offline.value)


class AgentTier(Base):
    __tablename__ = "agent_tiers"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    tier_id: Mapped[int] = mapped_column(
        ForeignKey("tiers.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class TeamMember(Base):
    __tablename__ = "team_members"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class AgentSkill(Base):
    __tablename__ = "agent_skills"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    skill_id: Mapped[int] = mapped_column(
        ForeignKey("skills.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    level: Mapped[int] = mapped_column(Integer, default=3)
