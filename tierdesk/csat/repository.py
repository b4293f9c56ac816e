"""Queries for satisfaction ratings (authorization is the caller's: the service reads the
ticket through the tickets service first)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tierdesk.csat.models import SatisfactionRating


def for_ticket(db: Session, ticket_id: int) -> SatisfactionRating | None:
    return db.scalars(select(SatisfactionRating).where(SatisfactionRating.ticket_id == ticket_id)).first()
