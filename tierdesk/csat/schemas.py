"""CSAT API shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from tierdesk.csat.models import MAX_SCORE, MIN_SCORE


class RatingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    score: Annotated[int, Field(ge=MIN_SCORE, le=MAX_SCORE, description="1 (poor) to 5 (excellent)")]
    comment: Annotated[str, Field(max_length=2000)] = ""


class RatingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    ticket_id: int
    score: int
    comment: str
    customer_id: int | None
    tier_id: int | None
    team_id: int | None
    assignee_id: int | None
    channel: str
    rated_at: datetime
