from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tierdesk.sla.models import Metric
from tierdesk.tickets.models import Priority, Status

PAUSABLE = (Status.pending, Status.on_hold)


class TargetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    metric: Metric
    minutes: int = Field(ge=1, le=60 * 24 * 365, description="Business minutes on the policy's calendar.")
    warn_percent: int = Field(
        default=80, ge=1, le=100, description="Warn when this share of the target is used (100 = never)."
    )


def _unique_metrics(targets: list[TargetIn]) -> list[TargetIn]:
    seen = [t.metric for t in targets]
    dupes = sorted({m.value for m in seen if seen.count(m) > 1})
    if dupes:
        raise ValueError(f"each metric once per policy; repeated: {', '.join(dupes)}")
    return targets


class PolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=100)]
    position: int = Field(default=100, ge=0, le=100_000, description="Lower is tried first.")
    enabled: bool = True
    tier_id: int | None = Field(default=None, description="Only tickets in this tier (null: any tier).")
    priority: Priority | None = None
    plan: Annotated[str, Field(min_length=1, max_length=50)] | None = None
    segment: Annotated[str, Field(min_length=1, max_length=20)] | None = None
    calendar_id: int = Field(description="Business hours the targets count in. Required.")
    pause_statuses: list[Status] = Field(default_factory=lambda: list(PAUSABLE))
    targets: list[TargetIn] = Field(min_length=1)

    _targets = field_validator("targets")(_unique_metrics)

    @field_validator("pause_statuses")
    @classmethod
    def _pausable(cls, value: list[Status]) -> list[Status]:
        bad = [s.value for s in value if s not in PAUSABLE]
        if bad:
            raise ValueError(f"only pending and on_hold can pause the clock, not {', '.join(bad)}")
        return value


class PolicyPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    position: int | None = Field(default=None, ge=0, le=100_000)
    enabled: bool | None = None
    tier_id: int | None = None
    priority: Priority | None = None
    plan: Annotated[str, Field(min_length=1, max_length=50)] | None = None
    segment: Annotated[str, Field(min_length=1, max_length=20)] | None = None
    calendar_id: int | None = None
    pause_statuses: list[Status] | None = None
    targets: list[TargetIn] | None = Field(default=None, min_length=1)

    @field_validator("targets")
    @classmethod
    def _targets(cls, value: list[TargetIn] | None) -> list[TargetIn] | None:
        return None if value is None else _unique_metrics(value)

    @field_validator("pause_statuses")
    @classmethod
    def _pausable(cls, value: list[Status] | None) -> list[Status] | None:
        return None if value is None else PolicyIn._pausable(value)


class TargetOut(BaseModel):
    metric: str
    minutes: int
    warn_percent: int


class PolicyOut(BaseModel):
    id: int
    name: str
    position: int
    enabled: bool
    tier_id: int | None
    priority: str | None
    plan: str | None
    segment: str | None
    calendar_id: int
    pause_statuses: list[str]
    targets: list[TargetOut]


class TimerOut(BaseModel):
    metric: str
    state: str = Field(description="running, paused, warned, breached, met, met_late or cancelled")
    policy_id: int | None
    tier_id: int | None
    target_minutes: float
    started_at: datetime
    due_at: datetime | None
    warn_at: datetime | None
    remaining_business_seconds: int = Field(description="Business seconds left (negative once breached).")
    paused_at: datetime | None
    warned_at: datetime | None
    breached_at: datetime | None
    met_at: datetime | None


class TicketSla(BaseModel):
    ticket_id: int
    timers: list[TimerOut]
