"""Insert a batch of rows as one statement whose rows travel as one JSON array.

For batch jobs (the SLA scheduler writes up to a thousand events and notifications per
batch). An `executemany` of the same rows spent more time in Python — binding and
converting every column of every row through SQLAlchemy — than the database spent
inserting them, and on PostgreSQL it is one statement per row. Here the rows are serialised
once per batch (`json.dumps`, in C) and the database unpacks the array itself (SQLite
`json_each`, PostgreSQL `jsonb_array_elements`), keeping the array's order.

Per-row values must be JSON values: numbers, strings, None, and dicts/lists for JSON
columns. Values that are the same for every row (a timestamp, who did it) are bound once,
with their column's type.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Integer,
    String,
    Table,
    TextClause,
    any_,
    bindparam,
    func,
    insert,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.types import TypeDecorator, TypeEngine


def insert_rows(
    db: Session,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    same: Mapping[str, Any] | None = None,
) -> None:
    """INSERT `rows` (each the values of `columns`, in that order) into `table`, every row
    also getting the values of `same`; ids follow the order of `rows`."""
    if not rows:
        return
    same = same or {}
    dialect = db.get_bind().dialect
    statement = _statement(table, tuple(columns), tuple(same), dialect.name, dialect)
    db.execute(statement, {"_rows": json.dumps(rows, separators=(",", ":")), **same})


@lru_cache(maxsize=64)
def _statement(
    table: Table, columns: tuple[str, ...], same: tuple[str, ...], name: str, dialect: Dialect
) -> TextClause:
    if name not in ("sqlite", "postgresql"):  # pragma: no cover - tierdesk runs on these two only
        raise NotImplementedError(f"bulk insert on {name}")

    def typed(expr: str, column: str) -> str:
        """On PostgreSQL, give a value its column's type. Strings stay text: the INSERT's
        own assignment then refuses one that is too long (a CAST would cut it silently)."""
        type_ = table.c[column].type
        if name == "sqlite" or isinstance(type_, String) or isinstance(getattr(type_, "impl", None), String):
            return expr
        return f"CAST({expr} AS {type_.compile(dialect=dialect)})"

    picked: list[str] = []
    for i, column in enumerate(columns):
        type_ = table.c[column].type
        is_json = isinstance(type_, JSON) or isinstance(getattr(type_, "impl", None), JSON)
        if name == "sqlite":
            # json_quote(json_extract(…)) gives JSON text for a JSON column (objects, strings
            # and null alike); json_extract alone gives the SQL value.
            item = f"json_extract(r.value, '$[{i}]')"
            picked.append(f"json_quote({item})" if is_json else item)
        else:
            picked.append(typed(f"r.v->{i}" if is_json else f"r.v->>{i}", column))
    picked += [typed(f":{column}", column) for column in same]
    names = ", ".join([*columns, *same])
    if name == "sqlite":
        source = "json_each(:_rows) AS r ORDER BY r.key"
    else:
        source = "jsonb_array_elements(CAST(:_rows AS jsonb)) WITH ORDINALITY AS r(v, n) ORDER BY r.n"
    sql = f"INSERT INTO {table.name} ({names}) SELECT {', '.join(picked)} FROM {source}"
    return text(sql).bindparams(*(bindparam(column, type_=table.c[column].type) for column in same))


def id_in(
    db: Session, column: ColumnElement[int] | InstrumentedAttribute[int], ids: Sequence[int]
) -> ColumnElement[bool]:
    """`column IN ids` for a batch of ids bound as ONE parameter (a JSON text on SQLite, an
    array on PostgreSQL): an IN list of a thousand bound ids cost more to render and bind
    than the query it belongs to."""
    if db.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam("batch_ids", list(ids), type_=postgresql.ARRAY(Integer)))
    each = func.json_each(bindparam("batch_ids", json.dumps(list(ids)), type_=String))
    return column.in_(select(literal_column("value")).select_from(each))


class DriverInsert:
    """`INSERT INTO table (columns) VALUES (?, …)` for the hottest write (ticket creation,
    docs/performance.md "Creating a ticket"): on SQLite run on its own driver connection, on
    other databases as the equivalent Core insert.

    SQLAlchemy Core's execution of one small INSERT (cache lookup, execution context, result
    set-up) cost more than SQLite's own work for the row. The values still go through each
    column's SQLAlchemy bind processor (UTC datetimes, JSON), so rows are stored exactly as
    Core stores them; on SQLite, columns left out get their database default (Core's
    Python-side defaults do not apply: name every column that has one). The statement runs
    inside the session's transaction, on its connection."""

    def __init__(self, table: Table, columns: Sequence[str]) -> None:
        self.table = table
        self.columns = tuple(columns)
        self._core = insert(table)
        self._core_returning = insert(table).returning(*table.primary_key.columns)
        self._compiled: tuple[str, tuple[Any, ...]] | None = None

    @staticmethod
    def applies(conn: Connection) -> bool:
        """Whether the rows go to the driver (SQLite) rather than through Core."""
        return conn.dialect.name == "sqlite"

    def _prepared(self, dialect: Dialect) -> tuple[str, tuple[Any, ...]]:
        if self._compiled is None:
            quote = dialect.identifier_preparer.quote
            names = ", ".join(quote(c) for c in self.columns)
            sql = f"INSERT INTO {quote(self.table.name)} ({names}) VALUES ({', '.join('?' * len(self.columns))})"
            processors = tuple(_bind_processor(self.table.c[c].type, dialect) for c in self.columns)
            self._compiled = (sql, processors)
        return self._compiled

    def _params(self, processors: tuple[Any, ...], row: Mapping[str, Any]) -> list[Any]:
        values = [row[c] for c in self.columns]
        for i, process in enumerate(processors):
            if process is not None:
                values[i] = process(values[i])
        return values

    def one(self, conn: Connection, row: Mapping[str, Any]) -> int:
        """Insert one row; its id (the table's integer primary key)."""
        if not self.applies(conn):
            return int(conn.execute(self._core_returning, dict(row)).scalar_one())
        sql, processors = self._prepared(conn.dialect)
        params = self._params(processors, row)
        with _as_sqlalchemy_error(conn, sql, params):
            cursor = conn.connection.driver_connection.execute(sql, params)  # type: ignore[union-attr]
        return int(cursor.lastrowid)

    def many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        if not self.applies(conn):
            conn.execute(self._core, [dict(r) for r in rows])
            return
        sql, processors = self._prepared(conn.dialect)
        params = [self._params(processors, row) for row in rows]
        with _as_sqlalchemy_error(conn, sql, params):
            conn.connection.driver_connection.executemany(sql, params)  # type: ignore[union-attr]


# A new ticket's row, events and SLA timers carry the same few timestamps (its creation time,
# the timers' deadlines), and formatting one for SQLite (UTC, then text) cost more than
# looking it up. Immutable values only: datetimes and dates, keyed by the column type's repr
# (two types that print alike convert alike) so the tables share one memo.
_MEMOISED_PROCESSORS: dict[tuple[str, str], Callable[[Any], Any]] = {}


def _bind_processor(type_: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    processor = type_.dialect_impl(dialect).bind_processor(dialect)
    try:  # a TypeDecorator (UTCDateTime) holds the values of its implementation's type
        python_type = (type_.impl_instance if isinstance(type_, TypeDecorator) else type_).python_type
    except NotImplementedError:
        return processor
    if processor is None or python_type not in (datetime, date):
        return processor
    key = (repr(type_), dialect.name)
    if key not in _MEMOISED_PROCESSORS:
        _MEMOISED_PROCESSORS[key] = lru_cache(maxsize=512)(processor)
    return _MEMOISED_PROCESSORS[key]


@contextmanager
def _as_sqlalchemy_error(conn: Connection, sql: str, params: Any) -> Iterator[None]:
    """Driver errors raised as SQLAlchemy's, as Core would (IntegrityError → 409, a locked
    database → 503, in web/errors.py), never as a bare sqlite3 error (a 500)."""
    base = conn.dialect.loaded_dbapi.Error
    try:
        yield
    except base as exc:
        raise DBAPIError.instance(sql, params, exc, base, dialect=conn.dialect) from exc
