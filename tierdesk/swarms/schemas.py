"""Swarms at the edge: every check that needs no database happens here."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from tierdesk.swarms.models import Outcome

_SKILL = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}$")


def _split(value: Any) -> Any:
    """Accept ["refunds", "japanese"] or "refunds,japanese" (the query-string form)."""
    if isinstance(value, str):
        return [part for part in value.split(",")]
    return value


def check_skills(values: list[str]) -> list[str]:
    out: list[str] = []
    for raw in values:
        key = raw.strip().lower()
        if not _SKILL.match(key):
            raise ValueError(f"'{raw[:40]}' is not a skill key (letters, digits, _ . -; e.g. refunds)")
        if key not in out:
            out.append(key)
    if not out:
        raise ValueError("name at least one skill, e.g. refunds")
    return out


SkillKeys = Annotated[list[str], BeforeValidator(_split), Field(max_length=20), AfterValidator(check_skills)]
UserIds = Annotated[list[int], Field(max_length=50)]
Body = Annotated[str, Field(min_length=1, max_length=20_000)]


class SwarmStart(BaseModel):
    model_config = ConfigDict(extra="forbid")
    skills: SkillKeys = Field(description='Skill keys wanted, e.g. ["refunds", "japanese"].')
    invite_user_ids: UserIds = Field(default_factory=list, description="Colleagues to invite at once.")
    note: Annotated[str, Field(max_length=20_000)] | None = Field(
        default=None, description="What you need help with: the first post of the swarm thread."
    )


class InviteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_ids: Annotated[list[int], Field(min_length=1, max_length=50)]


class PostIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: Body


class CloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: Outcome = Field(default=Outcome.abandoned)


class MemberOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    user_id: int
    invited_by_user_id: int | None
    invited_at: datetime
    joined_at: datetime | None
    left_at: datetime | None
    posts: int = Field(default=0, description="Contributions: posts in the swarm thread.")


class PostOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    author_user_id: int | None
    body: str
    created_at: datetime


class Measures(BaseModel):
    """What the swarm-vs-tiers comparison reads (all recomputable from events and tables)."""

    people_touched: int = Field(description="Distinct people who posted in the thread (owner included).")
    posts: int
    handoffs: int = Field(description="Escalations of the ticket (tier or team moves up).")
    time_to_resolve_seconds: int | None = Field(description="Ticket created -> solved, if solved.")


class SwarmOut(BaseModel):
    id: int
    ticket_id: int
    owner_user_id: int | None
    started_by_user_id: int | None
    skills: list[str]
    started_at: datetime
    closed_at: datetime | None
    outcome: str | None
    members: list[MemberOut]
    thread_visible: bool = Field(description="False for staff who are neither the owner nor a member.")
    posts: list[PostOut]
    measures: Measures


class SuggestionOut(BaseModel):
    user_id: int
    name: str
    score: int = Field(description="Sum of the person's levels in the skills asked for.")
    skills: dict[str, int]
    open_tickets: int
    max_open_tickets: int
    presence: str
    reasons: list[str]


class SuggestionsOut(BaseModel):
    skills: list[str]
    suggestions: list[SuggestionOut]
    left_out: dict[str, str] = Field(
        default_factory=dict, description="user id -> why a skilled colleague is not suggested."
    )
