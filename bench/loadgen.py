"""A small closed-loop HTTP/1.1 load generator for loopback benchmarks.

    python bench/loadgen.py http://127.0.0.1:8000/api/v1/tickets?limit=25 \
        -H "Authorization: Bearer td_..." -c 16 -d 10 -n 20000 --pids 1234

`-c` coroutines each keep one keep-alive connection and send one request at a time until
`-d` seconds have passed or `-n` requests were sent, whichever comes first; every request
has a timeout. Printed (JSON): requests, successes (status < 400), status codes, a few
error samples, throughput (successes per second of wall time, including the drain of the
requests in flight when time ran out), latency p50/p95/p99/max of successful requests,
the client's own CPU seconds (so you can tell when the client, not the server, is the
limit), and each server process's CPU seconds during the run and RSS after it, read from
/proc (pass the server's pids, or its master pid with --tree to include its children).

The client is raw asyncio streams rather than an HTTP library: on a 2-core machine a
full client library costs as much CPU per request as a fast endpoint does. It speaks just
enough HTTP/1.1: Content-Length and chunked bodies, keep-alive, reconnect when the server
closes. Loopback targets only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
MAX_DURATION = 600.0


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


# A request factory gets the request's sequence number and returns what to send.
Factory = Callable[[int], Request]


@dataclass
class ProcStat:
    pid: int
    name: str
    rss_mib: float
    peak_rss_mib: float
    cpu_s: float


@dataclass
class Result:
    label: str
    concurrency: int
    requests: int
    ok: int
    errors: int
    status: dict[str, int]
    elapsed_s: float
    throughput: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    client_cpu_s: float
    client_cores: float
    server_cpu_s: float | None = None
    server_cores: float | None = None
    server_rss_mib: list[float] = field(default_factory=list)
    server_peak_rss_mib: list[float] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- /proc ---------------------------------------------------------------------------------------
def process_tree(root: int) -> list[int]:
    """`root` and all its descendants (via /proc/<pid>/task/<tid>/children)."""
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        try:
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/children") as fh:
                    todo.extend(int(c) for c in fh.read().split())
        except OSError:
            continue
    return out


def proc_stat(pid: int) -> ProcStat | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            status = fh.read()
        with open(f"/proc/{pid}/stat") as fh:
            stat = fh.read()
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmd = fh.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return None
    fields = {k: v.split() for k, _, v in (line.partition(":") for line in status.splitlines())}
    if "VmRSS" not in fields or "VmHWM" not in fields:
        return None  # a zombie (a child that has exited, not yet reaped) has no memory left
    ticks = os.sysconf("SC_CLK_TCK")
    after_name = stat.rsplit(")", 1)[1].split()
    return ProcStat(
        pid=pid,
        name=cmd[:120],
        rss_mib=round(int(fields["VmRSS"][0]) / 1024, 1),
        peak_rss_mib=round(int(fields["VmHWM"][0]) / 1024, 1),
        cpu_s=(int(after_name[11]) + int(after_name[12])) / ticks,
    )


def is_worker(stat: ProcStat) -> bool:
    """Server workers, not helpers such as multiprocessing's resource tracker."""
    return "resource_tracker" not in stat.name and "semaphore_tracker" not in stat.name


def server_pids(master: int) -> list[int]:
    return [p for p in process_tree(master) if (s := proc_stat(p)) is not None and is_worker(s)]


# --- HTTP/1.1 ------------------------------------------------------------------------------------
class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def send(self, req: Request) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None and self.writer is not None
        head = [f"{req.method} {req.path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        head += [f"{k}: {v}" for k, v in req.headers.items()]
        if req.body or req.method in ("POST", "PUT", "PATCH"):
            head.append(f"Content-Length: {len(req.body)}")
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + req.body)
        status_line = await self.reader.readuntil(b"\r\n")
        status = int(status_line.split(b" ", 2)[1])
        length, chunked, close = None, False, False
        while True:
            line = await self.reader.readuntil(b"\r\n")
            if line == b"\r\n":
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value.strip())
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"connection" and b"close" in value.lower():
                close = True
        if chunked:
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    break
                parts.append(await self.reader.readexactly(size + 2))
            body = b"".join(p[:-2] for p in parts)
        elif length is not None:
            body = await self.reader.readexactly(length)
        else:
            body = await self.reader.read()
            close = True
        if close:
            await self.close()
        return status, body


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    k = (len(values) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


async def _run(
    host: str,
    port: int,
    factory: Factory,
    concurrency: int,
    duration: float,
    max_requests: int,
    timeout: float,
    check: Callable[[int, bytes], str | None] | None,
) -> tuple[list[float], dict[str, int], list[str], float]:
    latencies: list[float] = []
    status: dict[str, int] = {}
    samples: list[str] = []
    counter = 0
    stop_at = time.monotonic() + duration

    async def worker() -> None:
        nonlocal counter
        conn = Connection(host, port)
        try:
            while time.monotonic() < stop_at and counter < max_requests:
                i = counter
                counter += 1
                req = factory(i)
                t0 = time.perf_counter()
                try:
                    code, body = await asyncio.wait_for(conn.send(req), timeout)
                except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    key = type(exc).__name__
                    status[key] = status.get(key, 0) + 1
                    if len(samples) < 5:
                        samples.append(f"{req.method} {req.path}: {key} {exc}"[:300])
                    await conn.close()
                    continue
                dt = time.perf_counter() - t0
                status[str(code)] = status.get(str(code), 0) + 1
                problem = check(code, body) if check and code < 400 else None
                if code < 400 and problem is None:
                    latencies.append(dt)
                elif len(samples) < 5:
                    samples.append(f"{req.method} {req.path} -> {code}: {problem or body[:200]!r}"[:300])
        finally:
            await conn.close()

    t_start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, status, samples, time.perf_counter() - t_start


def run(
    base_url: str,
    factory: Factory,
    *,
    label: str = "",
    concurrency: int = 16,
    duration: float = 10.0,
    max_requests: int = 100_000,
    timeout: float = 30.0,
    pids: list[int] | None = None,
    check: Callable[[int, bytes], str | None] | None = None,
) -> Result:
    """Run one bounded load step against `base_url` (scheme://host:port) and measure it.
    `check` may reject a 2xx/3xx response (returns a reason), which then counts as an error."""
    parts = urlsplit(base_url)
    if parts.hostname not in LOOPBACK:
        raise SystemExit(f"refusing a non-loopback target: {base_url}")
    duration = min(duration, MAX_DURATION)
    before = {p: s for p in pids or [] if (s := proc_stat(p)) is not None}
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    latencies, status, samples, elapsed = asyncio.run(
        _run(
            parts.hostname or "127.0.0.1",
            parts.port or 80,
            factory,
            concurrency,
            duration,
            max_requests,
            timeout,
            check,
        )
    )
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    after = {p: s for p in pids or [] if (s := proc_stat(p)) is not None}
    latencies.sort()
    client_cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)

    def ms(v: float | None) -> float | None:
        return None if v is None else round(v * 1000, 2)

    requests = sum(status.values())
    result = Result(
        label=label,
        concurrency=concurrency,
        requests=requests,
        ok=len(latencies),
        errors=requests - len(latencies),
        status=status,
        elapsed_s=round(elapsed, 3),
        throughput=round(len(latencies) / elapsed, 3) if elapsed else 0.0,
        p50_ms=ms(percentile(latencies, 50)),
        p95_ms=ms(percentile(latencies, 95)),
        p99_ms=ms(percentile(latencies, 99)),
        max_ms=ms(latencies[-1] if latencies else None),
        client_cpu_s=round(client_cpu, 2),
        client_cores=round(client_cpu / elapsed, 2) if elapsed else 0.0,
        error_samples=samples,
    )
    if pids:
        cpu = sum(after[p].cpu_s - before[p].cpu_s for p in after if p in before)
        result.server_cpu_s = round(cpu, 2)
        result.server_cores = round(cpu / elapsed, 2) if elapsed else None
        result.server_rss_mib = sorted(s.rss_mib for s in after.values())
        result.server_peak_rss_mib = sorted(s.peak_rss_mib for s in after.values())
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("url", help="full URL on loopback; '{i}' in it is replaced by the request number")
    ap.add_argument("-X", "--method", default="GET")
    ap.add_argument("-H", "--header", action="append", default=[], help="'Name: value', repeatable")
    ap.add_argument("--body", default="", help="request body; '{i}' is replaced by the request number")
    ap.add_argument("-c", "--concurrency", type=int, default=16)
    ap.add_argument(
        "-d", "--duration", type=float, default=10.0, help=f"seconds (capped at {MAX_DURATION:.0f})"
    )
    ap.add_argument("-n", "--max-requests", type=int, default=100_000)
    ap.add_argument("--timeout", type=float, default=30.0, help="per request, seconds")
    ap.add_argument("--pids", default="", help="server pids, comma-separated")
    ap.add_argument("--tree", action="store_true", help="--pids are masters: include their children")
    ap.add_argument("--label", default="")
    args = ap.parse_args(argv)
    parts = urlsplit(args.url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    headers = dict(h.split(": ", 1) for h in args.header)
    if args.body:
        headers.setdefault("Content-Type", "application/json")
    pids = [int(p) for p in args.pids.split(",") if p]
    if args.tree:
        pids = [p for m in pids for p in server_pids(m)]

    def factory(i: int) -> Request:
        return Request(
            args.method, path.replace("{i}", str(i)), headers, args.body.replace("{i}", str(i)).encode()
        )

    result = run(
        f"{parts.scheme}://{parts.netloc}",
        factory,
        label=args.label,
        concurrency=args.concurrency,
        duration=args.duration,
        max_requests=args.max_requests,
        timeout=args.timeout,
        pids=pids,
    )
    print(json.dumps(result.as_dict()))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
