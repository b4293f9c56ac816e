"""Engine, sessions and column types shared by every domain.

SQLite is opened in WAL mode with a busy timeout. Write transactions start with
`BEGIN IMMEDIATE` (the write engine) so two writers never deadlock while upgrading a read
lock; read-only requests use plain deferred transactions and never block writers.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import sqlite3
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, ORMExecuteState, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from tierdesk.core.checkpoint import Checkpointer

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC, on every backend alike."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


# --- configuration generation ---------------------------------------------------------------
# core/memo.py `shared` keeps read-mostly configuration in each process, keyed by the token of
# the one row of `config_generation`. Every transaction that writes configuration sets a new
# random token in that same transaction (the Session hooks below), so once it commits every
# process reloads; a token from a transaction that rolled back never comes back.
# Tables whose every write changes configuration, and tables where only updates and deletes
# do (a new customer changes no existing login; an edited one may change what it sees).
CONFIG_TABLES = frozenset(
    {
        "tiers",
        "teams",
        "team_members",
        "agent_tiers",
        "agent_skills",
        "agent_profiles",
        "skills",
        "escalation_paths",
        "calendars",
        "sla_policies",
        "sla_targets",
        "routing_rules",
        "users",
        "api_tokens",
        "vendors",
    }
)
CONFIG_TABLES_ON_CHANGE = frozenset({"customers", "organizations"})
config_generation = Table(
    "config_generation",
    Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("token", String(32), nullable=False),
)
GENERATION_KEY = "tierdesk.config_generation"
_config_writes = 0


def config_writes() -> int:
    """How many configuration writes this process has made (memo re-reads the token after one)."""
    return _config_writes


def config_changed(db: Session) -> None:
    """Start a new configuration generation in this transaction. The flush hook calls it for
    ORM writes; call it after a Core INSERT/UPDATE/DELETE on a configuration table."""
    token = secrets.token_hex(8)
    db.connection().execute(update(config_generation).where(config_generation.c.id == 1).values(token=token))
    global _config_writes
    _config_writes += 1
    db.info[GENERATION_KEY] = (token, _config_writes)


def _is_config_write(table_name: str | None, inserting: bool) -> bool:
    """Whether writing a row of this table (an insert, or an update/delete) changes configuration."""
    return table_name in CONFIG_TABLES or (table_name in CONFIG_TABLES_ON_CHANGE and not inserting)


def _writes_config(session: Session) -> bool:
    for obj in session.new:
        if _is_config_write(getattr(obj, "__tablename__", None), inserting=True):
            return True
    for obj in (*session.dirty, *session.deleted):
        if _is_config_write(getattr(obj, "__tablename__", None), inserting=False) and (
            obj in session.deleted or session.is_modified(obj, include_collections=False)
        ):
            return True
    return False


def _before_flush(session: Session, _ctx: Any, _instances: Any) -> None:
    if _writes_config(session):
        config_changed(session)


def _on_orm_execute(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if _is_config_write(getattr(table, "name", None), inserting=state.is_insert):
        config_changed(state.session)


def _forget_generation(session: Session, *_args: Any) -> None:
    session.info.pop(GENERATION_KEY, None)


def install_session_hooks() -> None:
    """Install the configuration-generation and write-gate hooks on every Session
    (idempotent; Database() calls it)."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "do_orm_execute", _on_orm_execute)
        event.listen(Session, "after_begin", _forget_generation)
        event.listen(Session, "after_commit", _release_gate_at_end)
        event.listen(Session, "after_rollback", _release_gate_at_end)


def _bind_null(value: None) -> None:
    return value


# sqlite3 binds int, float, str and bytearray parameters directly, but sends every other value
# through its adapter lookup, None included. For None that lookup ends in two failed
# attribute lookups, and each one formats an AttributeError message. A ticket creation binds
# about 25 NULLs; the adapter saved 1.5% of its instructions (bench/create_instructions.py). With
# an adapter registered for None, one dict lookup finds it, and NULL is bound as before. None is
# not one of the base types whose adapters switch every parameter onto the slow path.
sqlite3.register_adapter(type(None), _bind_null)


def _configure_sqlite(engine: Engine, autocheckpoint: bool = True) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (needed for
        # BEGIN IMMEDIATE and for SAVEPOINT in tests).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        if not autocheckpoint:  # a background thread checkpoints instead (core/checkpoint.py)
            cur.execute("PRAGMA wal_autocheckpoint=0")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        # Each pooled connection keeps its own page cache (2 MiB by default, filled by random
        # ticket reads); 1 MiB keeps the upper index levels hot, the OS page cache holds the
        # rest, and a web worker's pool no longer holds up to 16 MiB of copies (docs/performance.md).
        cur.execute("PRAGMA cache_size=-1024")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        options = conn.get_execution_options()
        mode = options.get("sqlite_begin", "DEFERRED")
        slot = _current_slot.get()
        if mode == "IMMEDIATE" and slot is not None and not slot.held:
            slot.gate.acquire()  # hold it only from here, not while the request is parsed
            slot.held = True
        if not options.get(NOWAIT_OPTION):
            conn.exec_driver_sql(f"BEGIN {mode}")
            return
        # Fail at once instead of sleeping in SQLite's busy handler (the caller runs on the
        # event loop and retries asynchronously: core/group.py LoopGroupWriter).
        raw = conn.connection.driver_connection
        raw.execute("PRAGMA busy_timeout=0")
        try:
            conn.exec_driver_sql(f"BEGIN {mode}")
        finally:
            raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


READ_FIRST_KEY = "tierdesk.read_first"
# Connection execution option: the SQLite transaction it begins does not wait for the write
# lock; BEGIN fails with "database is locked" at once if another connection holds it.
NOWAIT_OPTION = "tierdesk_nowait"
BUSY_TIMEOUT_MS = 10_000


def is_locked(exc: OperationalError) -> bool:
    """Whether SQLite refused because another connection holds its lock."""
    return "database is locked" in str(exc.orig) or "database is busy" in str(exc.orig)


def begin_write(db: Session) -> None:
    """Switch a read-first request to writing: on SQLite, end its read transaction and start
    the write transaction (BEGIN IMMEDIATE, the database's one write lock) here, so the lock
    is held only for the writes, not while the request validated, authenticated and decided
    what to write. Only a session opened read-first (web/deps.py `reads_first`) switches;
    for every other session, and on PostgreSQL (readers and writers share no lock), this is
    a no-op.

    Rows read before this call may have changed by the time the writes run; the writes are
    checked by constraints (a vanished requester is a foreign-key error, answered 409)."""
    if not db.info.pop(READ_FIRST_KEY, False) or db.get_bind().dialect.name != "sqlite":
        return
    if db.new or db.dirty or db.deleted:
        raise RuntimeError("begin_write() after unflushed changes: they would be committed early")
    db.commit()  # the read part wrote nothing: this only lets go of its snapshot
    db.connection(execution_options={"sqlite_begin": "IMMEDIATE"})


def make_engine(url: str, echo: bool = False, autocheckpoint: bool = True) -> Engine:
    if url.startswith("sqlite"):
        in_memory = url in ("sqlite://", "sqlite:///:memory:")
        pool_args: dict[str, Any] = {} if in_memory else {"pool_size": 8, "max_overflow": 16}
        engine = create_engine(
            url, echo=echo, connect_args={"check_same_thread": False, "timeout": 10}, **pool_args
        )
        _configure_sqlite(engine, autocheckpoint)
        return engine
    return create_engine(url, echo=echo, pool_size=10, max_overflow=20, pool_pre_ping=True)


def normalise_url(url: str) -> str:
    """Accept postgres:// and postgresql:// URLs and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class WriteGate:
    """Lets web write transactions into SQLite one at a time, in arrival order, within each
    process and across the worker processes of `tierdesk serve --workers N`.

    SQLite has a single write lock. Without a gate, concurrent writers wait for it in SQLite's
    busy handler, which sleeps and retries (sleeps grow to 100 ms) and is not fair: with 16
    clients a few requests waited seconds, and some gave up after the busy timeout
    (docs/performance.md). With the gate, the thread about to `BEGIN IMMEDIATE` for a web
    request first takes a turn in a FIFO queue of its process, then an exclusive flock() on
    `<database file>.write-gate`, which the kernel hands to the next waiting process as soon
    as it is released. `TxRoute` releases it when the request's transaction is over. Writers
    outside web requests (scheduler, worker, CLI) are not gated: they wait in SQLite's busy
    handler behind at most one gated writer per process. A process that dies releases its
    flock with it."""

    def __init__(self, path: str) -> None:
        self.path = path + ".write-gate"
        self._fd: int | None = None
        self._pid = 0
        # FIFO turns within the process: the releasing thread hands the turn straight to the
        # oldest waiter, so exactly one thread wakes (no thundering herd on the GIL).
        self._mutex = threading.Lock()
        self._busy = False
        self._waiters: deque[threading.Lock] = deque()

    def _file(self) -> int:
        if self._fd is None or self._pid != os.getpid():  # a forked child opens its own
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd

    def acquire(self) -> None:
        """Blocks until it is this caller's turn in the process, then across processes."""
        with self._mutex:
            if self._busy:
                turn = threading.Lock()
                turn.acquire()
                self._waiters.append(turn)
            else:
                self._busy = True
                turn = None
        if turn is not None:
            turn.acquire()  # released by the previous holder's _next_turn
        try:
            fcntl.flock(self._file(), fcntl.LOCK_EX)
        except BaseException:
            self._next_turn()
            raise

    def try_acquire(self) -> bool:
        """Take the gate only if nobody holds or awaits it, without blocking."""
        with self._mutex:
            if self._busy:
                return False
            self._busy = True
        try:
            fcntl.flock(self._file(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._next_turn()
            return False
        except BaseException:
            self._next_turn()
            raise
        return True

    def release(self) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._next_turn()

    def waiting(self) -> int:
        with self._mutex:
            return len(self._waiters)

    def _next_turn(self) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().release()  # the turn passes on; still busy
            else:
                self._busy = False

    @contextmanager
    def for_request(self) -> Iterator[None]:
        """Gate the write transaction the current context begins (the first BEGIN IMMEDIATE,
        in whichever thread it runs), and release it when the block ends."""
        slot = _GateSlot(self)
        token = _current_slot.set(slot)
        try:
            yield
        finally:
            _current_slot.reset(token)
            slot.release()


@dataclass
class _GateSlot:
    gate: WriteGate
    held: bool = False

    def release(self) -> None:
        """Give the gate back if this request holds it (at commit, or when the request ends)."""
        if self.held:
            self.held = False
            self.gate.release()


# Set by WriteGate.for_request; thread pools copy the context, so the thread that runs the
# request's SQL sees the same slot as the coroutine that releases it.
_current_slot: ContextVar[_GateSlot | None] = ContextVar("tierdesk_write_gate", default=None)


def _release_gate_at_end(session: Session, *_args: Any) -> None:
    """A gated write gives the gate back as soon as its transaction has committed or rolled
    back, not when the request is over: the next writer need not wait for this response to
    be serialised and sent."""
    slot = _current_slot.get()
    if slot is not None:
        slot.release()


class Database:
    """The engine plus two session factories: reads (deferred) and writes (immediate)."""

    def __init__(self, url: str, echo: bool = False, background_checkpoints: bool = False) -> None:
        install_session_hooks()
        self.url = normalise_url(url)
        file_path = self.url.removeprefix("sqlite:///") if self.url.startswith("sqlite:///") else ""
        on_file = file_path not in ("", ":memory:")  # a SQLite file, shared by processes
        if on_file:
            Path(file_path).parent.mkdir(parents=True, exist_ok=True)
        # WAL checkpoints in a thread of this process rather than in its commits (web workers).
        self.checkpointer = Checkpointer(file_path) if background_checkpoints and on_file else None
        self.engine = make_engine(self.url, echo=echo, autocheckpoint=self.checkpointer is None)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        if self.checkpointer is not None:
            self.checkpointer.start()
        # Only a file database shared by processes needs the gate (not :memory:, not PostgreSQL).
        self.write_gate = WriteGate(file_path) if on_file else None
        write_engine = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        self.read_session = sessionmaker(bind=self.engine, expire_on_commit=False)
        self.write_session = sessionmaker(bind=write_engine, expire_on_commit=False)

    def session(self, write: bool = True) -> Session:
        return self.write_session() if write else self.read_session()

    def dispose(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.stop()
        self.engine.dispose()
