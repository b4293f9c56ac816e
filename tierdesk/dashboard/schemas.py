"""Shapes of the supervisor dashboard (GET /api/v1/dashboard and the page /desk/dashboard)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class TierTickets(BaseModel):
    """Unsolved tickets of one tier by status, from the maintained counters (live)."""

    tier_id: int | None = Field(description="None: tickets without a tier")
    tier: str = Field(description="Tier key (L1), '' without a tier")
    new: int = 0
    open: int = 0
    pending: int = 0
    on_hold: int = 0
    total: int = 0
    href: str | None = Field(default=None, description="The tier's workspace queue, if it has one")


class SlaRow(BaseModel):
    """SLA targets of one tier and metric: breached and not yet met, and running out within
    the hour (both cached, as of `as_of`); overdue and not yet fired (live)."""

    tier_id: int | None
    tier: str
    metric: str
    breached: int = Field(0, description="Fired and not yet met (paused ones included)")
    overdue: int = Field(0, description="Past due but not yet fired by the scheduler (it is late); live")
    due_next_hour: int = Field(
        0, description="Running targets that run out within the hour after `as_of` (cached)"
    )


class MoveRow(BaseModel):
    """Escalations or de-escalations along one path (cached)."""

    kind: str = Field(description="escalated | de_escalated")
    from_tier: str
    to_tier: str
    from_team: str = ""
    to_team: str = ""
    today: int = Field(description="Since midnight in the viewer's time zone")
    last_7_days: int


class DayRow(BaseModel):
    day: date = Field(description="A day in the viewer's time zone")
    created: int
    solved: int


class AgentLoad(BaseModel):
    user_id: int
    name: str
    tiers: list[str]
    open: int = Field(description="Unsolved tickets assigned (new, open, pending, on hold)")
    capacity: int = Field(description="The agent's max open tickets")
    over_capacity: bool = Field(description="More open tickets than the capacity")
    at_capacity: bool = Field(description="At or over the capacity")
    links: dict[str, str] = Field(
        default_factory=dict, description="Tier key -> that queue filtered to the agent"
    )


class Csat(BaseModel):
    since: datetime
    ratings: int
    satisfied: int = Field(description="Ratings of 4 or 5")
    rate: float | None = Field(description="satisfied / ratings")
    average: float | None


class Deflection(BaseModel):
    week: str = Field(description="ISO week (UTC), e.g. 2026-W10")
    sessions: int = Field(description="Answer-bot sessions of the week that have an outcome")
    deflected: int
    rate: float | None
    pending: int = Field(description="Sessions of the last 7 days still within their 24-hour window")
    href: str = "/kb/manage/analytics"


class DashboardOut(BaseModel):
    generated_at: datetime = Field(description="When the live figures were read")
    as_of: datetime = Field(description="When the cached figures were computed (at most 60 s earlier)")
    cache_seconds: int
    timezone: str = Field(description="The viewer's time zone: days and 'today' are counted in it")
    tickets: list[TierTickets]
    sla: list[SlaRow]
    moves: list[MoveRow]
    days: list[DayRow] = Field(description="The last 14 days, oldest first, today last")
    agents: list[AgentLoad]
    csat: Csat
    deflection: Deflection
