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
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext, suppress
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session

T = TypeVar("T")
R = TypeVar("R")
_STOP = object()


class GroupWriter(Generic[T, R]):
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
        self._open_session = open_session
        self._write_items = write
        self._gate = gate or nullcontext
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.batches = 0  # transactions committed (tests and the bench read these)
        self.items = 0

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
        outcomes: list[tuple[R | None, BaseException | None]]
        try:
            outcomes = [(r, None) for r in self._commit([item for item, _, _ in batch])]
        except Exception as exc:
            if len(batch) == 1:
                outcomes = [(None, exc)]
            else:
                outcomes = []
                for item, _, _ in batch:  # one transaction each: only the bad item fails
                    try:
                        outcomes.append((self._commit([item])[0], None))
                    except Exception as own:
                        outcomes.append((None, own))
        except BaseException as exc:  # nobody may wait forever
            self._hand_back(batch, [(None, exc)] * len(batch))
            raise
        self._hand_back(batch, outcomes)

    def _commit(self, items: list[T]) -> Sequence[R]:
        with self._gate(), self._open_session() as db:
            try:
                results = self._write_items(db, items)
                db.commit()
            except BaseException:
                db.rollback()
                raise
        self.batches += 1
        self.items += len(items)
        return results

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
