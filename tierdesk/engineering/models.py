"""Engineering bugs that tickets wait on (the L3 -> engineering workflow).

A bug lives in an outside tracker (Jira, GitHub, ...); tierdesk keeps its key, URL and
status, the L3 agent who owns it, and which tickets wait on it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tierdesk.core.db import Base, UTCDateTime


class BugStatus(StrEnum):
    open = "open"
    in_progress = "in_progress"
    fixed = "fixed"  # engineering says so; support has not checked yet
    verified = "verified"  # an L3 agent checked the fix; the customers may be answered
    wont_fix = "wont_fix"


# Moves a PATCH or the webhook may make. `verified` is reached only through
# service.verify (a person checked the fix). open -> fixed is allowed because trackers
# often close an issue without passing through "in progress"; fixed -> open is a regression.
# Same-status updates are accepted and change nothing (webhooks are retried).
TRANSITIONS: dict[BugStatus, frozenset[BugStatus]] = {
    BugStatus.open: frozenset({BugStatus.in_progress, BugStatus.fixed, BugStatus.wont_fix}),
    BugStatus.in_progress: frozenset({BugStatus.fixed, BugStatus.wont_fix}),
    BugStatus.fixed: frozenset({BugStatus.open, BugStatus.wont_fix}),
    BugStatus.verified: frozenset(),
    BugStatus.wont_fix: frozenset(),
}

# While engineering still works on the bug, newly linked tickets are put on hold.
WAITING = frozenset({BugStatus.open, BugStatus.in_progress})

_STATUSES = ", ".join(f"'{s.value}'" for s in BugStatus)


class EngineeringBug(Base):
    __tablename__ = "engineering_bugs"
    __table_args__ = (
        # The list filters on status and shows the newest first.
        Index("ix_engineering_bugs_status_created", "status", "created_at", "id"),
        CheckConstraint(f"status IN ({_STATUSES})", name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The tracker's key, e.g. ENG-231 (upper case; the API upper-cases what it is given).
    key: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(250))
    url: Mapped[str] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(12), default=BugStatus.open.value)
    # The L3 agent responsible: who verifies the fix and answers the customers.
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    fixed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    fix_note: Mapped[str] = mapped_column(Text, default="")
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    verified_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    verify_note: Mapped[str] = mapped_column(Text, default="")
    # Set by the one announcement to all linked customers; a second one is refused so a
    # double click or a retried request never sends the customers the message twice.
    announced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class EngineeringBugTicket(Base):
    """A ticket waiting on a bug. The ticket also carries an `engineering_bug` link (its
    own record, shown on the ticket); this table is what the bug side reads."""

    __tablename__ = "engineering_bug_tickets"
    __table_args__ = (Index("ix_engineering_bug_tickets_ticket", "ticket_id"),)

    bug_id: Mapped[int] = mapped_column(
        ForeignKey("engineering_bugs.id", ondelete="CASCADE"), primary_key=True
    )
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime())
