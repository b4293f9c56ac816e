from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

Text = Annotated[str, Field(min_length=1, max_length=4000)]


class Handoff(BaseModel):
    """What the next tier needs so it never asks the customer again."""

    model_config = ConfigDict(extra="forbid")
    problem: Text = Field(description="What the customer is trying to do and what goes wrong.")
    tried: Text = Field(description="What was checked or tried already, with results.")
    impact: Text = Field(description="Who is affected and how badly (users, money, deadlines).")


class EscalateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to_tier_id: int | None = Field(default=None, description="Omit to go one step up the ladder.")
    to_team_id: int | None = None
    reason: Annotated[str, Field(min_length=3, max_length=1000)]
    handoff: Handoff
    keep_assignee: bool = Field(
        default=False, description="Keep the current assignee (default: the new tier's queue picks it up)."
    )


class DeEscalateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to_tier_id: int
    note: Annotated[str, Field(min_length=3, max_length=4000)] = Field(
        description="Why it goes back down, and what the lower tier should do."
    )
    to_team_id: int | None = None

    @model_validator(mode="after")
    def _strip(self) -> DeEscalateIn:
        self.note = self.note.strip()
        return self


class HandoffDraft(BaseModel):
    problem: str
    tried: str
    impact: str
    next_tier_id: int | None = Field(description="Where 'one step up' goes from the current tier.")
    next_team_id: int | None


class EscalationStep(BaseModel):
    at: datetime
    kind: str = Field(description="escalated or de_escalated")
    by_user_id: int | None
    automatic: bool
    from_tier_id: int | None
    to_tier_id: int | None
    from_team_id: int | None
    to_team_id: int | None
    reason: str | None
    handoff: dict[str, str] | None


class EscalationPath(BaseModel):
    ticket_id: int
    steps: list[EscalationStep]
