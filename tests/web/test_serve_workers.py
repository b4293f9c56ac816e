"""`tierdesk serve --workers 2` spreads connections over its workers (web/workers.py): the
supervisor accepts each one and hands it to the worker with the fewest open connections, so a
burst of keep-alive connections is split evenly (in the bench, all 16 clients' connections
sometimes landed on one of uvicorn's workers, which share one socket, and a kernel hash over
per-worker SO_REUSEPORT sockets split them unevenly one run in five)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tierdesk.web.workers import balances_connections

pytestmark = pytest.mark.skipif(
    not balances_connections(), reason="file descriptors are passed on POSIX only"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    """The web workers of the supervisor `pid` (not multiprocessing's resource tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                tracker = b"resource_tracker" in (entry / "cmdline").read_bytes()
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid and not tracker:
                found.append(int(entry.name))
    return found


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def _established_to(port: int) -> set[int]:
    """Inodes of the server side of established TCP connections on the port."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        if local_port == port and fields[3] == "01":  # 01: ESTABLISHED
            inodes.add(int(fields[9]))
    return inodes


def _start(tmp_path: Path, port: int) -> tuple[subprocess.Popen[bytes], list[int]]:
    env = {
        **os.environ,
        "TIERDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "TIERDESK_SECRET_KEY": "s" * 32,
        "TIERDESK_LOG_LEVEL": "WARNING",
    }
    tierdesk = [sys.executable, "-m", "tierdesk.cli"]
    subprocess.run([*tierdesk, "db", "upgrade"], env=env, check=True, capture_output=True)
    server = subprocess.Popen(
        [*tierdesk, "serve", "--workers", "2", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while len(_children(server.pid)) < 2 or not _answers(port):
        assert time.monotonic() < deadline, "the workers did not start"
        assert server.poll() is None, "serve exited"
        time.sleep(0.2)
    workers = _children(server.pid)
    # A worker gets connections once its app is up: wait until two connections at once are
    # served one by each, then until both are closed on the workers' side too.
    while True:
        pair = [_served(port) for _ in range(2)]
        spread = sorted(_per_worker(workers, port).values())
        for c in pair:
            c.close()
        if spread == [1, 1]:
            break
        assert time.monotonic() < deadline, f"both workers did not take connections: {spread}"
        time.sleep(0.2)
    _wait_closed(workers, port, deadline)
    return server, workers


def _served(port: int) -> socket.socket:
    """A keep-alive connection that has been answered once."""
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    c.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n")
    assert c.recv(65536).startswith(b"HTTP/1.1 200")
    return c


def _wait_closed(workers: list[int], port: int, deadline: float) -> None:
    while any(_per_worker(workers, port).values()):
        assert time.monotonic() < deadline, "the workers still hold closed connections"
        time.sleep(0.05)
    time.sleep(0.3)  # a worker publishes its count when its loop sees the close


def _per_worker(workers: list[int], port: int) -> Counter[int]:
    served = _established_to(port)
    return Counter({pid: len(_socket_inodes(pid) & served) for pid in workers})


def test_a_burst_of_keep_alive_connections_is_split_evenly_over_the_workers(tmp_path: Path) -> None:
    port = _free_port()
    server, workers = _start(tmp_path, port)
    clients: list[socket.socket] = []
    try:
        # Only the supervisor listens; the workers have no listening socket of their own.
        assert _listening(server.pid, port)
        assert not any(_listening(pid, port) for pid in workers)

        # A burst, as a load generator or a proxy's pool opens them, while both workers are
        # busy (paused here): from a shared socket the first worker to wake took all 16, and
        # a kernel hash split them 11/5 or worse one time in five.
        for pid in workers:
            os.kill(pid, signal.SIGSTOP)
        try:
            clients = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(16)]
        finally:
            for pid in workers:
                os.kill(pid, signal.SIGCONT)
        for c in clients:
            c.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n")
        for c in clients:
            assert c.recv(65536).startswith(b"HTTP/1.1 200"), "each is served and kept open"
        assert sorted(_per_worker(workers, port).values()) == [8, 8]
    finally:
        for c in clients:
            c.close()
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)


def test_new_connections_go_to_the_worker_with_fewer_open_ones(tmp_path: Path) -> None:
    port = _free_port()
    server, workers = _start(tmp_path, port)
    clients: list[socket.socket] = []
    try:
        clients = [_served(port) for _ in range(4)]
        assert sorted(_per_worker(workers, port).values()) == [2, 2]
        # One worker's clients leave; the next two connections both go to that worker.
        emptied = workers[0]
        for c in list(clients):
            if _socket_of(c, emptied):
                c.close()
                clients.remove(c)
        deadline = time.monotonic() + 10
        while _per_worker(workers, port)[emptied]:
            assert time.monotonic() < deadline, "the worker did not see its connections close"
            time.sleep(0.05)
        time.sleep(0.3)  # its count is published when the loop sees the close
        clients += [_served(port) for _ in range(2)]
        assert _per_worker(workers, port) == Counter({emptied: 2, workers[1]: 2})
    finally:
        for c in clients:
            c.close()
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)


def test_a_worker_that_dies_is_replaced_and_the_server_goes_on_answering(tmp_path: Path) -> None:
    port = _free_port()
    server, workers = _start(tmp_path, port)
    try:
        os.kill(workers[0], signal.SIGKILL)
        deadline = time.monotonic() + 60
        while workers[0] in _children(server.pid) or len(_children(server.pid)) < 2:
            assert time.monotonic() < deadline, "no worker replaced the dead one"
            time.sleep(0.2)
        assert all(_answers(port) for _ in range(6))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)


def _socket_of(client: socket.socket, pid: int) -> bool:
    """Whether the server side of this client's connection is held by the process."""
    local = client.getsockname()[1]
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[2].split(":")[1], 16) == local and fields[3] == "01":
            return int(fields[9]) in _socket_inodes(pid)
    return False


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _listening(pid: int, port: int) -> set[int]:
    """Inodes of the process's listening sockets on the port."""
    listening = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "0A":  # 0A: LISTEN
            listening.add(int(fields[9]))
    return _socket_inodes(pid) & listening


def _listens(pid: int, port: int) -> bool:
    return bool(_listening(pid, port))
