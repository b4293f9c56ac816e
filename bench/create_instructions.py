"""How much work is one `POST /api/v1/tickets` in tierdesk's own code? Counted, not timed.

    python bench/create_instructions.py                 # instructions per create (callgrind)
    python bench/create_instructions.py --probe         # the same for a bare route: the framework's share
    python bench/create_instructions.py --time          # CPU ms per create instead (no valgrind)

Creates tickets in process: the app from `create_app()` on a SQLite file seeded with
`seed bulk` (var/bench/instructions/), an API token, and `--concurrency` tasks that send
`--requests` creations straight into the ASGI app, as uvicorn would, on one uvloop event
loop. No HTTP server and no sockets, so what is counted is the middleware, routing,
authentication, validation, planning, the group writer's batches and the response.

Why count instructions: on a shared 2-core VM the CPU time of identical runs varied by ±30%
(docs/performance.md, "Creating a ticket"), while valgrind's instruction counts repeat to
within about 1%. The script runs itself under `valgrind --tool=callgrind` with
instrumentation off, and switches it on only around the measured requests, through a small
C helper built with gcc from valgrind's own header (`callgrind.h`, in Debian's valgrind
package). A run takes about 30 s for 300 requests.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench" / "instructions"
BIN = Path(sys.executable).parent
ADMIN = "admin@tierdesk.example.com"
HELPER_C = """
#include <valgrind/callgrind.h>
void td_start(void) { CALLGRIND_ZERO_STATS; CALLGRIND_START_INSTRUMENTATION; }
void td_stop(void) { CALLGRIND_DUMP_STATS; CALLGRIND_STOP_INSTRUMENTATION; }
"""

Message = dict[str, Any]


def _env(db: Path) -> dict[str, str]:
    return os.environ | {
        "TIERDESK_DATABASE_URL": f"sqlite:///{db}",
        "TIERDESK_LOG_LEVEL": "WARNING",
        "TIERDESK_SECRET_KEY": "instructions-" * 3,
        "TIERDESK_ATTACHMENTS_DIR": str(VAR / "attachments"),
    }


def prepare(tickets: int) -> tuple[Path, str]:
    """A seeded database and an admin token, made once per size and kept."""
    VAR.mkdir(parents=True, exist_ok=True)
    db, token_file = VAR / f"tierdesk-{tickets}.db", VAR / f"token-{tickets}"
    if not token_file.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)

        def cli(*args: str) -> str:
            done = subprocess.run(
                [str(BIN / "tierdesk"), *args], env=_env(db), cwd=ROOT, capture_output=True, text=True
            )
            if done.returncode != 0:
                raise SystemExit(f"tierdesk {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
            return done.stdout

        cli("db", "upgrade")
        cli("seed", "bulk", "--tickets", str(tickets))
        token_file.write_text(cli("token", "create", "--email", ADMIN, "--name", "instructions").split()[-1])
    return db, token_file.read_text().strip()


def helper() -> ctypes.CDLL:
    """The compiled start/stop helper (built on first use)."""
    library = VAR / "libtd_callgrind.so"
    if not library.exists():
        source = VAR / "td_callgrind.c"
        source.write_text(HELPER_C)
        subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", str(library), str(source)], check=True)
    return ctypes.CDLL(str(library))


async def drive(
    app: Any, path: str, token: str, customers: list[int], start: int, count: int, concurrency: int
) -> None:
    """`count` POSTs of new tickets into the ASGI app, `concurrency` at a time."""
    rnd = random.Random(start)
    headers = [
        (b"authorization", f"Bearer {token}".encode()),
        (b"content-type", b"application/json"),
        (b"accept", b"application/json"),
        (b"host", b"127.0.0.1:8000"),
    ]

    async def one(i: int) -> None:
        body = json.dumps(
            {
                "subject": f"Printer on floor {i % 9} is on fire again ({i})",
                "description": f"Ticket body {i}: the printer on floor {i % 9} is on fire again.",
                "requester_id": customers[rnd.randrange(len(customers))],
            }
        ).encode()
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
            "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        delivered = False
        status: list[int] = []

        async def receive() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # the client never disconnects
            raise AssertionError("unreachable")

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])

        await app(scope, receive, send)
        if status != [201]:
            raise SystemExit(f"POST {path} answered {status}")

    numbers = iter(range(start, start + count))

    async def client() -> None:
        for i in numbers:
            await one(i)

    await asyncio.gather(*(client() for _ in range(concurrency)))


async def lifespan(app: Any) -> Callable[[], Awaitable[None]]:
    """Start the app's lifespan (the group writer); returns its shutdown."""
    incoming: asyncio.Queue[Message] = asyncio.Queue()
    outgoing: asyncio.Queue[Message] = asyncio.Queue()
    await incoming.put({"type": "lifespan.startup"})
    task = asyncio.ensure_future(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, incoming.get, outgoing.put)
    )
    await outgoing.get()

    async def shutdown() -> None:
        await incoming.put({"type": "lifespan.shutdown"})
        await outgoing.get()
        await task

    return shutdown


def measure(args: argparse.Namespace) -> None:
    """Runs inside the process that is counted (or timed)."""
    db, token = prepare(args.tickets)
    os.environ.update(_env(db))
    sys.path.insert(0, str(ROOT))
    import sqlite3

    import uvloop

    from tierdesk.web.app import create_app

    with sqlite3.connect(db) as conn:
        customers = [r[0] for r in conn.execute("SELECT id FROM customers ORDER BY id LIMIT 500")]
    app = create_app()
    path = "/api/v1/tickets"
    if args.probe:  # a bare route at the front of the router: middleware, routing, response
        from starlette.requests import Request
        from starlette.responses import Response

        async def probe(request: Request) -> Response:
            await request.body()
            return Response(b"{}", status_code=201, media_type="application/json")

        path = "/api/v1/probe"
        app.router.add_route(path, probe, methods=["POST"])
        app.router.routes.insert(0, app.router.routes.pop())
    counting = os.environ.get("TD_CALLGRIND") == "1"

    async def main() -> None:
        shutdown = await lifespan(app)
        await drive(app, path, token, customers, 1, args.warm, args.concurrency)  # caches, pools
        start = 10_000_000
        for _ in range(1 if counting else args.rounds):
            started = time.process_time()
            if counting:
                helper().td_start()
            await drive(app, path, token, customers, start, args.requests, args.concurrency)
            if counting:
                helper().td_stop()
            else:
                print(f"{(time.process_time() - started) / args.requests * 1e3:.3f} ms of CPU per request")
            start += args.requests
        await shutdown()

    uvloop.run(main())


def count(args: argparse.Namespace) -> None:
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is needed (apt-get install valgrind), or use --time")
    prepare(args.tickets)
    helper()
    out = VAR / "callgrind.out"
    for old in VAR.glob("callgrind.out*"):
        old.unlink()
    argv = [a for a in sys.argv[1:] if a != "--count"]
    subprocess.run(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
         sys.executable, __file__, *argv],
        env=os.environ | {"TD_CALLGRIND": "1", "PYTHONHASHSEED": "0"},
        check=True,
        capture_output=True,
    )  # fmt: skip
    dumps = sorted(VAR.glob("callgrind.out.*"))  # the measured part (td_stop's dump)
    totals = re.search(r"^totals: (\d+)", dumps[0].read_text(), re.M) if dumps else None
    if totals is None:
        raise SystemExit("callgrind wrote no dump of the measured requests")
    what = "bare-route request" if args.probe else "create"
    print(f"{int(totals.group(1)) / args.requests / 1e6:.3f} M instructions per {what} "
          f"({args.requests} requests, {args.concurrency} at a time, {args.tickets:,} tickets; {dumps[0]})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=10_000, help="seed bulk size (default 10,000)")
    parser.add_argument("--requests", type=int, default=300, help="measured requests (default 300)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--warm", type=int, default=100, help="requests before measuring (default 100)")
    parser.add_argument("--probe", action="store_true", help="a bare route instead of ticket creation")
    parser.add_argument("--time", action="store_true", help="CPU time per request, no valgrind")
    parser.add_argument("--rounds", type=int, default=5, help="with --time: rounds to print (default 5)")
    args = parser.parse_args()
    if args.time or os.environ.get("TD_CALLGRIND") == "1":
        measure(args)
    else:
        count(args)


if __name__ == "__main__":
    main()
