from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from itertools import pairwise
from typing import Annotated, Any
from zoneinfo import available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tierdesk.core.security import Role
from tierdesk.tiers.models import Presence, TeamKind

Key = Annotated[str, Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9_-]+$")]
TeamKey = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_-]+$")]
Name = Annotated[str, Field(min_length=1, max_length=100)]
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    # available_timezones() walks the tz database on disk (~40 ms); the set never changes at run time.
    return frozenset(available_timezones()) | {"UTC"}


def known_timezones() -> list[str]:
    """Every IANA time zone name a calendar accepts, sorted (for pickers)."""
    return sorted(_zones())


def check_timezone(value: str) -> str:
    if value not in _zones():
        raise ValueError(f"'{value}' is not a known time zone (use an IANA name such as Europe/Rome)")
    return value


def check_holiday(day: str) -> str:
    """A dated holiday 'YYYY-MM-DD' or a yearly one '--MM-DD' (ISO 8601 recurring form)."""
    try:
        if day.startswith("--"):
            date.fromisoformat("2000" + day[1:])  # 2000 is a leap year: --02-29 is allowed
        else:
            date.fromisoformat(day)
    except ValueError as exc:
        raise ValueError(f"holiday '{day}' is not a date (YYYY-MM-DD, or --MM-DD for every year)") from exc
    return day


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- calendars -------------------------------------------------------------------------
class CalendarIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    timezone: str = "UTC"
    hours: dict[str, list[tuple[str, str]]] = Field(
        default_factory=dict,
        description='Weekday 0 (Monday) to 6 mapped to opening intervals, e.g. {"0": [["09:00","17:00"]]}.',
    )
    holidays: list[str] = Field(
        default_factory=list, description="ISO dates (YYYY-MM-DD) the calendar is closed."
    )

    _tz = field_validator("timezone")(check_timezone)

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: dict[str, list[tuple[str, str]]]) -> dict[str, list[tuple[str, str]]]:
        for day, intervals in value.items():
            if day not in {str(d) for d in range(7)}:
                raise ValueError(f"weekday '{day}' must be 0 (Monday) to 6 (Sunday)")
            for start, end in intervals:
                if not _TIME.match(start) or not _TIME.match(end):
                    raise ValueError(f"times must be HH:MM, got {start}-{end}")
                if start >= end:
                    raise ValueError(f"opening interval {start}-{end} ends before it starts")
            ordered = sorted(intervals)
            for (s1, e1), (s2, e2) in pairwise(ordered):
                if s2 < e1:
                    raise ValueError(f"weekday {day}: opening intervals {s1}-{e1} and {s2}-{e2} overlap")
        return value

    @field_validator("holidays")
    @classmethod
    def _holidays(cls, value: list[str]) -> list[str]:
        for day in value:
            check_holiday(day)
        return value


class CalendarPatch(CalendarIn):
    name: Name | None = None  # type: ignore[assignment]
    timezone: str | None = None  # type: ignore[assignment]
    hours: dict[str, list[tuple[str, str]]] | None = None  # type: ignore[assignment]
    holidays: list[str] | None = None  # type: ignore[assignment]

    @field_validator("timezone")
    @classmethod
    def _tz_opt(cls, value: str | None) -> str | None:
        return None if value is None else check_timezone(value)

    @field_validator("hours")
    @classmethod
    def _hours_opt(
        cls, value: dict[str, list[tuple[str, str]]] | None
    ) -> dict[str, list[tuple[str, str]]] | None:
        return None if value is None else CalendarIn._hours(value)

    @field_validator("holidays")
    @classmethod
    def _holidays_opt(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else [check_holiday(d) for d in value]


class CalendarOut(Out):
    id: int
    name: str
    timezone: str
    hours: dict[str, Any]
    holidays: list[Any]


# --- tiers -----------------------------------------------------------------------------
class TierIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: Key
    name: Name
    level: int = Field(ge=0, le=20)
    description: str = Field(default="", max_length=1000)
    time_box_minutes: int | None = Field(default=None, ge=1, le=60 * 24 * 30)
    self_service: bool = False
    vendor: bool = False
    enabled: bool = True
    is_default: bool = False
    calendar_id: int | None = Field(
        default=None, description="Hours the time box counts in (else the SLA policy's)."
    )


class TierPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: Key | None = None
    name: Name | None = None
    level: int | None = Field(default=None, ge=0, le=20)
    description: str | None = Field(default=None, max_length=1000)
    time_box_minutes: int | None = Field(default=None, ge=1, le=60 * 24 * 30)
    self_service: bool | None = None
    vendor: bool | None = None
    enabled: bool | None = None
    is_default: bool | None = None
    calendar_id: int | None = None


class TierOut(Out):
    id: int
    key: str
    name: str
    level: int
    description: str
    time_box_minutes: int | None
    self_service: bool
    vendor: bool
    enabled: bool
    is_default: bool
    calendar_id: int | None


class EscalationPathIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    from_tier_id: int
    to_tier_id: int | None = None
    to_team_id: int | None = None
    allowed_roles: list[Role] = Field(
        default_factory=lambda: [Role.agent, Role.specialist, Role.supervisor, Role.admin]
    )


class EscalationPathOut(Out):
    id: int
    from_tier_id: int
    to_tier_id: int | None
    to_team_id: int | None
    allowed_roles: list[str]


# --- teams, skills -----------------------------------------------------------------------
class TeamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: TeamKey
    name: Name
    kind: TeamKind = TeamKind.general
    need_to_know: bool = False
    lead_id: int | None = None
    calendar_id: int | None = None
    email: str | None = Field(default=None, max_length=320)
    description: str = Field(default="", max_length=1000)


class TeamPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: TeamKey | None = None
    name: Name | None = None
    kind: TeamKind | None = None
    need_to_know: bool | None = None
    lead_id: int | None = None
    calendar_id: int | None = None
    email: str | None = Field(default=None, max_length=320)
    description: str | None = Field(default=None, max_length=1000)


class TeamOut(Out):
    id: int
    key: str
    name: str
    kind: str
    need_to_know: bool
    lead_id: int | None
    calendar_id: int | None
    email: str | None
    description: str
    member_ids: list[int] = []


class SkillIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: TeamKey
    name: Name


class SkillOut(Out):
    id: int
    key: str
    name: str


# --- agent profile ----------------------------------------------------------------------
class AgentWorkIn(BaseModel):
    """The working side of a staff user; every field optional on update."""

    model_config = ConfigDict(extra="forbid")
    tier_ids: list[int] | None = None
    team_ids: list[int] | None = None
    skills: dict[str, int] | None = Field(default=None, description="skill key -> level 1..5")
    languages: list[Annotated[str, Field(min_length=2, max_length=10)]] | None = None
    max_open_tickets: int | None = Field(default=None, ge=0, le=10_000)
    max_concurrent_chats: int | None = Field(default=None, ge=0, le=100)
    calendar_id: int | None = None
    presence: Presence | None = None

    @field_validator("skills")
    @classmethod
    def _levels(cls, value: dict[str, int] | None) -> dict[str, int] | None:
        for key, level in (value or {}).items():
            if not 1 <= level <= 5:
                raise ValueError(f"skill '{key}' level must be 1 to 5")
        return value


class AgentWorkOut(BaseModel):
    tier_ids: list[int]
    team_ids: list[int]
    skills: dict[str, int]
    languages: list[str]
    max_open_tickets: int
    max_concurrent_chats: int
    calendar_id: int | None
    presence: str
