"""Application factory: settings, database, middleware, routers, error handlers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager, asynccontextmanager, nullcontext
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import text
from sqlalchemy.orm import Session
from starlette.middleware.sessions import SessionMiddleware

from tierdesk import worker
from tierdesk.accounts import api as accounts_api
from tierdesk.accounts import pages as accounts_pages
from tierdesk.admin import pages as admin_pages
from tierdesk.core.clock import Clock, SystemClock
from tierdesk.core.config import Settings, get_settings
from tierdesk.core.db import Database, WriteGate
from tierdesk.core.group import GroupWriter, LoopGroupWriter
from tierdesk.core.logging import configure_logging
from tierdesk.core.memory import idle_trimmer
from tierdesk.core.storage import FileStore
from tierdesk.csat import api as csat_api
from tierdesk.customers import api as customers_api
from tierdesk.dashboard import api as dashboard_api
from tierdesk.dashboard import pages as dashboard_pages
from tierdesk.engineering import api as engineering_api
from tierdesk.escalation import api as escalation_api
from tierdesk.kb import api as kb_api
from tierdesk.kb import pages as kb_pages
from tierdesk.notifications import api as notifications_api
from tierdesk.portal import pages as portal_pages
from tierdesk.routing import api as routing_api
from tierdesk.search import api as search_api
from tierdesk.sla import api as sla_api
from tierdesk.swarms import api as swarms_api
from tierdesk.tickets import api as tickets_api
from tierdesk.tickets import service as tickets
from tierdesk.tiers import api as tiers_api
from tierdesk.tiers import service as tiers
from tierdesk.vendors import api as vendors_api
from tierdesk.web import errors, openapi, pages
from tierdesk.web.middleware import BodyLimitMiddleware, HttpMetrics, RequestContextMiddleware
from tierdesk.web.paths import STATIC_DIR
from tierdesk.web.route_index import index_routers
from tierdesk.workspace import pages as workspace_pages

API_PREFIX = "/api/v1"


class TicketGauge(Collector):
    """Tickets by status and tier, read from the maintained counters at scrape time."""

    def __init__(self, session_factory: Callable[[bool], Session]) -> None:
        self.session_factory = session_factory

    def collect(self) -> Any:
        gauge = GaugeMetricFamily(
            "tierdesk_tickets", "Tickets by status and tier.", labels=["status", "tier"]
        )
        with self.session_factory(False) as db:
            names = {t.id: t.key for t in tiers.all_tiers(db)}
            for status, tier_id, count in tickets.status_counts(db):
                gauge.add_metric([status, names.get(tier_id, "none")], count)
        yield gauge


def create_app(
    settings: Settings | None = None,
    database: Database | None = None,
    clock: Clock | None = None,
    session_factory: Callable[[bool], Session] | None = None,
    embedded_worker: bool = False,
) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_json)
    database = database or Database(
        settings.database_url,
        echo=settings.sql_echo,
        background_checkpoints=settings.sqlite_background_checkpoints,
    )

    trimmer = idle_trimmer(settings.malloc_trim_idle_seconds)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = None
        if embedded_worker:
            _, stop = worker.start_in_thread(database, settings, app.state.clock)
        trimming = asyncio.create_task(trimmer.run()) if trimmer is not None else None
        yield
        if trimming is not None:
            trimming.cancel()
        if stop is not None:
            stop.set()
        if app.state.ticket_writer is not None:
            app.state.ticket_writer.stop()
        if app.state.owns_database:
            database.dispose()

    app = FastAPI(
        title="tierdesk",
        version="0.1.0",
        summary="Customer support built around escalation.",
        description=(
            "REST API of tierdesk. Authenticate with `Authorization: Bearer <token>` "
            "(create one with `tierdesk token create` or POST /api/v1/tokens). "
            "Errors are RFC 9457 problem+json. Lists use keyset pagination: pass `next_cursor` back as `cursor`."
        ),
        docs_url=None,  # both served by web/openapi.py, built outside the worker's heap
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    openapi.install(app, "/api/openapi.json", "/api/docs")
    app.state.settings = settings
    app.state.memory_trimmer = trimmer
    app.state.database = database
    app.state.owns_database = session_factory is None
    app.state.session_factory = session_factory or database.session
    app.state.clock = clock or SystemClock()
    app.state.store = FileStore(settings.attachments_dir)
    # SQLite reads are in-process calls of a few microseconds: cheaper on the event loop than a
    # thread-pool hop. PostgreSQL reads are network round trips: they stay off the loop.
    app.state.inline_reads = database.is_sqlite

    # Concurrent API creations share one transaction (core/group.py): written on the event
    # loop on SQLite, by a writer thread on PostgreSQL (where it is off unless forced).
    def writer_gate() -> AbstractContextManager[Any]:
        # Read per transaction, like TxRoute does per request.
        gate = database.write_gate
        return gate.for_request() if gate is not None and settings.sqlite_write_gate else nullcontext()

    def loop_gate() -> WriteGate | None:
        return database.write_gate if settings.sqlite_write_gate else None

    open_write = lambda: app.state.session_factory(True)  # noqa: E731 (read per batch: tests swap it)
    app.state.ticket_writer = (
        None
        if not settings.group_commit
        else LoopGroupWriter(open_write, tickets.write_planned_rows, gate=loop_gate)
        if database.is_sqlite
        else GroupWriter(open_write, tickets.write_planned_rows, gate=writer_gate)
    )

    registry = CollectorRegistry()
    metrics = HttpMetrics(registry)
    registry.register(TicketGauge(app.state.session_factory))
    app.state.registry = registry

    errors.install(app)
    for router in (
        search_api.router,  # before tickets: /tickets/search is not a ticket ref
        tickets_api.router,
        escalation_api.router,
        sla_api.router,
        customers_api.router,
        tiers_api.router,
        accounts_api.router,
        notifications_api.router,
        routing_api.router,
        engineering_api.router,
        vendors_api.router,
        swarms_api.router,
        csat_api.router,
        kb_api.router,
        dashboard_api.router,
    ):
        app.include_router(router)
    app.include_router(accounts_pages.router)
    app.include_router(kb_pages.router)
    app.include_router(portal_pages.router)
    app.include_router(admin_pages.router)
    app.include_router(pages.router)
    app.include_router(workspace_pages.router)
    app.include_router(dashboard_pages.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    def limit_for(path: str) -> int:
        if path.endswith("/attachments"):
            return settings.max_attachment_bytes + 64 * 1024
        if path.startswith("/portal/"):  # portal forms carry attachments (at most 5 files)
            return 5 * settings.max_attachment_bytes + 256 * 1024
        if path == f"{API_PREFIX}/tickets/import":
            return settings.max_import_body_bytes
        return settings.max_body_bytes

    # Order: the last added runs first. Request context wraps everything so even a 413
    # carries a request id and lands in the latency histogram.
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie="tierdesk_session",
        max_age=settings.session_max_age_seconds,
        same_site="lax",
        https_only=settings.cookie_secure,
    )
    app.add_middleware(BodyLimitMiddleware, limit_for=limit_for, metrics=metrics)
    app.add_middleware(
        RequestContextMiddleware, metrics=metrics, on_finished=trimmer.note_request if trimmer else None
    )

    @app.get("/healthz", tags=["operations"], summary="Liveness and database reachability")
    def healthz(request: Request) -> Response:
        try:
            with request.app.state.session_factory(False) as db:
                db.execute(text("SELECT 1"))
        except Exception as exc:  # the point of a health check is to report, not raise
            return errors.problem(503, f"The database is not reachable: {type(exc).__name__}.", request)
        return Response('{"status":"ok"}', media_type="application/json")

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics")
    def prometheus() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    index_routers(app)  # last: it reads the routes of every included router
    return app
