"""Satisfaction ratings: one current rating per ticket, with what handled it when rated.

The ticket's who-handled-it (tier, team, assignee, channel) is copied onto the rating when
the customer rates, so "CSAT per tier / agent / channel" is an index range over this table,
not a replay of each ticket's history. Every rating (and change of mind) is also a
`satisfaction_rated` ticket event, so the history stays complete.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tierdesk.core.db import Base, UTCDateTime

MIN_SCORE, MAX_SCORE = 1, 5


class SatisfactionRating(Base):
    __tablename__ = "satisfaction_ratings"
    __table_args__ = (
        CheckConstraint(f"score BETWEEN {MIN_SCORE} AND {MAX_SCORE}", name="score"),
        Index("ix_satisfaction_ratings_rated", "rated_at", "id"),
        Index("ix_satisfaction_ratings_tier_rated", "tier_id", "rated_at", "id"),
        Index("ix_satisfaction_ratings_assignee_rated", "assignee_id", "rated_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), unique=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(String(2000), default="")
    tier_id: Mapped[int | None] = mapped_column(ForeignKey("tiers.id", ondelete="SET NULL"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(20))
    rated_at: Mapped[datetime] = mapped_column(UTCDateTime())
