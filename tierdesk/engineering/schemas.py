"""Engineering bugs at the edge: every check that needs no database happens here."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from tierdesk.engineering.models import BugStatus

_KEY = re.compile(r"^[A-Z][A-Z0-9]+-\d+$")


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def check_key(value: str) -> str:
    if len(value) > 40 or not _KEY.match(value):
        raise ValueError(
            f"'{value[:40]}' is not a bug key: use the tracker's key, a project code and a number, e.g. ENG-231"
        )
    return value


def _check_url(value: str) -> str:
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in value):
        raise ValueError(
            "must be the bug's http:// or https:// address, e.g. https://tracker.example.com/ENG-231"
        )
    # urlsplit lower-cases the scheme; store it that way (HTTPS://… -> https://…), as the
    # ticket link requires.
    return parts.scheme + value[len(parts.scheme) :]


def _ticket_number(value: Any) -> Any:
    """Accept 1042, "1042" or "T-1042" (as the tickets API does)."""
    if isinstance(value, str):
        text = value.strip().upper().removeprefix("T-")
        if not text.isdigit() or len(text) > 12:
            raise ValueError(f"'{value[:40]}' is not a ticket number (expected e.g. T-1042)")
        return int(text)
    return value


BugKey = Annotated[str, BeforeValidator(_upper), AfterValidator(check_key)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=250)]
Url = Annotated[str, Field(max_length=1000), AfterValidator(_check_url)]
Note = Annotated[str, Field(max_length=5000)]
TicketNumber = Annotated[int, BeforeValidator(_ticket_number), Field(ge=1)]


class BugCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: BugKey = Field(description="The tracker's key, e.g. ENG-231.")
    title: Title
    url: Url
    owner_user_id: int | None = Field(default=None, description="The L3 agent responsible; defaults to you.")
    ticket_ids: list[TicketNumber] = Field(
        default_factory=list, max_length=200, description="Tickets to link at once (1042 or T-1042)."
    )


class BugPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: BugStatus | None = None
    fix_note: Note | None = None
    title: Title | None = None
    url: Url | None = None

    @field_validator("status")
    @classmethod
    def _not_verified(cls, value: BugStatus | None) -> BugStatus | None:
        if value == BugStatus.verified:
            raise ValueError(
                "a fix is verified with POST /api/v1/engineering/bugs/{key}/verify, not by a PATCH"
            )
        return value

    @model_validator(mode="after")
    def _something(self) -> BugPatch:
        if all(v is None for v in (self.status, self.fix_note, self.title, self.url)):
            raise ValueError("send at least one of status, fix_note, title, url")
        return self


class TicketLinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ticket_id: TicketNumber = Field(description="1042 or T-1042")


class VerifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: Annotated[str, Field(min_length=1, max_length=5000)] = Field(
        description="How you checked the fix (version, steps), for the record."
    )


class AnnounceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: Annotated[str, Field(min_length=1, max_length=100_000)] = Field(
        description="The one public reply every linked customer gets."
    )
    status: Literal["solved", "pending"] = Field(
        default="solved", description="Status the answered tickets get (a solved ticket stays solved)."
    )


class AnnounceOut(BaseModel):
    answered: list[int]
    skipped_closed: list[int]


class WebhookIn(BaseModel):
    """What a tracker's automation sends. Extra fields are ignored so a tracker may send more."""

    model_config = ConfigDict(extra="ignore")
    key: BugKey
    status: BugStatus
    note: Note | None = None

    @field_validator("status")
    @classmethod
    def _not_verified(cls, value: BugStatus) -> BugStatus:
        if value == BugStatus.verified:
            raise ValueError(
                "only a support agent verifies a fix; a tracker may send open, in_progress, fixed or wont_fix"
            )
        return value


class WebhookOut(BaseModel):
    key: str
    status: str
    changed: bool


class BugOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    key: str
    title: str
    url: str
    status: str
    owner_user_id: int | None
    created_at: datetime
    updated_at: datetime
    fixed_at: datetime | None
    fix_note: str
    verified_at: datetime | None
    verified_by_user_id: int | None
    verify_note: str
    announced_at: datetime | None


class BugDetail(BugOut):
    ticket_ids: list[int] = Field(description="Linked tickets you may see.")
