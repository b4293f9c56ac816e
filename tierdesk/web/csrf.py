"""CSRF tokens for cookie sessions: one random token per session, compared in constant time."""

from __future__ import annotations

from fastapi import Request

from tierdesk.core.security import new_csrf_token, tokens_equal


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = new_csrf_token()
        request.session["csrf"] = token
    return str(token)


def csrf_ok(request: Request, sent: str) -> bool:
    expected = request.session.get("csrf", "")
    return bool(sent) and bool(expected) and tokens_equal(sent, expected)


def rotate(request: Request) -> None:
    request.session["csrf"] = new_csrf_token()
