"""Background jobs of the swarms domain (called by the worker loop with a fresh
transaction and the current time)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from tierdesk.swarms import service


def close_finished_swarms(db: Session, now: datetime) -> int:
    """The swarm closes with the ticket: close every open swarm whose ticket is solved or
    closed (outcome solved/closed, a swarm_closed event). Reads only open swarms."""
    return service.close_finished(db, now)
