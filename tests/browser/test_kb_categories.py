"""Help-center categories in a real browser: an agent renames one, is told why a category
that still holds articles cannot be deleted, and deletes an empty one."""

from __future__ import annotations

from pathlib import Path

from tests.browser.conftest import PageFactory, Server
from tests.browser.support import assert_no_horizontal_overflow
from tierdesk.kb.models import Article, Category


def test_an_agent_manages_categories_and_cannot_delete_one_that_holds_articles(
    login: PageFactory, server: Server, shots: Path
) -> None:
    with server.db(write=False) as db:
        held = db.query(Category).filter(Category.id.in_(db.query(Article.category_id))).first()
        assert held is not None, "the demo has help-center articles"
        count = db.query(Article).filter(Article.category_id == held.id).count()
    page = login("l2.sarah")
    page.goto("/kb/manage/categories")
    assert page.get_by_role("heading", level=1).inner_text() == "Categories and sections"

    page.locator("#nc-name").fill("Old announcements")
    page.get_by_role("button", name="Add category").click()
    page.wait_for_url("**/kb/manage/categories")
    with server.db(write=False) as db:
        created = db.query(Category).filter(Category.name == "Old announcements").one()
    box = page.locator(f"#category-{created.id}")
    box.locator(f"#c{created.id}-name").fill("Archive")
    box.get_by_role("button", name="Save").first.click()
    page.wait_for_url("**/kb/manage/categories**")
    assert page.locator(f"#c{created.id}-name").input_value() == "Archive"

    page.locator(f"#category-{held.id}").get_by_role("button", name="Delete category").click()
    error = page.locator(f"#err-category-{held.id}-delete")
    expected = f"It still holds {count} article" if count == 1 else f"It still holds {count} articles"
    assert error.inner_text().startswith(expected)
    assert_no_horizontal_overflow(page)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(shots / "kb-categories.png"), full_page=True)

    page.goto("/kb/manage/categories")
    page.locator(f"#category-{created.id}").get_by_role("button", name="Delete category").click()
    page.wait_for_url("**/kb/manage/categories")
    assert page.locator(f"#category-{created.id}").count() == 0


def test_the_category_page_speaks_the_agents_language(
    login: PageFactory, server: Server, shots: Path
) -> None:
    page = login("l1.yuki")
    page.goto("/kb/manage/categories")
    assert page.get_by_role("heading", level=1).inner_text() == "カテゴリとセクション"
    assert page.get_by_role("button", name="カテゴリを追加").count() == 1
    page.screenshot(path=str(shots / "kb-categories-ja.png"), full_page=True)
