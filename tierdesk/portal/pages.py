"""Customer portal pages: my tickets (and my organization's, when it shares them), open a
ticket with attachments, read the public conversation, reply, rate a solved answer.

Everything goes through the tickets and csat services, which start every read from the
tickets visibility rules: a customer never sees another customer's ticket (404) nor an
internal note (the service returns public messages and attachments only to customers).
Each POST checks the session's CSRF token; invalid input re-renders the form with the error
next to its field and status 4xx, so the request's transaction rolls back whole.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from tierdesk.core.config import Settings
from tierdesk.core.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, PayloadTooLarge
from tierdesk.core.i18n import N_, Lang
from tierdesk.core.security import Actor
from tierdesk.core.storage import check_upload
from tierdesk.csat import service as csat
from tierdesk.tickets import service as tickets
from tierdesk.tickets.models import Channel, MessageKind, Status
from tierdesk.tickets.schemas import MessageCreate, TicketCreate, TicketPatch
from tierdesk.tickets.service import TicketFilter
from tierdesk.web.csrf import csrf_ok, csrf_token
from tierdesk.web.deps import DB, AppSettings, CurrentActor, Now, TxRoute
from tierdesk.web.i18n import CurrentLang
from tierdesk.web.templating import templates


class PortalRoute(TxRoute):
    """TxRoute (one transaction per request) that answers domain errors with an HTML page in
    the reader's language instead of problem+json; the transaction is rolled back (4xx)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except DomainError as exc:
                return _error_page(request, exc.status)

        return page_handler


router = APIRouter(prefix="/portal", route_class=PortalRoute, include_in_schema=False)

PAGE_SIZE = 20
MAX_FILES = 5
STATES: dict[str, list[str] | None] = {
    "open": [Status.new.value, Status.open.value, Status.pending.value, Status.on_hold.value],
    "solved": [Status.solved.value, Status.closed.value],
    "all": None,
}
# Status names as customers read them (pending = we wait for you; on hold = we wait on others).
OPEN_STATES = STATES["open"] or []
STATUS_LABELS = {
    "new": N_("Received"),
    "open": N_("In progress"),
    "pending": N_("Waiting for your reply"),
    "on_hold": N_("On hold"),
    "solved": N_("Solved"),
    "closed": N_("Closed"),
}
FORM_EXPIRED = N_("Your form expired. Go back, reload the page and try again.")
REQUIRED = N_("This field is required.")
TOO_LONG = N_("This is too long: at most %(n)s characters.")
NOTICE_KEY = "portal_notice"
NOTICES = {
    "created": N_("Thank you. We received your request and will answer soon."),
    "rated": N_("Thank you for your rating."),
    "solved": N_("Glad it is solved. You can tell us how we did below."),
}


@dataclass
class FormState:
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


ERROR_MESSAGES = {
    404: N_("We could not find this page. It may not exist, or it belongs to someone else."),
    403: N_("You may not do this."),
}


def _error_page(request: Request, status: int) -> HTMLResponse:
    message = ERROR_MESSAGES.get(status, N_("Something went wrong with this request. Please try again."))
    return templates.TemplateResponse(
        request,
        "portal/error.html",
        {"status": status, "message": message, "actor": getattr(request.state, "actor", None)},
        status_code=status,
    )


def _customer(request: Request, actor: Actor) -> Response | None:
    """Who may use the portal: customers. Others are sent where they belong."""
    if actor.is_anonymous:
        return RedirectResponse("/login", status_code=303)
    if not actor.is_customer:
        return RedirectResponse("/", status_code=303)
    return None


def _render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    base = {
        "csrf": csrf_token(request),
        "status_labels": STATUS_LABELS,
        "max_files": MAX_FILES,
    }
    return templates.TemplateResponse(request, f"portal/{name}", base | context, status_code=status)


def _uploads(files: list[UploadFile] | None) -> list[UploadFile]:
    # A file input left empty still sends one part with no name and no bytes.
    return [f for f in files or [] if f.filename]


def _check_files(files: list[tuple[str, str | None, bytes]], settings: Settings, lang: Lang) -> str | None:
    """The first reason a file cannot be attached, in the reader's language, or None."""
    if len(files) > MAX_FILES:
        return lang.gettext("Attach at most %(n)s files at once.") % {"n": MAX_FILES}
    for name, ctype, data in files:
        try:
            check_upload(name, ctype, data, settings.allowed_attachment_types, settings.max_attachment_bytes)
        except PayloadTooLarge:
            return lang.gettext("“%(name)s” is larger than %(size)s MB.") % {
                "name": name,
                "size": lang.number(round(settings.max_attachment_bytes / 1_048_576, 1)),
            }
        except InvalidInput:
            return lang.gettext(
                "“%(name)s” cannot be attached: send images, PDF, text, CSV, JSON, ZIP or e-mail files."
            ) % {"name": name}
    return None


def _read(files: list[UploadFile]) -> list[tuple[str, str | None, bytes]]:
    # The endpoints are sync (run in the thread pool), so the spooled files are read directly.
    return [(f.filename or "attachment", f.content_type, f.file.read()) for f in files]


def _attach(
    db: Session,
    actor: Actor,
    request: Request,
    ticket_id: int,
    files: list[tuple[str, str | None, bytes]],
    settings: Settings,
    now: Any,
) -> None:
    for name, ctype, data in files:
        tickets.add_attachment(
            db,
            actor,
            ticket_id,
            name,
            ctype,
            data,
            False,
            now,
            request.app.state.store,
            settings.allowed_attachment_types,
            settings.max_attachment_bytes,
        )


def _field_errors(exc: ValidationError, lang: Lang) -> dict[str, str]:
    errors: dict[str, str] = {}
    for err in exc.errors():
        name = str(err["loc"][0]) if err["loc"] else "form"
        if err["type"] == "string_too_long":
            errors[name] = lang.gettext(TOO_LONG) % {"n": lang.number(err["ctx"]["max_length"])}
        else:
            errors[name] = lang.gettext(REQUIRED)
    return errors


# --- list --------------------------------------------------------------------------------------
@router.get("", response_class=HTMLResponse)
def my_tickets(
    request: Request,
    db: DB,
    actor: CurrentActor,
    state: str = "open",
    scope: str = "mine",
    cursor: str | None = None,
) -> Response:
    """Newest first, 20 a page (keyset): the requester's own tickets by default, all of the
    organization's with scope=organization when the organization shares its tickets."""
    if (away := _customer(request, actor)) is not None:
        return away
    state = state if state in STATES else "open"
    shared = actor.sees_organization_tickets and actor.organization_id is not None
    scope = "organization" if scope == "organization" and shared else "mine"
    flt = TicketFilter(status=STATES[state])
    if scope == "mine":
        flt.requester_id = actor.customer_id
    else:
        flt.organization_id = actor.organization_id
    try:
        rows, next_cursor = tickets.list_tickets(db, actor, flt, "-created_at", cursor, PAGE_SIZE)
    except InvalidInput:  # a hand-edited cursor: start again from the top
        rows, next_cursor = tickets.list_tickets(db, actor, flt, "-created_at", None, PAGE_SIZE)
    return _render(
        request,
        "list.html",
        {
            "actor": actor,
            "tickets": rows,
            "next_cursor": next_cursor,
            "state": state,
            "scope": scope,
            "shared": shared,
            "paged": cursor is not None,
        },
    )


# --- new ticket --------------------------------------------------------------------------------
@router.get("/new", response_class=HTMLResponse)
def new_ticket_form(request: Request, actor: CurrentActor) -> Response:
    if (away := _customer(request, actor)) is not None:
        return away
    return _render(request, "new.html", {"actor": actor, "form": FormState()})


@router.post("/new", response_class=HTMLResponse)
def new_ticket(
    request: Request,
    db: DB,
    actor: CurrentActor,
    now: Now,
    settings: AppSettings,
    lang: CurrentLang,
    subject: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
    attachments: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    if (away := _customer(request, actor)) is not None:
        return away
    form = FormState(values={"subject": subject, "description": description})
    if not csrf_ok(request, csrf):
        form.errors["form"] = lang.gettext(FORM_EXPIRED)
        return _render(request, "new.html", {"actor": actor, "form": form}, 403)
    if not subject.strip():
        form.errors["subject"] = lang.gettext(REQUIRED)
    if not description.strip():
        form.errors["description"] = lang.gettext(REQUIRED)
    files = _read(_uploads(attachments))
    if problem := _check_files(files, settings, lang):
        form.errors["attachments"] = problem
    data: TicketCreate | None = None
    if not form.errors:
        try:
            data = TicketCreate(
                subject=subject.strip(),
                description=description.strip(),
                channel=Channel.web,
                language=lang.code,
            )
        except ValidationError as exc:
            form.errors.update(_field_errors(exc, lang))
    if data is None or form.errors:
        return _render(request, "new.html", {"actor": actor, "form": form}, 422)
    ticket = tickets.create_ticket(db, actor, data, now)
    _attach(db, actor, request, ticket.id, files, settings, now)
    request.session[NOTICE_KEY] = "created"
    return RedirectResponse(f"/portal/tickets/T-{ticket.id}", status_code=303)


# --- one ticket --------------------------------------------------------------------------------
def _ticket_id(ref: str) -> int:
    try:
        return tickets.parse_ref(ref)
    except DomainError as exc:
        raise NotFound(f"There is no ticket {ref}.") from exc


def _ticket_page(
    request: Request,
    db: Session,
    actor: Actor,
    ticket_id: int,
    reply: FormState | None = None,
    rating_form: FormState | None = None,
    status: int = 200,
    notice: str | None = None,
) -> HTMLResponse:
    ticket = tickets.get_ticket(db, actor, ticket_id)
    # The service gives customers public messages and attachments only; the filter below
    # keeps the page honest even if that ever changed.
    messages = [m for m in tickets.list_messages(db, actor, ticket.id) if m.kind == MessageKind.public.value]
    files = [a for a in tickets.list_attachments(db, actor, ticket.id) if not a.internal]
    rating = csat.rating_for(db, actor, ticket.id)
    return _render(
        request,
        "ticket.html",
        {
            "actor": actor,
            "ticket": ticket,
            "messages": messages,
            "attachments": files,
            "rating": rating,
            "may_rate": csat.may_rate(actor, ticket.requester_id, ticket.status),
            "may_reply": ticket.status != Status.closed.value,
            "may_solve": ticket.status in OPEN_STATES and ticket.requester_id == actor.customer_id,
            "reply": reply or FormState(),
            "rating_form": rating_form
            or FormState(values={"score": rating.score, "comment": rating.comment} if rating else {}),
            "notice": notice,
        },
        status,
    )


@router.get("/tickets/{ref}", response_class=HTMLResponse)
def ticket_page(ref: str, request: Request, db: DB, actor: CurrentActor, lang: CurrentLang) -> Response:
    if (away := _customer(request, actor)) is not None:
        return away
    # A one-time notice after a redirect (kept in the session, so a reload does not repeat it).
    notice = NOTICES.get(request.session.pop(NOTICE_KEY, ""))
    return _ticket_page(request, db, actor, _ticket_id(ref), notice=lang.gettext(notice) if notice else None)


@router.post("/tickets/{ref}/reply", response_class=HTMLResponse)
def reply(
    ref: str,
    request: Request,
    db: DB,
    actor: CurrentActor,
    now: Now,
    settings: AppSettings,
    lang: CurrentLang,
    body: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
    attachments: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    if (away := _customer(request, actor)) is not None:
        return away
    ticket_id = _ticket_id(ref)
    form = FormState(values={"body": body})
    files = _read(_uploads(attachments))
    if not csrf_ok(request, csrf):
        form.errors["body"] = lang.gettext(FORM_EXPIRED)
        return _ticket_page(request, db, actor, ticket_id, reply=form, status=403)
    if not body.strip():
        form.errors["body"] = lang.gettext(REQUIRED)
    elif problem := _check_files(files, settings, lang):
        form.errors["attachments"] = problem
    else:
        try:
            message = MessageCreate(body=body.strip())
        except ValidationError as exc:
            form.errors["body"] = next(iter(_field_errors(exc, lang).values()))
    if form.errors:
        return _ticket_page(request, db, actor, ticket_id, reply=form, status=422)
    try:
        tickets.add_message(db, actor, ticket_id, message, now)
    except Conflict:
        form.errors["body"] = lang.gettext("This ticket is closed. Open a new ticket instead.")
        return _ticket_page(request, db, actor, ticket_id, reply=form, status=409)
    _attach(db, actor, request, ticket_id, files, settings, now)
    return RedirectResponse(f"/portal/tickets/T-{ticket_id}#latest", status_code=303)


@router.post("/tickets/{ref}/rating", response_class=HTMLResponse)
def rate(
    ref: str,
    request: Request,
    db: DB,
    actor: CurrentActor,
    now: Now,
    lang: CurrentLang,
    score: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    if (away := _customer(request, actor)) is not None:
        return away
    ticket_id = _ticket_id(ref)
    form = FormState(values={"score": score, "comment": comment})
    if not csrf_ok(request, csrf):
        form.errors["score"] = lang.gettext(FORM_EXPIRED)
        return _ticket_page(request, db, actor, ticket_id, rating_form=form, status=403)
    value = int(score) if score.isdigit() else 0
    try:
        csat.rate(db, actor, ticket_id, value, comment, now)
    except (InvalidInput, Conflict, Forbidden) as exc:
        where = exc.extra.get("field", "score")
        form.errors[where] = lang.gettext(exc.detail)
        return _ticket_page(request, db, actor, ticket_id, rating_form=form, status=exc.status)
    request.session[NOTICE_KEY] = "rated"
    return RedirectResponse(f"/portal/tickets/T-{ticket_id}#rating", status_code=303)


@router.post("/tickets/{ref}/solved", response_class=HTMLResponse)
def mark_solved(
    ref: str,
    request: Request,
    db: DB,
    actor: CurrentActor,
    now: Now,
    lang: CurrentLang,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """The requester says their problem is solved (an event like any status change; a
    later reply reopens it)."""
    if (away := _customer(request, actor)) is not None:
        return away
    ticket_id = _ticket_id(ref)
    if not csrf_ok(request, csrf):
        return _ticket_page(request, db, actor, ticket_id, status=403, notice=lang.gettext(FORM_EXPIRED))
    ticket = tickets.get_ticket(db, actor, ticket_id)
    if ticket.requester_id != actor.customer_id:
        raise Forbidden("Only the person who asked may mark the ticket solved.")
    if ticket.status in OPEN_STATES:
        tickets.update_ticket(
            db,
            actor,
            ticket_id,
            TicketPatch(status=Status.solved, reason="the customer marked it solved"),
            now,
        )
    request.session[NOTICE_KEY] = "solved"
    return RedirectResponse(f"/portal/tickets/T-{ticket_id}#rating", status_code=303)
