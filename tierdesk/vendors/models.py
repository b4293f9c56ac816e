"""Vendors (the L4 tier: the makers of products we integrate with) and the cases we open
with them for a ticket.

A vendor has its own response target (minutes of business time on its own calendar, or
24/7 without one). A case stores its deadline (`due_at`) when it is opened, and the first
answer stamps `first_response_at`, the business time it took and whether it was late.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tierdesk.core.db import Base, UTCDateTime


class Vendor(Base):
    __tablename__ = "vendors"
    __table_args__ = (CheckConstraint("response_target_minutes > 0", name="response_target_positive"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # A lower-case slug, e.g. "paystream"; the webhook names the vendor by it.
    key: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str] = mapped_column(String(254))
    response_target_minutes: Mapped[int] = mapped_column(Integer)
    # The vendor's support hours; none means the target runs 24/7.
    calendar_id: Mapped[int | None] = mapped_column(ForeignKey("calendars.id", ondelete="SET NULL"))
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class VendorCase(Base):
    """One case opened with a vendor for a ticket; `reference` is the vendor's case number."""

    __tablename__ = "vendor_cases"
    __table_args__ = (
        # The vendor's case number is unique per vendor (the webhook finds a case by it).
        UniqueConstraint("vendor_id", "reference", name="uq_vendor_cases_vendor_reference"),
        # A ticket's cases, oldest first.
        Index("ix_vendor_cases_ticket_opened", "ticket_id", "opened_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    # No cascade: a vendor with cases cannot be deleted (their history would go with it).
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id"))
    reference: Mapped[str] = mapped_column(String(100))
    opened_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # opened_at + the vendor's target in business time on its calendar, fixed at opening.
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Business seconds (vendor calendar) from opening to the first answer.
    response_seconds: Mapped[int | None] = mapped_column(Integer)
    # Stored with the first answer: it came after due_at.
    breached: Mapped[bool] = mapped_column(Boolean, default=False)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    summary: Mapped[str] = mapped_column(Text, default="")
