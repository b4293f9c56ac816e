from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests import factories as f
from tests.kb import factories as kbf
from tests.kb.test_api import TIME_BOX_ZH
from tierdesk.core.clock import FrozenClock
from tierdesk.core.security import SYSTEM
from tierdesk.kb import service as kb
from tierdesk.kb.models import Visibility
from tierdesk.kb.schemas import CategoryIn


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def sign_in(client: TestClient, email: str) -> None:
    page = client.get("/login")
    res = client.post(
        "/login",
        data={"email": email, "password": f.PASSWORD, "csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert res.status_code == 303, res.text


def test_anonymous_visitor_browses_searches_and_reads_public_articles(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    zh = kbf.article(db, clock.now(), *TIME_BOX_ZH, locale="zh", category="tiers")
    kbf.article(
        db,
        clock.now(),
        "内部退款例外",
        "仅限客服。",
        locale="zh",
        category="tiers",
        visibility=Visibility.internal,
    )
    home = client.get("/help", params={"locale": "zh"})
    assert home.status_code == 200 and "/help/categories/tiers" in home.text
    category = client.get("/help/categories/tiers", params={"locale": "zh"})
    assert TIME_BOX_ZH[0] in category.text and "内部退款例外" not in category.text
    results = client.get("/help/search", params={"q": "一级工单多久要升级", "locale": "zh"})
    assert results.status_code == 200
    assert f"/help/articles/{zh.id}?" in results.text and "<mark>" in results.text
    page = client.get(f"/help/articles/{zh.id}", params={"locale": "zh"})
    assert page.status_code == 200 and TIME_BOX_ZH[0] in page.text


def test_article_page_never_shows_script_and_hidden_articles_are_404(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    art = kbf.article(db, clock.now(), "Title <script>x</script>", "Body <script>alert(1)</script> **ok**")
    acme = kbf.article(
        db,
        clock.now(),
        "Acme only",
        "Secret.",
        visibility=Visibility.organization,
        organization_id=hd.orgs["acme"],
    )
    page = client.get(f"/help/articles/{art.id}")
    assert "<script>alert" not in page.text and "<strong>ok</strong>" in page.text
    assert "&lt;script&gt;x&lt;/script&gt;" in page.text or "<script>x" not in page.text
    assert client.get(f"/help/articles/{acme.id}").status_code == 404
    assert client.get("/help/articles/987654").status_code == 404


def test_empty_and_overlong_searches_show_a_message_not_an_error(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    kbf.article(db, clock.now(), "Anything", "Text.")
    assert client.get("/help/search", params={"q": ""}).status_code == 200
    long = client.get("/help/search", params={"q": "x" * 2000})
    assert long.status_code == 422 and "at most 1000 characters" in long.text
    assert client.get("/help/search", params={"q": "zzzz"}).status_code == 200


def test_votes_from_the_article_page_need_the_form_token(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    art = kbf.article(db, clock.now(), "Vote me", "Text.")
    page = client.get(f"/help/articles/{art.id}")
    bad = client.post(f"/help/articles/{art.id}/vote", data={"helpful": "yes", "csrf": "nope"})
    assert bad.status_code == 403
    ok = client.post(
        f"/help/articles/{art.id}/vote",
        data={"helpful": "yes", "csrf": csrf_of(page.text), "comment": "Nice"},
    )
    assert ok.status_code == 200 and "Thank you" in ok.text


def test_ask_page_answers_and_hands_off_to_a_person(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    f.helpdesk(db)
    kbf.article(db, clock.now(), "Refund policy", "Refunds take up to 14 days to arrive.", category="billing")
    form = client.get("/help/ask")
    token = csrf_of(form.text)
    answered = client.post(
        "/help/ask", data={"question": "how long do refunds take", "csrf": token, "locale": "en"}
    )
    assert answered.status_code == 200 and "Refunds take up to 14 days" in answered.text
    key = re.search(r'action="/help/ask/([^/"]+)/feedback"', answered.text)
    assert key
    missing = client.post(f"/help/ask/{key.group(1)}/feedback", data={"solved": "no", "csrf": token})
    assert missing.status_code == 422 and "e-mail" in missing.text
    handed = client.post(
        f"/help/ask/{key.group(1)}/feedback",
        data={"solved": "no", "csrf": token, "email": "eve@cust.example.com", "details": "still waiting"},
    )
    assert handed.status_code == 200 and "T-" in handed.text


def test_agent_writes_reviews_and_publishes_an_article_from_the_pages(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    f.helpdesk(db)
    kb.create_category(db, SYSTEM, CategoryIn(name="Tiers", slug="tiers"), clock.now())
    sign_in(client, "l2@desk.example.com")
    new = client.get("/kb/manage/new")
    token = csrf_of(new.text)
    bad = client.post(
        "/kb/manage/new",
        data={
            "csrf": token,
            "title": "",
            "body": "x",
            "locale": "en",
            "category": "tiers",
            "visibility": "public",
        },
    )
    assert bad.status_code == 422 and 'id="err-title"' in bad.text
    created = client.post(
        "/kb/manage/new",
        data={
            "csrf": token,
            "title": "Escalation basics",
            "body": "L1 has 15 minutes.",
            "locale": "en",
            "category": "tiers",
            "visibility": "public",
            "draft": "yes",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    url = created.headers["location"].split("?")[0]
    article_id = int(url.rsplit("/", 1)[1])
    assert (
        client.get("/help/search", params={"q": "escalation"}).text.count(f"/help/articles/{article_id}?")
        == 0
    )
    saved = client.post(
        f"{url}/translation",
        data={
            "csrf": token,
            "locale": "en",
            "title": "Escalation basics",
            "body": "L1 has 20 minutes.",
            "note": "new box",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    client.post(f"{url}/publish", data={"csrf": token})
    assert f"/help/articles/{article_id}?" in client.get("/help/search", params={"q": "escalation"}).text
    edit = client.get(url)
    rev = re.search(r"diff=(\d+)", edit.text)
    assert rev
    diff = client.get(url, params={"diff": rev.group(1)})
    assert "+L1 has 20 minutes." in diff.text


def test_customers_cannot_open_the_staff_pages_and_anonymous_visitors_must_sign_in(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    f.helpdesk(db)
    assert client.get("/kb/manage", follow_redirects=False).status_code == 303
    sign_in(client, "alice@cust.example.com")
    assert client.get("/kb/manage").status_code == 404
    assert client.get("/kb/manage/analytics").status_code == 404


def test_analytics_page_shows_deflection(client: TestClient, db: Session, clock: FrozenClock) -> None:
    f.helpdesk(db)
    kbf.article(db, clock.now(), "Refund policy", "Refunds take up to 14 days to arrive.", category="billing")
    session = client.post("/api/v1/answers", json={"question": "refunds take days", "locale": "en"}).json()[
        "session"
    ]
    client.post(f"/api/v1/answers/{session}/feedback", json={"solved": True})
    sign_in(client, "sup@desk.example.com")
    page = client.get("/kb/manage/analytics")
    assert page.status_code == 200
    assert "100.0 %" in page.text and "billing" in page.text and "Refund policy" in page.text
