"""Let FastAPI's router skip whole groups of routes by the request path's prefix.

FastAPI (0.165) matches a request by trying the routes of each included router in turn,
and each try costs a few microseconds (scope bookkeeping, then the route's regex). The
app includes the API routers first: a page such as `/tickets/T-42` was tried against
about 230 API and page routes before its own, which cost about a fifth of the ticket
page's CPU (docs/performance.md, "The ticket page"). `index_routers` gives each included
router a check first: whether the request path starts with the literal part of one of its
routes' paths (`/api/v1/tickets/` for `/api/v1/tickets/{ref}`). If not, no route of that
router can match, and FastAPI does not try them. Which route serves a request does not
change: the routers are tried in the same order, and a router that might match is tried
exactly as before. A router whose routes this module cannot read is left as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from starlette.routing import Match, get_route_path
from starlette.types import Scope


def literal_prefix(path_format: str) -> str:
    """The part of a route path before its first parameter, without a trailing slash
    (so `/x` and `/x/` both pass the check, as the router's slash redirect needs)."""
    return path_format.split("{", 1)[0].rstrip("/")


def _prefixes(router: Any) -> tuple[str, ...] | None:
    contexts = getattr(router, "effective_route_contexts", None)
    if contexts is None:
        return None
    found = set()
    for context in contexts():
        path = getattr(context, "path_format", None)
        if not isinstance(path, str) or not path.startswith("/"):
            return None  # a mount or a route of another kind: leave the router alone
        found.add(literal_prefix(path))
    return tuple(sorted(found))


def index_routers(app: FastAPI) -> int:
    """Give each included router of `app` a path-prefix check; returns how many got one."""
    indexed = 0
    for route in app.router.routes:
        prefixes = _prefixes(route)
        if not prefixes or "" in prefixes:  # a route at "/{…}" could match any path
            continue
        setattr(route, "matches", _checked(route.matches, prefixes))  # noqa: B010 (an instance's method)
        indexed += 1
    return indexed


def _checked(
    matches: Callable[[Scope], tuple[Match, Scope]], prefixes: tuple[str, ...]
) -> Callable[[Scope], tuple[Match, Scope]]:
    def checked(scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] in ("http", "websocket") and not get_route_path(scope).startswith(prefixes):
            return Match.NONE, {}
        return checked.__wrapped__(scope)  # type: ignore[attr-defined]

    checked.__wrapped__ = matches  # type: ignore[attr-defined]
    return checked
