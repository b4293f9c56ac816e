"""Category and section names are translated per locale (en, zh, ja, it): the portal shows
the reader's locale and falls back to the default name."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests import factories as f
from tests.kb import factories as kbf
from tests.kb.test_api import auth
from tests.kb.test_pages import csrf_of, sign_in
from tierdesk.core.clock import FrozenClock
from tierdesk.core.security import SYSTEM
from tierdesk.kb import service as kb
from tierdesk.kb.models import CategoryTranslation, SectionTranslation
from tierdesk.kb.schemas import (
    ArticlePatch,
    CategoryIn,
    CategoryTranslationIn,
    SectionIn,
    SectionTranslationIn,
)


def test_names_come_in_the_readers_locale_and_fall_back_to_the_default_name(
    db: Session, clock: FrozenClock
) -> None:
    billing = kb.create_category(
        db,
        SYSTEM,
        CategoryIn(name="Billing", slug="billing", description="Invoices and refunds"),
        clock.now(),
    )
    refunds = kb.create_section(db, SYSTEM, SectionIn(category="billing", name="Refunds"))
    kb.set_category_translation(
        db, SYSTEM, billing.id, "zh", CategoryTranslationIn(name="账单", description="发票和退款")
    )
    kb.set_category_translation(db, SYSTEM, billing.id, "ja-JP", CategoryTranslationIn(name="請求"))
    kb.set_section_translation(db, SYSTEM, refunds.id, "zh_CN", SectionTranslationIn(name="退款"))
    assert kb.category_names(db, [billing], "zh")[billing.id] == kb.LocalName("账单", "发票和退款")
    # A translation without a description keeps the default description.
    assert kb.category_names(db, [billing], "ja")[billing.id] == kb.LocalName("請求", "Invoices and refunds")
    assert kb.category_names(db, [billing], "it")[billing.id] == kb.LocalName(
        "Billing", "Invoices and refunds"
    )
    assert kb.section_names(db, [refunds], "zh") == {refunds.id: "退款"}
    assert kb.section_names(db, [refunds], "ja") == {refunds.id: "Refunds"}
    kb.set_category_translation(db, SYSTEM, billing.id, "zh", CategoryTranslationIn(name="计费"))
    assert db.query(CategoryTranslation).filter_by(category_id=billing.id, locale="zh").one().name == "计费"
    kb.delete_section_translation(db, SYSTEM, refunds.id, "zh")
    assert kb.section_names(db, [refunds], "zh") == {refunds.id: "Refunds"}


def test_the_portal_shows_category_and_section_names_in_the_readers_language(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    billing = kb.create_category(db, SYSTEM, CategoryIn(name="Billing", slug="billing"), clock.now())
    refunds = kb.create_section(db, SYSTEM, SectionIn(category="billing", name="Refunds"))
    kb.set_category_translation(
        db, SYSTEM, billing.id, "ja", CategoryTranslationIn(name="お支払い", description="請求書と返金")
    )
    kb.set_section_translation(db, SYSTEM, refunds.id, "ja", SectionTranslationIn(name="返金について"))
    art = kbf.article(db, clock.now(), "Refund timing", "Five days.", category="billing")
    kb.update_article(db, SYSTEM, art.id, ArticlePatch(section_id=refunds.id), clock.now())
    home = client.get("/help", params={"locale": "ja"}).text
    assert "お支払い" in home and "請求書と返金" in home
    page = client.get("/help/categories/billing", params={"locale": "ja"}).text
    assert "<h1>お支払い</h1>" in page and ">返金について</h2>" in page
    english = client.get("/help/categories/billing", params={"locale": "en"}).text
    assert "<h1>Billing</h1>" in english and ">Refunds</h2>" in english
    # The article is only in English; its category is still named in the reader's language.
    article = client.get(f"/api/v1/kb/articles/{art.id}", params={"locale": "ja"}).json()
    assert article["category"]["name"] == "お支払い"
    listed = client.get("/api/v1/kb/categories", params={"locale": "ja"}).json()
    assert [c["name"] for c in listed] == ["お支払い"]
    assert client.get("/api/v1/kb/categories", params={"locale": "xx"}).status_code == 422


def test_the_names_api_needs_staff_and_refuses_bad_input(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    token = f.token(db, hd.users["l1"], clock.now())
    customer = f.token(db, hd.users["alice"], clock.now())
    billing = kb.create_category(db, SYSTEM, CategoryIn(name="Billing", slug="billing"), clock.now())
    refunds = kb.create_section(db, SYSTEM, SectionIn(category="billing", name="Refunds"))
    url = f"/api/v1/kb/categories/{billing.id}/translations"
    ok = client.put(f"{url}/it", json={"name": "Fatturazione"}, headers=auth(token))
    assert ok.status_code == 200 and ok.json() == {"locale": "it", "name": "Fatturazione", "description": ""}
    assert [t["locale"] for t in client.get(url, headers=auth(token)).json()] == ["it"]
    for locale, body in (
        ("xx", {"name": "X"}),
        ("it", {"name": " "}),
        ("it", {"name": "x" * 121}),
        ("it", {"nome": "X"}),
    ):
        assert client.put(f"{url}/{locale}", json=body, headers=auth(token)).status_code == 422, (
            locale,
            body,
        )
    assert client.put(f"{url}/it", json={"name": "X"}, headers=auth(customer)).status_code == 403
    assert client.put(f"{url}/it", json={"name": "X"}).status_code == 401
    assert (
        client.put(
            "/api/v1/kb/categories/987654/translations/it", json={"name": "X"}, headers=auth(token)
        ).status_code
        == 404
    )
    assert client.delete(f"{url}/it", headers=auth(token)).status_code == 204
    assert client.delete(f"{url}/it", headers=auth(token)).status_code == 404
    surl = f"/api/v1/kb/sections/{refunds.id}/translations"
    assert client.put(f"{surl}/zh", json={"name": "退款"}, headers=auth(token)).status_code == 200
    assert client.get(surl, headers=auth(token)).json() == [
        {"locale": "zh", "name": "退款", "description": ""}
    ]
    assert (
        client.put(
            "/api/v1/kb/sections/987654/translations/zh", json={"name": "X"}, headers=auth(token)
        ).status_code
        == 404
    )
    assert client.delete(f"{surl}/zh", headers=auth(customer)).status_code == 403
    # Deleting a section takes its names with it.
    assert client.delete(f"/api/v1/kb/sections/{refunds.id}", headers=auth(token)).status_code == 204
    assert db.query(SectionTranslation).count() == 0


def test_staff_name_a_category_and_its_sections_in_every_language_on_the_categories_page(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    f.helpdesk(db)
    billing = kb.create_category(db, SYSTEM, CategoryIn(name="Billing", slug="billing"), clock.now())
    refunds = kb.create_section(db, SYSTEM, SectionIn(category="billing", name="Refunds"))
    kb.set_category_translation(db, SYSTEM, billing.id, "ja", CategoryTranslationIn(name="古い名前"))
    sign_in(client, "l1@desk.example.com")
    page = client.get("/kb/manage/categories")
    assert f'name="section_{refunds.id}_zh"' in page.text and 'value="古い名前"' in page.text
    token = csrf_of(page.text)
    form = {
        "csrf": token,
        "name_zh": "账单",
        "description_zh": "发票",
        "name_ja": "",
        f"section_{refunds.id}_zh": "退款",
        f"section_{refunds.id}_it": "Rimborsi",
    }
    saved = client.post(f"/kb/manage/categories/{billing.id}/translations", data=form, follow_redirects=False)
    assert saved.status_code == 303
    assert {(t.locale, t.name) for t in db.query(CategoryTranslation)} == {("zh", "账单")}
    assert {(t.locale, t.name) for t in db.query(SectionTranslation)} == {("zh", "退款"), ("it", "Rimborsi")}
    too_long = client.post(
        f"/kb/manage/categories/{billing.id}/translations",
        data={"csrf": token, "name_it": "x" * 121, f"section_{refunds.id}_ja": "y" * 121},
    )
    assert too_long.status_code == 422
    assert f'id="err-names-{billing.id}-name_it"' in too_long.text
    assert f'id="err-names-{billing.id}-section_{refunds.id}_ja"' in too_long.text
    assert "x" * 121 in too_long.text  # what was typed is kept
    assert {(t.locale, t.name) for t in db.query(CategoryTranslation)} == {("zh", "账单")}  # nothing saved
    stale = client.post(
        f"/kb/manage/categories/{billing.id}/translations", data={"csrf": "stale", "name_it": "X"}
    )
    assert stale.status_code == 403
    assert client.post("/kb/manage/categories/987654/translations", data={"csrf": token}).status_code == 404
