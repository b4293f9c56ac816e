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

import threading
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from tierdesk.core.db import GENERATION_KEY, config_generation, config_writes
from tierdesk.core.driver_read import DriverSelect

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


# --- process-wide configuration cache ---------------------------------------------------------
# Requests read the same configuration again and again: who a token belongs to, the tier
# ladder, calendars, SLA policies, routing rules. `shared(db, key, load)` keeps such values in
# the process, keyed by the token of the one row of `config_generation`. Every transaction that
# writes a configuration table sets a new random token in the same transaction (the Session
# hooks in core/db.py), so once it commits, every process's next read of the token misses and
# reloads. A token set by a transaction that rolls back never comes back, so nothing loaded from
# uncommitted data can be served later. Values must be immutable (frozen dataclasses, tuples,
# frozensets): they are shared by every thread of the process.
_read_token = select(config_generation.c.token).where(config_generation.c.id == 1)
_token = DriverSelect(_read_token)


class _Shared:
    """The process's cache: one generation token and the values loaded under it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.token: str | None = None
        self.values: dict[Hashable, Any] = {}

    def get(self, token: str, key: Hashable) -> tuple[bool, Any]:
        if token != self.token:
            return False, None
        try:
            return True, self.values[key]
        except KeyError:
            return False, None

    def put(self, token: str, key: Hashable, value: Any) -> None:
        with self.lock:
            if token != self.token:
                self.token, self.values = token, {}
            self.values[key] = value


_shared = _Shared()


def _generation(db: Session) -> str | None:
    # Read once per transaction, and again after any configuration write made in this
    # process (tests share one connection between the test's session and the app's).
    seen = db.info.get(GENERATION_KEY)
    if seen is not None and seen[1] == config_writes():
        return cast(str | None, seen[0])
    # Core on the connection (or the driver, in a core.driver_read scope), not Session.execute
    # (whose ORM path cost more than the query), except when changes are pending:
    # Session.execute flushes them first, so a configuration write not yet flushed starts its
    # new generation before the token is read.
    if db.new or db.dirty or db.deleted:
        token = db.execute(_read_token).scalar_one_or_none()
    else:
        row = _token.first(db)
        token = None if row is None else row[0]  # None: no row, never cache
    db.info[GENERATION_KEY] = (token, config_writes())
    return token


def shared(db: Session, key: Hashable, load: Callable[[], T]) -> T:
    """`load()` once per configuration generation for the whole process (see above)."""
    token = _generation(db)
    if token is None:
        return load()
    hit, value = _shared.get(token, key)
    if hit:
        return cast(T, value)
    loaded = load()
    # If loading flushed a configuration write, the value belongs to the new generation.
    if _generation(db) == token:
        _shared.put(token, key, loaded)
    return loaded
