"""`tierdesk serve --workers 2` spreads connections over its workers (web/workers.py): each
worker listens on its own SO_REUSEPORT socket, so a burst of keep-alive connections is not
taken by whichever worker accepts first (in the bench, all 16 clients' connections sometimes
landed on one of uvicorn's workers, which share one socket)."""

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

pytestmark = pytest.mark.skipif(not balances_connections(), reason="SO_REUSEPORT balances on Linux only")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
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


def test_each_worker_listens_on_its_own_socket_and_a_burst_of_connections_reaches_both(
    tmp_path: Path,
) -> None:
    port = _free_port()
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
    clients: list[socket.socket] = []
    try:
        deadline = time.monotonic() + 60
        while len(_children(server.pid)) < 2 or not _answers(port):
            assert time.monotonic() < deadline, "the workers did not start"
            assert server.poll() is None, "serve exited"
            time.sleep(0.2)
        # Every worker must be listening before the burst, or the first one takes it all.
        workers = [p for p in _children(server.pid) if _listens(p, port)]
        while len(workers) < 2:
            assert time.monotonic() < deadline, "the workers did not all listen"
            time.sleep(0.2)
            workers = [p for p in _children(server.pid) if _listens(p, port)]

        # Each worker listens on a socket of its own (uvicorn's workers share one).
        own = [_listening(pid, port) for pid in workers]
        assert all(len(inodes) == 1 for inodes in own) and own[0] != own[1], own

        # A burst, as a load generator or a proxy's pool opens them: all 16 wait in the
        # kernel before any worker accepts (the workers are paused meanwhile). From one
        # shared socket, the first worker to wake takes all of them.
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
        served = _established_to(port)
        per_worker = Counter({pid: len(_socket_inodes(pid) & served) for pid in workers})
        assert sum(per_worker.values()) == 16
        # With a shared socket one worker often took all 16; spread by the kernel's hash,
        # both get some (all 16 on one side has a chance of 2 in 65,536).
        assert all(n > 0 for n in per_worker.values()), per_worker
    finally:
        for c in clients:
            c.close()
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)


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
