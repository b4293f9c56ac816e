"""The path-prefix check in front of each included router (web/route_index.py) skips
routers that cannot match, and never changes which route serves a request."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tierdesk.web.route_index import literal_prefix


def _scope(path: str, method: str) -> dict[str, Any]:
    return {
        "type": "http",
        "path": path,
        "root_path": "",
        "method": method,
        "headers": [],
        "query_string": b"",
    }


def _indexed(app: FastAPI) -> list[Any]:
    return [r for r in app.router.routes if hasattr(r.matches, "__wrapped__")]


def _sample_paths(app: FastAPI) -> list[tuple[str, str]]:
    """A concrete path for every route of the app (each parameter filled in), with one of
    its methods, plus the same path with its trailing slash added or removed."""
    out = []
    for router in _indexed(app):
        for context in router.effective_route_contexts():
            path = re.sub(r"\{[^}]+\}", "1", context.path_format)
            method = sorted(getattr(context.original_route, "methods", None) or {"GET"})[0]
            out += [(path, method), (path.rstrip("/") if path.endswith("/") else path + "/", method)]
    return out


def test_most_routers_get_a_prefix_check(app: FastAPI) -> None:
    assert len(_indexed(app)) >= 15


def test_the_check_gives_every_router_the_answer_it_gave_without_it_for_every_route(app: FastAPI) -> None:
    samples = [*_sample_paths(app), ("/nowhere", "GET"), ("/api/v1/nothing/here", "POST"), ("/", "GET")]
    assert len(samples) > 400
    for router in _indexed(app):
        for path, method in samples:
            checked, _ = router.matches(_scope(path, method))
            plain, _ = router.matches.__wrapped__(_scope(path, method))
            assert checked == plain, (path, method)


def test_a_page_request_tries_no_route_of_the_api(client: TestClient, app: FastAPI) -> None:
    tried = []
    api = [r for r in _indexed(app) if all(p.startswith("/api/") for p in _prefixes(r))]
    assert api
    for router in api:
        inner = router.matches.__wrapped__

        def counting(scope: Any, inner: Any = inner) -> Any:
            tried.append(scope["path"])
            return inner(scope)

        router.matches.__wrapped__ = counting  # the check in front stays
    assert client.get("/login").status_code == 200
    assert tried == []
    assert client.get("/api/v1/me").status_code == 401  # an API path still reaches them
    assert tried


def _prefixes(router: Any) -> set[str]:
    return {literal_prefix(c.path_format) for c in router.effective_route_contexts()}


def test_a_literal_prefix_stops_at_the_first_parameter_and_drops_the_trailing_slash() -> None:
    assert literal_prefix("/api/v1/tickets/{ref}/events") == "/api/v1/tickets"
    assert literal_prefix("/desk/mine") == "/desk/mine"
    assert literal_prefix("/settings/") == "/settings"
    assert literal_prefix("/") == ""
