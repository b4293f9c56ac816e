"""Benchmark the SLA scheduler sweep (`tierdesk.sla.tasks.tick`) at scale.

    python bench/sla_sweep.py --tickets 1000000 --due 100000 [--url URL] [--batches 500,5000]

Builds a fresh database (Alembic migrations): a temporary SQLite file by default, or a new
database `<name>_bench_<random>` on the PostgreSQL server of --url (dropped at the end unless
--keep). The few reference rows (tiers, calendar, policy, customers, supervisors) go through
the services; the N open tickets and their running SLA timers are bulk-loaded with Core
`insert()` executemany in batches of 10k rows per transaction, because the point is to
measure the scheduler, not the loader.

The clock (all times are fake, passed to `tick`):
    now0   nothing is due           -> idle tick
    now1   --due first-response timers are overdue (already warned), the rest due hours later
    now2   --escalations time-in-tier timers (L1, 15 min box) are overdue -> auto-escalation

Measured and printed: idle tick p50/p95 (tick + commit in a fresh write session, as the
scheduler runs it every second), the time to fire the --due targets per batch size (one
commit per tick, until a tick returns nothing; the due set is reset between batch sizes),
the same for the escalation variant, idle ticks right after the sweep, SQL statements per
fired target, the CPU seconds behind each sweep (this process, and on a PostgreSQL server on
the same machine its backends, read from /proc) with the load average, peak RSS of this
process, and the query plans of the three claiming UPDATEs (captured from a real tick)
showing the partial indexes are used. --profile runs cProfile around the sweeps and prints
where the time goes (its timings are then not comparable).

Loading 1M tickets takes minutes; to compare code changes back to back, build once with
--keep and measure again with --reuse URL (same --tickets/--due; the first-response sweep
is reset first, the time-in-tier sweep skipped):

    python bench/sla_sweep.py --tickets 1000000 --due 100000 --escalations 0 --keep \
        --url sqlite:////tmp/sla1m.db
    python bench/sla_sweep.py --tickets 1000000 --due 100000 --reuse sqlite:////tmp/sla1m.db
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import platform
import pstats
import resource
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, insert, make_url, text, update
from sqlalchemy.engine import Engine

from tierdesk.accounts import service as accounts
from tierdesk.accounts.schemas import UserIn
from tierdesk.core.db import Database, normalise_url
from tierdesk.core.migrate import upgrade
from tierdesk.core.security import SYSTEM, Role
from tierdesk.customers import service as customers
from tierdesk.customers.schemas import CustomerIn
from tierdesk.sla import service as sla
from tierdesk.sla import tasks
from tierdesk.sla.models import SlaTimer
from tierdesk.sla.schemas import PolicyIn
from tierdesk.tickets.models import Ticket, TicketCounter
from tierdesk.tiers import service as tiers
from tierdesk.tiers.schemas import CalendarIn, TierIn

NOW0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOW1 = NOW0 + timedelta(minutes=10)
NOW2 = NOW1 + timedelta(minutes=10)
FIRST_RESPONSE = timedelta(hours=4)  # the policy's first-response target
L1_BOX = timedelta(minutes=15)
LOAD_BATCH = 10_000
CUSTOMERS = 20
SUPERVISORS = 2  # a first-response breach notifies every supervisor: 1 event + 2 notifications


# --- database lifecycle ----------------------------------------------------------------------------
@dataclass
class Target:
    url: str
    cleanup: Callable[[], None]
    label: str


def fresh_database(url: str | None, keep: bool) -> Target:
    if url is None or url.startswith("sqlite"):
        if url is None:
            folder = Path(tempfile.mkdtemp(prefix="tierdesk-bench-"))
            path = folder / "bench.db"
        else:
            path = Path(url.removeprefix("sqlite:///"))
            if path.exists():
                sys.exit(f"{path} exists; give a new SQLite file (the bench builds its own database)")

        def drop_file() -> None:
            if not keep:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
                if url is None:
                    path.parent.rmdir()  # the temporary folder, empty now

        return Target(f"sqlite:///{path}", drop_file, f"SQLite file {path}")
    base = make_url(normalise_url(url))
    name = f"{base.database or 'tierdesk'}_bench_{secrets.token_hex(3)}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop_db() -> None:
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    target_url = base.set(database=name).render_as_string(hide_password=False)
    return Target(target_url, drop_db, f"PostgreSQL database {name}")


# --- loading ----------------------------------------------------------------------------------------
@dataclass
class Refs:
    l1: int
    l2: int
    calendar: int
    policy: int
    customers: list[int]


def reference_rows(database: Database) -> Refs:
    """The few rows a helpdesk has anyway, made through the services."""
    with database.session(write=True) as db:
        calendar = tiers.create_calendar(
            db, SYSTEM, CalendarIn(name="Always open", hours={str(d): [("00:00", "24:00")] for d in range(7)})
        ).id
        l1 = tiers.create_tier(
            db, SYSTEM, TierIn(key="L1", name="Front line", level=1, time_box_minutes=15, is_default=True)
        ).id
        l2 = tiers.create_tier(
            db, SYSTEM, TierIn(key="L2", name="Specialists", level=2, time_box_minutes=30)
        ).id
        policy = sla.create_policy(
            db,
            SYSTEM,
            PolicyIn.model_validate(
                {
                    "name": "Default",
                    "calendar_id": calendar,
                    "targets": [
                        {"metric": "first_response", "minutes": FIRST_RESPONSE // timedelta(minutes=1)}
                    ],
                }
            ),
        ).id
        people = [
            customers.create_customer(
                db, SYSTEM, CustomerIn(name=f"Customer {i}", email=f"c{i}@bench.example.com")
            ).id
            for i in range(CUSTOMERS)
        ]
        for i in range(SUPERVISORS):
            accounts.create_user(
                db, SYSTEM, UserIn(email=f"sup{i}@bench.example.com", name=f"Sup {i}", role=Role.supervisor)
            )
        db.commit()
    return Refs(l1, l2, calendar, policy, people)


@dataclass
class Plan:
    tickets: int
    due: int
    escalations: int

    def fr_due_at(self, i: int) -> datetime:
        """Ticket i (0-based): the first `due` are overdue by now1 (spread over (now0, now1]);
        the others fall due 1 to 4 hours after now1. Oldest tickets first, as in life."""
        if i < self.due:
            return NOW0 + (NOW1 - NOW0) * (i + 1) / self.due
        rest = max(self.tickets - self.due, 1)
        return NOW1 + timedelta(hours=1) + timedelta(hours=3) * (i - self.due) / rest

    def tit_due_at(self, j: int) -> datetime:
        return NOW1 + (NOW2 - NOW1) * (j + 1) / self.escalations


def _chunks(total: int, size: int = LOAD_BATCH) -> Iterator[range]:
    for start in range(0, total, size):
        yield range(start, min(start + size, total))


def bulk_load(database: Database, refs: Refs, plan: Plan, say: Callable[[str], None]) -> None:
    """N open L1 tickets, a running first-response timer each, and `escalations` running
    time-in-tier timers on not-yet-due tickets. Warnings of overdue timers already went out."""
    ticket_table, timer_table = Ticket.__table__, SlaTimer.__table__
    started = time.perf_counter()
    for chunk in _chunks(plan.tickets):
        tickets, timers = [], []
        for i in chunk:
            due = plan.fr_due_at(i)
            start = due - FIRST_RESPONSE
            warn = start + FIRST_RESPONSE * 0.8
            tickets.append(
                {
                    "id": i + 1,
                    "subject": f"Bench ticket {i + 1}",
                    "description": "",
                    "status": "open",
                    "priority": "normal",
                    "category": None,
                    "channel": "web",
                    "language": "en",
                    "requester_id": refs.customers[i % len(refs.customers)],
                    "organization_id": None,
                    "tier_id": refs.l1,
                    "team_id": None,
                    "assignee_id": None,
                    "tags": [],
                    "reopen_count": 0,
                    "source": "bench",
                    "created_at": start,
                    "updated_at": start,
                }
            )
            timers.append(
                {
                    "ticket_id": i + 1,
                    "metric": "first_response",
                    "policy_id": refs.policy,
                    "tier_id": refs.l1,
                    "calendar_id": refs.calendar,
                    "target_seconds": int(FIRST_RESPONSE.total_seconds()),
                    "warn_percent": 80,
                    "started_at": start,
                    "resumed_at": start,
                    "consumed_seconds": 0,
                    "due_at": due,
                    "warn_at": warn,
                    "warned_at": warn if warn <= NOW1 else None,
                }
            )
        with database.engine.begin() as conn:
            conn.execute(insert(ticket_table), tickets)
            conn.execute(insert(timer_table), timers)
        if chunk.stop % 200_000 == 0:
            say(f"  loaded {chunk.stop:,} tickets ({time.perf_counter() - started:.0f} s)")
    for chunk in _chunks(plan.escalations):
        rows = []
        for j in chunk:
            due = plan.tit_due_at(j)
            start, warn = due - L1_BOX, due - L1_BOX * 0.2
            rows.append(
                {
                    "ticket_id": plan.due + j + 1,  # a ticket whose first response is not due yet
                    "metric": "time_in_tier",
                    "policy_id": refs.policy,
                    "tier_id": refs.l1,
                    "calendar_id": refs.calendar,
                    "target_seconds": int(L1_BOX.total_seconds()),
                    "warn_percent": 80,
                    "started_at": start,
                    "resumed_at": start,
                    "consumed_seconds": 0,
                    "due_at": due,
                    "warn_at": warn,
                    "warned_at": warn,
                }
            )
        with database.engine.begin() as conn:
            conn.execute(insert(timer_table), rows)
    with database.engine.begin() as conn:
        conn.execute(insert(TicketCounter), [{"status": "open", "tier_id": refs.l1, "count": plan.tickets}])
        if not database.is_sqlite:
            conn.execute(
                text("SELECT setval(pg_get_serial_sequence('tickets', 'id'), :n)"), {"n": plan.tickets}
            )
    maintenance(database)
    say(f"  loaded {plan.tickets:,} tickets in {time.perf_counter() - started:.0f} s")


def maintenance(database: Database) -> None:
    """What autovacuum / a periodic ANALYZE would have done by now."""
    if database.is_sqlite:
        with database.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        return
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM (ANALYZE) tickets, sla_timers, ticket_events, notifications")


def retire_leftovers(database: Database) -> int:
    """After a sweep that timed out: mark the unfired overdue first responses met, so the
    later measurements see nothing due at now1."""
    with database.engine.begin() as conn:
        left = conn.execute(
            update(SlaTimer)
            .where(
                SlaTimer.metric == "first_response",
                SlaTimer.fired_at.is_(None),
                SlaTimer.met_at.is_(None),
                SlaTimer.due_at <= NOW1,
            )
            .values(met_at=SlaTimer.due_at)
        ).rowcount
    maintenance(database)
    return left


def count_open(database: Database) -> int:
    with database.engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM tickets WHERE status = 'open'").scalar() or 0)


def reset_first_responses(database: Database) -> None:
    """Un-fire the first-response sweep so another batch size can run on the same data."""
    with database.engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE sla_timers SET fired_at = NULL WHERE metric = 'first_response' AND fired_at IS NOT NULL"
        )
        conn.exec_driver_sql("DELETE FROM ticket_events WHERE kind = 'sla_breached'")
        conn.exec_driver_sql("DELETE FROM notifications")
    maintenance(database)


# --- measuring ----------------------------------------------------------------------------------------
@dataclass
class Stats:
    statements: int = 0
    captured: list[tuple[str, Any]] = field(default_factory=list)
    capturing: bool = False
    backends: set[int] = field(default_factory=set)  # PostgreSQL server processes we talked to

    def backend_cpu(self) -> float | None:
        """CPU seconds (user + system) the PostgreSQL backends of this process have used, read
        from /proc (server on the same machine); None on SQLite or when /proc does not show them."""
        if not self.backends:
            return None
        total = 0
        try:
            for pid in self.backends:
                with open(f"/proc/{pid}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
        except OSError:
            return None
        return total / os.sysconf("SC_CLK_TCK")


def instrument(engine: Engine) -> Stats:
    stats = Stats()

    if engine.dialect.name == "postgresql":

        @event.listens_for(engine, "connect")
        def _backend(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("SELECT pg_backend_pid()")
            stats.backends.add(int(cur.fetchone()[0]))
            cur.close()

    @event.listens_for(engine, "before_cursor_execute")
    def _count(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        stats.statements += 1
        if stats.capturing:
            stats.captured.append((statement, parameters))

    return stats


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def one_tick(
    database: Database, now: datetime, batch: int, box_batch: int = tasks.BOX_BATCH
) -> tasks.TickResult:
    with database.session(write=True) as db:
        result = tasks.tick(db, now, batch, box_batch)
        db.commit()
    return result


def idle_ticks(database: Database, now: datetime, count: int) -> dict[str, float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        result = one_tick(database, now, tasks.BATCH)
        samples.append((time.perf_counter() - started) * 1000)
        assert result.breached == 0 and result.warned == 0, f"something was due at {now}: {result}"
    samples.sort()
    return {
        "p50_ms": statistics.median(samples),
        "p95_ms": samples[int(len(samples) * 0.95) - 1],
        "max_ms": samples[-1],
    }


@contextmanager
def maybe_profiled(enabled: bool, title: str, say: Callable[[str], None]) -> Iterator[None]:
    if not enabled:
        yield
        return
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        yield
    finally:
        profiler.disable()
        for order in ("cumulative", "tottime"):
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(30)
            say(f"\n--- profile: {title}, by {order} ---\n{out.getvalue()}")


def cpu_note(s: dict[str, Any]) -> str:
    """CPU seconds behind a sweep: this process, and the PostgreSQL backends when known."""
    note = f"CPU {s['cpu_s']:.1f} s client"
    if s["server_cpu_s"] is not None:
        note += f" + {s['server_cpu_s']:.1f} s server"
    return note + f", load {os.getloadavg()[0]:.2f}"


def drain(
    database: Database,
    stats: Stats,
    now: datetime,
    batch: int,
    expected: int,
    timeout: float,
    box_batch: int = tasks.BOX_BATCH,
) -> dict[str, Any]:
    """Tick (commit per tick) until nothing is left or `timeout` seconds have passed."""
    fired = escalated = ticks = 0
    durations: list[float] = []
    statements = stats.statements
    rss_before = rss_mb()
    cpu_before, server_before = time.process_time(), stats.backend_cpu()
    started = time.perf_counter()
    while True:
        tick_started = time.perf_counter()
        result = one_tick(database, now, batch, box_batch)
        durations.append(time.perf_counter() - tick_started)
        ticks += 1
        fired += result.breached
        escalated += result.escalated
        elapsed = time.perf_counter() - started
        if result.breached == 0 and result.warned == 0:
            break
        if elapsed > timeout:
            break
    server_after = stats.backend_cpu()
    return {
        "cpu_s": time.process_time() - cpu_before,
        "server_cpu_s": None
        if server_before is None or server_after is None
        else server_after - server_before,
        "batch": batch,
        "fired": fired,
        "expected": expected,
        "escalated": escalated,
        "seconds": elapsed,
        "per_second": fired / elapsed if elapsed else 0.0,
        "ticks": ticks,
        "median_tick_s": statistics.median(durations),
        "worst_tick_s": max(durations),
        "sql_per_target": (stats.statements - statements) / max(fired, 1),
        "rss_growth_mb": rss_mb() - rss_before,
        "complete": fired >= expected,
    }


def claim_plans(database: Database, stats: Stats, now: datetime) -> list[tuple[str, str]]:
    """Run one real tick at `now` (rolled back), capture its claiming UPDATEs (each picks
    its rows with a subquery on a partial index), EXPLAIN them (rolled back too)."""
    stats.captured.clear()
    stats.capturing = True
    try:
        with database.session(write=True) as db:
            tasks.tick(db, now, tasks.BATCH)
            db.rollback()
    finally:
        stats.capturing = False
    claims = [
        (s, p)
        for s, p in stats.captured
        if s.lstrip().upper().startswith("UPDATE SLA_TIMERS") and ("due_at <=" in s or "warn_at <=" in s)
    ]
    plans = []
    for statement, params in claims:
        which = "warning claim" if "warn_at <=" in statement else "breach claim"
        with database.engine.connect() as conn:
            if database.is_sqlite:
                rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
                plan = "\n".join(str(r[-1]) for r in rows)
            else:
                rows = conn.exec_driver_sql(
                    "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, params
                ).all()
                plan = "\n".join(r[0] for r in rows)
            conn.rollback()
        plans.append((f"{which}: {' '.join(statement.split())}", plan))
    return plans


# --- main ---------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--tickets", type=int, default=100_000, help="open tickets (one first-response timer each)"
    )
    parser.add_argument("--due", type=int, default=10_000, help="first-response targets overdue at now1")
    parser.add_argument(
        "--escalations", type=int, default=10_000, help="time-in-tier targets overdue at now2 (0: skip)"
    )
    parser.add_argument("--url", default=None, help="sqlite:///new-file.db or postgresql://... (server)")
    parser.add_argument("--batches", default="500,5000", help="batch sizes to sweep with, comma-separated")
    parser.add_argument(
        "--escalation-batch",
        type=int,
        default=tasks.BOX_BATCH,
        help="time-box breaches per tick (tick's box_batch)",
    )
    parser.add_argument("--idle-ticks", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=600, help="give up a sweep after this many seconds")
    parser.add_argument("--profile", action="store_true", help="cProfile the sweeps (timings not comparable)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--reuse",
        default=None,
        metavar="URL",
        help="measure on a database an earlier --keep run built (same --tickets/--due): no loading; "
        "the first-response sweep is reset first; time-in-tier sweep skipped",
    )
    args = parser.parse_args(argv)
    if not 0 < args.due <= args.tickets:
        parser.error("--due must be between 1 and --tickets")
    escalations = min(args.escalations, args.tickets - args.due)
    batches = [int(b) for b in args.batches.split(",") if b.strip()]

    def say(line: str) -> None:
        print(line, flush=True)

    rss_start = peak_rss_mb()
    if args.reuse:
        url = normalise_url(args.reuse)
        target = Target(url, lambda: None, f"reused {make_url(url).render_as_string()}")
        escalations = 0
    else:
        target = fresh_database(args.url, args.keep)
    database = Database(target.url)
    try:
        say(f"tierdesk SLA sweep bench — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
        say(f"  {target.label}; {database.engine.dialect.name} {server_version(database)}")
        say(f"  Python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}")
        if args.reuse:
            open_now = count_open(database)
            if open_now != args.tickets:
                sys.exit(f"{args.reuse} holds {open_now:,} open tickets, not --tickets {args.tickets:,}")
            reset_first_responses(database)
        else:
            upgrade(database.url)
            refs = reference_rows(database)
            plan = Plan(args.tickets, args.due, escalations)
            bulk_load(database, refs, plan, say)
        rss_loaded = peak_rss_mb()
        stats = instrument(database.engine)
        database.engine.dispose()  # new connections, so the PostgreSQL backends get recorded
        results: list[tuple[str, str]] = []

        idle = idle_ticks(database, NOW0, args.idle_ticks)
        results.append(
            (
                f"idle tick, {args.tickets:,} open, nothing due (tick+commit)",
                f"p50 {idle['p50_ms']:.2f} ms, p95 {idle['p95_ms']:.2f} ms, max {idle['max_ms']:.2f} ms",
            )
        )
        plans = claim_plans(database, stats, NOW1)

        sweeps = []
        for n, batch in enumerate(batches):
            if n:
                reset_first_responses(database)
            with maybe_profiled(args.profile and n == 0, f"first-response sweep, batch {batch}", say):
                sweeps.append(drain(database, stats, NOW1, batch, args.due, args.timeout))
            s = sweeps[-1]
            say(f"  swept batch {batch}: {s['fired']:,} in {s['seconds']:.1f} s")
            results.append(
                (
                    f"fire {args.due:,} first-response breaches, batch {batch}",
                    f"{s['fired']:,}/{s['expected']:,} in {s['seconds']:.1f} s = {s['per_second']:,.0f}/s; "
                    f"{s['ticks']} ticks, median/worst tick {s['median_tick_s']:.2f}/{s['worst_tick_s']:.2f} s, "
                    f"{s['sql_per_target']:.1f} SQL/target; {cpu_note(s)}"
                    + ("" if s["complete"] else " (TIMED OUT)"),
                )
            )
        after_label = "idle tick right after the sweep (no VACUUM yet)"
        if not sweeps[-1]["complete"]:
            left = retire_leftovers(database)
            results.append(("sweep timed out: overdue first responses left unfired, retired", f"{left:,}"))
            after_label = "idle tick after the timed-out sweep (leftovers retired, VACUUM)"
        after = idle_ticks(database, NOW1, args.idle_ticks)
        results.append(
            (
                after_label,
                f"p50 {after['p50_ms']:.2f} ms, p95 {after['p95_ms']:.2f} ms, max {after['max_ms']:.2f} ms",
            )
        )
        if escalations:
            with maybe_profiled(args.profile, "time-in-tier sweep with escalation", say):
                esc = drain(
                    database,
                    stats,
                    NOW2,
                    tasks.BATCH,
                    escalations,
                    args.timeout,
                    box_batch=args.escalation_batch,
                )
            results.append(
                (
                    f"fire {escalations:,} time-in-tier breaches + auto-escalate, batch {args.escalation_batch}",
                    f"{esc['fired']:,}/{esc['expected']:,} in {esc['seconds']:.1f} s = {esc['per_second']:,.0f}/s; "
                    f"{esc['escalated']:,} escalated, median/worst tick {esc['median_tick_s']:.2f}/{esc['worst_tick_s']:.2f} s, "
                    f"{esc['sql_per_target']:.1f} SQL/target; {cpu_note(esc)}"
                    + ("" if esc["complete"] else " (TIMED OUT)"),
                )
            )
        growth = max(s["rss_growth_mb"] for s in [*sweeps, *([esc] if escalations else [])])
        results.append(
            (
                "peak RSS of this process (ru_maxrss)",
                f"{peak_rss_mb():.0f} MB; at start {rss_start:.0f} MB, after loading {rss_loaded:.0f} MB, "
                f"largest growth during one sweep {growth:+.0f} MB",
            )
        )

        say("\n| measurement | result |\n|---|---|")
        for name, value in results:
            say(f"| {name} | {value} |")
        for title, text_plan in plans:
            used = any(f"ix_sla_timers_{name}" in text_plan for name in ("due", "warn", "box_due"))
            say(f"\n{title}\n  partial index used: {'yes' if used else 'NO'}")
            say("\n".join("    " + line for line in text_plan.splitlines()))
        if args.profile:
            say("\n(profiled run: the timings above include cProfile overhead)")
    finally:
        database.dispose()
        target.cleanup()
    return 0


def server_version(database: Database) -> str:
    with database.engine.connect() as conn:
        if database.is_sqlite:
            return str(conn.exec_driver_sql("SELECT sqlite_version()").scalar())
        return str(conn.exec_driver_sql("SHOW server_version").scalar())


if __name__ == "__main__":
    sys.exit(main())
