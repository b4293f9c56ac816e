"""The supervisor dashboard page: /desk/dashboard, in the workspace's shell.

Supervisors and administrators only, checked here on the route (the nav link is only a
convenience): anonymous visitors go to sign-in, agents and customers get a 403 page. The
figures come from `service.dashboard`, the same as GET /api/v1/dashboard; HTMX re-reads the
page every 60 s and swaps the figures in place.
"""

from __future__ import annotations

from datetime import datetime, time

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tierdesk.core.memo import memo_scope
from tierdesk.dashboard import service
from tierdesk.web.csrf import csrf_token
from tierdesk.web.deps import DB, CurrentActor, Now, TxRoute
from tierdesk.web.i18n import lang_for
from tierdesk.web.templating import templates
from tierdesk.workspace import service as workspace

router = APIRouter(route_class=TxRoute, include_in_schema=False)


def _bar(n: int, top: int) -> int:
    """Width of a bar in percent of the largest value (at least 1% when n > 0)."""
    if not n or not top:
        return 0
    return max(1, round(100 * n / top))


@router.get("/desk/dashboard", response_class=HTMLResponse)
def dashboard_page(request: Request, db: DB, actor: CurrentActor, now: Now) -> Response:
    if actor.is_anonymous:
        return RedirectResponse("/login?next=/desk/dashboard", status_code=303)
    if not actor.is_supervisor:
        db.rollback()
        context = {
            "detail": lang_for(request).gettext("Only supervisors and administrators may see the dashboard."),
            "status": 403,
            "actor": actor,
            "csrf": csrf_token(request),
        }
        return templates.TemplateResponse(request, "workspace/not_found.html", context, status_code=403)
    with memo_scope(db):
        model = service.dashboard(db, actor, now, service.cache_for(request.app.state))
        nav_items = workspace.nav(db, actor, now)
    zone = service.zone_of(actor.timezone)
    lang = lang_for(request)
    # Noon of each local day: formatting it in the viewer's zone gives that day back.
    day_labels = [lang.date(datetime.combine(r.day, time(12), tzinfo=zone), "short") for r in model.days]
    peak_day = max([max(d.created, d.solved) for d in model.days] or [0])
    peak_load = max([max(a.open, a.capacity) for a in model.agents] or [0])
    return templates.TemplateResponse(
        request,
        "dashboard/dashboard.html",
        {
            "actor": actor,
            "csrf": csrf_token(request),
            "nav_items": nav_items,
            "current": ("dashboard", ""),
            "now": now,
            "flash": None,
            "d": model,
            "as_of": model.as_of.astimezone(zone).strftime("%H:%M:%S"),
            "peak_day": peak_day,
            "peak_load": peak_load,
            "bar": _bar,
            "day_labels": day_labels,
        },
    )
