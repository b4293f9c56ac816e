"""Sign-in and sign-out pages (cookie session + CSRF)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tierdesk.accounts import service
from tierdesk.core.errors import DomainError, InvalidInput
from tierdesk.core.i18n import LANGUAGES
from tierdesk.core.security import Actor
from tierdesk.tiers.schemas import known_timezones
from tierdesk.web.csrf import csrf_ok, csrf_token, rotate
from tierdesk.web.deps import DB, AppSettings, CurrentActor, Now, TxRoute
from tierdesk.web.i18n import CurrentLang
from tierdesk.web.templating import templates

router = APIRouter(route_class=TxRoute, include_in_schema=False)


def _login_page(
    request: Request, error: str | None = None, email: str = "", status: int = 200
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "accounts/login.html",
        {"csrf": csrf_token(request), "error": error, "email": email},
        status_code=status,
    )


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> HTMLResponse:
    return _login_page(request)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    db: DB,
    now: Now,
    settings: AppSettings,
    lang: CurrentLang,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    if not csrf_ok(request, csrf):
        return _login_page(request, lang.gettext("Your form expired. Please try again."), email, 403)
    client = request.client.host if request.client else "unknown"
    try:
        user = service.sign_in(
            db, email, password, client, now, settings.login_max_failures, settings.login_window_seconds
        )
    except DomainError as exc:
        # Failed attempts must be recorded even though we answer with an error page.
        db.commit()
        # Service messages are marked with N_() where they are raised and translated here.
        return _login_page(request, lang.gettext(exc.detail), email, exc.status)
    request.session.clear()
    request.session["user_id"] = user.id
    rotate(request)
    return RedirectResponse("/", status_code=303)


@router.post("/logout")
def logout(request: Request, csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
    if not csrf_ok(request, csrf):
        return RedirectResponse("/", status_code=303)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


# --- preferences: the profile's language and time zone (every signed-in person) ------------------
SAVED_KEY = "preferences_saved"


def _preferences_page(
    request: Request,
    actor: Actor,
    language: str,
    timezone: str,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "accounts/preferences.html",
        {
            "actor": actor,
            "csrf": csrf_token(request),
            "layout": "portal/_layout.html" if actor.is_customer else "base.html",
            "languages": [(code, own_name) for code, (_, _, own_name) in LANGUAGES.items()],
            "timezones": known_timezones(),
            "values": {"language": language, "timezone": timezone},
            "errors": errors or {},
            "saved": request.session.pop(SAVED_KEY, False),
        },
        status_code=status,
    )


@router.get("/preferences", response_class=HTMLResponse)
def preferences_form(request: Request, actor: CurrentActor, lang: CurrentLang) -> Response:
    if actor.is_anonymous:
        return RedirectResponse("/login", status_code=303)
    return _preferences_page(request, actor, lang.code, actor.timezone)


@router.post("/preferences", response_class=HTMLResponse)
def save_preferences(
    request: Request,
    db: DB,
    actor: CurrentActor,
    lang: CurrentLang,
    language: Annotated[str, Form(max_length=10)] = "",
    timezone: Annotated[str, Form(max_length=64)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    if actor.is_anonymous:
        return RedirectResponse("/login", status_code=303)
    if not csrf_ok(request, csrf):
        errors = {"language": lang.gettext("Your form expired. Go back, reload the page and try again.")}
        return _preferences_page(request, actor, language, timezone, errors, 403)
    try:
        service.set_preferences(db, actor, language, timezone.strip())
    except InvalidInput as exc:
        errors = {str(exc.extra.get("field", "language")): lang.gettext(exc.detail)}
        return _preferences_page(request, actor, language, timezone, errors, 422)
    request.session[SAVED_KEY] = True
    return RedirectResponse("/preferences", status_code=303)
