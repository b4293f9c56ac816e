"""FAQ entries are curated by staff per category and locale: created, edited, reordered,
featured for the portal home and deleted, through the API and the management page."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests import factories as f
from tests.kb import factories as kbf
from tests.kb.test_api import auth
from tests.kb.test_pages import csrf_of, sign_in
from tierdesk.core.clock import FrozenClock
from tierdesk.core.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from tierdesk.core.security import ANONYMOUS, SYSTEM, Actor, Role
from tierdesk.kb import service as kb
from tierdesk.kb.models import FaqEntry, Visibility
from tierdesk.kb.schemas import CategoryIn, FaqIn, FaqPatch


def _faq(
    db: Session, clock: FrozenClock, question: str, category: str = "billing", **extra: object
) -> FaqEntry:
    data = FaqIn.model_validate({"category": category, "question": question, "answer": "An answer."} | extra)
    return kb.create_faq(db, SYSTEM, data, clock.now())


@pytest.fixture
def billing(db: Session, clock: FrozenClock) -> None:
    kb.create_category(db, SYSTEM, CategoryIn(name="Billing", slug="billing"), clock.now())
    kb.create_category(db, SYSTEM, CategoryIn(name="Accounts", slug="accounts"), clock.now())


@pytest.mark.usefixtures("billing")
def test_moving_an_entry_up_swaps_it_with_the_one_before_even_when_positions_tie(
    db: Session, clock: FrozenClock
) -> None:
    a, b, c = (_faq(db, clock, q) for q in ("A?", "B?", "C?"))  # all at position 0
    order = kb.move_faq(db, SYSTEM, c.id, "up")
    assert [e.question for e in order] == ["A?", "C?", "B?"]
    assert [e.position for e in order] == [0, 10, 20]
    assert [e.question for e in kb.move_faq(db, SYSTEM, a.id, "up")] == ["A?", "C?", "B?"]
    assert [e.question for e in kb.move_faq(db, SYSTEM, a.id, "down")] == ["C?", "A?", "B?"]
    assert b.position == 20


@pytest.mark.usefixtures("billing")
def test_an_entry_is_edited_field_by_field_and_unlinked_from_its_article(
    db: Session, clock: FrozenClock
) -> None:
    art = kbf.article(db, clock.now(), "Refunds", "Five days.", category="billing")
    entry = _faq(db, clock, "How long?", article_id=art.id)
    kb.update_faq(
        db, SYSTEM, entry.id, FaqPatch(question="How long do refunds take?", featured=True), clock.now()
    )
    assert (entry.question, entry.featured, entry.article_id) == ("How long do refunds take?", True, art.id)
    kb.update_faq(db, SYSTEM, entry.id, FaqPatch.model_validate({"article_id": None}), clock.now())
    assert entry.article_id is None and entry.answer == "An answer."
    kb.update_faq(db, SYSTEM, entry.id, FaqPatch(category="accounts", locale="ja"), clock.now())
    assert entry.locale == "ja"


@pytest.mark.usefixtures("billing")
def test_bad_faq_edits_are_refused_and_only_staff_may_edit(db: Session, clock: FrozenClock) -> None:
    entry = _faq(db, clock, "Q?")
    with pytest.raises(InvalidInput):
        kb.update_faq(db, SYSTEM, entry.id, FaqPatch(article_id=987654), clock.now())
    with pytest.raises(InvalidInput):
        kb.update_faq(db, SYSTEM, entry.id, FaqPatch(category="nowhere"), clock.now())
    with pytest.raises(InvalidInput):
        kb.update_faq(db, SYSTEM, entry.id, FaqPatch(answer="<script>alert(1)</script>"), clock.now())
    with pytest.raises(NotFound):
        kb.move_faq(db, SYSTEM, 987654, "up")
    customer = Actor(user_id=1, role=Role.customer, scopes=frozenset())
    with pytest.raises(Forbidden):
        kb.update_faq(db, customer, entry.id, FaqPatch(featured=True), clock.now())
    with pytest.raises(Unauthorized):
        kb.move_faq(db, ANONYMOUS, entry.id, "up")


def test_the_faq_api_edits_and_reorders_with_clear_errors(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    token = f.token(db, hd.users["l1"], clock.now())
    customer = f.token(db, hd.users["alice"], clock.now())
    kb.create_category(db, SYSTEM, CategoryIn(name="Billing", slug="billing"), clock.now())
    first, second = _faq(db, clock, "First?"), _faq(db, clock, "Second?", position=5)
    res = client.patch(
        f"/api/v1/kb/faq/{first.id}", json={"featured": True, "answer": "New."}, headers=auth(token)
    )
    assert res.status_code == 200 and res.json()["featured"] is True and res.json()["answer"] == "New."
    moved = client.post(f"/api/v1/kb/faq/{second.id}/move", json={"direction": "up"}, headers=auth(token))
    assert moved.status_code == 200 and [e["question"] for e in moved.json()] == ["Second?", "First?"]
    for bad in (
        {"position": -1},
        {"question": " "},
        {"locale": "xx"},
        {"colour": "red"},
        {"position": 10**12},
    ):
        assert client.patch(f"/api/v1/kb/faq/{first.id}", json=bad, headers=auth(token)).status_code == 422, (
            bad
        )
    sideways = client.post(f"/api/v1/kb/faq/{first.id}/move", json={"direction": "left"}, headers=auth(token))
    assert sideways.status_code == 422
    assert (
        client.patch("/api/v1/kb/faq/987654", json={"featured": True}, headers=auth(token)).status_code == 404
    )
    assert (
        client.patch(
            f"/api/v1/kb/faq/{first.id}", json={"featured": False}, headers=auth(customer)
        ).status_code
        == 403
    )
    assert client.patch(f"/api/v1/kb/faq/{first.id}", json={"featured": False}).status_code == 401


def test_staff_manage_faq_entries_on_the_page_and_the_portal_home_shows_the_featured_ones(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    f.helpdesk(db)
    kb.create_category(db, SYSTEM, CategoryIn(name="Billing", slug="billing"), clock.now())
    sign_in(client, "l1@desk.example.com")
    page = client.get("/kb/manage/faq")
    assert page.status_code == 200
    token = csrf_of(page.text)
    for q in ("When is my invoice sent?", "Can I pay by card?"):
        res = client.post(
            "/kb/manage/faq",
            data={
                "csrf": token,
                "category": "billing",
                "locale": "en",
                "question": q,
                "answer": "Yes.",
                "featured": "yes",
            },
            follow_redirects=False,
        )
        assert res.status_code == 303, res.text
    invoice, card = db.query(FaqEntry).order_by(FaqEntry.id).all()
    listed = client.get("/kb/manage/faq").text
    assert "2 questions are featured in this language." in listed
    assert listed.index("When is my invoice sent?") < listed.index("Can I pay by card?")
    assert (
        client.post(f"/kb/manage/faq/{card.id}/up", data={"csrf": token}, follow_redirects=False).status_code
        == 303
    )
    home = client.get("/help").text
    assert home.index("Can I pay by card?") < home.index("When is my invoice sent?")
    edited = client.post(
        f"/kb/manage/faq/{invoice.id}",
        data={
            "csrf": token,
            "locale": "en",
            "question": "When is my invoice sent?",
            "answer": "Monthly.",
            "position": "0",
        },
        follow_redirects=False,
    )
    assert edited.status_code == 303
    home = client.get("/help").text
    assert "When is my invoice sent?" not in home and "Can I pay by card?" in home
    deleted = client.post(f"/kb/manage/faq/{card.id}/delete", data={"csrf": token}, follow_redirects=False)
    assert deleted.status_code == 303 and db.query(FaqEntry).count() == 1


def test_faq_page_errors_are_shown_next_to_the_field_and_keep_the_input(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    f.helpdesk(db)
    kb.create_category(db, SYSTEM, CategoryIn(name="Billing", slug="billing"), clock.now())
    entry = _faq(db, clock, "Kept?")
    sign_in(client, "l1@desk.example.com")
    token = csrf_of(client.get("/kb/manage/faq").text)
    base = {
        "csrf": token,
        "category": "billing",
        "locale": "en",
        "question": "Typed question",
        "answer": "Typed answer",
    }
    no_article = client.post("/kb/manage/faq", data=base | {"article_id": "987654"})
    assert no_article.status_code == 422 and 'id="err-new-article_id"' in no_article.text
    assert 'value="Typed question"' in no_article.text and "Typed answer" in no_article.text
    not_a_number = client.post("/kb/manage/faq", data=base | {"article_id": "twelve", "position": "-3"})
    assert not_a_number.status_code == 422
    assert 'id="err-new-position"' in not_a_number.text and 'id="err-new-article_id"' in not_a_number.text
    no_category = client.post("/kb/manage/faq", data=base | {"category": ""})
    assert no_category.status_code == 422 and 'id="err-new-category"' in no_category.text
    blank = client.post(f"/kb/manage/faq/{entry.id}", data={"csrf": token, "question": " ", "answer": "A"})
    assert blank.status_code == 422 and f'id="err-faq-{entry.id}-question"' in blank.text
    expired = client.post(f"/kb/manage/faq/{entry.id}/delete", data={"csrf": "stale"})
    assert expired.status_code == 403 and db.query(FaqEntry).count() == 1
    assert client.post("/kb/manage/faq/987654/up", data={"csrf": token}).status_code == 404
    assert client.post(f"/kb/manage/faq/{entry.id}/sideways", data={"csrf": token}).status_code == 404
    assert db.query(FaqEntry).count() == 1


def test_customers_cannot_open_the_faq_page_and_never_see_entries_of_hidden_articles(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    f.helpdesk(db)
    kb.create_category(db, SYSTEM, CategoryIn(name="Billing", slug="billing"), clock.now())
    secret = kbf.article(
        db,
        clock.now(),
        "Refund exceptions",
        "Staff only.",
        category="billing",
        visibility=Visibility.internal,
    )
    _faq(db, clock, "Internal exception?", article_id=secret.id, featured=True)
    _faq(db, clock, "Public question?", featured=True)
    assert client.get("/kb/manage/faq", follow_redirects=False).status_code == 303
    sign_in(client, "alice@cust.example.com")
    assert client.get("/kb/manage/faq").status_code == 404
    home = client.get("/help").text
    assert "Public question?" in home and "Internal exception?" not in home
