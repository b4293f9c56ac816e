from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class SearchHitOut(BaseModel):
    id: int
    ref: str = Field(description="The ticket number, T-1042")
    subject: str
    status: str
    priority: str
    tier_id: int | None
    tier: str | None = Field(description="The tier's name")
    created_at: datetime
    updated_at: datetime
    snippet: str = Field(
        description="HTML: the matching passage, escaped, with each matched word in <mark>…</mark>. "
        "Nothing else in it is markup, so it can be inserted as HTML."
    )
    in_internal_note: bool = Field(description="The snippet quotes an internal note (staff only)")


class SearchPageOut(BaseModel):
    items: list[SearchHitOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last page.")
