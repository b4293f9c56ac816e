"""Fixtures for the settings pages: a helpdesk, and a browser-like client signed in as a
persona (cookie session + the CSRF token every form needs)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.orm import Session

from tests import factories as f
from tests.sla.factories import office_calendar


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "the page has no CSRF field"
    return match.group(1)


@dataclass
class Browser:
    client: TestClient
    csrf: str = ""

    def get(self, url: str, **kw: Any) -> Response:
        return self.client.get(url, follow_redirects=False, **kw)

    def post(self, url: str, data: dict[str, Any] | None = None, csrf: bool = True) -> Response:
        body = dict(data or {})
        if csrf:
            body.setdefault("csrf", self.csrf)
        return self.client.post(url, data=body, follow_redirects=False)

    def follow(self, response: Response) -> Response:
        assert response.status_code == 303, response.text[:2000]
        return self.client.get(response.headers["location"])


@pytest.fixture
def hd(db: Session) -> f.Helpdesk:
    desk = f.helpdesk(db)
    desk.teams["calendar"] = office_calendar(db)  # the office calendar's id, for forms
    db.flush()
    return desk


@pytest.fixture
def sign_in(client: TestClient, hd: f.Helpdesk) -> Callable[[str], Browser]:
    def _sign_in(who: str) -> Browser:
        emails = {
            "supervisor": "sup@desk.example.com",
            "admin": "admin@desk.example.com",
            "l1": "l1@desk.example.com",
            "fraud": "fraud@desk.example.com",
            "alice": "alice@cust.example.com",
        }
        page = client.get("/login")
        r = client.post(
            "/login",
            data={"email": emails[who], "password": f.PASSWORD, "csrf": csrf_of(page.text)},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        return Browser(client, csrf_of(client.get("/login").text))

    return _sign_in


@pytest.fixture
def supervisor(sign_in: Callable[[str], Browser]) -> Browser:
    return sign_in("supervisor")
