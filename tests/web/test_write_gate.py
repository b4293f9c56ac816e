"""The SQLite write gate: web writes take SQLite's single write lock one at a time, in order,
across threads and processes, and always give it back.

These tests need the real write path (sessions from `Database`, BEGIN IMMEDIATE), so they
build their own SQLite file instead of the suite's rolled-back test connection.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests import factories as f
from tierdesk.core.clock import FrozenClock
from tierdesk.core.config import Settings
from tierdesk.core.db import Database, WriteGate
from tierdesk.core.migrate import upgrade
from tierdesk.web.app import create_app


@dataclass
class Gated:
    client: TestClient
    database: Database
    settings: Settings
    headers: dict[str, str]
    requester_id: int

    @property
    def gate(self) -> WriteGate:
        assert self.database.write_gate is not None
        return self.database.write_gate

    def create(self, subject: str) -> int:
        r = self.client.post(
            "/api/v1/tickets",
            json={"subject": subject, "requester_id": self.requester_id},
            headers=self.headers,
        )
        return r.status_code


@pytest.fixture(scope="module")
def gated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gated]:
    from tests.conftest import START

    path = tmp_path_factory.mktemp("gate") / "gate.db"
    database = Database(f"sqlite:///{path}")
    upgrade(database.url)
    clock = FrozenClock(START)
    with database.session(write=True) as db:
        hd = f.helpdesk(db)
        token = f.token(db, hd.users["l1"], clock.now())
        requester = hd.customers["carol"]
        db.commit()
    settings = Settings(
        database_url=database.url,
        attachments_dir=path.parent / "attachments",
        secret_key="test-secret",
        log_level="WARNING",
        sqlite_write_gate=True,
    )
    app = create_app(settings, database=database, clock=clock)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Gated(client, database, settings, {"Authorization": f"Bearer {token}"}, requester)
    database.dispose()


def _held_elsewhere(path: str) -> int:
    """Take the gate's flock through a new open file description, as another process would."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def _free(path: str) -> bool:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


def test_only_a_sqlite_file_database_gets_a_write_gate(tmp_path: Path) -> None:
    on_file = Database(f"sqlite:///{tmp_path / 'a.db'}")
    in_memory = Database("sqlite://")
    try:
        assert on_file.write_gate is not None
        assert on_file.write_gate.path == f"{tmp_path / 'a.db'}.write-gate"
        assert in_memory.write_gate is None
    finally:
        on_file.dispose()
        in_memory.dispose()


def test_the_gate_keeps_another_process_out_until_it_is_released(tmp_path: Path) -> None:
    gate = WriteGate(str(tmp_path / "b.db"))
    probe = (
        "import fcntl, os, sys\n"
        "fd = os.open(sys.argv[1], os.O_RDWR)\n"
        "try:\n    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\nexcept BlockingIOError:\n    sys.exit(3)\n"
    )

    gate.acquire()
    held = subprocess.run([sys.executable, "-c", probe, gate.path], check=False)
    gate.release()
    free = subprocess.run([sys.executable, "-c", probe, gate.path], check=False)

    assert held.returncode == 3
    assert free.returncode == 0


def test_threads_of_one_process_take_their_turns_in_arrival_order(tmp_path: Path) -> None:
    gate = WriteGate(str(tmp_path / "c.db"))
    order: list[int] = []
    gate.acquire()
    waiting = []
    for i in range(5):
        t = threading.Thread(target=lambda i=i: (gate.acquire(), order.append(i), gate.release()))
        t.start()
        waiting.append(t)
        # Start the next thread only once this one is queued.
        while gate.waiting() < i + 1:
            threading.Event().wait(0.001)
    gate.release()
    for t in waiting:
        t.join(timeout=10)

    assert order == [0, 1, 2, 3, 4]


def test_write_requests_give_the_gate_back_whether_they_succeed_or_fail(gated: Gated) -> None:
    assert gated.create("Gate") == 201
    assert _free(gated.gate.path)

    refused = gated.client.patch("/api/v1/tickets/T-999999", json={"priority": "high"}, headers=gated.headers)
    assert refused.status_code == 404
    assert _free(gated.gate.path)

    invalid = gated.client.post("/api/v1/tickets", json={"subject": ""}, headers=gated.headers)
    assert invalid.status_code == 422
    assert _free(gated.gate.path)


def test_a_write_request_waits_while_another_process_holds_the_gate(gated: Gated) -> None:
    other = _held_elsewhere(gated.gate.path)
    answers: list[int] = []
    writer = threading.Thread(target=lambda: answers.append(gated.create("Queued")))
    try:
        writer.start()
        writer.join(timeout=0.5)
        assert writer.is_alive() and answers == [], "the write went ahead while the gate was held"
    finally:
        fcntl.flock(other, fcntl.LOCK_UN)
        os.close(other)
    writer.join(timeout=30)
    assert answers == [201]


def test_reads_do_not_wait_for_a_held_gate(gated: Gated) -> None:
    other = _held_elsewhere(gated.gate.path)
    try:
        assert gated.client.get("/api/v1/tickets", headers=gated.headers).status_code == 200
    finally:
        fcntl.flock(other, fcntl.LOCK_UN)
        os.close(other)


def test_the_gate_is_on_by_default_and_can_be_switched_off(gated: Gated) -> None:
    assert Settings.model_fields["sqlite_write_gate"].default is True
    other = _held_elsewhere(gated.gate.path)
    gated.settings.sqlite_write_gate = False
    try:
        assert gated.create("Ungated") == 201
    finally:
        gated.settings.sqlite_write_gate = True
        fcntl.flock(other, fcntl.LOCK_UN)
        os.close(other)
