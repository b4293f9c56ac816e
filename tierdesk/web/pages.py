"""The signed-in landing page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tierdesk.tickets import service as tickets
from tierdesk.tickets.service import TicketFilter
from tierdesk.web.csrf import csrf_token
from tierdesk.web.deps import DB, CurrentActor, TxRoute
from tierdesk.web.templating import templates

router = APIRouter(route_class=TxRoute, include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, db: DB, actor: CurrentActor) -> Response:
    if actor.is_anonymous:
        return RedirectResponse("/login", status_code=303)
    if actor.is_customer:
        return RedirectResponse("/portal", status_code=303)  # the customer portal
    if actor.is_staff:
        return RedirectResponse("/desk/mine", status_code=303)  # the agent workspace
    rows, _ = tickets.list_tickets(db, actor, TicketFilter(), "-created_at", None, 20)
    return templates.TemplateResponse(
        request, "home.html", {"actor": actor, "tickets": rows, "csrf": csrf_token(request)}
    )
