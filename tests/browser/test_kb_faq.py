"""The FAQ management page in a real browser: an agent adds a featured question, moves it
to the top of its category, sees it first on the help-center home, and deletes it."""

from __future__ import annotations

from pathlib import Path

from tests.browser.conftest import PageFactory, Server
from tests.browser.support import assert_no_horizontal_overflow
from tierdesk.kb.models import Category, FaqEntry


def test_an_agent_adds_reorders_features_and_deletes_a_faq_entry(
    login: PageFactory, anonymous_page: PageFactory, server: Server, shots: Path
) -> None:
    with server.db(write=False) as db:
        category = db.query(Category).order_by(Category.position, Category.id).first()
        assert category is not None, "the demo has help-center categories"
        slug, category_id = category.slug, category.id
    page = login("l2.sarah")
    page.goto("/kb/manage/faq?locale=en")
    assert page.get_by_role("heading", level=1).inner_text() == "Frequently asked questions"
    page.locator("#nf-category").select_option(slug)
    page.locator("#nf-question").fill("Where do I find my invoices?")
    page.locator("#nf-answer").fill("Under Billing, then Invoices.")
    page.locator("#nf-featured").check()
    page.get_by_role("button", name="Add question").click()
    page.wait_for_url("**/kb/manage/faq?locale=en")
    with server.db(write=False) as db:
        entry = db.query(FaqEntry).filter(FaqEntry.question == "Where do I find my invoices?").one()
        before = db.query(FaqEntry).filter_by(category_id=category_id, locale="en").count()
    box = page.locator(f"#faq-{entry.id}")
    # Move it to the top of its category, one place at a time (the top one has no "Move up").
    for _ in range(before):
        up = page.locator(f"#faq-{entry.id}").get_by_role("button", name="Move up")
        if up.count() == 0:
            break
        up.click()
        page.wait_for_load_state()
    assert (
        page.locator(f"#faq-category-{category_id} .kb-faq-entry").first.get_attribute("id")
        == f"faq-{entry.id}"
    )
    assert box.get_by_role("button", name="Move up").count() == 0
    assert_no_horizontal_overflow(page)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(shots / "kb-faq.png"), full_page=True)

    visitor = anonymous_page()
    visitor.goto("/help?locale=en")
    assert visitor.get_by_text("Where do I find my invoices?").count() == 1
    visitor.screenshot(path=str(shots / "kb-home-faq.png"), full_page=True)

    page.locator(f"#faq-{entry.id}").get_by_role("button", name="Delete").click()
    page.wait_for_url("**/kb/manage/faq?locale=en")
    assert page.locator(f"#faq-{entry.id}").count() == 0


def test_the_faq_page_works_on_a_phone_in_italian(login: PageFactory, shots: Path) -> None:
    page = login("l1.giulia", viewport=(390, 844))
    page.goto("/kb/manage/faq")
    page.get_by_role("button", name="Aggiungi domanda").click()  # required fields stop it in the browser
    assert page.url.endswith("/kb/manage/faq")
    assert_no_horizontal_overflow(page)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(shots / "kb-faq-phone-it.png"), full_page=True)
