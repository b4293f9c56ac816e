"""Swarms: an alternative to the tier ladder.

Instead of handing a ticket up the chain, its owner keeps it and invites colleagues with
the right skills; they talk in an internal swarm thread (never shown to customers: it is
not a ticket message). The ticket's events (swarm_started / swarm_joined / swarm_left /
swarm_closed) plus these tables are enough to compare swarmed and tiered handling (time to
resolve, hand-offs, people touched).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from tierdesk.core.db import Base, JSONType, UTCDateTime


class Outcome(StrEnum):
    solved = "solved"  # the ticket was solved with the swarm open
    closed = "closed"  # the ticket was closed with the swarm open
    abandoned = "abandoned"  # the owner (or a supervisor) stopped swarming


_OUTCOMES = ", ".join(f"'{o.value}'" for o in Outcome)
_OPEN = text("closed_at IS NULL")
_ACTIVE = text("left_at IS NULL")


class Swarm(Base):
    __tablename__ = "swarms"
    __table_args__ = (
        # One open swarm per ticket. The same partial index is what the closing job reads
        # ("every open swarm"), so the job is O(open swarms), not O(all swarms ever).
        Index(
            "ux_swarms_open_ticket",
            "ticket_id",
            unique=True,
            sqlite_where=_OPEN,
            postgresql_where=_OPEN,
        ),
        # The swarm history of a ticket (GET .../swarm shows the latest).
        Index("ix_swarms_ticket_started", "ticket_id", "started_at", "id"),
        CheckConstraint(f"outcome IS NULL OR outcome IN ({_OUTCOMES})", name="outcome"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    # The ticket's assignee when the swarm started: they keep the ticket.
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    started_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Skill keys wanted, e.g. ["refunds", "japanese"].
    skills: Mapped[list[str]] = mapped_column(JSONType, default=list)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(String(10))


class SwarmMember(Base):
    """An invited colleague. `ticket_id` is the swarm's, copied here so the tickets
    visibility rule is one indexed sub-select (members who have not left see the ticket)."""

    __tablename__ = "swarm_members"
    __table_args__ = (
        Index(
            "ix_swarm_members_active_user",
            "user_id",
            "ticket_id",
            sqlite_where=_ACTIVE,
            postgresql_where=_ACTIVE,
        ),
        Index("ix_swarm_members_ticket", "ticket_id"),
    )

    swarm_id: Mapped[int] = mapped_column(ForeignKey("swarms.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    invited_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime())
    joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SwarmPost(Base):
    """The internal swarm thread: owner and members only, never customers."""

    __tablename__ = "swarm_posts"
    __table_args__ = (Index("ix_swarm_posts_swarm", "swarm_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    swarm_id: Mapped[int] = mapped_column(ForeignKey("swarms.id", ondelete="CASCADE"))
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
