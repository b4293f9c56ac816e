"""Queries for satisfaction ratings (authorization is the caller's: the service reads the
ticket through the tickets service first)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from tierdesk.csat.models import SatisfactionRating


def for_ticket(db: Session, ticket_id: int) -> SatisfactionRating | None:
    return db.scalars(select(SatisfactionRating).where(SatisfactionRating.ticket_id == ticket_id)).first()


def totals_between(
    db: Session, since: datetime, until: datetime, satisfied_from: int
) -> tuple[int, int, int]:
    """(ratings, satisfied, sum of scores) of ratings given in [since, until): a range of
    ix_satisfaction_ratings_rated (grows with the ratings of the window, not the table)."""
    row = db.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((SatisfactionRating.score >= satisfied_from, 1), else_=0)), 0),
            func.coalesce(func.sum(SatisfactionRating.score), 0),
        ).where(SatisfactionRating.rated_at >= since, SatisfactionRating.rated_at < until)
    ).one()
    return int(row[0]), int(row[1]), int(row[2])
