"""Categories and sections are edited and deleted by the people who write articles (staff),
through the API and the management page; one that still holds articles is never deleted."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests import factories as f
from tests.kb import factories as kbf
from tests.kb.test_api import auth
from tests.kb.test_pages import csrf_of, sign_in
from tierdesk.accounts.models import User
from tierdesk.core.clock import FrozenClock
from tierdesk.core.errors import Conflict, Forbidden, NotFound, Unauthorized
from tierdesk.core.security import ANONYMOUS, SYSTEM
from tierdesk.kb import service as kb
from tierdesk.kb.models import Category, FaqEntry, Section
from tierdesk.kb.schemas import ArticlePatch, CategoryIn, CategoryPatch, FaqIn, SectionIn, SectionPatch


def _exists(db: Session, model: type[Category] | type[Section], pk: object) -> bool:
    """Asked of the database, not of this session's identity map (the request used its own)."""
    return db.query(model).filter_by(id=pk).count() == 1


def _category(client: TestClient, token: str, name: str, **extra: object) -> dict[str, object]:
    res = client.post("/api/v1/kb/categories", json={"name": name, **extra}, headers=auth(token))
    assert res.status_code == 201, res.text
    return dict(res.json())


def _section(
    client: TestClient, token: str, category: str, name: str, position: int = 0
) -> dict[str, object]:
    res = client.post(
        "/api/v1/kb/sections",
        json={"category": category, "name": name, "position": position},
        headers=auth(token),
    )
    assert res.status_code == 201, res.text
    return dict(res.json())


def test_agent_renames_describes_and_reorders_a_category_and_the_portal_keeps_its_address(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    token = f.token(db, hd.users["l1"], clock.now())
    billing = _category(client, token, "Billing", position=1)
    _category(client, token, "Accounts", position=2)
    res = client.patch(
        f"/api/v1/kb/categories/{billing['id']}",
        json={"name": "Payments and invoices", "description": "Cards, invoices, refunds.", "position": 5},
        headers=auth(token),
    )
    assert res.status_code == 200, res.text
    assert res.json() == {
        "id": billing["id"],
        "slug": "billing",
        "name": "Payments and invoices",
        "description": "Cards, invoices, refunds.",
        "position": 5,
    }
    listed = client.get("/api/v1/kb/categories").json()
    assert [c["name"] for c in listed] == ["Accounts", "Payments and invoices"]
    assert client.get("/help/categories/billing").status_code == 200
    moved = client.patch(
        f"/api/v1/kb/categories/{billing['id']}", json={"slug": "Payments"}, headers=auth(token)
    )
    assert moved.status_code == 200 and moved.json()["slug"] == "payments"
    assert client.get("/help/categories/payments").status_code == 200


def test_renaming_a_category_to_another_ones_name_or_to_blank_is_refused(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    token = f.token(db, hd.users["l1"], clock.now())
    billing = _category(client, token, "Billing")
    _category(client, token, "Accounts")
    url = f"/api/v1/kb/categories/{billing['id']}"
    taken = client.patch(url, json={"name": "accounts"}, headers=auth(token))
    assert taken.status_code == 409
    assert taken.headers["content-type"].startswith("application/problem+json")
    assert "Accounts".lower() in taken.json()["detail"].lower()
    slug_taken = client.patch(url, json={"slug": "accounts"}, headers=auth(token))
    assert slug_taken.status_code == 409 and "address" in slug_taken.json()["detail"]
    for bad in (
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 121},
        {"position": -1},
        {"position": 10**12},
        {"color": "red"},
    ):
        res = client.patch(url, json=bad, headers=auth(token))
        assert res.status_code == 422, (bad, res.text)
        assert res.headers["content-type"].startswith("application/problem+json")
    assert client.get("/api/v1/kb/categories").json()[0]["name"] == "Billing"
    blank = client.post("/api/v1/kb/categories", json={"name": "  "}, headers=auth(token))
    assert blank.status_code == 422


def test_unknown_category_or_section_is_404(client: TestClient, db: Session, clock: FrozenClock) -> None:
    hd = f.helpdesk(db)
    token = f.token(db, hd.users["l1"], clock.now())
    for method, url in (
        ("PATCH", "/api/v1/kb/categories/999999"),
        ("DELETE", "/api/v1/kb/categories/999999"),
        ("PATCH", "/api/v1/kb/sections/999999"),
        ("DELETE", "/api/v1/kb/sections/999999"),
    ):
        res = client.request(
            method, url, json={"name": "x"} if method == "PATCH" else None, headers=auth(token)
        )
        assert res.status_code == 404, (method, url, res.text)
        assert res.headers["content-type"].startswith("application/problem+json")


def test_a_category_that_holds_articles_is_not_deleted_and_the_409_says_how_many(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    token = f.token(db, hd.users["l1"], clock.now())
    kbf.article(db, clock.now(), "Reset your password", "Open settings.", category="Accounts")
    kbf.article(db, clock.now(), "Change your e-mail", "Open profile.", category="Accounts", draft=True)
    accounts = db.query(Category).filter_by(slug="accounts").one()
    res = client.delete(f"/api/v1/kb/categories/{accounts.id}", headers=auth(token))
    assert res.status_code == 409
    assert res.headers["content-type"].startswith("application/problem+json")
    problem = res.json()
    assert problem["articles"] == 2 and "2 articles" in problem["detail"]
    assert _exists(db, Category, accounts.id)


def test_an_empty_category_is_deleted_with_its_sections(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    token = f.token(db, hd.users["supervisor"], clock.now())
    empty = _category(client, token, "Old stuff")
    section = _section(client, token, "old-stuff", "Leftovers")
    res = client.delete(f"/api/v1/kb/categories/{empty['id']}", headers=auth(token))
    assert res.status_code == 204, res.text
    assert not _exists(db, Category, empty["id"]) and not _exists(db, Section, section["id"])
    assert client.get("/help/categories/old-stuff").status_code == 404
    again = client.delete(f"/api/v1/kb/categories/{empty['id']}", headers=auth(token))
    assert again.status_code == 404


def test_a_category_with_faq_entries_is_not_deleted(db: Session, clock: FrozenClock) -> None:
    cat = kb.create_category(db, SYSTEM, CategoryIn(name="Shipping"), clock.now())
    kb.create_faq(
        db,
        SYSTEM,
        FaqIn(category="shipping", locale="en", question="Where is my parcel?", answer="Track it."),
        clock.now(),
    )
    with pytest.raises(Conflict) as refused:
        kb.delete_category(db, SYSTEM, cat.id)
    assert refused.value.extra["faq_entries"] == 1
    assert db.query(FaqEntry).count() == 1


def test_agent_renames_reorders_and_deletes_sections_but_not_one_holding_articles(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    token = f.token(db, hd.users["l2"], clock.now())
    _category(client, token, "Accounts")
    login = _section(client, token, "accounts", "Login", 1)
    profile = _section(client, token, "accounts", "Profile", 2)
    renamed = client.patch(
        f"/api/v1/kb/sections/{login['id']}", json={"name": "Signing in", "position": 3}, headers=auth(token)
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "Signing in"
    listed = client.get("/api/v1/kb/categories/accounts/sections").json()
    assert [s["name"] for s in listed] == ["Profile", "Signing in"]
    duplicate = client.patch(
        f"/api/v1/kb/sections/{profile['id']}", json={"name": "signing IN"}, headers=auth(token)
    )
    assert duplicate.status_code == 409 and "already has a section" in duplicate.json()["detail"]
    also_duplicate = client.post(
        "/api/v1/kb/sections", json={"category": "accounts", "name": "Profile "}, headers=auth(token)
    )
    assert also_duplicate.status_code == 409
    blank = client.patch(f"/api/v1/kb/sections/{profile['id']}", json={"name": " "}, headers=auth(token))
    assert blank.status_code == 422

    art = kbf.article(db, clock.now(), "Two-factor sign-in", "Use an app.", category="accounts")
    kb.update_article(db, SYSTEM, art.id, ArticlePatch(section_id=login["id"]), clock.now())
    held = client.delete(f"/api/v1/kb/sections/{login['id']}", headers=auth(token))
    assert held.status_code == 409 and held.json()["articles"] == 1
    assert "1 article;" in held.json()["detail"]
    assert client.delete(f"/api/v1/kb/sections/{profile['id']}", headers=auth(token)).status_code == 204
    assert not _exists(db, Section, profile["id"]) and _exists(db, Section, login["id"])


def test_customers_and_anonymous_callers_cannot_edit_or_delete_categories(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    cat = kb.create_category(db, SYSTEM, CategoryIn(name="Billing"), clock.now())
    sec = kb.create_section(db, SYSTEM, SectionIn(category="billing", name="Refunds"))
    customer = f.token(db, hd.users["alice"], clock.now())
    for method, url in (
        ("PATCH", f"/api/v1/kb/categories/{cat.id}"),
        ("DELETE", f"/api/v1/kb/categories/{cat.id}"),
        ("PATCH", f"/api/v1/kb/sections/{sec.id}"),
        ("DELETE", f"/api/v1/kb/sections/{sec.id}"),
    ):
        body = {"name": "Hacked"} if method == "PATCH" else None
        assert client.request(method, url, json=body, headers=auth(customer)).status_code == 403
        assert client.request(method, url, json=body).status_code == 401
    db.refresh(cat)
    db.refresh(sec)
    assert cat.name == "Billing" and sec.name == "Refunds"
    # The service refuses too, whoever calls it.
    with pytest.raises(Forbidden):
        kb.update_category(db, f.actor(db, hd.users["alice"]), cat.id, CategoryPatch(name="x"))
    with pytest.raises(Forbidden):
        kb.delete_section(db, f.actor(db, hd.users["alice"]), sec.id)
    with pytest.raises(NotFound):
        kb.delete_category(db, SYSTEM, 999999)
    with pytest.raises(Unauthorized):
        kb.update_section(db, ANONYMOUS, sec.id, SectionPatch(name="x"))


def test_moving_an_article_to_another_category_drops_the_old_categorys_section(
    db: Session, clock: FrozenClock
) -> None:
    art = kbf.article(db, clock.now(), "Refunds", "Ask billing.", category="billing")
    sec = kb.create_section(db, SYSTEM, SectionIn(category="billing", name="Refunds"))
    kb.update_article(db, SYSTEM, art.id, ArticlePatch(section_id=sec.id), clock.now())
    kb.create_category(db, SYSTEM, CategoryIn(name="Payments"), clock.now())
    kb.update_article(db, SYSTEM, art.id, ArticlePatch(category="payments"), clock.now())
    assert art.section_id is None
    kb.delete_section(db, SYSTEM, sec.id)  # no longer holds it


# --- the management page -----------------------------------------------------------------
def test_agent_edits_and_deletes_categories_on_the_management_page(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    f.helpdesk(db)
    kbf.article(db, clock.now(), "Reset your password", "Open settings.", category="Accounts")
    accounts = db.query(Category).filter_by(slug="accounts").one()
    sign_in(client, "l1@desk.example.com")
    page = client.get("/kb/manage/categories")
    assert page.status_code == 200 and "Accounts" in page.text
    csrf = csrf_of(page.text)

    created = client.post(
        "/kb/manage/categories",
        data={"name": "Shipping", "description": "Parcels", "position": "3", "csrf": csrf},
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    shipping = db.query(Category).filter_by(slug="shipping").one()

    saved = client.post(
        f"/kb/manage/categories/{shipping.id}",
        data={
            "name": "Delivery",
            "slug": "shipping",
            "description": "Parcels and tracking",
            "position": "1",
            "csrf": csrf,
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    db.refresh(shipping)
    assert (shipping.name, shipping.description, shipping.position) == ("Delivery", "Parcels and tracking", 1)

    added = client.post(
        f"/kb/manage/categories/{shipping.id}/sections",
        data={"name": "Tracking", "position": "0", "csrf": csrf},
        follow_redirects=False,
    )
    assert added.status_code == 303
    section = db.query(Section).filter_by(category_id=shipping.id).one()
    assert (
        client.post(
            f"/kb/manage/sections/{section.id}",
            data={"name": "Parcel tracking", "position": "2", "csrf": csrf},
            follow_redirects=False,
        ).status_code
        == 303
    )
    db.refresh(section)
    assert (section.name, section.position) == ("Parcel tracking", 2)

    refused = client.post(f"/kb/manage/categories/{accounts.id}/delete", data={"csrf": csrf})
    assert refused.status_code == 409
    assert f'id="err-category-{accounts.id}-delete"' in refused.text
    assert "It still holds 1 article" in refused.text
    assert _exists(db, Category, accounts.id)

    assert (
        client.post(
            f"/kb/manage/sections/{section.id}/delete", data={"csrf": csrf}, follow_redirects=False
        ).status_code
        == 303
    )
    gone = client.post(
        f"/kb/manage/categories/{shipping.id}/delete", data={"csrf": csrf}, follow_redirects=False
    )
    assert gone.status_code == 303
    assert not _exists(db, Category, shipping.id)


def test_management_page_shows_bad_input_next_to_the_field_in_the_readers_language(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    kbf.article(db, clock.now(), "Reset your password", "Open settings.", category="Accounts")
    billing = kb.create_category(db, SYSTEM, CategoryIn(name="Billing"), clock.now())
    accounts = db.query(Category).filter_by(slug="accounts").one()
    sign_in(client, "l1@desk.example.com")
    csrf = csrf_of(client.get("/kb/manage/categories").text)

    blank = client.post(
        f"/kb/manage/categories/{billing.id}",
        data={"name": "  ", "slug": "billing", "description": "", "position": "0", "csrf": csrf},
    )
    assert blank.status_code == 422 and f'id="err-category-{billing.id}-name"' in blank.text
    assert "Enter a name." in blank.text and 'value="  "' in blank.text
    taken = client.post(
        f"/kb/manage/categories/{billing.id}",
        data={"name": "Accounts", "slug": "billing", "description": "", "position": "0", "csrf": csrf},
    )
    assert taken.status_code == 409 and "That name is already taken here." in taken.text
    bad_position = client.post(
        f"/kb/manage/categories/{billing.id}",
        data={"name": "Billing", "slug": "billing", "description": "", "position": "first", "csrf": csrf},
    )
    assert bad_position.status_code == 422 and f'id="err-category-{billing.id}-position"' in bad_position.text
    db.refresh(billing)
    assert billing.name == "Billing"

    user = db.get(User, hd.users["l1"])
    assert user is not None
    user.language = "zh"
    db.flush()
    zh = client.post(f"/kb/manage/categories/{accounts.id}/delete", data={"csrf": csrf})
    assert zh.status_code == 409 and "其中还有 1 篇文章" in zh.text
    unknown = client.post(
        "/kb/manage/categories/999999", data={"name": "x", "slug": "x", "position": "0", "csrf": csrf}
    )
    assert unknown.status_code == 404
    expired = client.post(f"/kb/manage/categories/{billing.id}/delete", data={"csrf": "nope"})
    assert expired.status_code == 403 and _exists(db, Category, billing.id)


def test_customers_cannot_reach_the_category_management_page(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    f.helpdesk(db)
    billing = kb.create_category(db, SYSTEM, CategoryIn(name="Billing"), clock.now())
    assert client.get("/kb/manage/categories", follow_redirects=False).status_code == 303
    sign_in(client, "alice@cust.example.com")
    assert client.get("/kb/manage/categories").status_code == 404
    csrf = csrf_of(client.get("/help/ask").text)
    res = client.post(f"/kb/manage/categories/{billing.id}/delete", data={"csrf": csrf})
    assert res.status_code == 404
    assert _exists(db, Category, billing.id)


def test_a_category_is_deleted_once_its_faq_entries_are_removed(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    token = f.token(db, hd.users["l1"], clock.now())
    cat = kb.create_category(db, SYSTEM, CategoryIn(name="Shipping"), clock.now())
    entry = kb.create_faq(
        db,
        SYSTEM,
        FaqIn(category="shipping", locale="en", question="Where is my parcel?", answer="Track it."),
        clock.now(),
    )
    refused = client.delete(f"/api/v1/kb/categories/{cat.id}", headers=auth(token))
    assert refused.status_code == 409 and refused.json()["faq_entries"] == 1
    customer = f.token(db, hd.users["alice"], clock.now())
    assert client.delete(f"/api/v1/kb/faq/{entry.id}", headers=auth(customer)).status_code == 403
    assert client.delete(f"/api/v1/kb/faq/{entry.id}", headers=auth(token)).status_code == 204
    assert client.delete(f"/api/v1/kb/faq/{entry.id}", headers=auth(token)).status_code == 404
    assert client.delete(f"/api/v1/kb/categories/{cat.id}", headers=auth(token)).status_code == 204
