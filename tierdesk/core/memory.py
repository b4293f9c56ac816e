"""Give the memory a burst of requests freed back to the operating system once it is over.

A web worker serving 16 concurrent page requests holds up to 16 SQLite connections (each with
its page cache and prepared statements) and as many rendered pages at once. When the burst
ends, Python and SQLite free that memory, but glibc's allocator keeps most of it: freed
chunks in the middle of a heap, and in the per-thread arenas of the pool's threads, are not
returned to the kernel until something calls `malloc_trim`. Measured at 100k tickets
(docs/performance.md, "Memory a burst frees"): after 800 ticket pages at 16 concurrent
requests, one `malloc_trim(0)` (3 ms) gave back 17–20 MiB in process and 5–8 MiB per worker
of `tierdesk serve`.

`IdleTrimmer` calls it once a worker has gone one whole interval without finishing a
request after some activity: never while requests keep coming (the allocator would only
have to ask the kernel again), and once per quiet spell, not on every tick. It is glibc's
function, looked up with ctypes; on other C libraries (musl, macOS) there is nothing to
call and the trimmer does nothing. `TIERDESK_MALLOC_TRIM_IDLE_SECONDS=0` turns it off.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
from collections.abc import Callable
from functools import cache

import anyio.to_thread

log = logging.getLogger("tierdesk.memory")


@cache
def find_malloc_trim() -> Callable[[], int] | None:
    """glibc's `malloc_trim(0)` as a callable returning 1 if memory was released; None when
    the C library has no such function. Looked up among the symbols already loaded into the
    process (`CDLL(None)`): `ctypes.util.find_library` would run `ldconfig` in a child
    process for every app created."""
    try:
        fn = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_size_t]
    fn.restype = ctypes.c_int
    return lambda: int(fn(0))  # ctypes lets go of the GIL for the call


class IdleTrimmer:
    """Counts finished requests (`note_request`, from the request middleware) and trims when a
    tick finds none since the previous tick, after a tick that did. `tick()` is one step
    (tests drive it); `run()` ticks every `interval` seconds on the event loop and trims in a
    thread."""

    def __init__(self, trim: Callable[[], int], interval: float = 1.0) -> None:
        self.trim = trim
        self.interval = interval
        self.trims = 0
        self._finished = 0
        self._seen = 0
        self._dirty = False

    def note_request(self) -> None:
        self._finished += 1

    @property
    def finished(self) -> int:
        """Requests finished since the worker started."""
        return self._finished

    def tick(self) -> bool:
        """Whether to trim now: True once after activity has stopped for a whole tick."""
        if self._finished != self._seen:
            self._seen = self._finished
            self._dirty = True
            return False
        if not self._dirty:
            return False
        self._dirty = False
        self.trims += 1
        return True

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            if self.tick():
                try:
                    await anyio.to_thread.run_sync(self.trim)
                except Exception:  # pragma: no cover - a failed trim must not stop the worker
                    log.exception("malloc_trim failed")


def idle_trimmer(interval: float) -> IdleTrimmer | None:
    """The trimmer a web worker runs, or None when off (interval 0) or unavailable."""
    if interval <= 0:
        return None
    trim = find_malloc_trim()
    return IdleTrimmer(trim, interval) if trim is not None else None
