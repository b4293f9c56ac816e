"""Read transactions on SQLite's driver connection, for the create path's few reads.

Creating a ticket reads two rows before it is written: the configuration generation token
(core/memo.py, which then serves the token's actor, the tier ladder, the routing rules and
the SLA policies from the process's cache) and the requester's facts. Through a SQLAlchemy
Session, that read transaction (Session, pool checkout, BEGIN with its events, two Core
executions, COMMIT, close) cost about ten times what SQLite's own work for it did
(docs/performance.md, "Creating a ticket").

`driver_read(db)` opens a read transaction on a pooled connection's driver connection and
marks the Session with it, and `DriverSelect.first(db)` runs its statement there while the
Session itself has no transaction. Anything else (an ORM load after a cache miss, a write)
goes through the Session as usual, which then begins its own transaction; from then on
`DriverSelect` reads through the Session too, so a read never misses what the Session wrote.
Both are reads of committed data; the generation token is forgotten when the scope ends, so
the Session reads it again in its own transaction.

Elsewhere than on SQLite, or for a Session bound to a Connection rather than an engine (the
tests' sessions share one connection's transaction), `driver_read` does nothing and
`DriverSelect` is the Core query.
Keep the scope synchronous: it holds a pooled connection and a read snapshot.
"""

from __future__ import annotations

import sqlite3
from collections import namedtuple
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Select
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import Session

from tierdesk.core.db import GENERATION_KEY

DRIVER_READ_KEY = "tierdesk.driver_read"
_REQUIRED = object()


@contextmanager
def driver_read(db: Session) -> Iterator[None]:
    """Run the block's `DriverSelect` reads in one read transaction on SQLite's driver."""
    bind = db.get_bind()
    # Only a Session of its own on an engine: one bound to a Connection shares that
    # connection's transaction (as the tests' sessions do), which another connection cannot see.
    if (
        db.in_transaction()
        or DRIVER_READ_KEY in db.info
        or not isinstance(bind, Engine)
        or bind.dialect.name != "sqlite"
    ):
        yield
        return
    pooled = bind.raw_connection()
    raw: sqlite3.Connection = pooled.driver_connection  # type: ignore[assignment]
    try:
        raw.execute("BEGIN")
        db.info[DRIVER_READ_KEY] = raw
        db.info.pop(GENERATION_KEY, None)
        yield
    finally:
        db.info.pop(DRIVER_READ_KEY, None)
        db.info.pop(GENERATION_KEY, None)  # read from this snapshot: the Session reads its own
        try:
            if raw.in_transaction:
                raw.execute("COMMIT")  # nothing was written: ends the snapshot
        finally:
            pooled.close()


class DriverSelect:
    """A Core SELECT whose first row is read on the open `driver_read` transaction, else
    through the Session. Rows come back with the same values Core gives (each column's
    result processor: booleans, JSON, UTC datetimes) as a named tuple."""

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        self._prepared: tuple[str, tuple[tuple[str, Any, Any], ...], tuple[Any, ...], Any] | None = None

    def first(self, db: Session, params: Mapping[str, Any] | None = None) -> Any:
        raw: sqlite3.Connection | None = db.info.get(DRIVER_READ_KEY)
        if raw is None or db.in_transaction():
            return db.connection().execute(self.statement, params).first()
        sql, binds, processors, row_type = self._prepare(db.get_bind().dialect)
        given = params or {}
        values = []
        for name, default, bind in binds:
            value = given.get(name, default)
            if value is _REQUIRED:
                raise KeyError(f"DriverSelect: a value is required for bind parameter {name!r}")
            values.append(value if value is None or bind is None else bind(value))
        row = raw.execute(sql, values).fetchone()
        if row is None:
            return None
        return row_type._make(v if p is None else p(v) for v, p in zip(row, processors, strict=True))

    def _prepare(
        self, dialect: Dialect
    ) -> tuple[str, tuple[tuple[str, Any, Any], ...], tuple[Any, ...], Any]:
        if self._prepared is None:
            compiled = self.statement.compile(dialect=dialect)
            names = compiled.positiontup or []
            binds = []
            for name in names:
                param = compiled.binds[name]
                if param.expanding:  # pragma: no cover - IN lists are not for this path
                    raise ValueError("DriverSelect cannot run an expanding IN parameter")
                # A required parameter has no value of its own: every call gives it.
                default = _REQUIRED if param.required else param.value
                binds.append((name, default, param.type.dialect_impl(dialect).bind_processor(dialect)))
            columns = list(self.statement.selected_columns)
            processors = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns)
            row_type = namedtuple("DriverRow", [c.key for c in columns], rename=True)  # type: ignore[misc]
            self._prepared = (compiled.string, tuple(binds), processors, row_type)
        return self._prepared
