"""`tierdesk serve --workers N`: N uvicorn processes, each accepting on a listening socket of
its own (SO_REUSEPORT), and a small supervisor that restarts one that dies.

uvicorn's own `--workers` binds one socket in the supervisor and shares it with every
worker. Each worker's event loop accepts every connection that is waiting whenever the
socket turns readable, so a burst of new connections often lands on a single worker: in the
bench, all 16 keep-alive connections of the load generator were served by one process in
some runs (0.97 cores used of 2), by both in others, and ticket creation measured anywhere
between 820 and 1,320 per second for the same code (docs/performance.md). A reverse proxy's
few long-lived upstream connections suffer the same. With a socket per worker in one
SO_REUSEPORT group, the kernel spreads new connections over the workers by a hash of their
addresses (nginx's `listen … reuseport` does the same).

Where SO_REUSEPORT does not balance (not Linux), `serve` falls back to uvicorn's workers.
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
import sys
import time
from multiprocessing.process import BaseProcess
from types import FrameType

APP = "tierdesk.web.main:app"


def balances_connections() -> bool:
    """Whether the kernel spreads connections over SO_REUSEPORT sockets (Linux does)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def reuseport_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port in the SO_REUSEPORT group of that address (not yet
    listening: only listening sockets are handed connections)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _run_worker(host: str, port: int, log_level: str) -> None:
    """One worker process: its own socket in the group, one uvicorn server on it."""
    import uvicorn

    sock = reuseport_socket(host, port)
    config = uvicorn.Config(APP, host=host, port=port, log_level=log_level, proxy_headers=True)
    uvicorn.Server(config).run(sockets=[sock])


def serve_workers(host: str, port: int, workers: int, log_level: str = "warning") -> None:
    """Run `workers` worker processes until SIGINT/SIGTERM; restart any that dies meanwhile."""
    # Bound here first: a port already taken fails at once, in this process, and port 0
    # becomes one port that every worker joins. This socket never listens, so it is never
    # handed a connection.
    anchor = reuseport_socket(host, port)
    port = anchor.getsockname()[1]
    context = multiprocessing.get_context("spawn")
    stopping = False

    def start() -> BaseProcess:
        process = context.Process(target=_run_worker, args=(host, port, log_level), name="tierdesk-web")
        process.start()
        return process

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    processes = [start() for _ in range(workers)]
    print(f"tierdesk serving on http://{host}:{port} with {workers} workers", flush=True)
    try:
        while not stopping:
            time.sleep(0.2)
            for i, process in enumerate(processes):
                if not process.is_alive() and not stopping:
                    print(f"worker {process.pid} exited ({process.exitcode}); starting another", flush=True)
                    processes[i] = start()
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes the requests in flight
        deadline = time.monotonic() + 30
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
        anchor.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
