"""Group commit: concurrent writes of one kind share one transaction, written by one thread.

SQLite has one write lock, and each transaction pays a fixed cost (BEGIN IMMEDIATE, the
write gate, COMMIT, a session); PostgreSQL pays a WAL flush per COMMIT. When sixteen
clients create tickets at once, writing them one transaction each makes every request pay
that cost and queue for the lock in turn. A `GroupWriter` has one writer thread per process
that writes whatever was submitted meanwhile as one batch instead (docs/performance.md,
"Creating a ticket"): a lone request is written at once, and under load each commit
carries everything that arrived during the previous one.

Requests `await submit(item)` on their event loop: no thread-pool hop per request, and one
wake-up of the loop per batch hands every result back.

Each item is still all-or-nothing: if a batch fails (say one ticket names a requester
deleted a moment ago), it is rolled back and its items are written again one transaction
each, so only the bad item fails, with its own error, and no item is written twice.

On SQLite the batch is written by `LoopGroupWriter`, on the event loop itself rather than in
a thread: a write transaction holds the database's one write lock, and a writer thread had
to win its own process's GIL back from the event loop after every statement (sqlite3 lets
the GIL go around each step), so the lock was held several times longer than the work took
and both processes queued behind it (docs/performance.md, "Creating a ticket"). Only the wait
for the cross-process write gate happens in a helper thread; SQLite's own lock is taken
without waiting (busy_timeout 0 for that BEGIN) and retried after an asynchronous back-off,
so a writer outside the gate (the worker, the scheduler, the CLI) never blocks the loop.
"""

from __future__ import annotations

import asyncio
import contextvars
import queue
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext, suppress
from typing import Any, Generic, TypeVar

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from tierdesk.core.db import NOWAIT_OPTION, WriteGate, is_locked

T = TypeVar("T")
R = TypeVar("R")
_STOP = object()


class _BatchWriter(Generic[T, R]):
    """What both group writers share: writing a batch in an open session and committing it."""

    def __init__(
        self,
        open_session: Callable[[], Session],
        write: Callable[[Session, Sequence[T]], Sequence[R]],
        max_batch: int,
    ) -> None:
        self._open_session = open_session
        self._write_items = write
        self.max_batch = max_batch
        self.batches = 0  # transactions committed (tests and the bench read these)
        self.items = 0

    def _write_and_commit(self, db: Session, items: list[T]) -> Sequence[R]:
        try:
            results = self._write_items(db, items)
            db.commit()
        except BaseException:
            db.rollback()
            raise
        self.batches += 1
        self.items += len(items)
        return results


class GroupWriter(_BatchWriter[T, R]):
    """Write submitted items in shared transactions, in one thread of this process.

    `open_session()` gives a new write session; `write(db, items)` writes the items in it
    (flushing, never committing) and returns one result per item, in order. `gate()`, if
    given, is held around each transaction (core.db.WriteGate.for_request: the process's
    and the other processes' writers take SQLite's lock in turn)."""

    def __init__(
        self,
        open_session: Callable[[], Session],
        write: Callable[[Session, Sequence[T]], Sequence[R]],
        gate: Callable[[], AbstractContextManager[Any]] | None = None,
        max_batch: int = 64,
    ) -> None:
        super().__init__(open_session, write, max_batch)
        self._gate = gate or nullcontext
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    async def submit(self, item: T) -> R:
        """Write `item`; return its result once its transaction has committed, or raise the
        error of its own write."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._ensure_thread()
        self._queue.put((item, future, loop))
        return await future

    def stop(self) -> None:
        """Let the writer finish what was submitted, then end its thread."""
        thread = self._thread
        if thread is not None and thread.is_alive():
            self._queue.put(_STOP)
            thread.join(timeout=30)
        self._thread = None

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            with self._start_lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(
                        target=self._run, name="tierdesk-group-writer", daemon=True
                    )
                    self._thread.start()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            stop = False
            while len(batch) < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                batch.append(nxt)
            self._write(batch)
            if stop:
                return

    def _write(self, batch: list[tuple[T, asyncio.Future[R], asyncio.AbstractEventLoop]]) -> None:
        try:
            outcomes = write_isolating(self._commit, [item for item, _, _ in batch])
        except BaseException as exc:  # nobody may wait forever
            self._hand_back(batch, [(None, exc)] * len(batch))
            raise
        self._hand_back(batch, outcomes)

    def _commit(self, items: list[T]) -> Sequence[R]:
        with self._gate(), self._open_session() as db:
            return self._write_and_commit(db, items)

    @staticmethod
    def _hand_back(
        batch: list[tuple[T, asyncio.Future[R], asyncio.AbstractEventLoop]],
        outcomes: list[tuple[R | None, BaseException | None]],
    ) -> None:
        """One call into each event loop per batch (not one per item)."""
        per_loop: dict[asyncio.AbstractEventLoop, list[Any]] = defaultdict(list)
        for (_, future, loop), (result, error) in zip(batch, outcomes, strict=True):
            per_loop[loop].append((future, result, error))
        for loop, settled in per_loop.items():
            with suppress(RuntimeError):  # that loop is closed: its requests are gone
                loop.call_soon_threadsafe(_settle, settled)


def _settle(settled: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, result, error in settled:
        if future.done():  # the request was cancelled (client went away); the write stands
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)


class _Busy(Exception):
    """SQLite's write lock is held by a writer outside the gate, so nothing was written: try
    again shortly (its __cause__ is SQLite's "database is locked")."""


def write_isolating(
    commit: Callable[[list[T]], Sequence[R]], items: list[T]
) -> list[tuple[R | None, BaseException | None]]:
    """Commit the items as one batch; if that fails, once more one transaction each, so only
    a bad item fails (with its own error) and nothing is written twice. A batch that could
    not start (_Busy) is raised as it is: the caller retries all of it."""
    try:
        return [(r, None) for r in commit(items)]
    except _Busy:
        raise
    except Exception as exc:
        if len(items) == 1:
            return [(None, exc)]
        outcomes: list[tuple[R | None, BaseException | None]] = []
        for item in items:
            try:
                outcomes.append((commit([item])[0], None))
            except _Busy as busy:  # rare: the lock was taken between two items
                outcomes.append((None, busy.__cause__ or busy))
            except Exception as own:
                outcomes.append((None, own))
        return outcomes


class LoopGroupWriter(_BatchWriter[T, R]):
    """GroupWriter for SQLite that writes each batch on the event loop (see the module's
    docstring for why). `submit` queues the item; one drain task per process takes the
    write gate, writes everything queued meanwhile (up to `max_batch`) in one transaction,
    gives the gate back and settles the requests. While one batch waits for the gate (the
    other worker processes are writing), the next requests are planned and queue up, so the
    batches grow with the load by themselves.

    `gate()` returns the write gate to take around each transaction (None: no gate).
    `busy_timeout` bounds how long a batch keeps retrying while a writer outside the gate
    holds SQLite's lock, like SQLite's own busy_timeout; then the batch fails with that
    "database is locked" error."""

    def __init__(
        self,
        open_session: Callable[[], Session],
        write: Callable[[Session, Sequence[T]], Sequence[R]],
        gate: Callable[[], WriteGate | None] | None = None,
        max_batch: int = 64,
        busy_timeout: float = 10.0,
    ) -> None:
        super().__init__(open_session, write, max_batch)
        self._gate = gate or (lambda: None)
        self.busy_timeout = busy_timeout
        self._pending: deque[tuple[T, asyncio.Future[R]]] = deque()
        self._drain_task: asyncio.Task[None] | None = None
        self._gate_thread: ThreadPoolExecutor | None = None

    async def submit(self, item: T) -> R:
        """Write `item`; return its result once its transaction has committed, or raise the
        error of its own write."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._pending.append((item, future))
        if self._drain_task is None or self._drain_task.done():
            # A context of its own: the request's (a write gate slot, a request id) must not
            # leak into batches that carry other requests' items.
            self._drain_task = loop.create_task(self._drain(), context=contextvars.Context())
        return await future

    def stop(self) -> None:
        """Nothing runs between batches; the gate's helper thread is let go."""
        if self._gate_thread is not None:
            self._gate_thread.shutdown(wait=False)
            self._gate_thread = None

    async def _drain(self) -> None:
        while self._pending:
            batch = [self._pending.popleft() for _ in range(min(len(self._pending), self.max_batch))]
            try:
                outcomes = await self._write(batch)
            except BaseException as exc:  # nobody may wait forever
                _settle([(future, None, exc) for _, future in batch])
                raise
            _settle(
                [
                    (future, result, error)
                    for (_, future), (result, error) in zip(batch, outcomes, strict=True)
                ]
            )

    async def _write(
        self, batch: list[tuple[T, asyncio.Future[R]]]
    ) -> list[tuple[R | None, BaseException | None]]:
        items = [item for item, _ in batch]
        deadline = time.monotonic() + self.busy_timeout
        pause = 0.0005
        while True:
            gate = self._gate()
            if gate is not None:
                await self._take(gate)
            try:
                return write_isolating(self._commit, items)
            except _Busy as busy:
                if time.monotonic() + pause > deadline:
                    error = busy.__cause__ or busy
                    return [(None, error)] * len(items)
            finally:
                if gate is not None:
                    gate.release()
            await asyncio.sleep(pause)  # without the gate, so other writers go on meanwhile
            pause = min(pause * 2, 0.05)

    async def _take(self, gate: WriteGate) -> None:
        """The gate, without a thread hop when it is free; else waited for in a helper
        thread (it blocks), while the loop goes on planning the next requests."""
        if gate.try_acquire():
            return
        if self._gate_thread is None:
            self._gate_thread = ThreadPoolExecutor(1, thread_name_prefix="tierdesk-write-gate")
        await asyncio.get_running_loop().run_in_executor(self._gate_thread, gate.acquire)

    def _commit(self, items: list[T]) -> Sequence[R]:
        with self._open_session() as db:
            try:
                # BEGIN IMMEDIATE without SQLite's busy wait, which would block the loop.
                db.connection(execution_options={NOWAIT_OPTION: True})
            except OperationalError as exc:
                db.rollback()
                if is_locked(exc):
                    raise _Busy from exc
                raise
            return self._write_and_commit(db, items)
