"""Search jobs, single-step functions the worker loop calls (tierdesk/worker.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from tierdesk.search import service

BATCH = 500


def index_queued(db: Session, now: datetime, batch: int = BATCH) -> int:
    """One batch of the search queue: the tickets changed since, re-indexed. Returns the
    rows taken; `more_pending` says whether to run again at once."""
    return service.index_queued(db, now, batch)


def more_pending(result: object) -> bool:
    return isinstance(result, int) and result >= BATCH
