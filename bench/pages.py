"""Server time of the agent workspace's main pages with N tickets in the database.

    python bench/pages.py --tickets 100000 [--runs 40] [--db /path/file.db] [--keep]

Builds a fresh SQLite database (Alembic migrations) in a temporary directory, loads the demo
(tiers, teams, agents, a month of tickets with SLA timers) and then N bulk tickets with
`tierdesk.demo.bulk` (the loader behind `tierdesk seed bulk`). Bulk tickets carry no SLA
timers, so the script gives every open bulk ticket a running time-in-tier and resolution
timer spread over the next week (Core executemany), which is what "breaching soon" reads.

Then it runs the real app in process (FastAPI TestClient: no sockets, no network) signed in
as a demo L1 agent (`l1.giulia`) and as the supervisor, and times each page RUNS times
after two warm-up requests; it also prints the machine's load average and the CPU time per
request, because on a shared machine wall time includes waiting for a core. The time is server time: an ASGI wrapper around the whole app
(middleware, routing, session, database, templates) measures each request, so the test
client's thread hand-offs are not counted. Printed per page: p50, p95 and max in milliseconds, the status
and the response size. The target (issue 7) is < 100 ms at 100k tickets.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tierdesk.accounts.models import User
from tierdesk.core.config import Settings
from tierdesk.core.db import Database
from tierdesk.core.migrate import upgrade
from tierdesk.customers.models import Customer
from tierdesk.demo import bulk, seed
from tierdesk.sla.models import SlaTimer
from tierdesk.tickets.models import Ticket
from tierdesk.tiers.models import Tier
from tierdesk.web.app import create_app

OPEN = ("new", "open", "pending", "on_hold")
HANAKO = "hanako.sato@kitsune-logistics.example.com"


def build(url: str, n: int) -> None:
    database = Database(url)
    upgrade(database.url)
    now = datetime.now(UTC)
    with database.session(write=True) as db:
        seed.load_demo(db, now)
        db.commit()
    bulk.use_bulk_pragmas(database.engine)
    started = time.perf_counter()
    with database.session(write=True) as db:
        result = bulk.load(db, n, now, commit=db.commit)
        bulk.analyze(db)
        db.commit()
    print(
        f"loaded {result.tickets:,} bulk tickets in {time.perf_counter() - started:.1f} s "
        f"({result.events:,} events, {result.messages:,} messages)"
    )
    rnd = random.Random(7)
    with database.session(write=True) as db:
        ids = list(
            db.execute(
                select(Ticket.id, Ticket.tier_id, Ticket.created_at).where(
                    Ticket.id >= result.first_id, Ticket.status.in_(OPEN)
                )
            )
        )
        rows = []
        for ticket_id, tier_id, created in ids:
            for metric, seconds in (("time_in_tier", 1800), ("resolution", 86400)):
                due = now + timedelta(minutes=rnd.uniform(-30, 7 * 24 * 60))
                rows.append(
                    {
                        "ticket_id": ticket_id,
                        "metric": metric,
                        "tier_id": tier_id,
                        "target_seconds": seconds,
                        "warn_percent": 80,
                        "started_at": created,
                        "resumed_at": created,
                        "consumed_seconds": 0,
                        "due_at": due,
                    }
                )
        for i in range(0, len(rows), 10_000):
            db.execute(insert(SlaTimer), rows[i : i + 10_000])
        db.commit()
        print(f"gave {len(ids):,} open bulk tickets {len(rows):,} running SLA timers")
    with database.session(write=True) as db:
        bulk.analyze(db)
        db.commit()
    database.dispose()


def sign_in(client: TestClient, email: str) -> None:
    page = client.get("/login").text
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match
    r = client.post(
        "/login",
        data={"email": email, "password": seed.DEMO_PASSWORD, "csrf": match.group(1)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:300]


class ServerTimer:
    """ASGI wrapper around the whole app (middleware, routing, database, templates): the time
    from the request entering the app until its last body chunk is sent. The TestClient's own
    thread hand-offs are outside it, so this is server time, as a real server would spend it."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.last_ms = 0.0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.last_ms = (time.perf_counter() - started) * 1000


def measure(
    client: TestClient, timer: ServerTimer, url: str, runs: int
) -> tuple[list[float], list[float], int, int]:
    """Per request: server wall time (ms) and the CPU time the whole process spent (ms; all
    threads, so the test client's small share is included: an upper bound on server CPU).
    On a busy machine wall time waits for a core; CPU time says what a free core would take."""
    for _ in range(2):
        client.get(url)
    times, cpu = [], []
    status = size = 0
    for _ in range(runs):
        started = time.process_time()
        r = client.get(url)
        cpu.append((time.process_time() - started) * 1000)
        times.append(timer.last_ms)
        status, size = r.status_code, len(r.content)
    return times, cpu, status, size


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--db", type=Path, help="SQLite file to build (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="reuse --db if it exists (skip loading)")
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory()
    path = args.db or Path(tmp.name) / "pages.db"
    url = f"sqlite:///{path}"
    if not (args.keep and path.exists()):
        path.unlink(missing_ok=True)
        build(url, args.tickets)

    settings = Settings(
        database_url=url, attachments_dir=Path(tmp.name) / "att", log_level="WARNING", log_json=True
    )
    app = create_app(settings)
    timer = ServerTimer(app)
    database = app.state.database
    with database.session(write=False) as db:
        total = db.scalar(select(Ticket.id).order_by(Ticket.id.desc()).limit(1))
        l1 = db.scalar(select(Tier.id).where(Tier.key == "L1"))
        busy = db.execute(
            select(Ticket.id).where(Ticket.tier_id == l1, Ticket.status.in_(OPEN)).order_by(Ticket.id.desc())
        ).first()
    assert busy is not None
    ticket = f"T-{busy[0]}"
    with database.session(write=False) as db:
        # The customer portal: a contact of the strategic account (its organization shares tickets).
        hanako = db.scalar(select(User.customer_id).where(User.email == HANAKO))
        theirs = db.scalar(select(Ticket.id).where(Ticket.requester_id == hanako).order_by(Ticket.id.desc()))
        org = db.scalar(select(Customer.organization_id).where(Customer.id == hanako))
        org_tickets = db.scalar(select(func.count()).where(Ticket.organization_id == org))
    print(f"portal: {HANAKO} has {org_tickets} organization tickets; ticket page T-{theirs}")
    print(f"database: {path} (highest ticket T-{total}); ticket page: {ticket}; {args.runs} runs per page")

    pages = [
        ("l1.giulia", "my tickets", "/desk/mine"),
        ("l1.giulia", "L1 queue", "/desk/tier/L1"),
        ("l1.giulia", "L1 queue, high priority, oldest first", "/desk/tier/L1?priority=high&sort=created_at"),
        ("l1.giulia", "L1 queue, page 2 (cursor)", None),
        ("l1.giulia", "breaching soon", "/desk/breaching"),
        ("l1.giulia", "ticket page", f"/tickets/{ticket}"),
        ("l1.giulia", "SLA panel (HTMX poll)", f"/tickets/{ticket}/sla"),
        ("supervisor", "supervisor: L2 queue", "/desk/tier/L2"),
        ("supervisor", "supervisor: team queue (billing)", "/desk/team/billing"),
        ("supervisor", "supervisor: breaching soon", "/desk/breaching"),
        (HANAKO, "portal: my open tickets", "/portal"),
        (HANAKO, "portal: organization's open tickets", "/portal?scope=organization"),
        (HANAKO, "portal: organization's solved tickets", "/portal?scope=organization&state=solved"),
        (HANAKO, "portal: ticket page", f"/portal/tickets/T-{theirs}"),
    ]
    load = os.getloadavg()[0]
    print(f"load average {load:.1f} on {os.cpu_count()} CPUs (wall times wait for a core when it is high)")
    print(
        f"{'page':42} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'cpu p50':>8} {'cpu p95':>8} {'status':>6} {'KiB':>5}"
    )
    clients: dict[str, TestClient] = {}
    worst = worst_cpu = 0.0
    for who, name, url_ in pages:
        if who not in clients:
            clients[who] = TestClient(timer)
            clients[who].__enter__()
            sign_in(clients[who], who if "@" in who else f"{who}@{seed.DOMAIN}")
        client = clients[who]
        if url_ is None:
            first = client.get("/desk/tier/L1").text
            found = re.search(r'<a href="([^"]+)" rel="next"', first)
            assert found, "the L1 queue has a second page"
            url_ = found.group(1).replace("&amp;", "&")
        times, cpu, status, size = measure(client, timer, url_, args.runs)
        p95 = pct(times, 95)
        worst = max(worst, p95)
        worst_cpu = max(worst_cpu, pct(cpu, 95))
        print(
            f"{name:42} {statistics.median(times):8.1f} {p95:8.1f} {max(times):8.1f} "
            f"{statistics.median(cpu):8.1f} {pct(cpu, 95):8.1f} {status:>6} {size / 1024:5.0f}"
        )
    for c in clients.values():
        c.__exit__(None, None, None)
    print(f"worst p95: {worst:.1f} ms wall, {worst_cpu:.1f} ms CPU (target < 100 ms at 100k tickets)")
    database.dispose()


if __name__ == "__main__":
    main()
