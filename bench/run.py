"""The web bench: start tierdesk (and optionally django-helpdesk), load N tickets, run the same
HTTP workloads against each, print one table.

    python bench/run.py --tickets 10000                      # tierdesk on SQLite
    python bench/run.py --tickets 10000 --db postgresql://postgres@127.0.0.1:5432/postgres
    python bench/run.py --tickets 10000 --peer               # side by side with django-helpdesk
    python bench/run.py --quick                              # tiny, checks that everything runs

tierdesk runs as `tierdesk serve --workers 2` on a fresh database (a SQLite file under
var/bench/, or a new database `tierdesk_bench_<random>` on the PostgreSQL server of --db,
dropped at the end), filled with `tierdesk seed demo` (reference data and logins) plus
`tierdesk seed bulk --tickets N`. The peer (--peer) is django-helpdesk 2.6.1 from PyPI in
its own venv (var/peer-venv, created on first use), under gunicorn with 2 sync workers,
SQLite WAL, DEBUG off, set up as in the reference measurements
(../shared/peers/django-helpdesk: bench/peer/ holds the adapted project and loaders).

Every step is bounded by time (--duration) and request count, runs on loopback, and is
measured by bench/loadgen.py: throughput, p50/p95/p99, errors, client CPU, server CPU and
worker RSS from /proc. The 1-minute load average is printed next to each step, because on a
shared machine it says how much the figures can be trusted.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import loadgen
from loadgen import Request

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench"
BIN = Path(sys.executable).parent
PEER_VENV = ROOT / "var" / "peer-venv"
PEER_SRC = Path(__file__).resolve().parent / "peer"
PEER_PACKAGES = ["django-helpdesk==2.6.1", "gunicorn==27.0.1"]
DEMO_PASSWORD = "tierdesk-demo"
ADMIN = "admin@tierdesk.example.com"
L1_AGENT = "l1.yuki@tierdesk.example.com"
IDLE_SECONDS = 3.0  # before the last RSS sample, taken with no request in flight
PEER_ADMIN, PEER_ADMIN_PW = "admin", "admin-pass-bench"
PEER_STAFF, PEER_STAFF_PW = "staff", "staff-pass-bench"


def say(msg: str) -> None:
    print(f"[{datetime.now():%H:%M:%S} load {os.getloadavg()[0]:.2f}] {msg}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"server did not answer at {url} within {seconds:.0f} s")


def ok_2xx(code: int, body: bytes) -> str | None:
    """A redirect (to the login page, say) is not a successful page view."""
    return None if code < 300 else f"status {code}"


def cookie_header(client: httpx.Client) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in client.cookies.jar)


@dataclass
class Workload:
    key: str
    concurrency: int
    factory: Callable[[int], Request] | None
    note: str = ""
    max_requests: int | None = None  # None: the run's default
    timeout: float = 120.0


WORKLOADS = {  # key -> the row's title, in table order
    "create_c1": "create ticket (API), 1 client",
    "create_c16": "create ticket (API), 16 clients",
    "queue_api": "agent queue: open tickets of a tier, newest 25 (API)",
    "queue_page": "agent queue page (HTML)",
    "ticket_page": "ticket page (HTML), random ticket",
    "api_detail": "API ticket detail, random ticket",
    "api_list": "API ticket list, newest 25",
    "search": "keyword search over tickets",
    "dashboard": "supervisor dashboard",
}


class Server:
    name = "?"
    proc: subprocess.Popen[bytes] | None = None
    base = ""

    def pids(self) -> list[int]:
        assert self.proc is not None
        return loadgen.server_pids(self.proc.pid)

    def wait_workers(self, count: int) -> None:
        """uvicorn/gunicorn fork their workers after the master answers: wait for them."""
        deadline = time.monotonic() + 30
        while len(self.pids()) < count + 1 and time.monotonic() < deadline:
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        # The server was started in its own session: signal exactly that process group.
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)

    def cleanup(self) -> None:
        pass


# --- tierdesk ------------------------------------------------------------------------------------------
class Tierdesk(Server):
    name = "tierdesk"

    def __init__(self, db: str, tickets: int, workers: int, env: dict[str, str] | None = None) -> None:
        self.tickets, self.workers = tickets, workers
        self.admin_db: str | None = None
        VAR.mkdir(parents=True, exist_ok=True)
        if db == "sqlite":
            path = VAR / f"tierdesk-{tickets}.db"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            self.url = f"sqlite:///{path}"
            self.label = "SQLite (WAL)"
        else:
            from sqlalchemy import create_engine, make_url, text

            from tierdesk.core.db import normalise_url

            base = make_url(normalise_url(db))
            name = f"tierdesk_bench_{secrets.token_hex(3)}"
            admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            admin.dispose()
            self.admin_db = base.set(database="postgres").render_as_string(hide_password=False)
            self.pg_name = name
            self.url = base.set(database=name).render_as_string(hide_password=False)
            self.label = f"PostgreSQL ({name})"
        self.env = (
            os.environ
            | {
                "TIERDESK_DATABASE_URL": self.url,
                "TIERDESK_LOG_LEVEL": "WARNING",
                "TIERDESK_SECRET_KEY": secrets.token_hex(16),
                "TIERDESK_ATTACHMENTS_DIR": str(VAR / "attachments"),
            }
            | (env or {})
        )

    def cli(self, *args: str) -> str:
        out = subprocess.run(
            [str(BIN / "tierdesk"), *args], env=self.env, cwd=ROOT, capture_output=True, text=True
        )
        if out.returncode != 0:
            raise SystemExit(f"tierdesk {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
        return out.stdout

    def prepare(self) -> None:
        say(f"tierdesk: fresh database on {self.label}, migrations")
        self.cli("db", "upgrade")
        say(f"tierdesk: seed bulk --tickets {self.tickets:,} (the demo first)")
        out = self.cli("seed", "bulk", "--tickets", str(self.tickets))
        self.seed_line = " ".join(line.strip() for line in out.splitlines() if line.strip())
        m = re.search(r"in ([\d.]+) s = ([\d,]+) tickets/s", self.seed_line)
        self.seed_rate = m.group(2) if m else "?"
        print("  " + self.seed_line[-400:], flush=True)
        self.admin_token = (
            self.cli("token", "create", "--email", ADMIN, "--name", "bench").strip().splitlines()[-1]
        )
        self.agent_token = (
            self.cli("token", "create", "--email", L1_AGENT, "--name", "bench").strip().splitlines()[-1]
        )
        from sqlalchemy import create_engine, text

        from tierdesk.core.db import normalise_url

        engine = create_engine(normalise_url(self.url))
        with engine.connect() as conn:
            self.l1 = int(conn.execute(text("SELECT id FROM tiers WHERE key = 'L1'")).scalar_one())
            lo, hi = conn.execute(text("SELECT MIN(id), MAX(id) FROM tickets")).one()
            self.ticket_ids = (int(lo), int(hi))
            self.customer_ids = [int(c) for (c,) in conn.execute(text("SELECT id FROM customers"))]
        engine.dispose()

    def start(self) -> None:
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        log = open(VAR / "tierdesk-serve.log", "ab")  # noqa: SIM115 (kept open for the server's life)
        self.proc = subprocess.Popen(
            [str(BIN / "tierdesk"), "serve", "--workers", str(self.workers), "--port", str(port)],
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        wait_http(self.base + "/login")
        self.wait_workers(self.workers)
        say(f"tierdesk: serving on {self.base}, pids {self.pids()}")

    def _login(self, email: str) -> httpx.Client:
        client = httpx.Client(base_url=self.base, timeout=30)
        page = client.get("/login")
        m = re.search(r'name="csrf" value="([^"]+)"', page.text)
        if not m:
            raise SystemExit("no CSRF token on tierdesk's login page")
        r = client.post("/login", data={"email": email, "password": DEMO_PASSWORD, "csrf": m.group(1)})
        if r.status_code != 303:
            raise SystemExit(f"tierdesk login as {email} failed: {r.status_code}")
        return client

    def workloads(self) -> list[Workload]:
        rnd = random.Random(1)
        lo, hi = self.ticket_ids
        customers = self.customer_ids
        admin = {"Authorization": f"Bearer {self.admin_token}", "Accept": "application/json"}
        agent = {"Authorization": f"Bearer {self.agent_token}", "Accept": "application/json"}
        create_headers = admin | {"Content-Type": "application/json"}

        def create(i: int) -> Request:
            body = {
                "subject": f"Printer on floor {i % 9} is on fire again ({i})",
                "description": f"Ticket body {i}: the printer on floor {i % 9} is on fire again.",
                "requester_id": customers[rnd.randrange(len(customers))],
            }
            return Request("POST", "/api/v1/tickets", create_headers, json.dumps(body).encode())

        def get(path: str, headers: dict[str, str]) -> Callable[[int], Request]:
            return lambda i: Request("GET", path, headers)

        def random_ticket(fmt: str, headers: dict[str, str]) -> Callable[[int], Request]:
            return lambda i: Request("GET", fmt.format(id=rnd.randint(lo, hi)), headers)

        admin_web = self._login(ADMIN)
        agent_web = self._login(L1_AGENT)
        admin_page = {"Cookie": cookie_header(admin_web), "Accept": "text/html"}
        agent_page = {"Cookie": cookie_header(agent_web), "Accept": "text/html"}
        out = [
            Workload("create_c1", 1, create),
            Workload("create_c16", 16, create),
            Workload("queue_api", 16, get(f"/api/v1/tickets?status=open&tier_id={self.l1}&limit=25", agent),
                     "as an L1 agent (visibility applies)"),
        ]  # fmt: skip
        if agent_web.get("/desk/tier/L1").status_code == 200:
            out.append(
                Workload("queue_page", 16, get("/desk/tier/L1", agent_page), "/desk/tier/L1 as an L1 agent")
            )
        else:
            out.append(Workload("queue_page", 16, None, "no queue page (/desk/tier/L1) in this build"))
        if admin_web.get(f"/tickets/T-{hi}").status_code == 200:
            out.append(Workload("ticket_page", 16, random_ticket("/tickets/T-{id}", admin_page), "as admin"))
        else:
            out.append(Workload("ticket_page", 16, None, "no ticket page (/tickets/T-n) in this build"))
        out += [
            Workload("api_detail", 16, random_ticket("/api/v1/tickets/{id}", admin), "as admin"),
            Workload("api_list", 16, get("/api/v1/tickets?limit=25", admin), "as admin, no filter"),
        ]
        out.append(self._search(admin))
        out.append(self._dashboard(admin_web, admin_page))
        admin_web.close()
        agent_web.close()
        return out

    def _search(self, admin: dict[str, str]) -> Workload:
        """Only an endpoint that exists: a tickets path with 'search' in it, or a q parameter
        on the ticket list, as the running app's OpenAPI document describes it."""
        spec = httpx.get(self.base + "/api/openapi.json", timeout=30).json()
        for path, ops in spec.get("paths", {}).items():
            if not path.startswith("/api/v1/tickets") or "get" not in ops or "{" in path:
                continue
            params = {p.get("name") for p in ops["get"].get("parameters", [])}
            for q in ("q", "query", "search"):
                if q in params and ("search" in path or path == "/api/v1/tickets"):
                    url = f"{path}?{q}=invoice&limit=25"
                    return Workload("search", 16, lambda i, u=url: Request("GET", u, admin), f"GET {url}")
        return Workload("search", 16, None, "tierdesk has no ticket search endpoint yet (not measured)")

    def _dashboard(self, web: httpx.Client, headers: dict[str, str]) -> Workload:
        spec_paths = httpx.get(self.base + "/api/openapi.json", timeout=30).json().get("paths", {})
        candidates = [p for p in spec_paths if "dashboard" in p and "{" not in p]
        candidates += ["/desk/dashboard", "/dashboard", "/supervisor", "/desk/supervisor"]
        for path in candidates:
            if web.get(path).status_code == 200:
                return Workload(
                    "dashboard", 16, lambda i, p=path: Request("GET", p, headers), f"{path} as admin"
                )
        return Workload("dashboard", 16, None, "no supervisor dashboard in this build (not measured)")

    def cleanup(self) -> None:
        if self.admin_db:
            from sqlalchemy import create_engine, text

            admin = create_engine(self.admin_db, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)'))
            admin.dispose()


# --- django-helpdesk -------------------------------------------------------------------------------
class Peer(Server):
    """django-helpdesk 2.6.1 from PyPI, as in ../shared/peers/django-helpdesk/RESULTS.md."""

    name = "django-helpdesk"

    def __init__(self, tickets: int) -> None:
        self.tickets = tickets
        self.dir = VAR / "peer"
        self.py = PEER_VENV / "bin" / "python"
        self.env = os.environ | {"PEER_DIR": str(self.dir), "PYTHONWARNINGS": "ignore"}
        self.env.pop("DJANGO_SETTINGS_MODULE", None)

    def run(self, *args: str) -> str:
        out = subprocess.run(
            [str(self.py), *args], env=self.env, cwd=PEER_SRC / "project", capture_output=True, text=True
        )
        if out.returncode != 0:
            raise SystemExit(f"peer: {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
        return out.stdout

    def prepare(self) -> None:
        if not self.py.exists():
            say(f"peer: creating {PEER_VENV} with {', '.join(PEER_PACKAGES)} from PyPI")
            subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        # pip is quick when everything is already installed at these versions.
        subprocess.run([str(self.py), "-m", "pip", "install", "-q", *PEER_PACKAGES], check=True)
        shutil.rmtree(self.dir, ignore_errors=True)
        for sub in ("data", "run", "static", "media"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        say("peer: migrate, collectstatic, bootstrap (admin, staff, queue, 200 KB items)")
        self.run("manage.py", "migrate", "--noinput", "-v", "0")
        self.run("manage.py", "collectstatic", "--noinput", "-v", "0")
        self.run(str(PEER_SRC / "hd_bootstrap.py"))
        say(f"peer: bulk load to {self.tickets:,} tickets")
        started = time.perf_counter()
        print(
            "  " + self.run(str(PEER_SRC / "hd_bulk_load.py"), "--target", str(self.tickets)).strip(),
            flush=True,
        )
        self.seed_seconds = time.perf_counter() - started
        self.max_id = int(
            self.run(
                "-c",
                "import django,os;os.environ.setdefault('DJANGO_SETTINGS_MODULE','hdproject.settings');"
                "django.setup();from helpdesk.models import Ticket;"
                "print(Ticket.objects.order_by('-id').values_list('id',flat=True)[0])",
            ).strip()
        )

    def start(self) -> None:
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.env["HD_PORT"] = str(port)
        self.run(str(PEER_SRC / "hd_bootstrap.py"))  # the Site row carries the port
        log = open(self.dir / "run" / "gunicorn.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [str(PEER_VENV / "bin" / "gunicorn"), "hdproject.wsgi:application", "--chdir",
             str(PEER_SRC / "project"), "--bind", f"127.0.0.1:{port}", "--workers", "2", "--timeout", "300"],
            env=self.env, cwd=PEER_SRC / "project", stdout=log, stderr=log, start_new_session=True,
        )  # fmt: skip
        wait_http(self.base + "/helpdesk/login/")
        self.wait_workers(2)
        say(f"peer: serving on {self.base}, pids {self.pids()}")

    def _login(self, user: str, password: str) -> httpx.Client:
        client = httpx.Client(base_url=self.base, timeout=300)
        page = client.get("/helpdesk/login/")
        m = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        if not m:
            raise SystemExit("no CSRF token on the peer's login page")
        client.post(
            "/helpdesk/login/",
            data={
                "username": user,
                "password": password,
                "csrfmiddlewaretoken": m.group(1),
                "next": "/helpdesk/",
            },
            headers={"Referer": self.base + "/helpdesk/login/"},
        )
        if "sessionid" not in client.cookies:
            raise SystemExit(f"peer login as {user} failed")
        return client

    def workloads(self) -> list[Workload]:
        rnd = random.Random(1)
        admin, staff = self._login(PEER_ADMIN, PEER_ADMIN_PW), self._login(PEER_STAFF, PEER_STAFF_PW)
        api = {"Cookie": cookie_header(admin), "Accept": "application/json"}
        create_headers = api | {"X-CSRFToken": admin.cookies.get("csrftoken") or "", "Content-Type": "application/json"}  # fmt: skip
        page = {"Cookie": cookie_header(staff), "Accept": "text/html"}
        admin.close()
        staff.close()

        def create(i: int) -> Request:
            body = {
                "queue": 1,
                "title": f"Printer on floor {i % 9} is on fire again ({i})",
                "description": f"Ticket body {i}: the printer on floor {i % 9} is on fire again.",
                "submitter_email": f"cust{i % 5000}@example.invalid",
                "priority": 3,
            }
            return Request("POST", "/helpdesk/api/tickets/", create_headers, json.dumps(body).encode())

        def datatables(query: dict[str, Any]) -> str:
            b64 = base64.b64encode(json.dumps(query).encode()).decode()
            return f"/helpdesk/datatables_ticket_list/{b64}?draw=1&start=0&length=25"

        queue = datatables({"filtering": {"status__in": [1, 2]}, "sorting": "created", "search_string": "", "sortreverse": True})  # fmt: skip
        search = datatables({"filtering": {}, "filtering_null": {}, "sorting": "created", "sortreverse": None, "search_string": "printer"})  # fmt: skip

        def get(path: str, headers: dict[str, str]) -> Callable[[int], Request]:
            return lambda i: Request("GET", path, headers)

        def random_ticket(fmt: str, headers: dict[str, str]) -> Callable[[int], Request]:
            return lambda i: Request("GET", fmt.format(id=rnd.randint(1, self.max_id)), headers)

        # The DRF list and detail read every ticket per request (about 30 s each at 100k):
        # one client, three requests, as in the reference measurements.
        slow = {"max_requests": 3, "timeout": 600.0}
        return [
            Workload("create_c1", 1, create),
            Workload("create_c16", 16, create),
            Workload("queue_api", 16, get(queue, page), "datatables JSON: open tickets, newest 25 (one queue)"),
            Workload("queue_page", 16, get("/helpdesk/tickets/", page), "HTML shell; its rows are the row above"),
            Workload("ticket_page", 16, random_ticket("/helpdesk/tickets/{id}/", page)),
            Workload("api_detail", 1, random_ticket("/helpdesk/api/tickets/{id}/", api), "1 client, 3 requests", **slow),  # type: ignore[arg-type]
            Workload("api_list", 1, get("/helpdesk/api/tickets/?page=1", api), "1 client, 3 requests", **slow),  # type: ignore[arg-type]
            Workload("search", 16, get(search, page), "datatables search 'printer'"),
            Workload("dashboard", 16, get("/helpdesk/dashboard/", page)),
        ]  # fmt: skip


# --- running and reporting --------------------------------------------------------------------------
@dataclass
class Row:
    system: str
    key: str
    note: str
    result: dict[str, Any] | None = None
    load1: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def measure(
    server: Server, duration: float, max_requests: int, only: set[str] | None, read_clients: int | None = None
) -> list[Row]:
    """Run each workload; `read_clients` replaces the 16 clients of the read rows (e.g. 1 to
    measure what one request costs without queueing behind 15 others)."""
    rows = []
    pids = server.pids()
    for w in server.workloads():
        if only and w.key not in only:
            continue
        if w.factory is None:
            say(f"{server.name}: {WORKLOADS[w.key]}: skipped ({w.note})")
            rows.append(Row(server.name, w.key, w.note))
            continue
        # Warm-up: a few requests so that imports, caches and connection pools are ready.
        # (one request per client for the slow ones, whose single request can take half a minute).
        concurrency = read_clients if read_clients and not w.key.startswith("create") else w.concurrency
        warm = min(concurrency, 4) if w.max_requests is None else 1
        loadgen.run(server.base, w.factory, concurrency=warm, duration=1, max_requests=2 * warm,
                    timeout=w.timeout, check=ok_2xx)  # fmt: skip
        res = loadgen.run(
            server.base,
            w.factory,
            label=w.key,
            concurrency=concurrency,
            duration=duration,
            max_requests=w.max_requests or max_requests,
            timeout=w.timeout,
            pids=pids,
            check=ok_2xx,
        )
        load1 = os.getloadavg()[0]
        say(
            f"{server.name}: {WORKLOADS[w.key]}: {res.throughput:,.1f}/s p50 {res.p50_ms} ms p99 {res.p99_ms} ms "
            f"errors {res.errors} client {res.client_cores} cores server {res.server_cores} cores "
            f"RSS {res.server_rss_mib} MiB"
        )
        for sample in res.error_samples[:2]:
            print("    error sample: " + sample, flush=True)
        rows.append(Row(server.name, w.key, w.note, res.as_dict(), round(load1, 2)))
    measured = [r for r in rows if r.result]
    if measured:
        # What the workers still hold once they have been idle a moment (a tierdesk worker
        # gives back what a burst freed after one quiet second: core/memory.py).
        time.sleep(IDLE_SECONDS)
        stats = [st for p in pids if (st := loadgen.proc_stat(p)) is not None]
        measured[-1].extra["idle_rss_mib"] = sorted(st.rss_mib for st in stats)
    return rows


def cpu_per_request(res: dict[str, Any] | None) -> float | None:
    """Server CPU milliseconds per successful request: on a shared machine this moves far
    less with the load average than throughput and latency do."""
    if not res or not res.get("ok") or res.get("server_cpu_s") is None:
        return None
    return 1000 * float(res["server_cpu_s"]) / int(res["ok"])


def fmt_num(v: float | None, digits: int = 1) -> str:
    if v is None:
        return "–"
    if 0 < v < 1:
        return f"{v:.2g}"
    return f"{v:,.{digits}f}" if v < 100 else f"{v:,.0f}"


def table(rows: list[Row], systems: list[str], tickets: int) -> str:
    by = {(r.system, r.key): r for r in rows}
    lines = []
    head = ["workload"]
    for s in systems:
        head += [f"{s} req/s", "p50 ms", "p95 ms", "p99 ms", "CPU ms/req", "err", "load"]
    if len(systems) == 2:
        head += ["× req/s", "× p50", "× CPU/req"]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "---|" * len(head))
    for key, title in WORKLOADS.items():
        cells = [f"{title}"]
        got: list[dict[str, Any] | None] = []
        for s in systems:
            r = by.get((s, key))
            res = r.result if r else None
            got.append(res)
            if res is None:
                cells += ["n/a", "", "", "", "", "", ""]
                continue
            cells += [
                fmt_num(res["throughput"])
                + ("" if res["concurrency"] == 16 else f" (c{res['concurrency']})"),
                fmt_num(res["p50_ms"]),
                fmt_num(res["p95_ms"]),
                fmt_num(res["p99_ms"]),
                fmt_num(cpu_per_request(res)),
                str(res["errors"]),
                f"{r.load1:.1f}" if r else "",
            ]
        if len(systems) == 2:
            a, b = got
            same_load = a and b and a["concurrency"] == b["concurrency"]
            cells.append(
                f"{a['throughput'] / b['throughput']:,.1f}×"
                if same_load and a and b and a["throughput"] and b["throughput"]
                else "–"
            )
            cells.append(
                f"{b['p50_ms'] / a['p50_ms']:,.1f}×" if a and b and a["p50_ms"] and b["p50_ms"] else "–"
            )
            ca, cb = cpu_per_request(a), cpu_per_request(b)
            cells.append(f"{cb / ca:,.1f}×" if ca and cb else "–")
        lines.append("| " + " | ".join(cells) + " |")
    notes = [f"- {r.system}, {WORKLOADS[r.key]}: {r.note}" for r in rows if r.note]
    rss = []
    for s in systems:
        last = [r.result for r in rows if r.system == s and r.result]
        if last:
            idle = next(
                (
                    r.extra["idle_rss_mib"]
                    for r in reversed(rows)
                    if r.system == s and "idle_rss_mib" in r.extra
                ),
                None,
            )
            rss.append(
                f"- {s} worker RSS after the runs: {last[-1]['server_rss_mib']} MiB"
                + (f", {idle} MiB after {IDLE_SECONDS:g} s idle" if idle else "")
                + f" (peak {last[-1]['server_peak_rss_mib']} MiB, includes the master/supervisor process)"
            )
    return "\n".join([f"{tickets:,} tickets", "", *lines, "", *notes, *rss])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tickets", type=int, default=10_000)
    ap.add_argument(
        "--db", default="sqlite", help="'sqlite' or a PostgreSQL URL (a new database is created there)"
    )
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--env",
        action="append",
        default=[],
        help="KEY=VALUE for tierdesk's processes, e.g. TIERDESK_SQLITE_WRITE_GATE=0",
    )
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per workload")
    ap.add_argument("--max-requests", type=int, default=50_000, help="cap per workload")
    ap.add_argument("--peer", action="store_true", help="also run django-helpdesk 2.6.1 side by side")
    ap.add_argument("--no-tierdesk", action="store_true", help="only the peer")
    ap.add_argument(
        "--read-clients", type=int, help="clients for the read rows instead of 16 (1: one request at a time)"
    )
    ap.add_argument("--only", default="", help="comma-separated workload keys: " + ",".join(WORKLOADS))
    ap.add_argument("--quick", action="store_true", help="tiny and short: checks that everything runs")
    ap.add_argument("--out", type=Path, help="write the rows as JSON here")
    ap.add_argument("--table", type=Path, help="only print the table of a JSON file written by --out")
    args = ap.parse_args(argv)
    if args.table:
        saved = json.loads(args.table.read_text())
        rows = [Row(**r) for r in saved["rows"]]
        print(table(rows, list(dict.fromkeys(r.system for r in rows)), saved["tickets"]))
        return 0
    if args.quick:
        args.tickets, args.duration, args.max_requests = min(args.tickets, 300), 1.0, 200
    only = set(filter(None, args.only.split(","))) or None
    print(
        f"bench: {args.tickets:,} tickets, {args.duration:g} s per workload; {os.cpu_count()} CPUs; "
        f"Python {sys.version.split()[0]}; load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}",
        flush=True,
    )
    servers: list[Server] = []
    if not args.no_tierdesk:
        extra = dict(kv.split("=", 1) for kv in args.env)
        servers.append(Tierdesk(args.db, args.tickets, args.workers, extra))
        if extra:
            print(f"tierdesk environment: {extra}", flush=True)
    if args.peer:
        servers.append(Peer(args.tickets))
    rows: list[Row] = []
    try:
        for server in servers:
            server.prepare()  # type: ignore[attr-defined]
            server.start()  # type: ignore[attr-defined]
            try:
                rows += measure(server, args.duration, args.max_requests, only, args.read_clients)
            finally:
                server.stop()
    finally:
        for server in servers:
            server.stop()
            server.cleanup()
    systems = [s.name for s in servers]
    print()
    print(table(rows, systems, args.tickets))
    for s in servers:
        if isinstance(s, Tierdesk):
            print(f"- tierdesk database: {s.label}; seed bulk: {s.seed_rate} tickets/s")
    print(f"- load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            json.dumps(
                {
                    "tickets": args.tickets,
                    "at": datetime.now(UTC).isoformat(),
                    "rows": [r.__dict__ for r in rows],
                },
                indent=1,
            )
        )
    failed = [r for r in rows if r.result and r.result["ok"] == 0]
    for r in failed:
        print(f"FAILED: {r.system} {r.key}: no successful request; {r.result and r.result['error_samples']}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
