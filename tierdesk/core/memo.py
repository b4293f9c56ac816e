"""Per-transaction memo for read-mostly configuration (tiers, paths, calendars, rules,
policies) inside batch jobs.

A scheduler tick escalating 500 tickets would otherwise re-read the same tier ladder,
escalation paths, calendars and routing rules 500 times (SQLAlchemy's identity map holds
clean objects only weakly, so even `Session.get` goes back to the database once nobody
holds the object). Inside `memo_scope(db)` the first read is kept for the rest of the
scope; outside a scope `memoised` simply calls the loader, so request handlers, which may
edit configuration and read it back in one transaction, never see a stale value.

Only jobs that do not change configuration open a scope (sla.tasks.tick).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast

from sqlalchemy.orm import Session

T = TypeVar("T")
_KEY = "tierdesk.memo"


@contextmanager
def memo_scope(db: Session) -> Iterator[None]:
    """Memoise configuration reads on `db` until the block ends (nested scopes share one)."""
    if _KEY in db.info:
        yield
        return
    db.info[_KEY] = {}
    try:
        yield
    finally:
        db.info.pop(_KEY, None)


def memoised(db: Session, key: Hashable, load: Callable[[], T]) -> T:
    cache: dict[Hashable, Any] | None = db.info.get(_KEY)
    if cache is None:
        return load()
    if key not in cache:
        cache[key] = load()
    return cast(T, cache[key])


def remember(db: Session, key: Hashable, value: object) -> None:
    """Put a value loaded in bulk into the open scope (no-op outside a scope)."""
    cache: dict[Hashable, Any] | None = db.info.get(_KEY)
    if cache is not None:
        cache[key] = value
