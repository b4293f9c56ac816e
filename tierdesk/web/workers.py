"""`tierdesk serve --workers N`: N uvicorn processes behind one listening socket held by a
small supervisor, which accepts each connection and hands it to the worker with the fewest
open connections (least connections), and restarts a worker that dies.

Why not uvicorn's own `--workers`: it shares the listening socket with every worker, and
each worker's event loop accepts every connection waiting whenever the socket turns
readable, so a burst of new connections often lands on a single worker. In the bench, all
16 keep-alive connections of the load generator were served by one process in some runs
(0.97 cores used of 2). A reverse proxy's few long-lived upstream connections suffer the
same (docs/performance.md).

Why not a socket per worker in one SO_REUSEPORT group (what this module did before
2026-12-07): the kernel spreads connections by a hash of their addresses, which is fair
only on average. 16 connections split 11/5 or worse in about one run in five, and the
busier worker then ran at a full core while the other idled (server CPU 0.95 + 0.65 cores,
creation 994/s against 1,366/s in an even run, same code).

How a connection is handed over: the supervisor accepts it, sends its file descriptor to
the chosen worker over a Unix SOCK_SEQPACKET pair (SCM_RIGHTS), and closes its own copy. The
worker adopts the socket with `loop.connect_accepted_socket` and serves it with the same
uvicorn protocol as a connection it had accepted itself. Each worker publishes its number of
open connections in shared memory; the supervisor adds the connections it has sent that the
worker has not taken yet, so a burst arriving while the workers are busy is split evenly
too. A keep-alive connection stays with its worker until it closes. Where file descriptors
cannot be passed (not POSIX), `serve` falls back to uvicorn's workers.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import selectors
import signal
import socket
import sys
import time
from collections.abc import Iterable
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

import uvicorn

APP = "tierdesk.web.main:app"

# Shared counters, three per worker slot, each written only by the worker: its open
# connections, the connections it has taken from the channel, and whether it is ready (its
# app started). The supervisor keeps its own count of the connections it sent to each.
_OPEN, _TAKEN, _READY = 0, 1, 2
_PER_SLOT = 3


def balances_connections() -> bool:
    """Whether the supervisor can hand accepted connections to its workers (POSIX)."""
    return sys.platform != "win32" and hasattr(socket, "send_fds")


class _Counted(set[Any]):
    """uvicorn's `server_state.connections` (each protocol adds itself when its connection
    is made and discards itself when it is lost) that also publishes its size."""

    def __init__(self, counters: Any, slot: int) -> None:
        super().__init__()
        self._counters, self._at = counters, _PER_SLOT * slot + _OPEN

    def add(self, item: Any) -> None:
        super().add(item)
        self._counters[self._at] = len(self)

    def discard(self, item: Any) -> None:
        super().discard(item)
        self._counters[self._at] = len(self)


class HandedServer(uvicorn.Server):
    """A uvicorn server with no listening socket of its own: it serves the connections the
    supervisor sends over `channel`, and stops when the supervisor is gone."""

    def __init__(self, config: uvicorn.Config, channel: socket.socket, counters: Any, slot: int) -> None:
        super().__init__(config)
        self.channel, self.counters, self.slot = channel, counters, slot
        self.server_state.connections = _Counted(counters, slot)
        self._adopting: set[asyncio.Task[Any]] = set()  # kept until done (the loop holds tasks weakly)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=[])  # the lifespan, no listener
        if self.started:
            loop = asyncio.get_running_loop()
            self.channel.setblocking(False)
            loop.add_reader(self.channel.fileno(), self._take, loop)
            self.counters[_PER_SLOT * self.slot + _READY] = 1

    def _take(self, loop: asyncio.AbstractEventLoop) -> None:
        while True:
            try:
                data, fds, _flags, _addr = socket.recv_fds(self.channel, 1, 1)
            except (BlockingIOError, InterruptedError):
                return
            if not data and not fds:  # the supervisor is gone: finish what is in flight
                loop.remove_reader(self.channel.fileno())
                self.should_exit = True
                return
            for fd in fds:
                self.counters[_PER_SLOT * self.slot + _TAKEN] += 1
                sock = socket.socket(fileno=fd)
                sock.setblocking(False)
                task = loop.create_task(loop.connect_accepted_socket(lambda: self._protocol(loop), sock))
                self._adopting.add(task)
                task.add_done_callback(self._adopting.discard)

    def _protocol(self, loop: asyncio.AbstractEventLoop) -> asyncio.Protocol:
        # What uvicorn's own startup gives each connection it accepts.
        protocol: asyncio.Protocol = self.config.http_protocol_class(  # type: ignore[call-arg]
            config=self.config, server_state=self.server_state, app_state=self.lifespan.state, _loop=loop
        )
        return protocol

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        asyncio.get_running_loop().remove_reader(self.channel.fileno())  # no more connections
        await super().shutdown(sockets=None)


def _run_worker(channel: socket.socket, counters: Any, slot: int, log_level: str) -> None:
    """One worker process: serves what the supervisor hands it."""
    config = uvicorn.Config(APP, log_level=log_level, proxy_headers=True)
    HandedServer(config, channel, counters, slot).run()


class _Worker:
    def __init__(self, process: BaseProcess, channel: socket.socket) -> None:
        self.process, self.channel, self.sent = process, channel, 0


def _least_loaded(workers: list[_Worker], counters: Any) -> Iterable[_Worker]:
    """Ready workers by open connections plus those sent but not yet taken, fewest first;
    then the workers still starting (a new one only gets connections once its app is up,
    unless no worker is)."""

    def load(i: int) -> tuple[int, int]:
        at = _PER_SLOT * i
        return (
            -int(counters[at + _READY]),
            int(counters[at + _OPEN]) + workers[i].sent - int(counters[at + _TAKEN]),
        )

    return [workers[i] for i in sorted(range(len(workers)), key=load)]


def _hand_over(conn: socket.socket, workers: list[_Worker], counters: Any) -> bool:
    """Send the accepted connection to the least loaded worker that takes it."""
    if conn.family in (socket.AF_INET, socket.AF_INET6):
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for worker in _least_loaded(workers, counters):
        try:
            socket.send_fds(worker.channel, [b"c"], [conn.fileno()])
        except OSError:  # BlockingIOError (its queue is full) or a dead worker
            continue
        worker.sent += 1
        return True
    return False


def serve_workers(host: str, port: int, workers: int, log_level: str = "warning") -> None:
    """Run `workers` worker processes until SIGINT/SIGTERM, handing each connection to the
    least loaded one; restart any that dies meanwhile."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.create_server((host, port), family=family, backlog=2048)  # fails at once if taken
    listener.setblocking(False)
    port = listener.getsockname()[1]
    context = multiprocessing.get_context("spawn")
    counters = context.RawArray("q", _PER_SLOT * workers)
    stopping = False

    def start(slot: int) -> _Worker:
        for at in range(_PER_SLOT * slot, _PER_SLOT * (slot + 1)):  # a new worker in this slot
            counters[at] = 0
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        process = context.Process(
            target=_run_worker, args=(theirs, counters, slot, log_level), name="tierdesk-web"
        )
        process.start()
        theirs.close()
        ours.setblocking(False)
        return _Worker(process, ours)

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    pool = [start(slot) for slot in range(workers)]
    print(f"tierdesk serving on http://{host}:{port} with {workers} workers", flush=True)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    checked = time.monotonic()
    try:
        while not stopping:
            if selector.select(0.2):
                while True:
                    try:
                        conn, _ = listener.accept()
                    except (BlockingIOError, InterruptedError):
                        break
                    with conn:
                        _hand_over(conn, pool, counters)  # our copy is closed either way
            if time.monotonic() - checked >= 0.2:
                checked = time.monotonic()
                for slot, worker in enumerate(pool):
                    if not worker.process.is_alive() and not stopping:
                        print(f"worker {worker.process.pid} exited ({worker.process.exitcode}); starting another",
                              flush=True)  # fmt: skip
                        worker.channel.close()
                        pool[slot] = start(slot)
    finally:
        selector.close()
        listener.close()
        for worker in pool:
            if worker.process.is_alive():
                worker.process.terminate()  # SIGTERM: uvicorn finishes the requests in flight
        deadline = time.monotonic() + 30
        for worker in pool:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.channel.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
