"""Benchmark the supervisor dashboard (GET /api/v1/dashboard and /desk/dashboard) on a
database filled by `tierdesk seed bulk`.

    TIERDESK_DATABASE_URL=sqlite:///var/bench/100k.db tierdesk seed bulk --tickets 100000
    python bench/dashboard.py --db sqlite:///var/bench/100k.db [--runs 20] [--synthesize]

Bulk tickets carry no SLA timers and no escalations. --synthesize adds what a busy desk
would have (once; it is idempotent by a marker): a running first-response and resolution
target on every unsolved ticket (due times spread over yesterday to tomorrow, the ones past
due fired, i.e. breached), and escalation / de-escalation events over the last 14 days for
one ticket in 20, so those figures read rows too.

Measured, in-process through the real app (FastAPI TestClient, one admin signed in):
the API and the page with the cache cold (emptied before each request) and warm, p50 and
p95 of N requests, SQL statements per request, plus the query plan of every statement of
a cold request (EXPLAIN QUERY PLAN on SQLite, EXPLAIN on PostgreSQL). The 1-minute load
average and this process's CPU time are printed next to the figures.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import time
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import event, select, text

from tierdesk.core.config import Settings
from tierdesk.core.db import Database
from tierdesk.sla.models import SlaTimer
from tierdesk.tickets.models import Ticket, TicketEvent
from tierdesk.tiers.models import Tier
from tierdesk.web.app import create_app

ADMIN, PASSWORD = "admin@tierdesk.example.com", "tierdesk-demo"
MARKER = "bench-dashboard"


def synthesize(database: Database) -> None:
    now = datetime.now(UTC)
    rnd = random.Random(7)
    with database.engine.begin() as conn:
        if conn.execute(select(TicketEvent.id).where(TicketEvent.reason == MARKER).limit(1)).first():
            print("synthesized rows already there")
            return
        tiers = {k: i for i, k in conn.execute(select(Tier.id, Tier.key))}
        open_rows = conn.execute(
            select(Ticket.id, Ticket.tier_id).where(Ticket.status.in_(["new", "open", "pending", "on_hold"]))
        ).all()
        timers = []
        for tid, tier_id in open_rows:
            for metric, minutes in (("first_response", 60), ("resolution", 480)):
                due = now + timedelta(minutes=rnd.uniform(-24 * 60, 24 * 60))
                fired = due if due <= now else None
                timers.append(
                    {
                        "ticket_id": tid, "metric": metric, "tier_id": tier_id, "target_seconds": minutes * 60,
                        "warn_percent": 80, "started_at": due - timedelta(minutes=minutes), "resumed_at": None,
                        "consumed_seconds": 0, "due_at": due, "warn_at": due - timedelta(minutes=minutes / 5),
                        "warned_at": None, "fired_at": fired,
                    }
                )  # fmt: skip
        conn.execute(SlaTimer.__table__.insert(), timers)
        ids = [r[0] for r in conn.execute(select(Ticket.id).order_by(Ticket.id.desc()).limit(200_000))]
        moves = []
        l1, l2, l3 = tiers.get("L1"), tiers.get("L2"), tiers.get("L3")
        for tid in ids[::20]:
            at = now - timedelta(minutes=rnd.uniform(0, 14 * 24 * 60))
            kind, old, new = rnd.choice(
                [("escalated", l1, l2), ("escalated", l2, l3), ("de_escalated", l2, l1)]
            )
            moves.append(
                {
                    "ticket_id": tid, "at": at, "actor_kind": "system", "kind": kind, "field": "tier",
                    "old": str(old), "new": str(new), "reason": MARKER,
                }
            )  # fmt: skip
        conn.execute(TicketEvent.__table__.insert(), moves)
        print(
            f"synthesized {len(timers):,} SLA targets on {len(open_rows):,} unsolved tickets, {len(moves):,} moves"
        )
    with database.engine.begin() as conn:
        if database.engine.dialect.name == "sqlite":
            conn.execute(text("ANALYZE"))
        else:
            conn.execute(text("ANALYZE sla_timers")), conn.execute(text("ANALYZE ticket_events"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default=os.environ.get("TIERDESK_DATABASE_URL", ""))
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--synthesize", action="store_true")
    ap.add_argument(
        "--plans", action="store_true", help="print the plan of every statement of a cold request"
    )
    args = ap.parse_args()
    database = Database(args.db)
    if args.synthesize:
        synthesize(database)
    settings = Settings(database_url=args.db, secret_key="bench", log_level="WARNING")
    app = create_app(settings, database=database)
    statements: list[str] = []
    captured: list[tuple[str, object]] = []

    @event.listens_for(database.engine, "before_cursor_execute")
    def _count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)
        captured.append((statement, parameters))

    with TestClient(app) as client:
        csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
        assert csrf, "no login form"
        r = client.post("/login", data={"email": ADMIN, "password": PASSWORD, "csrf": csrf.group(1)})
        assert r.status_code == 200, r.status_code
        for path in ("/api/v1/dashboard", "/desk/dashboard"):
            for mode in ("cold", "warm"):
                times, counts = [], []
                cpu0 = time.process_time()
                for _ in range(args.runs):
                    if mode == "cold":
                        app.state.dashboard_cache = None
                    statements.clear()
                    t0 = time.perf_counter()
                    resp = client.get(path)
                    times.append(time.perf_counter() - t0)
                    counts.append(len(statements))
                    assert resp.status_code == 200, (path, resp.status_code, resp.text[:300])
                cpu = (time.process_time() - cpu0) / args.runs
                times.sort()
                p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
                print(
                    f"{path:20} {mode}: p50 {statistics.median(times) * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms"
                    f"  cpu/req {cpu * 1000:6.1f} ms  SQL statements/request {statistics.median(counts):.0f}"
                    f"  (load {os.getloadavg()[0]:.2f})"
                )
        if args.plans:
            app.state.dashboard_cache = None
            captured.clear()
            client.get("/api/v1/dashboard")
            seen = list(captured)
    if args.plans:
        explain = "EXPLAIN QUERY PLAN " if database.engine.dialect.name == "sqlite" else "EXPLAIN "
        raw = database.engine.raw_connection()
        try:
            for sql, params in seen:
                if not sql.lstrip().upper().startswith("SELECT"):
                    continue
                print("\n" + " ".join(sql.split())[:400])
                cur = raw.cursor()
                cur.execute(explain + sql, params)
                for row in cur.fetchall():
                    print("    " + " ".join(str(c) for c in row[-1:]))
                t0 = time.perf_counter()
                cur.execute(sql, params)
                cur.fetchall()
                print(f"    -- runs in {(time.perf_counter() - t0) * 1000:.2f} ms")
                cur.close()
        finally:
            raw.close()
    print(f"now {datetime.now(UTC):%H:%M:%S} UTC, load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
