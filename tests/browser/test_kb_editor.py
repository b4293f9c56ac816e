"""The article editor in a real browser: choosing a category swaps the section picker to
that category's sections (HTMX), the article is saved in the chosen section, and a
placement the server refuses comes back with the message next to the field."""

from __future__ import annotations

from pathlib import Path

from tests.browser.conftest import PageFactory, Server
from tests.browser.support import assert_no_horizontal_overflow
from tierdesk.core.clock import SystemClock
from tierdesk.core.security import SYSTEM
from tierdesk.kb import service as kb
from tierdesk.kb.models import Article, Category, Section
from tierdesk.kb.schemas import CategoryIn, SectionIn


def _shelves(server: Server) -> tuple[int, int, int]:
    with server.db() as db:
        if db.query(Category).filter(Category.slug == "editor-billing").first() is None:
            now = SystemClock().now()
            kb.create_category(db, SYSTEM, CategoryIn(name="Editor billing", slug="editor-billing"), now)
            kb.create_section(db, SYSTEM, SectionIn(category="editor-billing", name="Editor refunds"))
            kb.create_category(db, SYSTEM, CategoryIn(name="Editor accounts", slug="editor-accounts"), now)
            kb.create_section(db, SYSTEM, SectionIn(category="editor-accounts", name="Editor logins"))
            db.commit()
        refunds = db.query(Section).filter(Section.name == "Editor refunds").one()
        logins = db.query(Section).filter(Section.name == "Editor logins").one()
        return refunds.category_id, refunds.id, logins.id


def test_choosing_a_category_offers_only_its_sections_and_saves_the_article_there(
    login: PageFactory, server: Server, shots: Path
) -> None:
    category_id, refunds, logins = _shelves(server)
    page = login("l2.sarah")
    page.goto("/kb/manage/new")
    page.locator("#f-category").select_option("editor-accounts")
    page.wait_for_selector(f'#f-section option[value="{logins}"]', state="attached")
    assert page.locator(f'#f-section option[value="{refunds}"]').count() == 0
    page.locator("#f-category").select_option("editor-billing")
    page.wait_for_selector(f'#f-section option[value="{refunds}"]', state="attached")
    assert page.locator(f'#f-section option[value="{logins}"]').count() == 0
    page.locator("#f-section").select_option(str(refunds))
    page.locator("#f-title").fill("Refunds in the browser")
    page.locator("#f-body").fill("Refunds take five working days.")
    page.screenshot(path=str(shots / "kb-editor-new.png"), full_page=True)
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url("**/kb/manage/*?locale=*")
    with server.db(write=False) as db:
        art = db.query(Article).filter(Article.section_id == refunds).one()
        assert art.category_id == category_id
    assert_no_horizontal_overflow(page)
    page.locator("summary", has_text="Category, section and visibility").click()
    page.screenshot(path=str(shots / "kb-editor-placement.png"), full_page=True)


def test_a_refused_section_is_explained_next_to_the_picker_and_the_title_is_kept(
    login: PageFactory, server: Server, shots: Path
) -> None:
    _, refunds, _ = _shelves(server)
    page = login("l2.sarah", viewport=(390, 844))
    page.goto("/kb/manage/new")
    page.locator("#f-category").select_option("editor-billing")
    page.wait_for_selector(f'#f-section option[value="{refunds}"]', state="attached")
    page.locator("#f-section").select_option(str(refunds))
    # The category changes behind the picker's back (as when two tabs disagree): the
    # server must refuse the other category's section.
    page.evaluate(
        """() => { const c = document.querySelector('#f-category');
                   c.removeAttribute('hx-get'); c.value = 'editor-accounts'; }"""
    )
    page.locator("#f-title").fill("Kept title")
    page.locator("#f-body").fill("Kept body.")
    page.get_by_role("button", name="Save", exact=True).click()
    error = page.locator("#err-section_id")
    error.wait_for()
    assert error.inner_text() == "Choose a section of the chosen category."
    assert page.locator("#f-title").input_value() == "Kept title"
    assert_no_horizontal_overflow(page)
    page.screenshot(path=str(shots / "kb-editor-refused.png"), full_page=True)


def test_an_agent_submits_a_draft_and_a_supervisor_sends_it_back_with_a_comment(
    login: PageFactory, server: Server, shots: Path
) -> None:
    _shelves(server)
    page = login("l2.sarah")
    page.goto("/kb/manage/new")
    page.locator("#f-category").select_option("editor-billing")
    page.locator("#f-title").fill("Reviewed in the browser")
    page.locator("#f-body").fill("Refunds take five working days.")
    page.get_by_label("Save as draft").check()
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url("**/kb/manage/*?locale=*")
    article_url = page.url.split("?")[0]
    page.get_by_role("button", name="Submit for review").click()
    page.wait_for_url(article_url + "?locale=*")
    assert page.get_by_text("This article is waiting for review.").count() == 1

    reviewer = login("supervisor")
    reviewer.goto(article_url)
    reviewer.locator("#f-comment").fill("Say which days count.")
    reviewer.get_by_role("button", name="Rimanda all'autore").click()
    reviewer.wait_for_url(article_url + "?locale=*")
    history = reviewer.locator("#history")
    assert "Say which days count." in history.inner_text()
    assert_no_horizontal_overflow(reviewer)
    reviewer.screenshot(path=str(shots / "kb-editor-review-it.png"), full_page=True)
