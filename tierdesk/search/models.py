"""Ticket search: the index documents and the queue that keeps them in step.

- `search_queue`: one small row (a ticket id) written by the tickets service in the same
  transaction as a change that alters a ticket's text (created, message added, subject
  changed, merged, imported). The worker drains it in batches (`tasks.index_queued`). No
  foreign key: the insert stays a single-row append on the create path, and a queued id
  whose ticket is gone simply removes its document.
- `ticket_search_docs`: one row per ticket with its analyzed terms (kb/analyzer.py) in two
  fields: `public_terms` (subject, description, public messages: what the requester sees)
  and `internal_terms` (internal notes: staff only). The full-text index over them is an
  FTS5 table on SQLite and two tsvector columns under GIN indexes on PostgreSQL (created
  by the migration, see repository.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from tierdesk.core.db import Base, UTCDateTime


class SearchQueue(Base):
    __tablename__ = "search_queue"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(Integer)


class TicketSearchDoc(Base):
    __tablename__ = "ticket_search_docs"

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    public_terms: Mapped[str] = mapped_column(Text, default="")
    internal_terms: Mapped[str] = mapped_column(Text, default="")
    indexed_at: Mapped[datetime] = mapped_column(UTCDateTime())
