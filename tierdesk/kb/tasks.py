"""Knowledge-base jobs: single-step functions the worker loop calls with a fresh transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from tierdesk.kb import answers


def settle_sessions(db: Session, now: datetime) -> int:
    """Self-service sessions whose first answer is 24 hours old become deflected (no
    ticket opened) or ticket_opened. Idempotent: settled sessions leave the partial index."""
    return answers.settle_sessions(db, now)
