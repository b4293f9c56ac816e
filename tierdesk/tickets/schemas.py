from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

from tierdesk.core.tags import clean_tags
from tierdesk.tickets.models import (
    AuthorKind,
    Channel,
    EventKind,
    LinkKind,
    MessageKind,
    Priority,
    Status,
)

Subject = Annotated[str, Field(min_length=1, max_length=250)]
Body = Annotated[str, Field(min_length=1, max_length=100_000)]
Category = Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[\w .&/-]+$")]


class Requester(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: EmailStr
    name: str | None = Field(default=None, max_length=200)


class TicketCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject: Subject
    description: Annotated[str, Field(max_length=100_000)] = ""
    priority: Priority = Priority.normal
    category: Category | None = None
    channel: Channel = Channel.api
    language: Annotated[str, Field(min_length=2, max_length=10)] | None = None
    requester_id: int | None = Field(default=None, description="Staff only: an existing customer.")
    requester: Requester | None = Field(
        default=None, description="Staff only: find or create the customer by e-mail."
    )
    tier_id: int | None = None
    team_id: int | None = None
    assignee_id: int | None = None
    tags: list[str] = Field(default_factory=list)

    _tags = field_validator("tags")(clean_tags)

    @model_validator(mode="after")
    def _one_requester(self) -> TicketCreate:
        if self.requester_id is not None and self.requester is not None:
            raise ValueError("give requester_id or requester, not both")
        return self


class TicketPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject: Subject | None = None
    status: Status | None = None
    priority: Priority | None = None
    category: Category | None = None
    tier_id: int | None = None
    team_id: int | None = None
    assignee_id: int | None = None
    tags: list[str] | None = None
    reason: str | None = Field(default=None, max_length=1000, description="Why; recorded on every event.")

    _tags = field_validator("tags")(clean_tags)


class TicketOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    number: str
    subject: str
    description: str
    status: str
    priority: str
    category: str | None
    channel: str
    language: str
    requester_id: int
    organization_id: int | None
    tier_id: int | None
    team_id: int | None
    assignee_id: int | None
    tags: list[str]
    merged_into_id: int | None
    reopen_count: int
    created_at: datetime
    updated_at: datetime
    first_responded_at: datetime | None
    solved_at: datetime | None
    closed_at: datetime | None


class TicketCustomerOut(BaseModel):
    """What a customer sees of their ticket: no tier, team, assignee or tags."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    number: str
    subject: str
    description: str
    status: str
    priority: str
    channel: str
    created_at: datetime
    updated_at: datetime
    solved_at: datetime | None


class TicketPage(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= to get the next page; null on the last page."
    )


class MessageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: Body
    kind: MessageKind = MessageKind.public
    status: Status | None = Field(
        default=None, description="Staff: status to set with this reply (e.g. pending)."
    )


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    ticket_id: int
    kind: str
    author_kind: str
    author_user_id: int | None
    author_customer_id: int | None
    body: str
    created_at: datetime


class AttachmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    ticket_id: int
    message_id: int | None
    filename: str
    content_type: str
    size: int
    sha256: str
    internal: bool
    created_at: datetime


class LinkCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: LinkKind
    target_ticket_id: int | None = None
    external_key: Annotated[str, Field(min_length=1, max_length=120)] | None = None
    url: Annotated[str, Field(max_length=1000, pattern=r"^https?://")] | None = None
    note: str = Field(default="", max_length=1000)

    @model_validator(mode="after")
    def _target(self) -> LinkCreate:
        external = self.kind in (LinkKind.engineering_bug, LinkKind.part_of_incident)
        if external and not (self.external_key or self.target_ticket_id):
            raise ValueError(f"a {self.kind.value} link needs external_key (e.g. ENG-231)")
        if not external and self.target_ticket_id is None:
            raise ValueError(f"a {self.kind.value} link needs target_ticket_id")
        return self


class LinkOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    ticket_id: int
    kind: str
    target_ticket_id: int | None
    external_key: str | None
    url: str | None
    note: str
    created_at: datetime


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    into_ticket_id: int
    reason: str | None = Field(default=None, max_length=1000)


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    ticket_id: int
    at: datetime
    actor_kind: str
    actor_user_id: int | None
    actor_customer_id: int | None
    kind: str
    field: str | None
    old: str | None
    new: str | None
    reason: str | None
    data: dict[str, Any] | None


class TimelineEntry(BaseModel):
    type: str = Field(description="'message' or 'event'")
    at: datetime
    message: MessageOut | None = None
    event: EventOut | None = None


class Timeline(BaseModel):
    ticket_id: int
    number: str
    entries: list[TimelineEntry]


# --- bulk import --------------------------------------------------------------------------
class ImportMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: Body
    kind: MessageKind = MessageKind.public
    author_kind: AuthorKind
    author_email: EmailStr | None = None
    created_at: datetime


class ImportEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: EventKind
    at: datetime
    field: str | None = Field(default=None, max_length=40)
    old: str | None = Field(default=None, max_length=500)
    new: str | None = Field(default=None, max_length=500)
    reason: str | None = Field(default=None, max_length=1000)
    actor_email: EmailStr | None = None


class ImportTicket(BaseModel):
    model_config = ConfigDict(extra="forbid")
    external_id: Annotated[str, Field(min_length=1, max_length=120)]
    subject: Subject
    description: Annotated[str, Field(max_length=100_000)] = ""
    status: Status = Status.open
    priority: Priority = Priority.normal
    category: Category | None = None
    channel: Channel = Channel.email
    language: Annotated[str, Field(min_length=2, max_length=10)] = "en"
    requester: Requester
    organization: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    tier_key: str | None = None
    team_key: str | None = None
    assignee_email: EmailStr | None = None
    tags: list[str] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime | None = None
    first_responded_at: datetime | None = None
    solved_at: datetime | None = None
    closed_at: datetime | None = None
    messages: list[ImportMessage] = Field(default_factory=list, max_length=2000)
    events: list[ImportEvent] = Field(default_factory=list, max_length=5000)

    _tags = field_validator("tags")(clean_tags)

    @model_validator(mode="after")
    def _times(self) -> ImportTicket:
        for name in ("created_at", "updated_at", "first_responded_at", "solved_at", "closed_at"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} needs a time zone offset (e.g. 2024-05-01T09:30:00Z)")
        times = [m.created_at for m in self.messages] + [e.at for e in self.events]
        for when in times:
            if when.tzinfo is None:
                raise ValueError("message and event times need a time zone offset")
        return self


class ImportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_-]+$")] = Field(
        description="Where the tickets come from (zendesk, freshdesk, bench…); with external_id it makes re-imports idempotent."
    )
    tickets: list[ImportTicket] = Field(min_length=1, max_length=5000)


class ImportResult(BaseModel):
    created: int
    skipped_existing: int
    ticket_ids: list[int]
