"""SQLite WAL checkpoints in a background thread, off the write path of the web workers.

By default SQLite checkpoints inside the COMMIT that takes the write-ahead log past 1,000
pages: that commit also copies the log into the database file and waits for two fsyncs.
In a web worker the commit runs on the event loop (core/group.py) while the process holds
the write gate, so every hundredth batch or so stopped both the loop and, through the gate,
the other workers' writes. On this kind of VM, where an fsync takes a few hundred µs to a
few ms, that cost a third of ticket creation's throughput and most of its p99
(docs/performance.md, "Creating a ticket").

A `Database(..., background_checkpoints=True)` (what `tierdesk serve` uses; Settings
`sqlite_background_checkpoints`) opens its connections with `wal_autocheckpoint=0`, and
this thread runs `PRAGMA wal_checkpoint(PASSIVE)` on a connection of its own whenever the
log has grown past the same 1,000 pages. A passive checkpoint never waits for, nor blocks,
readers and writers, and sqlite3 lets go of the GIL while it copies and syncs, so the
event loop goes on serving meanwhile. Writers start the log again from its beginning once
a checkpoint has copied all of it, exactly as after an automatic checkpoint. Processes
without the thread (the worker, the scheduler, the CLI) keep SQLite's automatic
checkpoints, so the log is checkpointed whoever writes.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from dataclasses import dataclass

log = logging.getLogger("tierdesk.checkpoint")

# SQLite's own automatic-checkpoint threshold, in pages of the log.
CHECKPOINT_PAGES = 1000
POLL_SECONDS = 0.05


@dataclass(frozen=True)
class CheckpointResult:
    """What `PRAGMA wal_checkpoint(PASSIVE)` reported: frames in the log, and copied."""

    busy: bool
    log_frames: int
    checkpointed: int


class Checkpointer:
    """Checkpoints the database file's WAL when it has grown past `pages` pages. `run_due()`
    is one step (tests call it); `start()` runs it every `poll_seconds` in a daemon thread."""

    def __init__(self, path: str, pages: int = CHECKPOINT_PAGES, poll_seconds: float = POLL_SECONDS) -> None:
        self.path = path
        self.wal = f"{path}-wal"
        self.pages = pages
        self.poll_seconds = poll_seconds
        self.checkpoints = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn: sqlite3.Connection | None = None
        self._page_size = 0
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._page_size = int(self._conn.execute("PRAGMA page_size").fetchone()[0])
        return self._conn

    def due(self) -> bool:
        """Whether the log holds more than `pages` pages (one stat of the -wal file)."""
        try:
            size = os.stat(self.wal).st_size
        except FileNotFoundError:
            return False
        if not self._page_size:
            with self._lock:
                self._connection()
        return size > self.pages * self._page_size

    def checkpoint(self) -> CheckpointResult:
        with self._lock:
            busy, frames, copied = self._connection().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            self.checkpoints += 1
        return CheckpointResult(bool(busy), int(frames), int(copied))

    def run_due(self) -> CheckpointResult | None:
        """Checkpoint if due; the result, or None when the log was small enough."""
        return self.checkpoint() if self.due() else None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="tierdesk-checkpoint", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.run_due()
            except sqlite3.Error as exc:  # e.g. the file went away under a test: try again later
                log.warning("background checkpoint failed: %s", exc)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
