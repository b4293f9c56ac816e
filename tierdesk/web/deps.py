"""Request plumbing shared by every router: one transaction per request, the acting user,
the clock.

`TxRoute` opens the session before the endpoint runs and commits after it returns (rolls
back if it raises), so services only ever flush. Reads (GET/HEAD) use deferred SQLite
transactions; everything else starts with BEGIN IMMEDIATE.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from tierdesk.accounts import service as accounts
from tierdesk.core.config import Settings
from tierdesk.core.db import READ_FIRST_KEY, WriteGate
from tierdesk.core.errors import Forbidden, Unauthorized
from tierdesk.core.security import ANONYMOUS, Actor, Scope, tokens_equal

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class TxRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        # A hot endpoint may be served by a handler of its own (`served_by`); FastAPI still
        # reads the endpoint's signature for the OpenAPI document.
        served = getattr(self.endpoint, SERVED_BY, None)
        handler = served if served is not None else super().get_route_handler()

        reads_first = getattr(self.endpoint, READS_FIRST, False)

        async def tx_handler(request: Request) -> Response:
            # A read-first write endpoint starts like a read and takes the write lock only
            # when its service calls core.db.begin_write (see `reads_first`).
            unsafe = request.method not in SAFE_METHODS
            write = unsafe and not reads_first
            gate: WriteGate | None = None
            # The gate is taken at BEGIN IMMEDIATE, so a read-first request waits for it only
            # from begin_write on.
            if unsafe and request.app.state.settings.sqlite_write_gate:
                gate = getattr(request.app.state.database, "write_gate", None)
            if gate is None:
                return await run_tx(request, write)
            with gate.for_request():
                return await run_tx(request, write)

        async def run_tx(request: Request, write: bool) -> Response:
            session: Session = request.app.state.session_factory(write)
            request.state.db_write = write
            if reads_first:
                session.info[READ_FIRST_KEY] = True
            request.state.db = session
            try:
                response = await handler(request)
            except BaseException:
                await run_in_threadpool(_end, session, False)
                raise
            if session.in_transaction() or session.new or session.dirty or session.deleted:
                await run_in_threadpool(_end, session, response.status_code < 400)
            else:
                session.close()  # the endpoint committed already (reads_first): nothing to wait on
            return response

        return tx_handler


def _end(session: Session, commit: bool) -> None:
    """Commit or roll back, then close: one trip to the thread pool, not two."""
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


READS_FIRST = "_tierdesk_reads_first"
E = TypeVar("E", bound=Callable[..., Any])


def reads_first(endpoint: E) -> E:
    """Mark a write endpoint whose service reads first and calls core.db.begin_write before
    its first write, so on SQLite the write lock is held only for the writes (TxRoute opens a
    read transaction for it). A service that never calls begin_write must not be marked."""
    setattr(endpoint, READS_FIRST, True)
    return endpoint


SERVED_BY = "_tierdesk_served_by"
M = TypeVar("M", bound=BaseModel)


def served_by(handler: Callable[[Request], Coroutine[Any, Any, Response]]) -> Callable[[E], E]:
    """Serve a TxRoute endpoint with `handler(request)` instead of FastAPI's request handling
    (reading and validating the body, solving the dependencies). For the hottest route only:
    on ticket creation FastAPI's dependency solving cost more than planning the ticket
    (docs/performance.md). The endpoint keeps its signature, which the OpenAPI document is
    built from, and should do what the handler does; the handler reads its body with
    `json_body` (the same 422 errors) and its actor with `get_actor`."""

    def mark(endpoint: E) -> E:
        setattr(endpoint, SERVED_BY, handler)
        return endpoint

    return mark


async def json_body(request: Request, model: type[M]) -> M:
    """The request body validated as `model`, refused as FastAPI refuses a JSON body: a
    missing body, a content type that is not JSON, malformed JSON or invalid fields raise
    RequestValidationError with locations under "body" (a 422 problem, web/errors.py)."""
    raw = await request.body()
    if not raw:
        raise RequestValidationError(
            [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}]
        )
    content_type = request.headers.get("content-type", "")
    kind = content_type.partition(";")[0].strip().lower()
    is_json = kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))
    try:
        return model.model_validate_json(raw) if is_json else model.model_validate(raw)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors, body=raw) from None


# Dependencies that do no I/O are `async def`: FastAPI runs a plain `def` dependency in the
# thread pool, and each such hop cost more than the dependency itself (docs/performance.md).
async def get_db(request: Request) -> Session:
    return request.state.db


async def get_now(request: Request) -> datetime:
    return request.app.state.clock.now()


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_actor(request: Request, db: Annotated[Session, Depends(get_db)]) -> Actor:
    """Bearer token first, then the session cookie. Cookie-authenticated writes must echo
    the session's CSRF token in X-CSRF-Token (forms check their own hidden field).

    In a read transaction on SQLite this runs on the event loop: it reads from the
    per-process cache (core/memo.py) after one small in-process query, cheaper than a
    thread-pool hop. A write transaction's first statement may wait for SQLite's write lock,
    which must never be awaited on the event loop, and PostgreSQL's queries are network round
    trips, so those run in the thread pool."""
    if getattr(request.state, "db_write", True) or not request.app.state.inline_reads:
        return await run_in_threadpool(_actor, request, db)
    return _actor(request, db)


def _actor(request: Request, db: Session) -> Actor:
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("Use 'Authorization: Bearer <token>'.")
        token_actor = accounts.authenticate_token(db, token.strip(), request.app.state.clock.now())
        if request.method not in SAFE_METHODS and not token_actor.can(Scope.write):
            raise Forbidden("This API token is read-only; create one with the write scope.")
        return token_actor
    user_id = request.session.get("user_id") if "session" in request.scope else None
    if not user_id:
        return ANONYMOUS
    actor = accounts.actor_for_user_id(db, int(user_id))
    if actor is None:
        request.session.clear()
        return ANONYMOUS
    request.state.actor = actor  # pages speak the profile's language (web/i18n.py)
    if request.method not in SAFE_METHODS and request.url.path.startswith("/api/"):
        sent = request.headers.get("x-csrf-token", "")
        if not sent or not tokens_equal(sent, request.session.get("csrf", "")):
            raise Forbidden("Missing or wrong X-CSRF-Token header for a cookie-authenticated request.")
    return actor


async def raw_body(request: Request) -> bytes:
    """The exact bytes sent: signed webhooks verify their signature over them."""
    return await request.body()


DB = Annotated[Session, Depends(get_db)]
CurrentActor = Annotated[Actor, Depends(get_actor)]
Now = Annotated[datetime, Depends(get_now)]
AppSettings = Annotated[Settings, Depends(get_settings)]
