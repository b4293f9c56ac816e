"""Where does the time of `POST /api/v1/tickets` go? Profile a real server under load.

    python bench/profile_create.py --tickets 10000 --concurrency 16 --seconds 15

Starts `tierdesk serve` (one worker by default, so one process holds every sample) on a
fresh SQLite database seeded with `seed bulk`, drives ticket creation with bench/loadgen.py,
and samples the worker with py-spy (`pip install py-spy`; needs ptrace rights, e.g. root)
while it does. Prints the share of CPU samples spent inside each interesting function
(inclusive) and the hottest leaf functions (self time). py-spy's raw output is kept in
var/bench/profile-create.txt; `--speedscope` also writes a file for https://speedscope.app.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import loadgen
import run as bench

# (label, function names, file part): inclusive share of samples. py-spy names frames
# "Class.method (path:line)" or "function (path:line)".
STAGES = [
    ("the endpoint (parse, authenticate, plan, await the write)", "run_endpoint_function", "fastapi/"),
    ("authenticate the token, build the actor", "get_actor", "tierdesk/web/deps.py"),
    ("plan the ticket (tickets.service.plan_ticket)", "plan_ticket", "tierdesk/tickets/service.py"),
    ("  routing: facts + decide", "_routing_facts|decide", "tierdesk/"),
    ("  SLA timers (sla.plan_created)", "plan_created", "tierdesk/sla/service.py"),
    (
        "write a batch (core.group, on the event loop on SQLite)",
        "LoopGroupWriter._commit|GroupWriter._commit",
        "tierdesk/core/group.py",
    ),
    ("  tickets.service.write_planned_rows", "write_planned_rows", "tierdesk/tickets/service.py"),
    ("  commit", "Session.commit", "sqlalchemy/orm/session.py"),
    ("BEGIN IMMEDIATE", "_on_begin", "tierdesk/core/db.py"),
    (
        "rows sent to SQLite's driver (core.bulk.DriverInsert)",
        "DriverInsert.(one|many)",
        "tierdesk/core/bulk.py",
    ),
    (
        "SQLAlchemy Core's execution in the driver (execute/commit)",
        "DefaultDialect.do_(execute|executemany|commit)",
        "",
    ),
    ("SQLAlchemy statement compilation and caching", "SQLCompiler.*|.*_generate_cache_key", "sqlalchemy/"),
]
PATTERNS = [
    (label, re.compile(rf"^(?:[\w.<>]*\.)?(?:{names}) \(.*{re.escape(where)}"))
    for label, names, where in STAGES
]


def parse_raw(path: Path) -> tuple[int, Counter[str], Counter[str]]:
    total = 0
    inclusive: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        total += n
        leaf[frames[-1]] += n
        for label, pattern in PATTERNS:
            if any(pattern.search(f) for f in frames):
                inclusive[label] += n
    return total, inclusive, leaf


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tickets", type=int, default=10_000)
    ap.add_argument("--db", default="sqlite")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    ap.add_argument("--speedscope", action="store_true")
    ap.add_argument(
        "--gil", action="store_true", help="only samples that hold the GIL: Python CPU, not waiting on SQLite"
    )
    args = ap.parse_args()
    pyspy = Path(sys.executable).parent / "py-spy"
    if not pyspy.exists():
        raise SystemExit("py-spy is not installed: .venv/bin/pip install py-spy")
    server = bench.Tierdesk(args.db, args.tickets, args.workers)
    out = bench.VAR / "profile-create.txt"
    try:
        server.prepare()
        server.start()
        create = next(w for w in server.workloads() if w.key == "create_c16")
        workers = [
            p for p in server.pids() if p != (server.proc.pid if server.proc else None)
        ] or server.pids()
        target = workers[0]
        bench.say(
            f"sampling pid {target} for {args.seconds:g} s while {args.concurrency} clients create tickets"
        )
        box: dict[str, loadgen.Result] = {}

        def load() -> None:
            box["r"] = loadgen.run(
                server.base, create.factory, concurrency=args.concurrency,  # type: ignore[arg-type]
                duration=args.seconds + 2, pids=server.pids(),
            )  # fmt: skip

        t = threading.Thread(target=load)
        t.start()
        cmd = [str(pyspy), "record", "--pid", str(target), "--duration", str(int(args.seconds)),
               "--rate", str(args.rate), "--format", "raw", "--output", str(out), "--nonblocking"] + (["--gil"] if args.gil else [])  # fmt: skip
        subprocess.run(cmd, check=True, capture_output=True)
        if args.speedscope:
            cmd[cmd.index("raw")] = "speedscope"
            cmd[cmd.index(str(out))] = str(out.with_suffix(".speedscope.json"))
            subprocess.run(cmd, check=True, capture_output=True)
        t.join()
    finally:
        server.stop()
        server.cleanup()
    r = box["r"]
    print(
        f"\nload: {r.throughput:,.1f} tickets/s, p50 {r.p50_ms} ms, p99 {r.p99_ms} ms, errors {r.errors}, "
        f"server {r.server_cores} cores, client {r.client_cores} cores"
    )
    total, inclusive, leaf = parse_raw(out)
    print(f"\n{total:,} CPU samples of the worker; share of samples inside each stage (inclusive):")
    for label, *_ in STAGES:
        print(f"  {100 * inclusive[label] / max(total, 1):5.1f}%  {label}")
    print("\nhottest functions (self time):")
    for frame, n in leaf.most_common(15):
        print(f"  {100 * n / max(total, 1):5.1f}%  {frame[:140]}")
    print(f"\nraw samples: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
