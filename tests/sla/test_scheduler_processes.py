"""The SLA scheduler under real concurrency: separate OS processes against PostgreSQL.

(a) Two schedulers running at once never fire a timer twice (SELECT ... FOR UPDATE SKIP
    LOCKED, then a conditional UPDATE ... RETURNING, in repository.claim).
(b) A scheduler killed with SIGKILL in the middle of a tick loses nothing: its claims die
    with its transaction and the next scheduler fires them.

These need data other processes can see, so they do not use the rolled-back `db` fixture:
the module seeds a fresh database through the services and commits, and each test runs on
its own copy of it (CREATE DATABASE ... TEMPLATE), dropped afterwards.
"""

from __future__ import annotations

import json
import os
import secrets
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.pool import NullPool

URL = os.environ.get("TIERDESK_DATABASE_URL", "")
if not URL.startswith("postgres"):
    pytest.skip(
        "needs PostgreSQL: set TIERDESK_DATABASE_URL=postgresql://... (real scheduler processes "
        "racing for rows; SQLite has no SKIP LOCKED and serialises writers)",
        allow_module_level=True,
    )

from tests import factories as f  # noqa: E402
from tests.sla import factories as sf  # noqa: E402
from tierdesk.core.db import Database, normalise_url  # noqa: E402
from tierdesk.core.memo import memo_scope  # noqa: E402
from tierdesk.core.migrate import upgrade  # noqa: E402
from tierdesk.core.security import SYSTEM  # noqa: E402
from tierdesk.tiers import service as tiers  # noqa: E402
from tierdesk.tiers.schemas import CalendarIn  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("scheduler_child.py")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=1)  # every first response (5 min) and L1 box (15 min) is overdue
TICKETS = 1500
CHILD_TIMEOUT = 300  # seconds: a hang fails the test instead of blocking CI


@dataclass
class Server:
    admin: Engine  # AUTOCOMMIT connection to the `postgres` database of the same server
    url: str  # normalised URL of TIERDESK_DATABASE_URL
    template: str  # the seeded database the tests copy
    l1: int
    l2: int

    def url_of(self, name: str) -> str:
        return make_url(self.url).set(database=name).render_as_string(hide_password=False)

    def drop(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _seed(url: str) -> tuple[int, int]:
    """The helpdesk, an always-open calendar (minutes are real minutes), a policy with a
    5-minute first response (time in tier comes from L1's 15-minute box), and TICKETS
    tickets created at T0 through the tickets service. Returns the L1 and L2 tier ids."""
    from tierdesk.tickets import service as tickets
    from tierdesk.tickets.schemas import TicketCreate

    database = Database(url)
    try:
        with database.session(write=True) as db:
            hd = f.helpdesk(db)
            always = tiers.create_calendar(
                db,
                SYSTEM,
                CalendarIn(name="Always open", hours={str(d): [("00:00", "24:00")] for d in range(7)}),
            ).id
            sf.policy(db, always, name="Scheduler race", targets=[{"metric": "first_response", "minutes": 5}])
            customers = [f.actor(db, hd.users[name]) for name in ("alice", "bob", "carol")]
            for i in range(TICKETS):
                data = TicketCreate(subject=f"Race {i}", description="Two schedulers, one breach.")
                tickets.create_ticket(db, customers[i % len(customers)], data, T0)
            db.commit()
        return hd.tiers["L1"], hd.tiers["L2"]
    finally:
        database.dispose()


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    url = normalise_url(URL)
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = f"tierdesk_sched_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    srv = Server(admin=admin, url=url, template=name, l1=0, l2=0)
    try:
        upgrade(srv.url_of(name))
        srv.l1, srv.l2 = _seed(srv.url_of(name))
        yield srv
    finally:
        srv.drop(name)
        admin.dispose()


@pytest.fixture
def fresh(server: Server) -> Iterator[str]:
    """A copy of the seeded database for one test; its URL."""
    name = f"{server.template}_{secrets.token_hex(3)}"
    with server.admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{server.template}"'))
    try:
        yield server.url_of(name)
    finally:
        server.drop(name)


# --- the child processes ------------------------------------------------------------------------
def start_child(url: str, now: datetime, batch: int, *extra: str) -> subprocess.Popen[str]:
    env = os.environ | {"TIERDESK_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, str(CHILD), "--url", url, "--now", now.isoformat(), "--batch", str(batch)]
    return subprocess.Popen(
        [*cmd, *extra],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str], timeout: float = CHILD_TIMEOUT) -> dict[str, Any]:
    """Wait for a child; its totals (last stdout line). Fails on timeout or non-zero exit."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"scheduler child hung for {timeout}s\nstdout:\n{out}\nstderr:\n{err[-4000:]}")
    assert proc.returncode == 0, f"scheduler child exited {proc.returncode}\n{out}\n{err[-4000:]}"
    totals: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    totals["stderr"] = err
    return totals


def read_line(proc: subprocess.Popen[str], prefix: str, timeout: float) -> str:
    """The first stdout line starting with `prefix`, within `timeout` seconds."""
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    try:
        while (left := deadline - time.monotonic()) > 0:
            if not sel.select(left):
                continue
            line = proc.stdout.readline()
            if not line:  # EOF: the child ended without claiming
                _, err = proc.communicate(timeout=10)
                pytest.fail(f"child exited {proc.returncode} before '{prefix}':\n{err[-4000:]}")
            if line.startswith(prefix):
                return line[len(prefix) :].strip()
    finally:
        sel.close()
    proc.kill()
    proc.communicate()
    pytest.fail(f"no '{prefix}' from the child within {timeout}s")


# --- what the database says ---------------------------------------------------------------------
def rows(engine: Engine, sql: str, **params: object) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def scalar(engine: Engine, sql: str, **params: object) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


RUNNING_DUE = (
    "fired_at IS NULL AND paused_at IS NULL AND met_at IS NULL AND cancelled_at IS NULL AND due_at <= :now"
)


def assert_each_due_timer_fired_exactly_once(engine: Engine, server: Server) -> None:
    # The seeded timers: a first response and an L1 time box per ticket, all overdue at NOW.
    seeded = rows(engine, "SELECT id, metric, fired_at FROM sla_timers WHERE started_at = :t0", t0=T0)
    assert len(seeded) == 2 * TICKETS
    assert sorted({m for _, m, _ in seeded}) == ["first_response", "time_in_tier"]
    unfired = [i for i, _, fired in seeded if fired is None]
    assert unfired == [], f"{len(unfired)} due timers never fired, e.g. {unfired[:10]}"
    assert scalar(engine, f"SELECT count(*) FROM sla_timers WHERE {RUNNING_DUE}", now=NOW) == 0

    # Exactly one sla_breached event per timer, and only for timers that did fire.
    per_timer = dict(
        rows(
            engine,
            "SELECT (data->>'timer_id')::int, count(*) FROM ticket_events "
            "WHERE kind = 'sla_breached' GROUP BY 1",
        )
    )
    twice = {t: n for t, n in per_timer.items() if n != 1}
    assert twice == {}, f"timers breached more than once (timer_id: events): {dict(list(twice.items())[:10])}"
    fired = {r[0] for r in rows(engine, "SELECT id FROM sla_timers WHERE fired_at IS NOT NULL")}
    assert set(per_timer) == fired
    warned_twice = rows(
        engine,
        "SELECT data->>'timer_id', count(*) FROM ticket_events WHERE kind = 'sla_warning' "
        "GROUP BY 1 HAVING count(*) > 1",
    )
    assert warned_twice == [], f"timers warned more than once: {warned_twice[:10]}"

    # Each ticket escalated automatically out of L1 exactly once, and now sits in L2.
    escalations = rows(
        engine,
        "SELECT t.id, count(e.id) FROM tickets t LEFT JOIN ticket_events e ON e.ticket_id = t.id "
        "AND e.kind = 'escalated' AND (e.data->>'automatic')::boolean "
        "AND (e.data->>'from_tier_id')::int = :l1 GROUP BY t.id",
        l1=server.l1,
    )
    assert len(escalations) == TICKETS
    wrong = [(t, n) for t, n in escalations if n != 1]
    assert wrong == [], f"tickets not escalated exactly once (ticket, escalations): {wrong[:10]}"
    assert rows(engine, "SELECT tier_id, count(*) FROM tickets GROUP BY 1") == [(server.l2, TICKETS)]

    # The maintained counters agree with a GROUP BY over the tickets.
    counted = dict(
        ((s, t), n)
        for s, t, n in rows(
            engine, "SELECT status, coalesce(tier_id, 0), count(*) FROM tickets GROUP BY 1, 2"
        )
    )
    kept = {(s, t): n for s, t, n in rows(engine, "SELECT status, tier_id, count FROM ticket_counters")}
    assert {k: n for k, n in kept.items() if n != 0} == counted


@pytest.fixture
def engine(fresh: str) -> Iterator[Engine]:
    eng = create_engine(fresh, poolclass=NullPool)  # no idle pooled backends: see the kill test
    yield eng
    eng.dispose()


# --- the tests -----------------------------------------------------------------------------------
def test_two_schedulers_at_once_never_fire_a_timer_twice(server: Server, fresh: str, engine: Engine) -> None:
    a = start_child(fresh, NOW, 50)
    b = start_child(fresh, NOW, 50)
    totals = [finish(a), finish(b)]

    assert_each_due_timer_fired_exactly_once(engine, server)
    # Both really worked (interleaved), and between them fired each timer once.
    assert all(t["breached"] > 0 for t in totals), totals
    assert sum(t["breached"] for t in totals) == 2 * TICKETS
    assert sum(t["escalated"] for t in totals) == TICKETS
    # A rolled-back tick (e.g. a deadlock between the two) would lose nothing, but it is a bug.
    errors = [e for t in totals for e in t["errors"]]
    assert errors == [], f"ticks rolled back: {errors[:5]}"


def test_a_scheduler_killed_mid_tick_loses_nothing(server: Server, fresh: str, engine: Engine) -> None:
    victim = start_child(fresh, NOW, 50, "--sleep-after-claim", "30")
    try:
        _kill_after_claim(victim, engine)
    finally:
        if victim.poll() is None:
            victim.kill()
            victim.communicate()

    survivor = finish(start_child(fresh, NOW, 500))
    assert survivor["errors"] == []
    assert survivor["breached"] == 2 * TICKETS
    assert_each_due_timer_fired_exactly_once(engine, server)


def _kill_after_claim(victim: subprocess.Popen[str], engine: Engine) -> None:
    claimed = json.loads(read_line(victim, "CLAIMED ", timeout=120))
    ids = claimed["warned"] + claimed["breached"]
    assert claimed["breached"], claimed

    # While it sleeps, its claims are invisible to others and its rows are locked.
    assert scalar(engine, "SELECT count(*) FROM sla_timers WHERE fired_at IS NOT NULL") == 0
    free = rows(
        engine,
        "SELECT id FROM sla_timers WHERE id = ANY(:ids) FOR UPDATE SKIP LOCKED",
        ids=ids,
    )
    assert free == []

    os.kill(victim.pid, signal.SIGKILL)
    victim.communicate(timeout=30)
    assert victim.returncode == -signal.SIGKILL
    # The server notices the dead client and aborts its transaction; wait for the backend to go.
    deadline = time.monotonic() + 30
    while scalar(
        engine,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND backend_type = 'client backend' AND pid <> pg_backend_pid()",
    ):
        assert time.monotonic() < deadline, "the killed scheduler's backend is still there"
        time.sleep(0.1)

    # Nothing of the killed tick committed: its claimed timers are still unfired and unwarned.
    after = rows(
        engine, "SELECT id, warned_at, fired_at FROM sla_timers WHERE id = ANY(:ids) ORDER BY id", ids=ids
    )
    assert len(after) == len(set(ids))
    assert [(i, w, fired) for i, w, fired in after if w is not None or fired is not None] == []
    assert (
        scalar(engine, "SELECT count(*) FROM ticket_events WHERE kind IN ('sla_warning', 'sla_breached')")
        == 0
    )
    assert scalar(engine, "SELECT count(*) FROM ticket_events WHERE kind = 'escalated'") == 0


def test_a_scheduler_leaves_alone_every_timer_of_a_ticket_another_one_is_working_on(
    server: Server, fresh: str, engine: Engine
) -> None:
    """Two schedulers in one process, their steps interleaved by hand: the first has claimed
    some time boxes and is about to escalate those tickets (which changes their other
    timers). The second, ticking meanwhile, must neither claim those tickets' other timers
    nor wait for them; it used to claim them, and the two then deadlocked."""
    from tierdesk.sla import service as sla
    from tierdesk.sla import tasks

    database = Database(fresh)
    try:
        with database.session(write=True) as first, database.session(write=True) as second:
            boxes = sla.claim_due(first, NOW, 50, boxes=True)
            held = {t.ticket_id for t in boxes}
            assert len(held) == 50

            second.execute(text("SET LOCAL lock_timeout = '3s'"))  # waiting would fail the test
            result = tasks.tick(second, NOW, batch=TICKETS, box_batch=20)
            fired = {
                ticket_id
                for (ticket_id,) in second.execute(
                    text("SELECT ticket_id FROM sla_timers WHERE fired_at IS NOT NULL")
                )
            }
            assert result.breached == TICKETS - len(held) + 20
            assert fired & held == set()
            second.commit()

            first_result = tasks.TickResult()
            with memo_scope(first):
                tasks._breach(first, boxes, NOW, first_result)
            first.commit()
            assert first_result.escalated == len(held)

        while True:  # the rest, as the scheduler loop would
            with database.session(write=True) as db:
                result = tasks.tick(db, NOW)
                db.commit()
            if not result.fired:
                break
    finally:
        database.dispose()
    assert_each_due_timer_fired_exactly_once(engine, server)
