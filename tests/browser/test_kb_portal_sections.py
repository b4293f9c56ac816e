"""The portal's category page in a real browser: articles under section headings."""

from __future__ import annotations

from pathlib import Path

from tests.browser.conftest import PageFactory, Server
from tests.browser.support import assert_no_horizontal_overflow
from tierdesk.core.clock import SystemClock
from tierdesk.core.security import SYSTEM
from tierdesk.kb import service as kb
from tierdesk.kb.models import Article, ArticleStatus, Category, Section, Visibility
from tierdesk.kb.schemas import ArticlePatch, SectionIn


def test_a_visitor_sees_a_categorys_articles_under_its_section_headings(
    anonymous_page: PageFactory, server: Server, shots: Path
) -> None:
    with server.db() as db:
        article = (
            db.query(Article)
            .filter(
                Article.status == ArticleStatus.published.value, Article.visibility == Visibility.public.value
            )
            .order_by(Article.id)
            .first()
        )
        assert article is not None, "the demo has public articles"
        category = db.get(Category, article.category_id)
        assert category is not None
        slug = category.slug
        section = db.query(Section).filter_by(category_id=category.id, name="Getting started").first()
        if section is None:
            section = kb.create_section(db, SYSTEM, SectionIn(category=slug, name="Getting started"))
        kb.update_article(db, SYSTEM, article.id, ArticlePatch(section_id=section.id), SystemClock().now())
        db.commit()
    page = anonymous_page(viewport=(390, 844))
    page.goto(f"/help/categories/{slug}?locale=en")
    heading = page.get_by_role("heading", level=2, name="Getting started")
    assert heading.count() == 1
    assert page.locator("#section-" + str(section.id)).get_by_role("link").count() >= 1
    assert_no_horizontal_overflow(page)
    page.screenshot(path=str(shots / "kb-portal-sections.png"), full_page=True)


def test_an_agent_names_a_category_in_japanese_and_a_japanese_reader_sees_it(
    login: PageFactory, anonymous_page: PageFactory, server: Server, shots: Path
) -> None:
    with server.db() as db:
        category = db.query(Category).order_by(Category.position, Category.id).first()
        assert category is not None
        category_id, slug = category.id, category.slug
        section = db.query(Section).filter_by(category_id=category_id).first()
        if section is None:
            section = kb.create_section(db, SYSTEM, SectionIn(category=slug, name="Getting started"))
        section_id = section.id
        article = (
            db.query(Article)
            .filter_by(category_id=category_id, status="published", visibility="public")
            .first()
        )
        assert article is not None
        kb.update_article(db, SYSTEM, article.id, ArticlePatch(section_id=section_id), SystemClock().now())
        db.commit()
    page = login("l2.sarah")
    page.goto("/kb/manage/categories")
    box = page.locator(f"#names-{category_id}")
    box.locator("summary").click()
    box.locator(f"#t{category_id}-name-ja").fill("はじめに読むカテゴリ")
    box.locator(f"#t{section_id}-section-ja").fill("最初の一歩")
    page.locator(f"#names-{category_id}").screenshot(path=str(shots / "kb-category-names.png"))
    box.get_by_role("button", name="Save names").click()
    page.wait_for_url("**/kb/manage/categories**")

    reader = anonymous_page(locale="ja-JP")
    reader.goto("/help?locale=ja")
    reader.get_by_role("link", name="はじめに読むカテゴリ").click()
    assert reader.get_by_role("heading", level=1).inner_text() == "はじめに読むカテゴリ"
    assert reader.get_by_role("heading", level=2, name="最初の一歩").count() == 1
    assert_no_horizontal_overflow(reader)
    reader.screenshot(path=str(shots / "kb-portal-category-ja.png"), full_page=True)
