"""The embeddable widget (/help/widget): the answer bot in an iframe on another site, where the
SameSite=Lax session cookie is never sent, so every request below is made without cookies."""

from __future__ import annotations

import re
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests import factories as f
from tests.kb import factories as kbf
from tests.kb.test_pages import csrf_of, sign_in
from tierdesk.core.clock import FrozenClock
from tierdesk.kb.models import SelfServiceSession
from tierdesk.kb.pages import WIDGET_TOKEN_MAX_AGE
from tierdesk.tickets.models import Message, Ticket

QUESTION = "how long do refunds take"


def _cookieless(client: TestClient, method: str, url: str, **kw: Any) -> httpx.Response:
    client.cookies.clear()
    return client.request(method, url, **kw)


def _ask(client: TestClient) -> tuple[str, str]:
    page = _cookieless(client, "GET", "/help/widget")
    token = csrf_of(page.text)
    answered = _cookieless(
        client, "POST", "/help/widget", data={"question": QUESTION, "csrf": token, "locale": "en"}
    )
    assert answered.status_code == 200, answered.text
    assert "Refunds take up to 14 days" in answered.text
    assert 'target="_blank" rel="noopener"' in answered.text
    key = re.search(r'action="/help/widget/([^/"]+)/feedback"', answered.text)
    assert key
    return key.group(1), token


def _refund_article(db: Session, clock: FrozenClock) -> None:
    f.helpdesk(db)
    kbf.article(db, clock.now(), "Refund policy", "Refunds take up to 14 days to arrive.", category="billing")


def test_widget_page_speaks_the_readers_language_and_may_be_framed_anywhere(client: TestClient) -> None:
    page = client.get("/help/widget", headers={"Accept-Language": "ja"})
    assert page.status_code == 200
    assert '<html lang="ja"' in page.text and "質問する" in page.text
    assert page.headers["content-security-policy"] == "frame-ancestors *"


def test_only_widget_routes_allow_framing(client: TestClient) -> None:
    for url in ("/help", "/help/ask", "/login"):
        res = client.get(url)
        assert res.headers.get("content-security-policy") == "frame-ancestors 'self'", url


def test_widget_answers_without_a_cookie_and_yes_counts_as_deflected(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    _refund_article(db, clock)
    key, token = _ask(client)
    solved = _cookieless(
        client, "POST", f"/help/widget/{key}/feedback", data={"solved": "yes", "csrf": token}
    )
    assert solved.status_code == 200 and "Glad we could help" in solved.text
    assert solved.headers["content-security-policy"] == "frame-ancestors *"
    db.expire_all()
    session = db.scalars(select(SelfServiceSession).where(SelfServiceSession.key == key)).one()
    assert session.outcome == "solved" and session.ticket_id is None


def test_widget_no_asks_an_anonymous_visitor_for_email_then_opens_a_ticket_with_the_transcript(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    _refund_article(db, clock)
    key, token = _ask(client)
    missing = _cookieless(
        client, "POST", f"/help/widget/{key}/feedback", data={"solved": "no", "csrf": token}
    )
    assert missing.status_code == 422 and "e-mail" in missing.text
    handed = _cookieless(
        client,
        "POST",
        f"/help/widget/{key}/feedback",
        data={"solved": "no", "csrf": token, "email": "eve@cust.example.com", "details": "still waiting"},
    )
    assert handed.status_code == 200 and "T-" in handed.text
    db.expire_all()
    session = db.scalars(select(SelfServiceSession).where(SelfServiceSession.key == key)).one()
    assert session.outcome == "handed_off" and session.ticket_id is not None
    ticket = db.get(Ticket, session.ticket_id)
    assert ticket is not None and ticket.channel == "bot" and QUESTION in ticket.subject
    notes = db.scalars(select(Message.body).where(Message.ticket_id == ticket.id, Message.kind == "internal"))
    assert any("Answer bot transcript" in n and QUESTION in n for n in notes)


def test_widget_forms_refuse_a_forged_or_portal_token(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    _refund_article(db, clock)
    for bad in ("", "nope", "abc.def.ghi"):
        res = _cookieless(client, "POST", "/help/widget", data={"question": QUESTION, "csrf": bad})
        assert res.status_code == 403, bad
    # A widget token does not open the portal's (session-bound) forms.
    _key, token = _ask(client)
    assert client.post("/help/ask", data={"question": QUESTION, "csrf": token}).status_code == 403


def test_widget_token_expires_after_four_hours(client: TestClient, db: Session, clock: FrozenClock) -> None:
    _refund_article(db, clock)
    page = _cookieless(client, "GET", "/help/widget")
    token = csrf_of(page.text)
    clock.advance(seconds=WIDGET_TOKEN_MAX_AGE - 60)
    fresh = _cookieless(client, "POST", "/help/widget", data={"question": QUESTION, "csrf": token})
    assert fresh.status_code == 200
    clock.advance(seconds=120)
    stale = _cookieless(client, "POST", "/help/widget", data={"question": QUESTION, "csrf": token})
    assert stale.status_code == 403 and "expired" in stale.text


def test_signed_in_customer_keeps_the_session_csrf_in_the_widget(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    _refund_article(db, clock)
    f.customer_login(db, "erin@cust.example.com")
    sign_in(client, "erin@cust.example.com")
    page = client.get("/help/widget")
    token = csrf_of(page.text)
    forged = client.post("/help/widget", data={"question": QUESTION, "csrf": "x"})
    assert forged.status_code == 403
    answered = client.post("/help/widget", data={"question": QUESTION, "csrf": token})
    assert answered.status_code == 200 and "Refunds take up to 14 days" in answered.text
    assert 'id="kb-email"' not in answered.text  # a customer is not asked for an e-mail address
