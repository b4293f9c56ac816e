"""SLA policies (data supervisors edit) and running SLA timers (stored deadlines).

A timer is "running" while paused_at, met_at and cancelled_at are all NULL. The scheduler
polls two partial indexes that hold only running, unfired rows, so an idle tick costs the
same at 1M open tickets as at 10.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from tierdesk.core.clock import utcnow
from tierdesk.core.db import Base, JSONType, UTCDateTime


class Metric(StrEnum):
    first_response = "first_response"
    next_response = "next_response"
    time_in_tier = "time_in_tier"
    resolution = "resolution"
    periodic_update = "periodic_update"


class SlaPolicy(Base):
    """Chosen for a ticket by the first enabled policy (lowest position) whose non-null
    conditions all match the ticket's tier, priority and organization plan/segment."""

    __tablename__ = "sla_policies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    position: Mapped[int] = mapped_column(Integer, default=100)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    tier_id: Mapped[int | None] = mapped_column(ForeignKey("tiers.id", ondelete="CASCADE"))
    priority: Mapped[str | None] = mapped_column(String(10))
    plan: Mapped[str | None] = mapped_column(String(50))
    segment: Mapped[str | None] = mapped_column(String(20))
    calendar_id: Mapped[int] = mapped_column(ForeignKey("calendars.id", ondelete="RESTRICT"))
    # Ticket statuses that stop the clock (first response never pauses).
    pause_statuses: Mapped[list[str]] = mapped_column(JSONType, default=lambda: ["pending", "on_hold"])
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SlaTarget(Base):
    __tablename__ = "sla_targets"

    policy_id: Mapped[int] = mapped_column(
        ForeignKey("sla_policies.id", ondelete="CASCADE"), primary_key=True
    )
    metric: Mapped[str] = mapped_column(String(20), primary_key=True)
    minutes: Mapped[int] = mapped_column(Integer)
    warn_percent: Mapped[int] = mapped_column(Integer, default=80)


RUNNING = "paused_at IS NULL AND met_at IS NULL AND cancelled_at IS NULL"
BREACHED_OPEN = "fired_at IS NOT NULL AND met_at IS NULL AND cancelled_at IS NULL"


class SlaTimer(Base):
    __tablename__ = "sla_timers"
    __table_args__ = (
        Index("ix_sla_timers_ticket", "ticket_id", "metric"),
        # The scheduler's two polls: only running rows not yet fired/warned are in them.
        Index(
            "ix_sla_timers_due",
            "due_at",
            sqlite_where=text(f"fired_at IS NULL AND {RUNNING}"),
            postgresql_where=text(f"fired_at IS NULL AND {RUNNING}"),
        ),
        # The time boxes among them (each breach escalates, so they get their own, smaller
        # batch): without it that claim walked every due timer of every other metric.
        Index(
            "ix_sla_timers_box_due",
            "due_at",
            sqlite_where=text(f"metric = 'time_in_tier' AND fired_at IS NULL AND {RUNNING}"),
            postgresql_where=text(f"metric = 'time_in_tier' AND fired_at IS NULL AND {RUNNING}"),
        ),
        Index(
            "ix_sla_timers_warn",
            "warn_at",
            sqlite_where=text(f"warned_at IS NULL AND fired_at IS NULL AND {RUNNING}"),
            postgresql_where=text(f"warned_at IS NULL AND fired_at IS NULL AND {RUNNING}"),
        ),
        # The supervisor dashboard's "breached and not yet met" (paused ones included): only
        # fired targets that are still open are in it, so counting them never reads the rest.
        Index(
            "ix_sla_timers_breached",
            "tier_id",
            "metric",
            sqlite_where=text(BREACHED_OPEN),
            postgresql_where=text(BREACHED_OPEN),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    metric: Mapped[str] = mapped_column(String(20))
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("sla_policies.id", ondelete="SET NULL"))
    tier_id: Mapped[int | None] = mapped_column(ForeignKey("tiers.id", ondelete="SET NULL"))
    calendar_id: Mapped[int | None] = mapped_column(ForeignKey("calendars.id", ondelete="SET NULL"))
    target_seconds: Mapped[int] = mapped_column(Integer)
    warn_percent: Mapped[int] = mapped_column(Integer, default=80)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Start of the current running stretch; business seconds used before it are in consumed_seconds.
    resumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    consumed_seconds: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    met_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
