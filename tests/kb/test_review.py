"""An article can wait "in review" before it is published: its author submits the draft, a
publisher other than the author approves (publishes) it or sends it back with a comment,
and every step is recorded with its actor in the same transaction as the change."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests import factories as f
from tests.kb import factories as kbf
from tests.kb.test_api import auth
from tests.kb.test_pages import csrf_of, sign_in
from tierdesk.core.clock import FrozenClock
from tierdesk.core.config import get_settings
from tierdesk.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from tierdesk.core.security import Actor, Role
from tierdesk.kb import service as kb
from tierdesk.kb.models import Article, ArticleEvent, ArticleStatus, Visibility
from tierdesk.kb.schemas import ArticleIn, ArticlePatch, TranslationIn


def _staff(user_id: int, role: Role) -> Actor:
    return Actor(user_id=user_id, role=role, scopes=frozenset())


@pytest.fixture
def supervisors_publish(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Team publishing: only supervisors and admins publish; agents submit for review."""
    monkeypatch.setenv("TIERDESK_KB_PUBLISHER_ROLES", '["supervisor", "admin"]')
    get_settings.cache_clear()
    yield
    monkeypatch.delenv("TIERDESK_KB_PUBLISHER_ROLES")
    get_settings.cache_clear()


def test_a_draft_goes_through_review_and_every_step_is_recorded(db: Session, clock: FrozenClock) -> None:
    hd = f.helpdesk(db)
    author, reviewer = _staff(hd.users["l1"], Role.agent), _staff(hd.users["supervisor"], Role.supervisor)
    art = kbf.article(db, clock.now(), "Refund timing", "Refunds take five days.", draft=True, who=author)
    kb.submit_for_review(db, author, art.id, clock.now(), "Please check the numbers.")
    assert art.status == ArticleStatus.in_review.value and art.published_at is None
    clock.advance(minutes=5)
    kb.send_back(db, reviewer, art.id, clock.now(), "Say working days.")
    assert art.status == ArticleStatus.draft.value
    kb.submit_for_review(db, author, art.id, clock.now())
    kb.approve(db, reviewer, art.id, clock.now(), "Good.")
    assert art.status == ArticleStatus.published.value and art.published_at == clock.now()
    events = kb.article_events(db, reviewer, art.id)
    assert [(e.kind, e.from_status, e.to_status, e.actor_user_id, e.comment) for e in reversed(events)] == [
        ("submitted", "draft", "in_review", hd.users["l1"], "Please check the numbers."),
        ("returned", "in_review", "draft", hd.users["supervisor"], "Say working days."),
        ("submitted", "draft", "in_review", hd.users["l1"], None),
        ("approved", "in_review", "published", hd.users["supervisor"], "Good."),
    ]


def test_an_article_in_review_is_neither_searchable_nor_readable_by_customers_until_approved(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    author, reviewer = _staff(hd.users["l1"], Role.agent), _staff(hd.users["supervisor"], Role.supervisor)
    art = kbf.article(
        db, clock.now(), "Quokka refunds", "Quokka refunds take five days.", draft=True, who=author
    )
    kb.submit_for_review(db, author, art.id, clock.now())
    assert client.get(f"/api/v1/kb/articles/{art.id}").status_code == 404
    assert client.get("/api/v1/kb/search", params={"q": "quokka"}).json()["results"] == []
    kb.approve(db, reviewer, art.id, clock.now())
    assert [r["id"] for r in client.get("/api/v1/kb/search", params={"q": "quokka"}).json()["results"]] == [
        art.id
    ]


def test_nobody_approves_their_own_submission_and_returning_needs_a_comment(
    db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    sup = _staff(hd.users["supervisor"], Role.supervisor)
    art = kbf.article(db, clock.now(), "Refunds", "Five days.", draft=True, who=sup)
    kb.submit_for_review(db, sup, art.id, clock.now())
    with pytest.raises(Conflict):
        kb.approve(db, sup, art.id, clock.now())
    with pytest.raises(InvalidInput):
        kb.send_back(db, _staff(hd.users["admin"], Role.admin), art.id, clock.now(), "   ")
    with pytest.raises(Conflict):
        kb.submit_for_review(db, sup, art.id, clock.now())
    draft = kbf.article(db, clock.now(), "Other", "Text.", draft=True, who=sup)
    with pytest.raises(Conflict):
        kb.approve(db, _staff(hd.users["admin"], Role.admin), draft.id, clock.now())
    with pytest.raises(NotFound):
        kb.submit_for_review(db, sup, 987654, clock.now())


@pytest.mark.usefixtures("supervisors_publish")
def test_with_team_publishing_agents_submit_and_only_publishers_publish_or_review(
    db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    agent, other_agent = _staff(hd.users["l1"], Role.agent), _staff(hd.users["l2"], Role.agent)
    sup = _staff(hd.users["supervisor"], Role.supervisor)
    with pytest.raises(Forbidden):
        kb.create_article(db, agent, ArticleIn(title="T", body="B", category="general"), clock.now())
    art = kbf.article(db, clock.now(), "Refunds", "Five days.", draft=True, who=agent)
    with pytest.raises(Forbidden):
        kb.publish(db, agent, art.id, clock.now())
    kb.submit_for_review(db, agent, art.id, clock.now())
    for step in (kb.approve, kb.publish):
        with pytest.raises(Forbidden):
            step(db, other_agent, art.id, clock.now())
    with pytest.raises(Forbidden):
        kb.send_back(db, other_agent, art.id, clock.now(), "No.")
    # A supervisor publishing an article in review approves it.
    kb.publish(db, sup, art.id, clock.now())
    assert art.status == ArticleStatus.published.value
    assert db.query(ArticleEvent).filter_by(article_id=art.id, kind="approved").count() == 1
    with pytest.raises(Forbidden):
        kb.unpublish(db, agent, art.id, clock.now())
    # Edits of a published article are live at once: under team publishing, publishers only.
    with pytest.raises(Forbidden):
        kb.save_translation(
            db, agent, art.id, "en", TranslationIn(title="Refunds", body="Ten days."), clock.now()
        )
    with pytest.raises(Forbidden):
        kb.update_article(db, agent, art.id, ArticlePatch(visibility=Visibility.internal), clock.now())
    kb.save_translation(db, sup, art.id, "en", TranslationIn(title="Refunds", body="Ten days."), clock.now())
    # Supervisors keep publishing directly, as before.
    direct = kbf.article(db, clock.now(), "Direct", "Text.", who=sup)
    assert direct.status == ArticleStatus.published.value


def test_the_review_api_moves_articles_and_lists_their_history_with_clear_errors(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    agent = f.token(db, hd.users["l1"], clock.now())
    sup = f.token(db, hd.users["supervisor"], clock.now())
    customer = f.token(db, hd.users["alice"], clock.now())
    res = client.post(
        "/api/v1/kb/articles",
        json={"title": "Refunds", "body": "Five days.", "category": "billing", "draft": True},
        headers=auth(agent),
    )
    art = res.json()["id"]
    submitted = client.post(
        f"/api/v1/kb/articles/{art}/submit", json={"comment": "Ready"}, headers=auth(agent)
    )
    assert submitted.status_code == 200 and submitted.json()["status"] == "in_review"
    assert client.post(f"/api/v1/kb/articles/{art}/submit", headers=auth(agent)).status_code == 409
    assert client.post(f"/api/v1/kb/articles/{art}/approve", headers=auth(agent)).status_code == 409  # own
    no_comment = client.post(f"/api/v1/kb/articles/{art}/return", json={}, headers=auth(sup))
    assert no_comment.status_code == 422 and "change" in no_comment.json()["detail"]
    long = client.post(f"/api/v1/kb/articles/{art}/return", json={"comment": "x" * 2001}, headers=auth(sup))
    assert long.status_code == 422
    assert (
        client.post(f"/api/v1/kb/articles/{art}/return", json={"note": "x"}, headers=auth(sup)).status_code
        == 422
    )
    returned = client.post(
        f"/api/v1/kb/articles/{art}/return", json={"comment": "Add a table."}, headers=auth(sup)
    )
    assert returned.status_code == 200 and returned.json()["status"] == "draft"
    client.post(f"/api/v1/kb/articles/{art}/submit", headers=auth(agent))
    approved = client.post(f"/api/v1/kb/articles/{art}/approve", headers=auth(sup))
    assert approved.status_code == 200 and approved.json()["status"] == "published"
    history = client.get(f"/api/v1/kb/articles/{art}/events", headers=auth(agent)).json()
    assert [e["kind"] for e in history] == ["approved", "submitted", "returned", "submitted"]
    assert client.get(f"/api/v1/kb/articles/{art}/events", headers=auth(customer)).status_code == 403
    assert client.post(f"/api/v1/kb/articles/{art}/submit").status_code == 401
    assert client.post("/api/v1/kb/articles/987654/submit", headers=auth(agent)).status_code == 404
    in_review = client.get("/api/v1/kb/articles", params={"status": "in_review"}, headers=auth(agent)).json()
    assert in_review["items"] == []


def test_the_editor_page_submits_sends_back_and_approves_and_the_list_filters_by_state(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    art = kbf.article(
        db, clock.now(), "Refund timing", "Text.", draft=True, who=_staff(hd.users["l1"], Role.agent)
    )
    sign_in(client, "l1@desk.example.com")
    edit = client.get(f"/kb/manage/{art.id}")
    token = csrf_of(edit.text)
    assert "Submit for review" in edit.text
    assert (
        client.post(f"/kb/manage/{art.id}/submit", data={"csrf": token}, follow_redirects=False).status_code
        == 303
    )
    listed = client.get("/kb/manage", params={"status": "in_review"}).text
    assert "Refund timing" in listed
    assert "Refund timing" not in client.get("/kb/manage", params={"status": "draft"}).text
    own = client.post(f"/kb/manage/{art.id}/approve", data={"csrf": token})
    assert own.status_code == 409 and 'id="err-workflow"' in own.text
    client.cookies.clear()
    sign_in(client, "sup@desk.example.com")
    token = csrf_of(client.get(f"/kb/manage/{art.id}").text)
    bare = client.post(f"/kb/manage/{art.id}/return", data={"csrf": token, "comment": ""})
    assert bare.status_code == 422 and 'id="err-workflow"' in bare.text
    stale = client.post(f"/kb/manage/{art.id}/return", data={"csrf": "stale", "comment": "Kept comment"})
    assert stale.status_code == 403 and "Kept comment" in stale.text
    back = client.post(
        f"/kb/manage/{art.id}/return",
        data={"csrf": token, "comment": "Say working days."},
        follow_redirects=False,
    )
    assert back.status_code == 303
    page = client.get(f"/kb/manage/{art.id}").text
    assert "Say working days." in page and "returned" in page
    db.expire_all()
    assert db.get(Article, art.id).status == "draft"  # type: ignore[union-attr]
