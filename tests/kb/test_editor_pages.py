"""The staff article editor places an article in a category and one of its sections:
pickers instead of typed names, sections filtered to the chosen category, and refusals
shown next to the field with what was typed kept."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests import factories as f
from tests.kb import factories as kbf
from tests.kb.test_pages import csrf_of, sign_in
from tierdesk.core.clock import FrozenClock
from tierdesk.core.security import SYSTEM
from tierdesk.kb import service as kb
from tierdesk.kb.models import Article, Category, Section
from tierdesk.kb.schemas import CategoryIn, SectionIn


def _shelves(db: Session, clock: FrozenClock) -> tuple[Category, Section, Category, Section]:
    billing = kb.create_category(db, SYSTEM, CategoryIn(name="Billing", slug="billing"), clock.now())
    refunds = kb.create_section(db, SYSTEM, SectionIn(category="billing", name="Refunds"))
    accounts = kb.create_category(db, SYSTEM, CategoryIn(name="Accounts", slug="accounts"), clock.now())
    logins = kb.create_section(db, SYSTEM, SectionIn(category="accounts", name="Logging in"))
    return billing, refunds, accounts, logins


def test_the_new_article_form_offers_categories_and_the_sections_of_the_chosen_one(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    f.helpdesk(db)
    _, refunds, _, logins = _shelves(db, clock)
    sign_in(client, "l1@desk.example.com")
    page = client.get("/kb/manage/new")
    assert page.status_code == 200
    assert '<option value="billing">Billing</option>' in page.text
    options = client.get("/kb/manage/section-options", params={"category": "billing"})
    assert options.status_code == 200
    assert f'value="{refunds.id}"' in options.text and f'value="{logins.id}"' not in options.text
    assert "No section" in client.get("/kb/manage/section-options", params={"category": "nope"}).text


def test_an_agent_creates_an_article_in_a_section_chosen_on_the_page(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    f.helpdesk(db)
    billing, refunds, _, _ = _shelves(db, clock)
    sign_in(client, "l1@desk.example.com")
    token = csrf_of(client.get("/kb/manage/new").text)
    res = client.post(
        "/kb/manage/new",
        data={
            "csrf": token,
            "title": "Refund timing",
            "body": "Refunds take five days.",
            "locale": "en",
            "category": "billing",
            "section_id": str(refunds.id),
            "visibility": "public",
        },
        follow_redirects=False,
    )
    assert res.status_code == 303, res.text
    article_id = int(res.headers["location"].split("?")[0].rsplit("/", 1)[1])
    saved = db.get(Article, article_id)
    assert saved is not None and (saved.category_id, saved.section_id) == (billing.id, refunds.id)


def test_a_section_of_another_category_is_refused_next_to_the_field_and_the_input_is_kept(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    f.helpdesk(db)
    _, _, _, logins = _shelves(db, clock)
    sign_in(client, "l1@desk.example.com")
    token = csrf_of(client.get("/kb/manage/new").text)
    res = client.post(
        "/kb/manage/new",
        data={
            "csrf": token,
            "title": "Refund timing",
            "body": "Refunds take five days.",
            "locale": "en",
            "category": "billing",
            "section_id": str(logins.id),
            "visibility": "public",
        },
    )
    assert res.status_code == 422
    assert 'id="err-section_id"' in res.text and "Choose a section of the chosen category." in res.text
    assert 'value="Refund timing"' in res.text and "Refunds take five days." in res.text
    assert db.query(Article).count() == 0


def test_an_unknown_category_or_a_garbled_section_is_a_422_with_the_message_by_the_field(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    f.helpdesk(db)
    _shelves(db, clock)
    sign_in(client, "l1@desk.example.com")
    token = csrf_of(client.get("/kb/manage/new").text)
    base = {"csrf": token, "title": "T", "body": "B", "locale": "en", "visibility": "public"}
    unknown = client.post("/kb/manage/new", data=base | {"category": "made-up"})
    assert unknown.status_code == 422 and 'id="err-category"' in unknown.text
    garbled = client.post("/kb/manage/new", data=base | {"category": "billing", "section_id": "1; drop"})
    assert garbled.status_code == 422 and 'id="err-section_id"' in garbled.text
    assert db.query(Category).filter(Category.slug == "made-up").count() == 0


def test_an_existing_article_moves_to_another_category_and_section_from_its_editor(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    f.helpdesk(db)
    _, refunds, accounts, logins = _shelves(db, clock)
    art = kbf.article(db, clock.now(), "Reset a password", "Use the link.", category="billing")
    sign_in(client, "l2@desk.example.com")
    edit = client.get(f"/kb/manage/{art.id}")
    assert 'id="placement"' in edit.text and f'value="{refunds.id}"' in edit.text
    token = csrf_of(edit.text)
    wrong = client.post(
        f"/kb/manage/{art.id}/settings",
        data={"csrf": token, "category": "accounts", "section_id": str(refunds.id), "visibility": "public"},
    )
    assert wrong.status_code == 422 and 'id="err-section_id"' in wrong.text
    # The picker shows the category that was chosen, with its sections, not the saved one.
    assert '<option value="accounts" selected>' in wrong.text and f'value="{logins.id}"' in wrong.text
    moved = client.post(
        f"/kb/manage/{art.id}/settings",
        data={"csrf": token, "category": "accounts", "section_id": str(logins.id), "visibility": "internal"},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    db.expire_all()
    saved = db.get(Article, art.id)
    assert saved is not None
    assert (saved.category_id, saved.section_id, saved.visibility) == (accounts.id, logins.id, "internal")


def test_the_placement_form_needs_its_token_and_customers_cannot_use_it(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    f.helpdesk(db)
    billing, _, _, _ = _shelves(db, clock)
    art = kbf.article(db, clock.now(), "Reset a password", "Use the link.", category="billing")
    sign_in(client, "l2@desk.example.com")
    expired = client.post(f"/kb/manage/{art.id}/settings", data={"csrf": "nope", "category": "accounts"})
    assert expired.status_code == 403
    db.expire_all()
    assert db.get(Article, art.id).category_id == billing.id  # type: ignore[union-attr]
    client.cookies.clear()
    sign_in(client, "alice@cust.example.com")
    assert client.get("/kb/manage/section-options", params={"category": "billing"}).status_code == 404
    denied = client.post(f"/kb/manage/{art.id}/settings", data={"csrf": "x", "category": "accounts"})
    assert denied.status_code == 404
