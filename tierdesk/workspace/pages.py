"""The agent workspace: staff views (queues with counts) and the ticket page with its actions.

Every action is a POST form carrying the session's CSRF token, handled by the owning
domain's service (tickets, escalation, swarms, engineering), so each change appends its
ticket events in the request's one transaction. On a domain or validation error the
transaction is rolled back and the ticket page is rendered again with the message next to
the field and the user's input kept; on success the browser is redirected back (POST,
redirect, GET). The pages work without JavaScript; HTMX (hx-boost) only avoids full reloads.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from tierdesk.core.errors import DomainError, Forbidden, InvalidInput, NotFound
from tierdesk.core.memo import memo_scope
from tierdesk.core.security import Actor
from tierdesk.engineering import service as engineering
from tierdesk.engineering.schemas import BugCreate
from tierdesk.escalation import service as escalation
from tierdesk.escalation.schemas import DeEscalateIn, EscalateIn, Handoff
from tierdesk.kb import service as kb
from tierdesk.search import service as search
from tierdesk.swarms import service as swarms
from tierdesk.swarms.schemas import SwarmStart, check_skills
from tierdesk.tickets import service as tickets
from tierdesk.tickets.models import MessageKind
from tierdesk.tickets.schemas import MessageCreate, TicketPatch
from tierdesk.web.csrf import csrf_ok, csrf_token
from tierdesk.web.deps import DB, CurrentActor, Now, TxRoute
from tierdesk.web.templating import templates
from tierdesk.workspace import service
from tierdesk.workspace.service import QueueQuery

router = APIRouter(route_class=TxRoute, include_in_schema=False)

# No max_length here: a too-long value must come back next to its field (the domain schemas
# check lengths), not as a problem+json page; the body-size limit bounds what is read.
Text = Annotated[str, Form()]
Short = Annotated[str, Form()]
_ID = re.compile(r"^[0-9]{1,12}$")


def _id(value: str) -> int | None:
    """A database id typed into a form, or None (never int() on arbitrary text: '²'.isdigit())."""
    value = value.strip()
    return int(value) if _ID.match(value) else None


Errors = dict[str, str]  # "form.field" -> message


def _page(
    request: Request, db: Session, actor: Actor, name: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    now = request.app.state.clock.now()
    base = {
        "actor": actor,
        "csrf": csrf_token(request),
        "nav_items": service.nav(db, actor, now),
        "now": now,
        # A one-time note from the previous action (e.g. the ticket moved out of sight).
        "flash": request.session.pop("flash", None),
    }
    return templates.TemplateResponse(request, name, base | context, status_code=status)


def _not_found(request: Request, db: Session, actor: Actor, detail: str, status: int = 404) -> HTMLResponse:
    """404, or 403 for a need-to-know ticket (staff learn it exists and whose it is)."""
    db.rollback()
    context = {"detail": detail, "status": status}
    if not actor.is_staff:
        return templates.TemplateResponse(
            request,
            "workspace/not_found.html",
            context | {"actor": actor, "csrf": csrf_token(request)},
            status,
        )
    return _page(request, db, actor, "workspace/not_found.html", context, status)


def _field_errors(exc: ValidationError, form: str, rename: dict[str, str] | None = None) -> Errors:
    out: Errors = {}
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if not isinstance(p, int)]
        name = loc[-1] if loc else "body"
        name = (rename or {}).get(name, name)
        msg = str(err.get("msg", "is not valid")).removeprefix("Value error, ")
        out.setdefault(f"{form}.{name}", msg)
    return out


# Page renders read the tier ladder, teams, calendars and policies many times and change
# none of them: one memo scope per render reads each once (core/memo.py).
def _queue(request: Request, db: Session, *args: Any) -> Response:
    with memo_scope(db):
        return _render_queue(request, db, *args)


def _ticket_page(request: Request, db: Session, *args: Any, **kwargs: Any) -> Response:
    with memo_scope(db):
        return _render_ticket_page(request, db, *args, **kwargs)


# --- views ---------------------------------------------------------------------------------
@router.get("/desk", response_class=HTMLResponse)
def desk(actor: CurrentActor) -> Response:
    if actor.is_anonymous:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse("/desk/mine", status_code=303)


def _render_queue(
    request: Request,
    db: Session,
    actor: Actor,
    view: str,
    key: str,
    status: list[str] | None,
    priority: str | None,
    team: str | None,
    assignee: str | None,
    tag: str | None,
    sort: str | None,
    cursor: str | None,
) -> Response:
    if actor.is_anonymous:
        return RedirectResponse("/login", status_code=303)
    if not actor.is_staff:
        return _not_found(request, db, actor, "This page is for support staff.")
    q = QueueQuery(
        status=[s[:20] for s in status] if status is not None else list(service.OPEN_STATUSES),
        priority=(priority or None) and priority[:20],
        team=(team or None) and team[:40],
        assignee=(assignee or None) and assignee[:12],
        tag=(tag or "").strip().lower()[:60] or None,
        sort=(sort or "-created_at")[:20],
        cursor=(cursor or None) and cursor[:400],
    )
    now = request.app.state.clock.now()
    errors: Errors = {}
    try:
        model = service.queue(db, actor, view, key, q, now)
    except NotFound as exc:
        return _not_found(request, db, actor, exc.detail)
    except InvalidInput as exc:
        errors[f"filter.{exc.extra.get('field', 'status')}"] = exc.detail
        model = service.Queue(view, key, key, q, [], None, [], [])
    next_href = None
    if model.next_cursor:
        next_href = f"{request.url.path}?{urlencode(q.params(cursor=model.next_cursor), doseq=True)}"
    return _page(
        request,
        db,
        actor,
        "workspace/queue.html",
        {
            "q": model,
            "errors": errors,
            "next_href": next_href,
            "current": (view, key),
            "statuses": service.ALL_STATUSES,
            "priorities": service.PRIORITIES,
            "sorts": service.SORTS,
        },
        422 if errors else 200,
    )


StatusQ = Annotated[list[str] | None, Query()]
Opt = Annotated[str | None, Query()]


@router.get("/desk/mine", response_class=HTMLResponse)
def my_tickets(
    request: Request, db: DB, actor: CurrentActor, status: StatusQ = None, priority: Opt = None,
    team: Opt = None, assignee: Opt = None, tag: Opt = None, sort: Opt = None, cursor: Opt = None,
) -> Response:  # fmt: skip
    return _queue(request, db, actor, "mine", "", status, priority, team, assignee, tag, sort, cursor)


@router.get("/desk/swarms", response_class=HTMLResponse)
def my_swarms(
    request: Request, db: DB, actor: CurrentActor, status: StatusQ = None, priority: Opt = None,
    team: Opt = None, assignee: Opt = None, tag: Opt = None, sort: Opt = None, cursor: Opt = None,
) -> Response:  # fmt: skip
    return _queue(request, db, actor, "swarms", "", status, priority, team, assignee, tag, sort, cursor)


@router.get("/desk/breaching", response_class=HTMLResponse)
def breaching(request: Request, db: DB, actor: CurrentActor, cursor: Opt = None) -> Response:
    return _queue(request, db, actor, "breaching", "", None, None, None, None, None, None, cursor)


@router.get("/desk/search", response_class=HTMLResponse)
def search_page(
    request: Request, db: DB, actor: CurrentActor, q: Opt = None, order: Opt = None, cursor: Opt = None
) -> Response:
    """Keyword search over the tickets the agent may read (newest first, keyset pages). A bad
    query or cursor comes back next to the search field, never as an error page."""
    if actor.is_anonymous:
        return RedirectResponse("/login", status_code=303)
    if not actor.is_staff:
        return _not_found(request, db, actor, "This page is for support staff.")
    text = (q or "").strip()
    order = order if order in search.ORDERS else "newest"
    errors: Errors = {}
    page = search.SearchPage([], None)
    if text:
        try:
            page = search.search_tickets(db, actor, text, limit=25, cursor=(cursor or None), order=order)
        except InvalidInput as exc:
            errors[f"search.{exc.extra.get('field', 'q')}"] = exc.detail
    next_href = None
    if page.next_cursor:
        next_href = "/desk/search?" + urlencode({"q": text, "order": order, "cursor": page.next_cursor})
    return _page(
        request,
        db,
        actor,
        "workspace/search.html",
        {"search_q": text, "order": order, "page": page, "errors": errors, "next_href": next_href},
        422 if errors else 200,
    )


@router.get("/desk/tier/{key}", response_class=HTMLResponse)
def tier_queue(
    key: str, request: Request, db: DB, actor: CurrentActor, status: StatusQ = None, priority: Opt = None,
    team: Opt = None, assignee: Opt = None, tag: Opt = None, sort: Opt = None, cursor: Opt = None,
) -> Response:  # fmt: skip
    return _queue(request, db, actor, "tier", key[:20], status, priority, team, assignee, tag, sort, cursor)


@router.get("/desk/team/{key}", response_class=HTMLResponse)
def team_queue(
    key: str, request: Request, db: DB, actor: CurrentActor, status: StatusQ = None, priority: Opt = None,
    team: Opt = None, assignee: Opt = None, tag: Opt = None, sort: Opt = None, cursor: Opt = None,
) -> Response:  # fmt: skip
    return _queue(request, db, actor, "team", key[:40], status, priority, team, assignee, tag, sort, cursor)


# --- the ticket page -----------------------------------------------------------------------
def _render_ticket_page(
    request: Request,
    db: Session,
    actor: Actor,
    ref: str,
    errors: Errors | None = None,
    form: dict[str, Any] | None = None,
    status: int = 200,
    skills: str | None = None,
    with_articles: bool = False,
) -> Response:
    if actor.is_anonymous:
        return RedirectResponse(f"/login?next=/tickets/{ref[:20]}", status_code=303)
    if not actor.is_staff:
        return _not_found(request, db, actor, "This page is for support staff.")
    now = request.app.state.clock.now()
    try:
        model = service.ticket_page(db, actor, ref, now)
    except (NotFound, Forbidden) as exc:
        return _not_found(request, db, actor, exc.detail, exc.status)
    errors = dict(errors or {})
    suggestions = None
    if skills:
        try:
            suggestions = swarms.suggestions(db, actor, model.ticket.id, check_skills(skills.split(",")), now)
        except (DomainError, ValueError) as exc:
            errors["swarm.skills"] = exc.detail if isinstance(exc, DomainError) else str(exc)
    # The KB search behind the suggestions is a third of the page's work: the page loads them
    # afterwards (GET /tickets/<ref>/articles, by HTMX); ?articles=1 renders them inline.
    articles = _kb_suggestions(db, actor, model.ticket) if with_articles else None
    return _page(
        request,
        db,
        actor,
        "workspace/ticket.html",
        {
            "p": model,
            "articles": articles,
            "errors": errors,
            "open_forms": {key.split(".")[0] for key in errors},
            "form": form or {},
            "suggestions": suggestions,
            "skills": skills or "",
            "statuses": service.ALL_STATUSES,
            "priorities": service.PRIORITIES,
            "bugs": service.engineering_links(model),
        },
        status,
    )


def _kb_suggestions(db: Session, actor: Actor, ticket: Any) -> list[kb.TicketSuggestion]:
    """Help-center articles matching the ticket (its subject and the start of its
    description, in its language): public ones can be linked into the reply."""
    text = f"{ticket.subject} {(ticket.description or '')[:300]}"
    try:
        return kb.suggest_for_ticket(db, actor, text, ticket.language, limit=5)
    except DomainError:  # e.g. a ticket language the help center has no locale for
        return kb.suggest_for_ticket(db, actor, text, None, limit=5)


@router.get("/tickets/{ref}", response_class=HTMLResponse)
def ticket(
    ref: str,
    request: Request,
    db: DB,
    actor: CurrentActor,
    skills: Annotated[str | None, Query()] = None,
    articles: Annotated[str | None, Query()] = None,
) -> Response:
    return _ticket_page(
        request, db, actor, ref[:40], skills=skills[:400] if skills else None, with_articles=bool(articles)
    )


@router.get("/tickets/{ref}/articles", response_class=HTMLResponse)
def articles_panel(ref: str, request: Request, db: DB, actor: CurrentActor) -> Response:
    """The suggested-articles card alone, loaded by HTMX after the ticket page."""
    if not actor.is_staff:
        return HTMLResponse("", status_code=404)
    try:
        with memo_scope(db):
            ticket = tickets.get_ticket(db, actor, tickets.parse_ref(ref[:40]))
            found = _kb_suggestions(db, actor, ticket)
    except (NotFound, Forbidden) as exc:
        return HTMLResponse("", status_code=exc.status)
    context = {"t": ticket, "articles": found, "csrf": csrf_token(request), "errors": {}}
    return templates.TemplateResponse(request, "workspace/_articles.html", context)


@router.get("/tickets/{ref}/sla", response_class=HTMLResponse)
def sla_panel(ref: str, request: Request, db: DB, actor: CurrentActor, now: Now) -> Response:
    """The SLA panel alone, polled by HTMX so the countdowns stay live."""
    if not actor.is_staff:
        return HTMLResponse("", status_code=404)
    try:
        with memo_scope(db):
            timers = service.sla_timers(db, actor, tickets.parse_ref(ref[:40]), now)
    except (NotFound, Forbidden) as exc:
        return HTMLResponse("", status_code=exc.status)
    return templates.TemplateResponse(
        request, "workspace/_sla.html", {"timers": timers, "ref": ref[:40], "now": now}
    )


def _act(
    request: Request,
    db: Session,
    actor: Actor,
    ref: str,
    csrf: str,
    form_name: str,
    values: dict[str, Any],
    run: Callable[[int], None],
    rename: dict[str, str] | None = None,
    anchor: str = "",
) -> Response:
    """Run one action. Success: redirect to the ticket. Failure: roll back, re-render the
    ticket page with the message next to the field and the input kept. Never a 500 for bad
    input: domain and validation errors are both caught here."""
    if actor.is_anonymous:
        return RedirectResponse("/login", status_code=303)
    if not actor.is_staff:
        return _not_found(request, db, actor, "This page is for support staff.")
    form = {form_name: values}
    if not csrf_ok(request, csrf):
        return _ticket_page(
            request, db, actor, ref, {f"{form_name}._form": "Your form expired. Please try again."}, form, 403
        )
    try:
        ticket_id = tickets.parse_ref(ref)
        run(ticket_id)
    except ValidationError as exc:
        db.rollback()
        return _ticket_page(request, db, actor, ref, _field_errors(exc, form_name, rename), form, 422)
    except NotFound as exc:
        db.rollback()
        if exc.extra.get("field"):
            return _ticket_page(
                request, db, actor, ref, {f"{form_name}.{exc.extra['field']}": exc.detail}, form, 422
            )
        return _ticket_page(request, db, actor, ref, {f"{form_name}._form": exc.detail}, form, exc.status)
    except DomainError as exc:
        db.rollback()
        field = exc.extra.get("field") or "_form"
        field = (rename or {}).get(field, field)
        return _ticket_page(request, db, actor, ref, {f"{form_name}.{field}": exc.detail}, form, exc.status)
    try:
        tickets.get_ticket(db, actor, ticket_id)
    except (NotFound, Forbidden):
        # Escalated, moved to another team or handed to someone else, and now outside what
        # this agent sees: back to their tickets with a note, not to a 404.
        request.session["flash"] = {"moved": f"T-{ticket_id}"}
        return RedirectResponse("/desk/mine", status_code=303)
    return RedirectResponse(f"/tickets/T-{ticket_id}{anchor}", status_code=303)


@router.post("/tickets/{ref}/reply", response_class=HTMLResponse)
def reply(
    ref: str, request: Request, db: DB, actor: CurrentActor, now: Now,
    body: Text = "", status: Short = "", csrf: Short = "",
) -> Response:  # fmt: skip
    def run(ticket_id: int) -> None:
        data = MessageCreate(
            body=body.strip(),
            kind=MessageKind.public,
            status=status or None,
        )
        tickets.add_message(db, actor, ticket_id, data, now)

    values = {"body": body, "status": status}
    return _act(request, db, actor, ref, csrf, "reply", values, run, anchor="#conversation")


@router.post("/tickets/{ref}/note", response_class=HTMLResponse)
def note(
    ref: str, request: Request, db: DB, actor: CurrentActor, now: Now, body: Text = "", csrf: Short = ""
) -> Response:
    def run(ticket_id: int) -> None:
        tickets.add_message(
            db, actor, ticket_id, MessageCreate(body=body.strip(), kind=MessageKind.internal), now
        )

    return _act(request, db, actor, ref, csrf, "note", {"body": body}, run, anchor="#notes")


@router.post("/tickets/{ref}/kb-draft", response_class=HTMLResponse)
def kb_draft(ref: str, request: Request, db: DB, actor: CurrentActor, now: Now, csrf: Short = "") -> Response:
    """Knowledge-centred practice: a solved ticket becomes a draft article (question from
    the ticket, answer from the public replies), opened in the article editor."""
    if actor.is_anonymous:
        return RedirectResponse("/login", status_code=303)
    if not actor.is_staff:
        return _not_found(request, db, actor, "This page is for support staff.")
    if not csrf_ok(request, csrf):
        errors = {"kbdraft._form": "Your form expired. Please try again."}
        return _ticket_page(request, db, actor, ref, errors, None, 403)
    try:
        article = kb.draft_from_ticket(db, actor, ref[:40], now)
    except DomainError as exc:
        db.rollback()
        return _ticket_page(request, db, actor, ref, {"kbdraft._form": exc.detail}, None, exc.status)
    return RedirectResponse(f"/kb/manage/{article.id}", status_code=303)


@router.post("/tickets/{ref}/fields", response_class=HTMLResponse)
def change_fields(
    ref: str, request: Request, db: DB, actor: CurrentActor, now: Now,
    status: Short = "", priority: Short = "", category: Short = "", reason: Short = "", csrf: Short = "",
) -> Response:  # fmt: skip
    """Status, priority and category in one form: only the fields that differ are sent, so
    an unchanged select records no event."""

    def run(ticket_id: int) -> None:
        current = tickets.get_ticket(db, actor, ticket_id)
        patch: dict[str, Any] = {}
        if status and status != current.status:
            patch["status"] = status
        if priority and priority != current.priority:
            patch["priority"] = priority
        cat = category.strip() or None
        if cat != current.category:
            patch["category"] = cat
        if not patch:
            raise InvalidInput("Nothing changed.", field="status")
        patch["reason"] = reason.strip() or None
        tickets.update_ticket(db, actor, ticket_id, TicketPatch(**patch), now)

    values = {"status": status, "priority": priority, "category": category, "reason": reason}
    return _act(request, db, actor, ref, csrf, "fields", values, run)


@router.post("/tickets/{ref}/assign", response_class=HTMLResponse)
def assign(
    ref: str, request: Request, db: DB, actor: CurrentActor, now: Now,
    assignee_id: Short = "", take: Short = "", csrf: Short = "",
) -> Response:  # fmt: skip
    """Assign to anyone (empty = unassign), or "take it" (assign to me)."""

    def run(ticket_id: int) -> None:
        if take:
            who: int | None = actor.user_id
        elif assignee_id.strip():
            who = _id(assignee_id)
            if who is None:
                raise InvalidInput("Pick an agent from the list.", field="assignee_id")
        else:
            who = None
        reason = "took it" if take else None
        tickets.update_ticket(db, actor, ticket_id, TicketPatch(assignee_id=who, reason=reason), now)

    return _act(request, db, actor, ref, csrf, "assign", {"assignee_id": assignee_id}, run)


@router.post("/tickets/{ref}/escalate", response_class=HTMLResponse)
def escalate(
    ref: str, request: Request, db: DB, actor: CurrentActor, now: Now,
    to: Short = "", reason: Short = "", problem: Text = "", tried: Text = "", impact: Text = "",
    keep_assignee: Short = "", csrf: Short = "",
) -> Response:  # fmt: skip
    """Escalate with a reason and a hand-off (prefilled on the page from escalation.draft).
    `to` is "" (one step up), "tier:<id>" or "team:<id>"."""

    def run(ticket_id: int) -> None:
        to_tier_id = to_team_id = None
        kind, _, raw = to.partition(":")
        if to and (kind not in ("tier", "team") or _id(raw) is None):
            raise InvalidInput("Pick where the ticket goes from the list.", field="to")
        if kind == "tier":
            to_tier_id = _id(raw)
        elif kind == "team":
            to_team_id = _id(raw)
        data = EscalateIn(
            to_tier_id=to_tier_id,
            to_team_id=to_team_id,
            reason=reason.strip(),
            handoff=Handoff(problem=problem.strip(), tried=tried.strip(), impact=impact.strip()),
            keep_assignee=bool(keep_assignee),
        )
        escalation.escalate(db, actor, ticket_id, data, now)

    values = {"to": to, "reason": reason, "problem": problem, "tried": tried, "impact": impact}
    rename = {"to_tier_id": "to", "to_team_id": "to"}
    return _act(request, db, actor, ref, csrf, "escalate", values, run, rename, "#timeline")


@router.post("/tickets/{ref}/de-escalate", response_class=HTMLResponse)
def de_escalate(
    ref: str, request: Request, db: DB, actor: CurrentActor, now: Now,
    to_tier_id: Short = "", note: Text = "", csrf: Short = "",
) -> Response:  # fmt: skip
    def run(ticket_id: int) -> None:
        tier_id = _id(to_tier_id)
        if tier_id is None:
            raise InvalidInput("Pick the tier it goes back to.", field="to_tier_id")
        escalation.de_escalate(db, actor, ticket_id, DeEscalateIn(to_tier_id=tier_id, note=note), now)

    values = {"to_tier_id": to_tier_id, "note": note}
    return _act(request, db, actor, ref, csrf, "deescalate", values, run, anchor="#timeline")


@router.post("/tickets/{ref}/swarm", response_class=HTMLResponse)
def start_swarm(
    ref: str, request: Request, db: DB, actor: CurrentActor, now: Now,
    skills: Short = "", note: Text = "", invite: Annotated[list[str] | None, Form()] = None, csrf: Short = "",
) -> Response:  # fmt: skip
    def run(ticket_id: int) -> None:
        ids = [i for v in (invite or []) if (i := _id(v)) is not None]
        data = SwarmStart(skills=skills, invite_user_ids=ids, note=note.strip() or None)
        swarms.start(db, actor, ticket_id, data, now)

    values = {"skills": skills, "note": note}
    rename = {"invite_user_ids": "invite", "user_ids": "invite"}
    return _act(request, db, actor, ref, csrf, "swarm", values, run, rename, "#swarm")


@router.post("/tickets/{ref}/swarm/invite", response_class=HTMLResponse)
def invite(
    ref: str, request: Request, db: DB, actor: CurrentActor, now: Now,
    invite: Annotated[list[str] | None, Form()] = None, csrf: Short = "",
) -> Response:  # fmt: skip
    def run(ticket_id: int) -> None:
        ids = [i for v in (invite or []) if (i := _id(v)) is not None]
        if not ids:
            raise InvalidInput("Tick at least one colleague to invite.", field="invite")
        swarms.invite(db, actor, ticket_id, ids, now)

    return _act(request, db, actor, ref, csrf, "swarm", {}, run, {"user_ids": "invite"}, "#swarm")


@router.post("/tickets/{ref}/link-bug", response_class=HTMLResponse)
def link_bug(
    ref: str, request: Request, db: DB, actor: CurrentActor, now: Now,
    key: Short = "", title: Short = "", url: Short = "", csrf: Short = "",
) -> Response:  # fmt: skip
    """Link an existing engineering bug by key, or file it (key, title, URL) and link it."""

    def run(ticket_id: int) -> None:
        bug_key = key.strip().upper()
        if not bug_key:
            raise InvalidInput("Give the bug's key, e.g. ENG-231.", field="key")
        try:
            engineering.link_ticket(db, actor, bug_key, ticket_id, now)
        except NotFound:
            if not title.strip() or not url.strip():
                raise InvalidInput(
                    f"{bug_key} is not known yet: give its title and URL to file it.", field="title"
                ) from None
            engineering.create_bug(
                db,
                actor,
                BugCreate(key=bug_key, title=title.strip(), url=url.strip(), ticket_ids=[ticket_id]),
                now,
            )

    values = {"key": key, "title": title, "url": url}
    return _act(request, db, actor, ref, csrf, "bug", values, run, anchor="#links")


@router.post("/tickets/{ref}/merge", response_class=HTMLResponse)
def merge(
    ref: str, request: Request, db: DB, actor: CurrentActor, now: Now,
    into: Short = "", reason: Short = "", csrf: Short = "",
) -> Response:  # fmt: skip
    merged: list[int] = []

    def run(ticket_id: int) -> None:
        try:
            into_id = tickets.parse_ref(into)
        except NotFound as exc:
            raise InvalidInput(exc.detail, field="into") from None
        target = tickets.merge(db, actor, ticket_id, into_id, reason.strip() or None, now)
        merged.append(target.id)

    values = {"into": into, "reason": reason}
    response = _act(request, db, actor, ref, csrf, "merge", values, run, {"into_ticket_id": "into"})
    if merged and response.status_code == 303:
        return RedirectResponse(f"/tickets/T-{merged[0]}", status_code=303)
    return response
