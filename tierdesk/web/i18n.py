"""The request's language: the signed-in person's profile language, then Accept-Language.

`CurrentLang` gives a page its `Lang` for strings built in Python (`lang.gettext(...)`);
`activate_for_template` is the template renderer's context processor, which makes the same
`Lang` active for `_()` and the date filters while the template renders.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from tierdesk.core.i18n import LANGUAGES, Lang, activate, negotiate
from tierdesk.core.security import Actor
from tierdesk.web.deps import get_actor


def lang_for(request: Request) -> Lang:
    """Computed once per request (cached on request.state). Uses the actor when the endpoint
    resolved one (get_actor stores it on request.state), so anonymous pages follow the browser."""
    cached = getattr(request.state, "lang", None)
    if isinstance(cached, Lang):
        return cached
    actor: Actor | None = getattr(request.state, "actor", None)
    profile = actor.language if actor is not None and not actor.is_anonymous else None
    code = negotiate(profile, request.headers.get("accept-language"))
    lang = Lang(code=code, timezone=actor.timezone if actor is not None else "UTC")
    request.state.lang = lang
    return lang


async def get_lang(request: Request, actor: Annotated[Actor, Depends(get_actor)]) -> Lang:
    # Depending on get_actor (cached per request by FastAPI) makes sure the profile is known.
    return lang_for(request)


def activate_for_template(request: Request) -> dict[str, Any]:
    lang = lang_for(request)
    activate(lang)
    return {
        "lang": lang.html_lang,
        "i18n": lang,
        "languages": [(code, own_name) for code, (_, _, own_name) in LANGUAGES.items()],
    }


CurrentLang = Annotated[Lang, Depends(get_lang)]
