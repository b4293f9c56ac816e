"""Tickets, their messages, attachments, links, tags and the append-only event log.

Index choice: every list filter is an equality on one column followed by the keyset sort
(created_at, id), so "newest 25 of X" is one index range scan whatever the table size.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from tierdesk.core.db import Base, JSONType, UTCDateTime


class Status(StrEnum):
    new = "new"
    open = "open"
    pending = "pending"  # pending customer
    on_hold = "on_hold"
    solved = "solved"
    closed = "closed"


# Allowed status moves. solved -> open is a reopen; closed is final (a follow-up ticket
# links to it instead), as in Zendesk.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.new: frozenset({Status.open, Status.pending, Status.on_hold, Status.solved}),
    Status.open: frozenset({Status.pending, Status.on_hold, Status.solved}),
    Status.pending: frozenset({Status.open, Status.on_hold, Status.solved}),
    Status.on_hold: frozenset({Status.open, Status.pending, Status.solved}),
    Status.solved: frozenset({Status.open, Status.closed}),
    Status.closed: frozenset(),
}


class Priority(StrEnum):
    urgent = "urgent"
    high = "high"
    normal = "normal"
    low = "low"


class Channel(StrEnum):
    web = "web"
    email = "email"
    chat = "chat"
    phone = "phone"
    api = "api"
    widget = "widget"
    social = "social"
    bot = "bot"


class MessageKind(StrEnum):
    public = "public"
    internal = "internal"


class AuthorKind(StrEnum):
    customer = "customer"
    agent = "agent"
    system = "system"
    vendor = "vendor"  # an L4 vendor's answer threaded back into the ticket


class LinkKind(StrEnum):
    merged_into = "merged_into"
    duplicate_of = "duplicate_of"
    related = "related"
    part_of_incident = "part_of_incident"
    engineering_bug = "engineering_bug"


class EventKind(StrEnum):
    created = "created"
    imported = "imported"
    field_changed = "field_changed"
    reopened = "reopened"
    public_reply = "public_reply"
    internal_note = "internal_note"
    first_response = "first_response"
    attachment_added = "attachment_added"
    link_added = "link_added"
    link_removed = "link_removed"
    merged = "merged"
    escalated = "escalated"
    de_escalated = "de_escalated"
    sla_warning = "sla_warning"
    sla_breached = "sla_breached"
    engineering_fixed = "engineering_fixed"
    fix_verified = "fix_verified"
    vendor_escalated = "vendor_escalated"
    vendor_replied = "vendor_replied"
    swarm_started = "swarm_started"
    swarm_joined = "swarm_joined"
    swarm_left = "swarm_left"
    swarm_closed = "swarm_closed"
    satisfaction_rated = "satisfaction_rated"  # the requester rated the answer (csat)


# Events a customer may see on their own ticket's timeline. Everything else (tier moves,
# assignment, internal notes, links) is staff-only.
CUSTOMER_VISIBLE_EVENTS = frozenset({EventKind.created, EventKind.reopened, EventKind.satisfaction_rated})
CUSTOMER_VISIBLE_FIELDS = frozenset({"status", "subject"})


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_created", "created_at", "id"),
        Index("ix_tickets_status_created", "status", "created_at", "id"),
        Index("ix_tickets_tier_status_created", "tier_id", "status", "created_at", "id"),
        Index("ix_tickets_team_status_created", "team_id", "status", "created_at", "id"),
        Index("ix_tickets_assignee_status_created", "assignee_id", "status", "created_at", "id"),
        Index("ix_tickets_requester_created", "requester_id", "created_at", "id"),
        Index("ix_tickets_organization_created", "organization_id", "created_at", "id"),
        Index("ix_tickets_priority_status_created", "priority", "status", "created_at", "id"),
        Index("ix_tickets_updated", "updated_at", "id"),
        UniqueConstraint("source", "external_id", name="uq_tickets_source_external_id"),
        # AUTOINCREMENT: a deleted ticket's number is never handed out again.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(250))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=Status.new.value)
    priority: Mapped[str] = mapped_column(String(10), default=Priority.normal.value)
    category: Mapped[str | None] = mapped_column(String(60))
    channel: Mapped[str] = mapped_column(String(12), default=Channel.web.value)
    language: Mapped[str] = mapped_column(String(10), default="en")
    requester_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id", ondelete="SET NULL"))
    tier_id: Mapped[int | None] = mapped_column(ForeignKey("tiers.id", ondelete="SET NULL"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(40), default="tierdesk")
    external_id: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    first_responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    solved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def number(self) -> str:
        return f"T-{self.id}"


class TicketTag(Base):
    """One row per (tag, ticket) so the tag filter is an index range, not a JSON scan."""

    __tablename__ = "ticket_tags"
    __table_args__ = (Index("ix_ticket_tags_ticket", "ticket_id"),)

    tag: Mapped[str] = mapped_column(String(60), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_ticket", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10), default=MessageKind.public.value)
    author_kind: Mapped[str] = mapped_column(String(10))
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Attachment(Base):
    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_ticket", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200))
    # Internal attachments (on a note) are never shown to customers.
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    uploaded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TicketLink(Base):
    __tablename__ = "ticket_links"
    __table_args__ = (
        Index("ix_ticket_links_ticket", "ticket_id", "id"),
        Index("ix_ticket_links_target", "target_ticket_id"),
        Index("ix_ticket_links_external", "kind", "external_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    target_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    # For links that leave tierdesk: an incident id, an engineering bug key (e.g. ENG-231).
    external_key: Mapped[str | None] = mapped_column(String(120))
    url: Mapped[str | None] = mapped_column(String(1000))
    note: Mapped[str] = mapped_column(String(1000), default="")
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


SOLVED_EVENT = "field = 'status' AND new = 'solved'"


class TicketEvent(Base):
    """Append-only: rows are inserted in the same transaction as the change they record
    and never updated or deleted by the application."""

    __tablename__ = "ticket_events"
    __table_args__ = (
        Index("ix_ticket_events_ticket", "ticket_id", "id"),
        Index("ix_ticket_events_kind_at", "kind", "at"),
        # "Solved per day" on the supervisor dashboard: only status changes to solved (the
        # predicate names no kind, so queries for it cannot be served by ix_ticket_events_kind_at
        # instead: SQLite's planner preferred that index and read every status change).
        Index(
            "ix_ticket_events_solved",
            "at",
            sqlite_where=text(SOLVED_EVENT),
            postgresql_where=text(SOLVED_EVENT),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_kind: Mapped[str] = mapped_column(String(10))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(24))
    field: Mapped[str | None] = mapped_column(String(40))
    old: Mapped[str | None] = mapped_column(String(500))
    new: Mapped[str | None] = mapped_column(String(500))
    reason: Mapped[str | None] = mapped_column(String(1000))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class TicketCounter(Base):
    """Open-ticket counts by (status, tier), maintained by the service in the same
    transaction as each change, so dashboards and /metrics never COUNT(*) the table."""

    __tablename__ = "ticket_counters"

    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    # 0 stands for "no tier" so the key is never NULL.
    tier_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(Integer, default=0)
