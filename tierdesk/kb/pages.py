"""Help center pages: the portal (browse, read, search, ask the answer bot; anonymous
visitors and customers) and the staff pages to write, review and publish articles and to
see search analytics and deflection.

Every form carries the session's CSRF token; a domain or validation error re-renders the
form with the message next to the field and nothing saved (the transaction rolls back).
Article bodies are shown through the sanitiser (kb/render.py); snippets are escaped text
with <mark> added by the search code.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature, TimestampSigner
from pydantic import ValidationError
from sqlalchemy.orm import Session

from tierdesk.core.errors import DomainError, InvalidInput, NotFound
from tierdesk.core.i18n import N_
from tierdesk.core.security import Actor
from tierdesk.kb import analyzer, answers, service
from tierdesk.kb.models import ArticleStatus, Visibility
from tierdesk.kb.schemas import (
    ArticleIn,
    ArticlePatch,
    AskIn,
    CategoryIn,
    CategoryPatch,
    CategoryTranslationIn,
    FaqIn,
    FaqPatch,
    FeedbackIn,
    SectionIn,
    SectionPatch,
    SectionTranslationIn,
    TranslationIn,
    VoteIn,
)
from tierdesk.web.csrf import csrf_ok, csrf_token
from tierdesk.web.deps import DB, CurrentActor, Now, TxRoute
from tierdesk.web.i18n import lang_for
from tierdesk.web.templating import templates

router = APIRouter(route_class=TxRoute, include_in_schema=False)

Short = Annotated[str, Form(max_length=1000)]
Long = Annotated[str, Form(max_length=200_000)]
SESSION_KEY = "kb_session"
EXPIRED = "Your form expired. Please try again."


def _locale(request: Request, given: str | None) -> str:
    """The content locale: ?locale= when it is one we have, else the page language."""
    return analyzer.supported(given) or analyzer.supported(lang_for(request).code) or analyzer.DEFAULT_LOCALE


def _render(
    request: Request, actor: Actor, name: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    base = {"actor": actor, "csrf": csrf_token(request), "locales": analyzer.LOCALES}
    return templates.TemplateResponse(request, f"kb/{name}", base | context, status_code=status)


def _errors(exc: ValidationError) -> dict[str, str]:
    out: dict[str, str] = {}
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if not isinstance(p, int)]
        out.setdefault(loc[-1] if loc else "form", str(err.get("msg", "")).removeprefix("Value error, "))
    return out


def _domain_error(db: Session, exc: DomainError) -> dict[str, str]:
    db.rollback()
    return {str(exc.extra.get("field") or "form"): exc.detail}


# --- portal -------------------------------------------------------------------------------
@router.get("/help", response_class=HTMLResponse)
def help_home(request: Request, db: DB, actor: CurrentActor, locale: str | None = None) -> Response:
    loc = _locale(request, locale)
    categories = service.list_categories(db)
    return _render(
        request,
        actor,
        "portal_home.html",
        {
            "locale": loc,
            "categories": categories,
            "names": service.category_names(db, categories, loc),
            "faq": service.list_faq(db, actor, loc, None, True),
        },
    )


@router.get("/help/search", response_class=HTMLResponse)
def help_search(
    request: Request, db: DB, actor: CurrentActor, now: Now, q: str = "", locale: str | None = None
) -> Response:
    loc = _locale(request, locale)
    context: dict[str, Any] = {"q": q, "locale": loc, "results": None, "error": None}
    if q.strip():
        try:
            context["results"] = service.search_articles(db, actor, q, loc, 20, now)
        except DomainError as exc:
            context["error"] = exc.detail
            return _render(request, actor, "portal_search.html", context, 422)
    return _render(request, actor, "portal_search.html", context)


@router.get("/help/suggest", response_class=HTMLResponse)
def help_suggest(
    request: Request, db: DB, actor: CurrentActor, q: str = "", subject: str = "", locale: str | None = None
) -> Response:
    """An HTML fragment of matching articles, for a form that asks as the user types
    (hx-get="/help/suggest" hx-trigger="input changed delay:400ms" on the portal's subject
    field, which sends `subject`; others send `q`). Not logged as a search; a query that is
    too long simply suggests nothing."""
    text = q or subject
    try:
        found = service.suggest(db, actor, text[: service.MAX_QUERY_CHARS], _locale(request, locale))
    except DomainError:
        found = []
    return templates.TemplateResponse(request, "kb/_suggestions.html", {"suggestions": found})


@router.get("/help/categories/{key}", response_class=HTMLResponse)
def help_category(
    request: Request,
    db: DB,
    actor: CurrentActor,
    key: str,
    locale: str | None = None,
    section: str | None = None,
    cursor: str | None = None,
) -> Response:
    """A category's articles under their section headings (section order, articles without
    a section last). `?section=<id>` (or `none`) with `cursor` pages through one section."""
    loc = _locale(request, locale)
    try:
        category = service.get_category(db, key)
        if section is None:
            shelves = service.category_shelves(db, actor, category, loc)
            single = None
        else:
            if section != "none" and not (section.isdigit() and len(section) < 12):
                raise NotFound(f"Category '{category.slug}' has no section '{section[:20]}'.")
            section_id = None if section == "none" else int(section)
            single = service.section_articles(db, actor, category, section_id, loc, cursor)
            shelves = [single]
    except DomainError as exc:
        return _render(request, actor, "not_found.html", {"detail": exc.detail}, exc.status)
    faq = service.list_faq(db, actor, loc, key, None) if single is None else []
    return _render(
        request,
        actor,
        "portal_category.html",
        {
            "category": category,
            "local": service.category_names(db, [category], loc)[category.id],
            "shelves": shelves,
            "single": single,
            "faq": faq,
            "locale": loc,
        },
    )


def _article_page(
    request: Request,
    db: Session,
    actor: Actor,
    article_id: int,
    locale: str | None,
    extra: dict[str, Any],
    status: int = 200,
) -> HTMLResponse:
    article = service.read_article(db, actor, article_id, _locale(request, locale))
    return _render(request, actor, "portal_article.html", {"article": article, "errors": {}} | extra, status)


@router.get("/help/articles/{article_id}", response_class=HTMLResponse)
def help_article(
    request: Request,
    db: DB,
    actor: CurrentActor,
    now: Now,
    article_id: int,
    locale: str | None = None,
    sid: int | None = None,
) -> Response:
    loc = _locale(request, locale)
    try:
        article = service.read_article(db, actor, article_id, loc, count_view=True)
        if sid is not None:
            with suppress(NotFound):  # a stale or foreign search id must not break reading
                service.record_click(db, actor, sid, article_id, now)
        if article.status == ArticleStatus.published.value and not actor.is_staff:
            key = answers.note_article_view(
                db, actor, request.session.get(SESSION_KEY), article_id, article.locale, now
            )
            request.session[SESSION_KEY] = key
    except DomainError as exc:
        return _render(request, actor, "not_found.html", {"detail": exc.detail}, exc.status)
    return _render(request, actor, "portal_article.html", {"article": article, "errors": {}, "voted": None})


@router.post("/help/articles/{article_id}/vote", response_class=HTMLResponse)
def help_vote(
    request: Request,
    db: DB,
    actor: CurrentActor,
    now: Now,
    article_id: int,
    helpful: Short = "",
    comment: Long = "",
    locale: Short = "",
    csrf: Short = "",
) -> Response:
    if not csrf_ok(request, csrf):
        return _article_page(
            request, db, actor, article_id, locale, {"errors": {"form": EXPIRED}, "voted": None}, 403
        )
    try:
        data = VoteIn(helpful=helpful == "yes", comment=comment or None, locale=locale or None)
        result = service.vote(db, actor, article_id, data, now)
    except ValidationError as exc:
        return _article_page(
            request, db, actor, article_id, locale, {"errors": _errors(exc), "voted": None}, 422
        )
    except DomainError as exc:
        errors = _domain_error(db, exc)
        if exc.status == 404:
            return _render(request, actor, "not_found.html", {"detail": exc.detail}, 404)
        return _article_page(
            request, db, actor, article_id, locale, {"errors": errors, "voted": None}, exc.status
        )
    return _article_page(request, db, actor, article_id, locale, {"voted": result})


@dataclass(frozen=True)
class _AskView:
    """Where the answer bot's conversation is shown: the portal page or the embeddable widget.
    Both run the same service calls (answers.ask / answers.feedback) and the same partial
    (kb/_ask.html); they differ in layout, CSRF token and response headers."""

    template: str
    render: Callable[..., HTMLResponse]
    csrf_ok: Callable[[Request, Actor, str], bool]


def _portal_csrf_ok(request: Request, actor: Actor, sent: str) -> bool:
    return csrf_ok(request, sent)


PORTAL = _AskView("portal_ask.html", _render, _portal_csrf_ok)


def _ask(
    view: _AskView, request: Request, db: Session, actor: Actor, now: Any, form: dict[str, str]
) -> Response:
    loc = _locale(request, form["locale"])
    question = form["question"]
    context: dict[str, Any] = {"locale": loc, "answer": None, "errors": {}, "question": question}
    if not view.csrf_ok(request, actor, form["csrf"]):
        return view.render(request, actor, view.template, context | {"errors": {"form": EXPIRED}}, 403)
    try:
        context["answer"] = answers.ask(
            db, actor, AskIn(question=question, locale=loc, session=form["session"] or None), now
        )
    except ValidationError as exc:
        return view.render(request, actor, view.template, context | {"errors": _errors(exc)}, 422)
    except DomainError as exc:
        errors = _domain_error(db, exc)
        return view.render(request, actor, view.template, context | {"errors": errors}, exc.status)
    return view.render(request, actor, view.template, context)


def _feedback(
    view: _AskView, request: Request, db: Session, actor: Actor, now: Any, session: str, form: dict[str, str]
) -> Response:
    loc = _locale(request, form["locale"])
    context: dict[str, Any] = {
        "locale": loc,
        "answer": None,
        "errors": {},
        "session": session,
        "email": form["email"],
    }
    if not view.csrf_ok(request, actor, form["csrf"]):
        return view.render(request, actor, view.template, context | {"errors": {"form": EXPIRED}}, 403)
    try:
        data = FeedbackIn(
            solved=form["solved"] == "yes",
            email=form["email"] or None,
            name=form["name"] or None,
            details=form["details"] or None,
        )
        context["outcome"] = answers.feedback(db, actor, session, data, now)
    except ValidationError as exc:
        failed = context | {"errors": _errors(exc), "handoff": True}
        return view.render(request, actor, view.template, failed, 422)
    except DomainError as exc:
        failed = context | {"errors": _domain_error(db, exc), "handoff": True}
        return view.render(request, actor, view.template, failed, exc.status)
    return view.render(request, actor, view.template, context)


@router.get("/help/ask", response_class=HTMLResponse)
def help_ask_form(request: Request, actor: CurrentActor, locale: str | None = None) -> Response:
    return _render(
        request, actor, "portal_ask.html", {"locale": _locale(request, locale), "answer": None, "errors": {}}
    )


@router.post("/help/ask", response_class=HTMLResponse)
def help_ask(
    request: Request,
    db: DB,
    actor: CurrentActor,
    now: Now,
    question: Long = "",
    locale: Short = "",
    session: Short = "",
    csrf: Short = "",
) -> Response:
    form = {"question": question, "locale": locale, "session": session, "csrf": csrf}
    return _ask(PORTAL, request, db, actor, now, form)


@router.post("/help/ask/{session}/feedback", response_class=HTMLResponse)
def help_feedback(
    request: Request,
    db: DB,
    actor: CurrentActor,
    now: Now,
    session: str,
    solved: Short = "",
    email: Short = "",
    name: Short = "",
    details: Long = "",
    locale: Short = "",
    csrf: Short = "",
) -> Response:
    form = {
        "solved": solved,
        "email": email,
        "name": name,
        "details": details,
        "locale": locale,
        "csrf": csrf,
    }
    return _feedback(PORTAL, request, db, actor, now, session, form)


# --- embeddable widget (/static/widget.js opens /help/widget in an iframe) ------------------
# The widget lives in an iframe on the customer's own site, so (a) its pages say
# `Content-Security-Policy: frame-ancestors *` (only these routes), and (b) the session cookie
# (SameSite=Lax) is not sent and cannot be set there. An anonymous visitor's forms therefore
# carry a signed, time-limited token instead of the session's CSRF token: it proves the form
# came from our page, and an anonymous request carries no ambient authority to forge. A
# signed-in visitor (same-site embed, cookie present) keeps the session's CSRF token as usual.

WIDGET_FRAME_HEADERS = {"Content-Security-Policy": "frame-ancestors *"}
WIDGET_TOKEN_MAX_AGE = 4 * 3600  # seconds a widget form stays valid
_WIDGET_SALT = "tierdesk.kb.widget-csrf"


class _ClockSigner(TimestampSigner):
    """Signs and checks ages with the app's (injectable) clock, not the wall clock."""

    def __init__(self, secret: str, salt: str, clock: Any) -> None:
        super().__init__(secret, salt=salt)
        self._clock = clock

    def get_timestamp(self) -> int:
        return int(self._clock.now().timestamp())


def _widget_signer(request: Request) -> TimestampSigner:
    return _ClockSigner(request.app.state.settings.secret_key, _WIDGET_SALT, request.app.state.clock)


def _widget_token(request: Request, actor: Actor) -> str:
    if not actor.is_anonymous:
        return csrf_token(request)
    return _widget_signer(request).sign(secrets.token_urlsafe(16)).decode()


def _widget_csrf_ok(request: Request, actor: Actor, sent: str) -> bool:
    if not actor.is_anonymous:
        return csrf_ok(request, sent)
    try:
        _widget_signer(request).unsign(sent, max_age=WIDGET_TOKEN_MAX_AGE)
    except BadSignature:  # also SignatureExpired
        return False
    return True


def _render_widget(
    request: Request, actor: Actor, name: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    base = {"actor": actor, "csrf": _widget_token(request, actor), "locales": analyzer.LOCALES}
    extra = {"ask_action": "/help/widget", "new_tab": True}
    return templates.TemplateResponse(
        request, f"kb/{name}", base | context | extra, status_code=status, headers=WIDGET_FRAME_HEADERS
    )


WIDGET = _AskView("widget.html", _render_widget, _widget_csrf_ok)


@router.get("/help/widget", response_class=HTMLResponse)
def help_widget(request: Request, actor: CurrentActor, locale: str | None = None) -> Response:
    context: dict[str, Any] = {"locale": _locale(request, locale), "answer": None, "errors": {}}
    return _render_widget(request, actor, "widget.html", context)


@router.post("/help/widget", response_class=HTMLResponse)
def help_widget_ask(
    request: Request,
    db: DB,
    actor: CurrentActor,
    now: Now,
    question: Long = "",
    locale: Short = "",
    session: Short = "",
    csrf: Short = "",
) -> Response:
    form = {"question": question, "locale": locale, "session": session, "csrf": csrf}
    return _ask(WIDGET, request, db, actor, now, form)


@router.post("/help/widget/{session}/feedback", response_class=HTMLResponse)
def help_widget_feedback(
    request: Request,
    db: DB,
    actor: CurrentActor,
    now: Now,
    session: str,
    solved: Short = "",
    email: Short = "",
    name: Short = "",
    details: Long = "",
    locale: Short = "",
    csrf: Short = "",
) -> Response:
    form = {
        "solved": solved,
        "email": email,
        "name": name,
        "details": details,
        "locale": locale,
        "csrf": csrf,
    }
    return _feedback(WIDGET, request, db, actor, now, session, form)


# --- staff --------------------------------------------------------------------------------
def _staff_only(request: Request, actor: Actor) -> Response | None:
    if actor.is_anonymous:
        return RedirectResponse("/login", status_code=303)
    if not actor.is_staff:
        return _render(request, actor, "not_found.html", {"detail": "There is nothing here."}, 404)
    return None


@router.get("/kb/manage", response_class=HTMLResponse)
def manage_list(
    request: Request, db: DB, actor: CurrentActor, status: str = "", cursor: str | None = None
) -> Response:
    if (denied := _staff_only(request, actor)) is not None:
        return denied
    wanted = ArticleStatus(status) if status in {s.value for s in ArticleStatus} else None
    try:
        page = service.list_articles(db, actor, None, wanted, None, cursor, 50)
    except DomainError as exc:
        return _render(request, actor, "not_found.html", {"detail": exc.detail}, exc.status)
    nxt = (
        f"/kb/manage?{urlencode({'status': status, 'cursor': page.next_cursor})}"
        if page.next_cursor
        else None
    )
    return _render(request, actor, "manage_list.html", {"page": page, "status": status, "next": nxt})


def _edit_page(
    request: Request,
    db: Session,
    actor: Actor,
    article_id: int | None,
    locale: str,
    form: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
    diff: int | None = None,
    placement: dict[str, str] | None = None,
) -> HTMLResponse:
    context: dict[str, Any] = {
        "form": form,
        "errors": errors,
        "locale": locale,
        "article": None,
        "visibilities": list(Visibility),
        "categories": service.list_categories(db),
        "placement": placement or {},
    }
    if article_id is not None:
        article = service.read_article(db, actor, article_id, locale)
        context["article"] = article
        if not placement:
            context["placement"] = {
                "category": article.category.slug,
                "section_id": str(article.section_id or ""),
                "visibility": article.visibility,
                "organization_id": str(article.organization_id or ""),
            }
    # The section picker lists the sections of the category chosen in the form (the one
    # typed before a failed save, else the article's); HTMX refreshes it on a new choice.
    chosen = context["placement"].get("category") if article_id is not None else form.get("category")
    context["sections"] = _sections_of(db, chosen)
    if article_id is not None:
        context["revisions"] = service.list_revisions(db, actor, article_id, None)
        context["events"] = service.article_events(db, actor, article_id)
        context["may_publish"] = service.may_publish(actor)
        if diff is not None:
            try:
                context["diff"] = service.diff_revision(db, actor, article_id, diff)
            except NotFound:
                context["diff"] = None
    return _render(request, actor, "manage_edit.html", context, status)


def _sections_of(db: Session, category_key: str | None) -> list[Any]:
    if not category_key:
        return []
    try:
        return service.list_sections(db, service.get_category(db, category_key).id)
    except NotFound:
        return []


def _section_id(request: Request, value: str) -> int | None:
    """The section picker's value: empty for none, else a section id. Anything else is a
    tampered form, refused next to the field like a section of another category."""
    value = value.strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 12:
        raise _PlacementError({"section_id": lang_for(request).gettext(SECTION_ELSEWHERE)})
    return int(value)


SECTION_ELSEWHERE = N_("Choose a section of the chosen category.")
CATEGORY_UNKNOWN = N_("Choose a category from the list.")


class _PlacementError(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


def _placement_message(request: Request, exc: DomainError) -> dict[str, str]:
    """A category/section/visibility refusal from the service, in the reader's language."""
    lang = lang_for(request)
    field = str(exc.extra.get("field") or "form")
    if field == "section_id":
        return {field: lang.gettext(SECTION_ELSEWHERE)}
    if field == "category":
        return {field: lang.gettext(CATEGORY_UNKNOWN)}
    return {field: lang.gettext(exc.detail)}


@router.get("/kb/manage/new", response_class=HTMLResponse)
def manage_new(request: Request, actor: CurrentActor, db: DB) -> Response:
    if (denied := _staff_only(request, actor)) is not None:
        return denied
    form = {"locale": _locale(request, None), "visibility": "public", "title": "", "body": "", "category": ""}
    return _edit_page(request, db, actor, None, form["locale"], form, {})


@router.post("/kb/manage/new", response_class=HTMLResponse)
def manage_create(
    request: Request,
    db: DB,
    actor: CurrentActor,
    now: Now,
    title: Short = "",
    body: Long = "",
    locale: Short = "en",
    category: Short = "",
    visibility: Short = "public",
    organization_id: Short = "",
    section_id: Short = "",
    draft: Short = "",
    csrf: Short = "",
) -> Response:
    if (denied := _staff_only(request, actor)) is not None:
        return denied
    form = {
        "title": title,
        "body": body,
        "locale": locale,
        "category": category,
        "section_id": section_id,
        "visibility": visibility,
        "organization_id": organization_id,
        "draft": draft,
    }
    if not csrf_ok(request, csrf):
        return _edit_page(request, db, actor, None, locale, form, {"form": EXPIRED}, 403)
    try:
        # The page picks an existing category (the API may still create one by name).
        if not category.strip() or service.find_category(db, category) is None:
            raise _PlacementError({"category": lang_for(request).gettext(CATEGORY_UNKNOWN)})
        data = ArticleIn(
            title=title,
            body=body,
            locale=locale,
            category=category,
            section_id=_section_id(request, section_id),
            visibility=visibility,
            organization_id=int(organization_id) if organization_id.strip().isdigit() else None,
            draft=draft == "yes",
        )
        article = service.create_article(db, actor, data, now)
    except _PlacementError as exc:
        return _edit_page(request, db, actor, None, locale, form, exc.errors, 422)
    except ValidationError as exc:
        return _edit_page(request, db, actor, None, locale, form, _errors(exc), 422)
    except DomainError as exc:
        db.rollback()
        return _edit_page(
            request, db, actor, None, locale, form, _placement_message(request, exc), exc.status
        )
    return RedirectResponse(f"/kb/manage/{article.id}?locale={data.locale}", status_code=303)


@router.get("/kb/manage/analytics", response_class=HTMLResponse)
def manage_analytics(request: Request, db: DB, actor: CurrentActor, now: Now, days: int = 30) -> Response:
    if (denied := _staff_only(request, actor)) is not None:
        return denied
    days = max(1, min(days, 366))
    return _render(
        request,
        actor,
        "manage_analytics.html",
        {
            "search": service.search_analytics(db, actor, now, days),
            "deflection": answers.deflection_report(db, actor, now, max(1, days // 7)),
            "days": days,
        },
    )


# --- staff: categories and sections ------------------------------------------------------
def _category_message(request: Request, exc: DomainError | ValidationError) -> dict[str, str]:
    """{field: message in the reader's language} for the category/section forms."""
    lang = lang_for(request)
    if isinstance(exc, ValidationError):
        out: dict[str, str] = {}
        for field in _errors(exc):
            if field == "name":
                out[field] = lang.gettext("Enter a name.")
            elif field == "position":
                out[field] = lang.gettext("Enter a whole number from 0 to 1000000.")
            elif field == "slug":
                out[field] = lang.gettext("Enter an address of letters, digits and dashes.")
            else:
                out[field] = lang.gettext("Check this value.")
        return out
    field = str(exc.extra.get("field") or "form")
    if isinstance(n := exc.extra.get("articles"), int):
        message = lang.ngettext(
            "It still holds %(num)d article: move it elsewhere or delete it first.",
            "It still holds %(num)d articles: move them elsewhere or delete them first.",
            n,
        ) % {"num": n}
    elif isinstance(n := exc.extra.get("faq_entries"), int):
        message = lang.ngettext(
            "It still holds %(num)d FAQ entry: delete it first.",
            "It still holds %(num)d FAQ entries: delete them first.",
            n,
        ) % {"num": n}
    elif exc.status == 409 and field == "name":
        message = lang.gettext("That name is already taken here.")
    elif exc.status == 409 and field == "slug":
        message = lang.gettext("Another category already uses that address.")
    else:
        message = lang.gettext(exc.detail)
    return {field: message}


def _categories_page(
    request: Request,
    db: Session,
    actor: Actor,
    errors: dict[str, dict[str, str]] | None = None,
    forms: dict[str, dict[str, str]] | None = None,
    status: int = 200,
) -> HTMLResponse:
    """errors/forms are keyed by the form they belong to: "new-category", "category-<id>",
    "new-section-<category id>", "section-<id>"; a form with errors shows what was typed."""
    categories = service.list_categories(db)
    sections = {c.id: service.list_sections(db, c.id) for c in categories}
    translations: dict[int, dict[str, Any]] = {}
    for c in categories:
        translations[c.id] = {t.locale: t for t in service.category_translations(db, c.id)}
    section_translations: dict[int, dict[str, Any]] = {}
    for t in service.section_translations(db, [s.id for rows in sections.values() for s in rows]):
        section_translations.setdefault(t.section_id, {})[t.locale] = t
    return _render(
        request,
        actor,
        "manage_categories.html",
        {
            "categories": categories,
            "sections": sections,
            "translations": translations,
            "section_translations": section_translations,
            "counts": service.article_counts(db),
            "errors": errors or {},
            "forms": forms or {},
        },
        status,
    )


def _category_form_failed(
    request: Request,
    db: Session,
    actor: Actor,
    key: str,
    form: dict[str, str],
    exc: DomainError | ValidationError,
) -> HTMLResponse:
    db.rollback()
    if isinstance(exc, DomainError) and exc.status == 404:
        return _render(request, actor, "not_found.html", {"detail": exc.detail}, 404)
    status = exc.status if isinstance(exc, DomainError) else 422
    return _categories_page(request, db, actor, {key: _category_message(request, exc)}, {key: form}, status)


def _expired(request: Request, db: Session, actor: Actor, key: str, form: dict[str, str]) -> HTMLResponse:
    message = {"form": lang_for(request).gettext(EXPIRED)}
    return _categories_page(request, db, actor, {key: message}, {key: form}, 403)


def _position(value: str) -> int | str:
    """A whole number for the schema to range-check; anything else goes through as text
    so validation reports it next to the field."""
    return int(value) if value.strip().lstrip("-").isdigit() else value


@router.get("/kb/manage/categories", response_class=HTMLResponse)
def manage_categories(request: Request, db: DB, actor: CurrentActor) -> Response:
    if (denied := _staff_only(request, actor)) is not None:
        return denied
    return _categories_page(request, db, actor)


@router.post("/kb/manage/categories", response_class=HTMLResponse)
def manage_category_create(
    request: Request,
    db: DB,
    actor: CurrentActor,
    now: Now,
    name: Short = "",
    description: Long = "",
    position: Short = "0",
    csrf: Short = "",
) -> Response:
    if (denied := _staff_only(request, actor)) is not None:
        return denied
    form = {"name": name, "description": description, "position": position}
    if not csrf_ok(request, csrf):
        return _expired(request, db, actor, "new-category", form)
    try:
        data = CategoryIn.model_validate(
            {"name": name, "description": description, "position": _position(position or "0")}
        )
        service.create_category(db, actor, data, now)
    except (ValidationError, DomainError) as exc:
        return _category_form_failed(request, db, actor, "new-category", form, exc)
    return RedirectResponse("/kb/manage/categories", status_code=303)


@router.post("/kb/manage/categories/{category_id}", response_class=HTMLResponse)
def manage_category_update(
    request: Request,
    db: DB,
    actor: CurrentActor,
    category_id: int,
    name: Short = "",
    slug: Short = "",
    description: Long = "",
    position: Short = "0",
    csrf: Short = "",
) -> Response:
    if (denied := _staff_only(request, actor)) is not None:
        return denied
    key = f"category-{category_id}"
    form = {"name": name, "slug": slug, "description": description, "position": position}
    if not csrf_ok(request, csrf):
        return _expired(request, db, actor, key, form)
    try:
        patch = CategoryPatch.model_validate(
            {"name": name, "slug": slug, "description": description, "position": _position(position or "0")}
        )
        service.update_category(db, actor, category_id, patch)
    except (ValidationError, DomainError) as exc:
        return _category_form_failed(request, db, actor, key, form, exc)
    return RedirectResponse(f"/kb/manage/categories#category-{category_id}", status_code=303)


async def _posted(request: Request) -> dict[str, str]:
    """A form whose field names depend on the data (one per section and locale), read
    before the synchronous endpoint runs; over-long values are cut, the schema checks them."""
    posted = await request.form()
    return {k[:40]: v[:2001] for k, v in list(posted.items())[:400] if isinstance(v, str)}


PostedForm = Annotated[dict[str, str], Depends(_posted)]


@router.post("/kb/manage/categories/{category_id}/translations", response_class=HTMLResponse)
def manage_category_translations(
    request: Request, db: DB, actor: CurrentActor, category_id: int, posted: PostedForm
) -> Response:
    """Save a category's and its sections' names in every locale at once: a filled field sets
    the name in that locale, an empty one removes it (the default name shows again)."""
    if (denied := _staff_only(request, actor)) is not None:
        return denied
    key = f"names-{category_id}"
    form = {k: v for k, v in posted.items() if k != "csrf"}
    if not csrf_ok(request, posted.get("csrf", "")):
        return _expired(request, db, actor, key, form)
    return _save_names(request, db, actor, category_id, key, form)


def _save_names(
    request: Request, db: Session, actor: Actor, category_id: int, key: str, form: dict[str, str]
) -> HTMLResponse | RedirectResponse:
    lang = lang_for(request)
    errors: dict[str, str] = {}
    try:
        category = service.get_category_by_id(db, category_id)
        existing = {t.locale for t in service.category_translations(db, category.id)}
        for code in analyzer.LOCALES:
            name = form.get(f"name_{code}", "").strip()
            description = form.get(f"description_{code}", "")
            if not name:
                if code in existing:
                    service.delete_category_translation(db, actor, category.id, code)
                continue
            try:
                data = CategoryTranslationIn(name=name, description=description)
            except ValidationError as exc:
                for field in _errors(exc):
                    limit = "120" if field == "name" else "2000"
                    errors[f"{field}_{code}"] = lang.gettext("Use at most %(num)s characters.") % {
                        "num": limit
                    }
                continue
            service.set_category_translation(db, actor, category.id, code, data)
        sections = service.list_sections(db, category.id)
        named = {(t.section_id, t.locale) for t in service.section_translations(db, [s.id for s in sections])}
        for section in sections:
            for code in analyzer.LOCALES:
                field = f"section_{section.id}_{code}"
                name = form.get(field, "").strip()
                if not name:
                    if (section.id, code) in named:
                        service.delete_section_translation(db, actor, section.id, code)
                    continue
                if len(name) > 120:
                    errors[field] = lang.gettext("Use at most %(num)s characters.") % {"num": "120"}
                    continue
                service.set_section_translation(db, actor, section.id, code, SectionTranslationIn(name=name))
        if errors:
            raise InvalidInput("Some names are too long.")
    except DomainError as exc:
        db.rollback()
        if exc.status == 404:
            return _render(request, actor, "not_found.html", {"detail": exc.detail}, 404)
        status = exc.status
        if not errors:
            errors = {"form": lang.gettext(exc.detail)}
        return _categories_page(request, db, actor, {key: errors}, {key: form}, status)
    return RedirectResponse(f"/kb/manage/categories#category-{category_id}", status_code=303)


@router.post("/kb/manage/categories/{category_id}/delete", response_class=HTMLResponse)
def manage_category_delete(
    request: Request, db: DB, actor: CurrentActor, category_id: int, csrf: Short = ""
) -> Response:
    if (denied := _staff_only(request, actor)) is not None:
        return denied
    key = f"category-{category_id}"
    if not csrf_ok(request, csrf):
        return _expired(request, db, actor, key, {})
    try:
        service.delete_category(db, actor, category_id)
    except DomainError as exc:
        return _category_form_failed(request, db, actor, key, {}, exc)
    return RedirectResponse("/kb/manage/categories", status_code=303)


@router.post("/kb/manage/categories/{category_id}/sections", response_class=HTMLResponse)
def manage_section_create(
    request: Request,
    db: DB,
    actor: CurrentActor,
    category_id: int,
    name: Short = "",
    position: Short = "0",
    csrf: Short = "",
) -> Response:
    if (denied := _staff_only(request, actor)) is not None:
        return denied
    key = f"new-section-{category_id}"
    form = {"name": name, "position": position}
    if not csrf_ok(request, csrf):
        return _expired(request, db, actor, key, form)
    try:
        category = service.get_category_by_id(db, category_id)
        data = SectionIn.model_validate(
            {"category": category.slug, "name": name, "position": _position(position or "0")}
        )
        service.create_section(db, actor, data)
    except (ValidationError, DomainError) as exc:
        return _category_form_failed(request, db, actor, key, form, exc)
    return RedirectResponse(f"/kb/manage/categories#category-{category_id}", status_code=303)


@router.post("/kb/manage/sections/{section_id}", response_class=HTMLResponse)
def manage_section_update(
    request: Request,
    db: DB,
    actor: CurrentActor,
    section_id: int,
    name: Short = "",
    position: Short = "0",
    csrf: Short = "",
) -> Response:
    if (denied := _staff_only(request, actor)) is not None:
        return denied
    key = f"section-{section_id}"
    form = {"name": name, "position": position}
    if not csrf_ok(request, csrf):
        return _expired(request, db, actor, key, form)
    try:
        patch = SectionPatch.model_validate({"name": name, "position": _position(position or "0")})
        section = service.update_section(db, actor, section_id, patch)
    except (ValidationError, DomainError) as exc:
        return _category_form_failed(request, db, actor, key, form, exc)
    return RedirectResponse(f"/kb/manage/categories#category-{section.category_id}", status_code=303)


@router.post("/kb/manage/sections/{section_id}/delete", response_class=HTMLResponse)
def manage_section_delete(
    request: Request, db: DB, actor: CurrentActor, section_id: int, csrf: Short = ""
) -> Response:
    if (denied := _staff_only(request, actor)) is not None:
        return denied
    key = f"section-{section_id}"
    if not csrf_ok(request, csrf):
        return _expired(request, db, actor, key, {})
    try:
        section = service.get_section(db, section_id)
        category_id = section.category_id
        service.delete_section(db, actor, section_id)
    except DomainError as exc:
        return _category_form_failed(request, db, actor, key, {}, exc)
    return RedirectResponse(f"/kb/manage/categories#category-{category_id}", status_code=303)


# --- staff: FAQ -------------------------------------------------------------------------
FAQ_ARTICLE = N_("Enter the number of an existing article, or leave it empty.")


def _faq_message(request: Request, exc: DomainError | ValidationError) -> dict[str, str]:
    """{field: message in the reader's language} for the FAQ forms."""
    lang = lang_for(request)
    if isinstance(exc, ValidationError):
        out: dict[str, str] = {}
        for field in _errors(exc):
            if field == "question":
                out[field] = lang.gettext("Enter a question.")
            elif field == "answer":
                out[field] = lang.gettext("Enter an answer.")
            elif field == "position":
                out[field] = lang.gettext("Enter a whole number from 0 to 1000000.")
            elif field == "article_id":
                out[field] = lang.gettext(FAQ_ARTICLE)
            elif field == "category":
                out[field] = lang.gettext(CATEGORY_UNKNOWN)
            else:
                out[field] = lang.gettext("Check this value.")
        return out
    field = str(exc.extra.get("field") or "form")
    if field == "category":
        return {field: lang.gettext(CATEGORY_UNKNOWN)}
    if field == "article_id":
        return {field: lang.gettext(FAQ_ARTICLE)}
    return {field: lang.gettext(exc.detail)}


def _faq_page(
    request: Request,
    db: Session,
    actor: Actor,
    locale: str,
    errors: dict[str, dict[str, str]] | None = None,
    forms: dict[str, dict[str, str]] | None = None,
    status: int = 200,
) -> HTMLResponse:
    """errors/forms are keyed by form: "new" or "faq-<id>"; a failed form shows what was typed."""
    entries = service.faq_for_staff(db, actor, locale)
    by_category: dict[int, list[Any]] = {}
    for e in entries:
        by_category.setdefault(e.category_id, []).append(e)
    return _render(
        request,
        actor,
        "manage_faq.html",
        {
            "locale": locale,
            "categories": service.list_categories(db),
            "entries": by_category,
            "featured": service.featured_count(db, locale),
            "featured_max": service.FEATURED_MAX,
            "errors": errors or {},
            "forms": forms or {},
        },
        status,
    )


def _faq_failed(
    request: Request,
    db: Session,
    actor: Actor,
    locale: str,
    key: str,
    form: dict[str, str],
    exc: DomainError | ValidationError,
) -> HTMLResponse:
    db.rollback()
    if isinstance(exc, DomainError) and exc.status == 404:
        return _render(request, actor, "not_found.html", {"detail": exc.detail}, 404)
    status = exc.status if isinstance(exc, DomainError) else 422
    return _faq_page(request, db, actor, locale, {key: _faq_message(request, exc)}, {key: form}, status)


def _faq_fields(question: str, answer: str, article_id: str, position: str, featured: str) -> dict[str, Any]:
    article = article_id.strip()
    return {
        "question": question,
        "answer": answer,
        # Not a number: passed on as text so validation names the field.
        "article_id": (int(article) if article.isdigit() and len(article) < 12 else article) or None,
        "position": _position(position or "0"),
        "featured": featured == "yes",
    }


@router.get("/kb/manage/faq", response_class=HTMLResponse)
def manage_faq(request: Request, db: DB, actor: CurrentActor, locale: str | None = None) -> Response:
    if (denied := _staff_only(request, actor)) is not None:
        return denied
    return _faq_page(request, db, actor, _locale(request, locale))


@router.post("/kb/manage/faq", response_class=HTMLResponse)
def manage_faq_create(
    request: Request,
    db: DB,
    actor: CurrentActor,
    now: Now,
    category: Short = "",
    locale: Short = "",
    question: Short = "",
    answer: Long = "",
    article_id: Short = "",
    position: Short = "0",
    featured: Short = "",
    csrf: Short = "",
) -> Response:
    if (denied := _staff_only(request, actor)) is not None:
        return denied
    loc = _locale(request, locale)
    form = {
        "category": category,
        "question": question,
        "answer": answer,
        "article_id": article_id,
        "position": position,
        "featured": featured,
    }
    if not csrf_ok(request, csrf):
        expired = {"new": {"form": lang_for(request).gettext(EXPIRED)}}
        return _faq_page(request, db, actor, loc, expired, {"new": form}, 403)
    try:
        data = FaqIn.model_validate(
            {"category": category, "locale": loc}
            | _faq_fields(question, answer, article_id, position, featured)
        )
        service.create_faq(db, actor, data, now)
    except (ValidationError, DomainError) as exc:
        return _faq_failed(request, db, actor, loc, "new", form, exc)
    return RedirectResponse(f"/kb/manage/faq?locale={loc}", status_code=303)


@router.post("/kb/manage/faq/{entry_id}", response_class=HTMLResponse)
def manage_faq_update(
    request: Request,
    db: DB,
    actor: CurrentActor,
    now: Now,
    entry_id: int,
    locale: Short = "",
    question: Short = "",
    answer: Long = "",
    article_id: Short = "",
    position: Short = "0",
    featured: Short = "",
    csrf: Short = "",
) -> Response:
    if (denied := _staff_only(request, actor)) is not None:
        return denied
    loc = _locale(request, locale)
    key = f"faq-{entry_id}"
    form = {
        "question": question,
        "answer": answer,
        "article_id": article_id,
        "position": position,
        "featured": featured,
    }
    if not csrf_ok(request, csrf):
        expired = {key: {"form": lang_for(request).gettext(EXPIRED)}}
        return _faq_page(request, db, actor, loc, expired, {key: form}, 403)
    try:
        patch = FaqPatch.model_validate(_faq_fields(question, answer, article_id, position, featured))
        service.update_faq(db, actor, entry_id, patch, now)
    except (ValidationError, DomainError) as exc:
        return _faq_failed(request, db, actor, loc, key, form, exc)
    return RedirectResponse(f"/kb/manage/faq?locale={loc}#faq-{entry_id}", status_code=303)


@router.post("/kb/manage/faq/{entry_id}/{action}", response_class=HTMLResponse)
def manage_faq_action(
    request: Request,
    db: DB,
    actor: CurrentActor,
    entry_id: int,
    action: str,
    locale: Short = "",
    csrf: Short = "",
) -> Response:
    """ "up" / "down" move the entry in its category's list; "delete" removes it."""
    if (denied := _staff_only(request, actor)) is not None:
        return denied
    if action not in ("up", "down", "delete"):
        return _render(request, actor, "not_found.html", {"detail": "There is nothing here."}, 404)
    loc = _locale(request, locale)
    key = f"faq-{entry_id}"
    if not csrf_ok(request, csrf):
        return _faq_page(
            request, db, actor, loc, {key: {"form": lang_for(request).gettext(EXPIRED)}}, {}, 403
        )
    try:
        if action == "delete":
            service.delete_faq(db, actor, entry_id)
        else:
            service.move_faq(db, actor, entry_id, action)
    except DomainError as exc:
        return _faq_failed(request, db, actor, loc, key, {}, exc)
    anchor = "" if action == "delete" else f"#faq-{entry_id}"
    return RedirectResponse(f"/kb/manage/faq?locale={loc}{anchor}", status_code=303)


@router.get("/kb/manage/section-options", response_class=HTMLResponse)
def manage_section_options(
    request: Request, db: DB, actor: CurrentActor, category: str = "", selected: str = ""
) -> Response:
    """The <option>s of the section picker for a category (HTMX swaps them in when the
    category picker changes). An unknown category gives only "no section"."""
    if (denied := _staff_only(request, actor)) is not None:
        return denied
    return templates.TemplateResponse(
        request,
        "kb/_section_options.html",
        {"sections": _sections_of(db, category[:120]), "selected": selected},
    )


@router.post("/kb/manage/{article_id}/settings", response_class=HTMLResponse)
def manage_settings(
    request: Request,
    db: DB,
    actor: CurrentActor,
    now: Now,
    article_id: int,
    category: Short = "",
    section_id: Short = "",
    visibility: Short = "",
    organization_id: Short = "",
    locale: Short = "",
    csrf: Short = "",
) -> Response:
    """Move an article to another category or section, or change who may read it."""
    if (denied := _staff_only(request, actor)) is not None:
        return denied
    loc = _locale(request, locale)
    placement = {
        "category": category,
        "section_id": section_id,
        "visibility": visibility,
        "organization_id": organization_id,
    }
    if not csrf_ok(request, csrf):
        return _edit_page(
            request, db, actor, article_id, loc, {}, {"settings": EXPIRED}, 403, placement=placement
        )
    try:
        if not category.strip() or service.find_category(db, category) is None:
            raise _PlacementError({"category": lang_for(request).gettext(CATEGORY_UNKNOWN)})
        org = organization_id.strip()
        if org and not org.isdigit():
            raise _PlacementError({"organization_id": lang_for(request).gettext("Enter an organization id.")})
        patch = ArticlePatch.model_validate(
            {
                "category": category,
                "section_id": _section_id(request, section_id),
                "visibility": visibility,
                "organization_id": int(org) if org else None,
            }
        )
        service.update_article(db, actor, article_id, patch, now)
    except _PlacementError as exc:
        return _edit_page(request, db, actor, article_id, loc, {}, exc.errors, 422, placement=placement)
    except ValidationError as exc:
        return _edit_page(request, db, actor, article_id, loc, {}, _errors(exc), 422, placement=placement)
    except DomainError as exc:
        db.rollback()
        if exc.status == 404:
            return _render(request, actor, "not_found.html", {"detail": exc.detail}, 404)
        errors = _placement_message(request, exc)
        return _edit_page(request, db, actor, article_id, loc, {}, errors, exc.status, placement=placement)
    return RedirectResponse(f"/kb/manage/{article_id}?locale={loc}", status_code=303)


@router.get("/kb/manage/{article_id}", response_class=HTMLResponse)
def manage_edit(
    request: Request,
    db: DB,
    actor: CurrentActor,
    article_id: int,
    locale: str | None = None,
    diff: int | None = None,
) -> Response:
    if (denied := _staff_only(request, actor)) is not None:
        return denied
    loc = _locale(request, locale)
    try:
        article = service.read_article(db, actor, article_id, loc)
    except DomainError as exc:
        return _render(request, actor, "not_found.html", {"detail": exc.detail}, exc.status)
    # Editing a locale the article does not have yet starts a new translation from empty fields.
    exists = article.locale == loc
    form = {"title": article.title if exists else "", "body": article.body if exists else ""}
    return _edit_page(request, db, actor, article_id, loc, form, {}, diff=diff)


@router.post("/kb/manage/{article_id}/translation", response_class=HTMLResponse)
def manage_save(
    request: Request,
    db: DB,
    actor: CurrentActor,
    now: Now,
    article_id: int,
    title: Short = "",
    body: Long = "",
    locale: Short = "",
    note: Short = "",
    csrf: Short = "",
) -> Response:
    if (denied := _staff_only(request, actor)) is not None:
        return denied
    loc = _locale(request, locale)
    form = {"title": title, "body": body, "note": note}
    if not csrf_ok(request, csrf):
        return _edit_page(request, db, actor, article_id, loc, form, {"form": EXPIRED}, 403)
    if analyzer.supported(locale) is None:
        return _edit_page(
            request,
            db,
            actor,
            article_id,
            loc,
            form,
            {"locale": f"'{locale[:20]}' is not a knowledge-base locale."},
            422,
        )
    try:
        service.save_translation(
            db, actor, article_id, loc, TranslationIn(title=title, body=body, note=note or None), now
        )
    except ValidationError as exc:
        return _edit_page(request, db, actor, article_id, loc, form, _errors(exc), 422)
    except DomainError as exc:
        errors = _domain_error(db, exc)
        if exc.status == 404:
            return _render(request, actor, "not_found.html", {"detail": exc.detail}, 404)
        errors = {k: lang_for(request).gettext(v) for k, v in errors.items()}
        return _edit_page(request, db, actor, article_id, loc, form, errors, exc.status)
    return RedirectResponse(f"/kb/manage/{article_id}?locale={loc}", status_code=303)


WORKFLOW = ("publish", "unpublish", "archive", "submit", "approve", "return")


@router.post("/kb/manage/{article_id}/{action}", response_class=HTMLResponse)
def manage_publish(
    request: Request,
    db: DB,
    actor: CurrentActor,
    now: Now,
    article_id: int,
    action: str,
    comment: Long = "",
    locale: Short = "",
    csrf: Short = "",
) -> Response:
    """The workflow buttons: publish directly, submit for review, approve, send back (with a
    comment), back to draft, archive. A refused step comes back on the editor with the
    reason above the buttons and the comment kept."""
    if (denied := _staff_only(request, actor)) is not None:
        return denied
    if action not in WORKFLOW:
        return _render(request, actor, "not_found.html", {"detail": "There is nothing here."}, 404)
    loc = _locale(request, None)
    if not csrf_ok(request, csrf):
        return _edit_page(
            request, db, actor, article_id, loc, {"comment": comment}, {"workflow": EXPIRED}, 403
        )
    try:
        if action == "publish":
            service.publish(db, actor, article_id, now, comment or None)
        elif action == "submit":
            service.submit_for_review(db, actor, article_id, now, comment)
        elif action == "approve":
            service.approve(db, actor, article_id, now, comment)
        elif action == "return":
            service.send_back(db, actor, article_id, now, comment)
        else:
            service.unpublish(db, actor, article_id, now, archive=action == "archive")
    except DomainError as exc:
        db.rollback()
        if exc.status == 404:
            return _render(request, actor, "not_found.html", {"detail": exc.detail}, 404)
        errors = {"workflow": lang_for(request).gettext(exc.detail)}
        return _edit_page(request, db, actor, article_id, loc, {"comment": comment}, errors, exc.status)
    return RedirectResponse(f"/kb/manage/{article_id}?locale={loc}", status_code=303)
