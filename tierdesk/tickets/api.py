"""JSON API for tickets under /api/v1/tickets."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from tierdesk.core.driver_read import driver_read
from tierdesk.core.security import Actor
from tierdesk.tickets import service
from tierdesk.tickets.models import Priority, Status, Ticket
from tierdesk.tickets.schemas import (
    AttachmentOut,
    EventOut,
    ImportRequest,
    ImportResult,
    LinkCreate,
    LinkOut,
    MergeIn,
    MessageCreate,
    MessageOut,
    TicketCreate,
    TicketCustomerOut,
    TicketOut,
    TicketPage,
    TicketPatch,
    Timeline,
)
from tierdesk.tickets.service import CreatePlan, TicketFilter
from tierdesk.web.deps import (
    DB,
    AppSettings,
    CurrentActor,
    Now,
    TxRoute,
    get_actor,
    json_body,
    reads_first,
    served_by,
)

router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"], route_class=TxRoute)
Ref = Annotated[str, "T-1042 or 1042"]


def _model_for(actor: Actor) -> type[TicketOut] | type[TicketCustomerOut]:
    """Staff see every field; customers the fields meant for them."""
    return TicketOut if actor.is_staff else TicketCustomerOut


def present(ticket: Ticket, actor: Actor) -> dict[str, Any]:
    return _model_for(actor).model_validate(ticket).model_dump(mode="json")


async def _create_served(request: Request) -> Response:
    """POST /api/v1/tickets without FastAPI's dependency solving (web/deps.py `served_by`):
    the same body validation, authentication and clock as `create_ticket` below.

    The body's bytes are read first and parsed only once the actor is known (a stranger
    learns nothing of the body). Authentication, validation and planning then run without a
    pause, so on SQLite their reads (the configuration token, the requester) share one read
    transaction on the driver (core/driver_read.py)."""
    db: Session = request.state.db
    await request.body()
    now = request.app.state.clock.now()
    with driver_read(db):
        actor = await get_actor(request, db)  # on the event loop on SQLite: no pause
        data = await json_body(request, TicketCreate)  # the body is already read: no pause
        plan = await _planned(request, db, actor, data, now)
    return await _create(request, data, db, actor, now, plan)


@router.post("", status_code=201, summary="Create a ticket", response_model=TicketOut | TicketCustomerOut)
@reads_first
@served_by(_create_served)
async def create_ticket(
    request: Request, data: TicketCreate, db: DB, actor: CurrentActor, now: Now
) -> Response:
    # Served by _create_served; this signature describes the route in the OpenAPI document.
    return await _create(request, data, db, actor, now, await _planned(request, db, actor, data, now))


async def _planned(
    request: Request, db: Session, actor: Actor, data: TicketCreate, now: datetime
) -> CreatePlan | None:
    """The plan of a ticket the group writer will write; None when the ticket is planned and
    written in one transaction instead (see `_create`). Planning only reads, and the
    configuration comes from the per-process cache (core/memo.py). On SQLite its few reads
    are in-process calls, so it runs on the event loop. On PostgreSQL they are network round
    trips, so it runs in the thread pool."""
    if data.requester is not None or request.app.state.ticket_writer is None:
        return None
    if request.app.state.inline_reads:
        return _plan(db, actor, data, now)
    return await run_in_threadpool(_plan, db, actor, data, now)


def _plan(db: Session, actor: Actor, data: TicketCreate, now: datetime) -> CreatePlan:
    plan = service.plan_ticket(db, actor, data, now)
    if db.in_transaction():  # a cache miss read through the Session; nothing was written
        db.commit()
    return plan


async def _create(
    request: Request, data: TicketCreate, db: Session, actor: Actor, now: datetime, plan: CreatePlan | None
) -> Response:
    # The hottest write, so it runs on the event loop with no thread-pool hop: the writes go
    # to the process's group writer, which commits concurrent creations together
    # (core/group.py, docs/performance.md "Creating a ticket").
    model = _model_for(actor)
    if plan is None:
        # A requester named by e-mail may be added (or group commit is off): plan and write
        # in one transaction, off the event loop (the write lock must never be awaited on it).
        out = model.model_validate(await run_in_threadpool(_create_in_one_transaction, db, actor, data, now))
    else:
        # The ticket's columns, from service.write_planned_rows.
        row = await request.app.state.ticket_writer.submit(plan)
        out = model.model_validate({**row, "number": f"T-{row['id']}"})
    return Response(out.model_dump_json(), status_code=201, media_type="application/json")


def _create_in_one_transaction(db: Session, actor: Actor, data: TicketCreate, now: datetime) -> Ticket:
    ticket = service.create_ticket(db, actor, data, now)
    # Commit here, in the worker thread, so SQLite's write lock (and the write gate) is let go
    # before the response is sent; TxRoute's commit then has nothing to do.
    db.commit()
    return ticket


@router.post("/import", status_code=201, summary="Bulk import tickets with their history (admin)")
def import_tickets(data: ImportRequest, db: DB, actor: CurrentActor, now: Now) -> ImportResult:
    return service.import_tickets(db, actor, data, now)


@router.get("", summary="List tickets (filters, keyset pagination)")
def list_tickets(
    db: DB,
    actor: CurrentActor,
    status: Annotated[list[Status] | None, Query(description="Repeat for several")] = None,
    tier_id: int | None = None,
    team_id: int | None = None,
    assignee_id: int | None = None,
    unassigned: bool = False,
    requester_id: int | None = None,
    organization_id: int | None = None,
    tag: Annotated[str | None, Query(max_length=60)] = None,
    priority: Priority | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    sort: Literal["-created_at", "created_at", "-updated_at"] = "-created_at",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
) -> TicketPage:
    flt = TicketFilter(
        status=[s.value for s in status] if status else None,
        tier_id=tier_id,
        team_id=team_id,
        assignee_id=assignee_id,
        unassigned=unassigned,
        requester_id=requester_id,
        organization_id=organization_id,
        tag=tag.strip().lower() if tag else None,
        priority=priority.value if priority else None,
        created_from=_aware(created_from),
        created_to=_aware(created_to),
    )
    rows, next_cursor = service.list_tickets(db, actor, flt, sort, cursor, limit)
    return TicketPage(items=[present(t, actor) for t in rows], next_cursor=next_cursor)


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


@router.get("/{ref}", summary="Read a ticket", response_model=TicketOut | TicketCustomerOut)
def get_ticket(ref: str, db: DB, actor: CurrentActor) -> dict[str, Any]:
    return present(service.get_ticket(db, actor, service.parse_ref(ref)), actor)


@router.patch(
    "/{ref}",
    summary="Change status, priority, category, tier, team, assignee or tags",
    response_model=TicketOut | TicketCustomerOut,
)
def update_ticket(ref: str, patch: TicketPatch, db: DB, actor: CurrentActor, now: Now) -> dict[str, Any]:
    return present(service.update_ticket(db, actor, service.parse_ref(ref), patch, now), actor)


@router.get("/{ref}/timeline", summary="Messages and events in order")
def timeline(ref: str, db: DB, actor: CurrentActor) -> Timeline:
    return service.timeline(db, actor, service.parse_ref(ref))


@router.get("/{ref}/events", summary="The ticket's event log")
def events(ref: str, db: DB, actor: CurrentActor) -> list[EventOut]:
    return service.list_events(db, actor, service.parse_ref(ref))


@router.get("/{ref}/messages", summary="Replies (and, for staff, internal notes)")
def messages(ref: str, db: DB, actor: CurrentActor) -> list[MessageOut]:
    return [MessageOut.model_validate(m) for m in service.list_messages(db, actor, service.parse_ref(ref))]


@router.post("/{ref}/messages", status_code=201, summary="Reply publicly or add an internal note")
def add_message(ref: str, data: MessageCreate, db: DB, actor: CurrentActor, now: Now) -> MessageOut:
    return MessageOut.model_validate(service.add_message(db, actor, service.parse_ref(ref), data, now))


@router.get("/{ref}/attachments", summary="Attachments (customers: public ones)")
def attachments(ref: str, db: DB, actor: CurrentActor) -> list[AttachmentOut]:
    return [
        AttachmentOut.model_validate(a) for a in service.list_attachments(db, actor, service.parse_ref(ref))
    ]


@router.post("/{ref}/attachments", status_code=201, summary="Upload an attachment (multipart/form-data)")
async def upload(
    ref: str,
    request: Request,
    file: Annotated[UploadFile, File()],
    settings: AppSettings,
    db: DB,
    actor: CurrentActor,
    now: Now,
    internal: Annotated[bool, Form()] = False,
) -> AttachmentOut:
    data = await file.read(settings.max_attachment_bytes + 1)
    att = await run_in_threadpool(
        service.add_attachment,
        db,
        actor,
        service.parse_ref(ref),
        file.filename or "attachment",
        file.content_type,
        data,
        internal,
        now,
        request.app.state.store,
        settings.allowed_attachment_types,
        settings.max_attachment_bytes,
    )
    return AttachmentOut.model_validate(att)


@router.get("/{ref}/attachments/{attachment_id}", summary="Download an attachment", response_class=Response)
def download(ref: str, attachment_id: int, request: Request, db: DB, actor: CurrentActor) -> FileResponse:
    att = service.get_attachment(db, actor, service.parse_ref(ref), attachment_id)
    return FileResponse(
        request.app.state.store.path(att.storage_key),
        media_type=att.content_type,
        filename=att.filename,
        headers={"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"},
    )


@router.get("/{ref}/links", summary="Links to other tickets, incidents and engineering bugs")
def links(ref: str, db: DB, actor: CurrentActor) -> list[LinkOut]:
    return [LinkOut.model_validate(lk) for lk in service.list_links(db, actor, service.parse_ref(ref))]


@router.post("/{ref}/links", status_code=201, summary="Link a ticket, an incident or an engineering bug")
def add_link(ref: str, data: LinkCreate, db: DB, actor: CurrentActor, now: Now) -> LinkOut:
    return LinkOut.model_validate(service.add_link(db, actor, service.parse_ref(ref), data, now))


@router.delete("/{ref}/links/{link_id}", status_code=204, summary="Remove a link")
def remove_link(ref: str, link_id: int, db: DB, actor: CurrentActor, now: Now) -> Response:
    service.remove_link(db, actor, service.parse_ref(ref), link_id, now)
    return Response(status_code=204)


@router.post("/{ref}/merge", summary="Merge this ticket into another (closes this one)")
def merge(ref: str, data: MergeIn, db: DB, actor: CurrentActor, now: Now) -> TicketOut:
    target = service.merge(db, actor, service.parse_ref(ref), data.into_ticket_id, data.reason, now)
    return TicketOut.model_validate(target)
