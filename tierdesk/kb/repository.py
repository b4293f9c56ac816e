"""Every knowledge-base query, starting from `readable(actor)` so authorization is in the
WHERE clause: anonymous callers see published public articles, customers also their
organization's, staff everything (drafts and internal articles included)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select, update
from sqlalchemy.orm import Session

from tierdesk.core.security import Actor
from tierdesk.kb.models import (
    Article,
    ArticleEvent,
    ArticleStatus,
    Category,
    CategoryTranslation,
    FaqEntry,
    Revision,
    SearchLog,
    Section,
    SectionTranslation,
    SelfServiceSession,
    Translation,
    Visibility,
)


def audience_filter(actor: Actor) -> Any:
    """Visibility of published articles for `actor` (staff: everything)."""
    if actor.is_staff:
        return and_(True)
    allowed = Article.visibility == Visibility.public.value
    if actor.is_customer and actor.organization_id is not None:
        allowed = or_(
            allowed,
            and_(
                Article.visibility == Visibility.organization.value,
                Article.organization_id == actor.organization_id,
            ),
        )
    return allowed


def readable(actor: Actor) -> Select[Article]:
    stmt = select(Article)
    if actor.is_staff:
        return stmt
    return stmt.where(Article.status == ArticleStatus.published.value, audience_filter(actor))


def get_readable(db: Session, actor: Actor, article_id: int, for_update: bool = False) -> Article | None:
    stmt = readable(actor).where(Article.id == article_id)
    if for_update:
        stmt = stmt.with_for_update()
    return db.scalars(stmt).first()


def translations(db: Session, article_ids: Sequence[int]) -> dict[int, list[Translation]]:
    out: dict[int, list[Translation]] = {i: [] for i in article_ids}
    if not article_ids:
        return out
    for t in db.scalars(
        select(Translation).where(Translation.article_id.in_(article_ids)).order_by(Translation.id)
    ):
        out[t.article_id].append(t)
    return out


def translation(db: Session, article_id: int, locale: str) -> Translation | None:
    return db.scalars(
        select(Translation).where(Translation.article_id == article_id, Translation.locale == locale)
    ).first()


def category_by_key(db: Session, key: str) -> Category | None:
    key = key.strip()
    return db.scalars(
        select(Category).where(or_(Category.slug == key.lower(), func.lower(Category.name) == key.lower()))
    ).first()


def categories(db: Session) -> list[Category]:
    return list(db.scalars(select(Category).order_by(Category.position, Category.id)))


def category_named(db: Session, name: str, other_than: int) -> Category | None:
    """Another category that `name` would be confused with: category keys are looked up by
    slug or by name (case-insensitive), so a name must not be another one's name or slug."""
    key = name.strip().lower()
    return db.scalars(
        select(Category).where(
            Category.id != other_than, or_(Category.slug == key, func.lower(Category.name) == key)
        )
    ).first()


def section_named(db: Session, category_id: int, name: str, other_than: int) -> Section | None:
    return db.scalars(
        select(Section).where(
            Section.category_id == category_id,
            Section.id != other_than,
            func.lower(Section.name) == name.strip().lower(),
        )
    ).first()


def article_counts(db: Session) -> dict[int, int]:
    """Articles (any status) per category id: one index-only pass over ix_kb_articles_category_status."""
    return {
        r[0]: int(r[1])
        for r in db.execute(select(Article.category_id, func.count()).group_by(Article.category_id))
    }


def category_holdings(db: Session, category_id: int) -> tuple[int, int]:
    """(articles of any status, FAQ entries) in a category."""
    articles = db.scalar(select(func.count()).select_from(Article).where(Article.category_id == category_id))
    faq = db.scalar(select(func.count()).select_from(FaqEntry).where(FaqEntry.category_id == category_id))
    return int(articles or 0), int(faq or 0)


def section_article_count(db: Session, section_id: int) -> int:
    # ix_kb_articles_section (migration j10kb) keeps this and the ON DELETE SET NULL cheap.
    return int(
        db.scalar(select(func.count()).select_from(Article).where(Article.section_id == section_id)) or 0
    )


def categories_by_id(db: Session, ids: Sequence[int]) -> dict[int, Category]:
    if not ids:
        return {}
    return {c.id: c for c in db.scalars(select(Category).where(Category.id.in_(set(ids))))}


def category_translations(
    db: Session, category_ids: Sequence[int], locale: str | None = None
) -> list[CategoryTranslation]:
    if not category_ids:
        return []
    stmt = select(CategoryTranslation).where(CategoryTranslation.category_id.in_(set(category_ids)))
    if locale is not None:
        stmt = stmt.where(CategoryTranslation.locale == locale)
    return list(db.scalars(stmt.order_by(CategoryTranslation.id)))


def section_translations(
    db: Session, section_ids: Sequence[int], locale: str | None = None
) -> list[SectionTranslation]:
    if not section_ids:
        return []
    stmt = select(SectionTranslation).where(SectionTranslation.section_id.in_(set(section_ids)))
    if locale is not None:
        stmt = stmt.where(SectionTranslation.locale == locale)
    return list(db.scalars(stmt.order_by(SectionTranslation.id)))


def sections(db: Session, category_id: int) -> list[Section]:
    return list(
        db.scalars(
            select(Section).where(Section.category_id == category_id).order_by(Section.position, Section.id)
        )
    )


def articles_page(
    db: Session,
    actor: Actor,
    status: str | None,
    category_id: int | None,
    after: tuple[datetime, int] | None,
    limit: int,
) -> list[Article]:
    """Newest edits first; keyset on (updated_at, id) over ix_kb_articles_status_updated."""
    stmt = readable(actor)
    if status:
        stmt = stmt.where(Article.status == status)
    if category_id is not None:
        stmt = stmt.where(Article.category_id == category_id)
    if after is not None:
        stmt = stmt.where(
            or_(Article.updated_at < after[0], and_(Article.updated_at == after[0], Article.id < after[1]))
        )
    return list(db.scalars(stmt.order_by(Article.updated_at.desc(), Article.id.desc()).limit(limit)))


def category_shelf(
    db: Session, actor: Actor, category_id: int, per_section: int
) -> list[tuple[int, int | None]]:
    """(article id, section id) of the newest `per_section` + 1 published articles of each
    section of a category that `actor` may read (the extra one says "there are more").
    One window query over ix_kb_articles_category_status; visibility is in the WHERE."""
    rank = (
        func.row_number()
        .over(partition_by=Article.section_id, order_by=(Article.published_at.desc(), Article.id.desc()))
        .label("rank")
    )
    ranked = (
        readable(actor)
        .with_only_columns(Article.id, Article.section_id, rank)
        .where(Article.category_id == category_id, Article.status == ArticleStatus.published.value)
        .subquery()
    )
    rows = db.execute(
        select(ranked.c.id, ranked.c.section_id)
        .where(ranked.c.rank <= per_section + 1)
        .order_by(ranked.c.section_id, ranked.c.rank)
    )
    return [(int(r[0]), r[1]) for r in rows]


def section_page(
    db: Session,
    actor: Actor,
    category_id: int,
    section_id: int | None,
    after: tuple[datetime, int] | None,
    limit: int,
) -> list[Article]:
    """Published articles of one section (None: those without a section) that `actor` may
    read, newest first; keyset on (published_at, id)."""
    stmt = readable(actor).where(
        Article.category_id == category_id,
        Article.status == ArticleStatus.published.value,
        Article.section_id.is_(None) if section_id is None else Article.section_id == section_id,
    )
    if after is not None:
        stmt = stmt.where(
            or_(
                Article.published_at < after[0],
                and_(Article.published_at == after[0], Article.id < after[1]),
            )
        )
    return list(db.scalars(stmt.order_by(Article.published_at.desc(), Article.id.desc()).limit(limit)))


def articles_by_id(db: Session, actor: Actor, ids: Sequence[int]) -> dict[int, Article]:
    if not ids:
        return {}
    return {a.id: a for a in db.scalars(readable(actor).where(Article.id.in_(set(ids))))}


def bump_views(db: Session, article_id: int) -> None:
    # One UPDATE, no read-modify-write: concurrent readers never lose a view.
    db.execute(update(Article).where(Article.id == article_id).values(view_count=Article.view_count + 1))


def article_events(db: Session, article_id: int) -> list[ArticleEvent]:
    return list(
        db.scalars(
            select(ArticleEvent)
            .where(ArticleEvent.article_id == article_id)
            .order_by(ArticleEvent.id.desc())
            .limit(200)
        )
    )


def last_event(db: Session, article_id: int, kind: str) -> ArticleEvent | None:
    return db.scalars(
        select(ArticleEvent)
        .where(ArticleEvent.article_id == article_id, ArticleEvent.kind == kind)
        .order_by(ArticleEvent.id.desc())
        .limit(1)
    ).first()


def revisions(db: Session, article_id: int, locale: str | None) -> list[Revision]:
    stmt = select(Revision).where(Revision.article_id == article_id)
    if locale:
        stmt = stmt.where(Revision.locale == locale)
    return list(db.scalars(stmt.order_by(Revision.id.desc()).limit(200)))


def revision(db: Session, article_id: int, revision_id: int) -> Revision | None:
    return db.scalars(
        select(Revision).where(Revision.article_id == article_id, Revision.id == revision_id)
    ).first()


def previous_revision(db: Session, rev: Revision) -> Revision | None:
    return db.scalars(
        select(Revision)
        .where(Revision.article_id == rev.article_id, Revision.locale == rev.locale, Revision.id < rev.id)
        .order_by(Revision.id.desc())
        .limit(1)
    ).first()


def latest_revision(db: Session, article_id: int, locale: str) -> Revision | None:
    return db.scalars(
        select(Revision)
        .where(Revision.article_id == article_id, Revision.locale == locale)
        .order_by(Revision.id.desc())
        .limit(1)
    ).first()


def faq(
    db: Session, actor: Actor, locale: str, category_id: int | None, featured: bool | None
) -> list[FaqEntry]:
    # An entry pointing at an article the caller may not read is hidden with it.
    stmt = (
        select(FaqEntry)
        .outerjoin(Article, Article.id == FaqEntry.article_id)
        .where(FaqEntry.locale == locale)
    )
    if not actor.is_staff:
        stmt = stmt.where(
            or_(
                FaqEntry.article_id.is_(None),
                and_(Article.status == ArticleStatus.published.value, audience_filter(actor)),
            )
        )
    if category_id is not None:
        stmt = stmt.where(FaqEntry.category_id == category_id)
    if featured is not None:
        stmt = stmt.where(FaqEntry.featured == featured)
    return list(db.scalars(stmt.order_by(FaqEntry.position, FaqEntry.id).limit(100)))


def faq_list(db: Session, category_id: int, locale: str) -> list[FaqEntry]:
    """One category's entries of a locale in display order (ix_kb_faq_category)."""
    return list(
        db.scalars(
            select(FaqEntry)
            .where(FaqEntry.category_id == category_id, FaqEntry.locale == locale)
            .order_by(FaqEntry.position, FaqEntry.id)
        )
    )


def faq_of_locale(db: Session, locale: str, limit: int = 1000) -> list[FaqEntry]:
    return list(
        db.scalars(
            select(FaqEntry)
            .where(FaqEntry.locale == locale)
            .order_by(FaqEntry.category_id, FaqEntry.position, FaqEntry.id)
            .limit(limit)
        )
    )


def faq_featured_count(db: Session, locale: str) -> int:
    return int(
        db.scalar(
            select(func.count())
            .select_from(FaqEntry)
            .where(FaqEntry.locale == locale, FaqEntry.featured.is_(True))
        )
        or 0
    )


# --- search analytics ----------------------------------------------------------------------
def search_totals(db: Session, since: datetime) -> tuple[int, int, int]:
    row = db.execute(
        select(
            func.count(),
            func.count(SearchLog.clicked_at),
            func.coalesce(func.sum(case((SearchLog.result_count == 0, 1), else_=0)), 0),
        ).where(SearchLog.created_at >= since)
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


def top_queries(db: Session, since: datetime, zero_only: bool, limit: int) -> list[tuple[str, int, int]]:
    stmt = select(SearchLog.query, func.count(), func.count(SearchLog.clicked_at)).where(
        SearchLog.created_at >= since
    )
    if zero_only:
        stmt = stmt.where(SearchLog.result_count == 0)
    stmt = stmt.group_by(SearchLog.query).order_by(func.count().desc(), SearchLog.query).limit(limit)
    return [(q, int(n), int(c)) for q, n, c in db.execute(stmt)]


# --- self-service sessions ------------------------------------------------------------------
def session_by_key(db: Session, key: str, for_update: bool = False) -> SelfServiceSession | None:
    stmt = select(SelfServiceSession).where(SelfServiceSession.key == key)
    if for_update:
        stmt = stmt.with_for_update()
    return db.scalars(stmt).first()


def unsettled_sessions(db: Session, answered_before: datetime, limit: int) -> list[SelfServiceSession]:
    stmt = (
        select(SelfServiceSession)
        .where(
            SelfServiceSession.outcome.is_(None),
            SelfServiceSession.first_answer_at.is_not(None),
            SelfServiceSession.first_answer_at <= answered_before,
        )
        .order_by(SelfServiceSession.first_answer_at)
        .limit(limit)
    )
    if db.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return list(db.scalars(stmt))


def deflection_rows(
    db: Session, since: datetime
) -> list[tuple[datetime | None, int | None, int | None, str | None]]:
    """(first_answer_at, category_id, first_article_id, outcome) of answered sessions."""
    stmt = select(
        SelfServiceSession.first_answer_at,
        SelfServiceSession.category_id,
        SelfServiceSession.first_article_id,
        SelfServiceSession.outcome,
    ).where(SelfServiceSession.first_answer_at >= since)
    return [(r[0], r[1], r[2], r[3]) for r in db.execute(stmt)]
