"""Pure-ASGI middleware: request id + access log + latency histogram + anti-framing headers,
and body size limits.

Written as raw ASGI (not BaseHTTPMiddleware) to keep the per-request overhead small.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tierdesk.core.logging import get_logger

log = get_logger("tierdesk.http")


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.latency = Histogram(
            "tierdesk_http_request_duration_seconds",
            "HTTP request latency by route template.",
            ["method", "route", "status"],
            registry=registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.too_large = Counter(
            "tierdesk_http_bodies_refused_total", "Request bodies refused for size.", registry=registry
        )


class RequestContextMiddleware:
    def __init__(
        self, app: ASGIApp, metrics: HttpMetrics, on_finished: Callable[[], None] | None = None
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.on_finished = on_finished  # told when each request is over (core/memory.py IdleTrimmer)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.setdefault("headers", [])
                headers.append((b"x-request-id", request_id.encode()))
                # No page may be framed by another site (clickjacking) unless its route says
                # otherwise with its own Content-Security-Policy (the help widget does).
                if not any(name.lower() == b"content-security-policy" for name, _ in headers):
                    headers.append((b"content-security-policy", b"frame-ancestors 'self'"))
                    headers.append((b"x-frame-options", b"SAMEORIGIN"))
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            if template != "/metrics":
                self.metrics.latency.labels(scope["method"], template, str(status)).observe(elapsed)
            log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                route=template,
                status=status,
                ms=round(elapsed * 1000, 2),
            )
            structlog.contextvars.unbind_contextvars("request_id")
            if self.on_finished is not None:
                self.on_finished()


class BodyLimitMiddleware:
    """Refuse bodies over the limit with 413 problem+json, before the app reads them.

    `limit_for(path)` picks the limit per path (attachments and imports get larger ones).
    Bodies without Content-Length (chunked) are counted as they stream in.
    """

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int], metrics: HttpMetrics) -> None:
        self.app = app
        self.limit_for = limit_for
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                declared = -1
            if declared < 0 or declared > limit:
                await self._refuse(scope, send, limit)
                return
        received = 0

        async def counting_receive() -> Message:
            # Raised as an HTTPException so FastAPI's body parser passes it through to the
            # problem+json handler instead of calling it a parse error.
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    self.metrics.too_large.inc()
                    raise HTTPException(
                        413,
                        f"The request body is larger than {limit:,} bytes, the limit for {scope['path']}.",
                    )
            return message

        await self.app(scope, counting_receive, send)

    async def _refuse(self, scope: Scope, send: Send, limit: int) -> None:
        self.metrics.too_large.inc()
        body: dict[str, Any] = {
            "type": "https://tierdesk.dev/problems/payload-too-large",
            "title": "Payload too large",
            "status": 413,
            "detail": f"The request body is larger than {limit:,} bytes, the limit for {scope['path']}.",
            "instance": scope["path"],
        }
        raw = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(raw)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": raw})
