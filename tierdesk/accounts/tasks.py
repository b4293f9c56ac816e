"""Background jobs of the accounts domain."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from tierdesk.accounts import repository as repo


def purge_login_failures(db: Session, now: datetime, window_seconds: int) -> int:
    """Drop failed-sign-in rows older than the throttle window; they no longer count."""
    return repo.purge_failures_before(db, now - timedelta(seconds=window_seconds))
