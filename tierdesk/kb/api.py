"""JSON API of the knowledge base, FAQ, answer bot and deflection analytics.

Reads work for anonymous callers (public published articles only); writes need staff.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from tierdesk.core.security import Actor, require_staff
from tierdesk.kb import answers, service
from tierdesk.kb.models import ArticleStatus
from tierdesk.kb.schemas import (
    AnswerOut,
    ArticleEventOut,
    ArticleIn,
    ArticleOut,
    ArticlePage,
    ArticlePatch,
    AskIn,
    CategoryIn,
    CategoryOut,
    CategoryPatch,
    CategoryTranslationIn,
    ClickIn,
    DeflectionReport,
    FaqIn,
    FaqMove,
    FaqOut,
    FaqPatch,
    FeedbackIn,
    FeedbackOut,
    FromTicketIn,
    NameTranslationOut,
    ReviewIn,
    RevisionDiff,
    RevisionOut,
    SearchAnalytics,
    SearchOut,
    SearchResult,
    SectionIn,
    SectionOut,
    SectionPatch,
    SectionTranslationIn,
    TranslationIn,
    TranslationOut,
    VoteIn,
    VoteOut,
)
from tierdesk.web.deps import DB, CurrentActor, Now, TxRoute

router = APIRouter(prefix="/api/v1", route_class=TxRoute)
KB: list[str | Enum] = ["knowledge base"]


async def staff_actor(actor: CurrentActor) -> Actor:
    """Route-level check for content management (the service checks again): the roles that
    write articles, i.e. every staff role; customers 403, anonymous callers 401."""
    require_staff(actor)
    return actor


StaffActor = Annotated[Actor, Depends(staff_actor)]


@router.get("/kb/categories", tags=KB, summary="Categories (names in `locale` when translated)")
def list_categories(db: DB, locale: str | None = None) -> list[CategoryOut]:
    categories = service.list_categories(db)
    names = service.category_names(db, categories, locale)
    return [
        CategoryOut.model_validate(c).model_copy(
            update={"name": names[c.id].name, "description": names[c.id].description}
        )
        for c in categories
    ]


@router.get(
    "/kb/categories/{category_id}/translations", tags=KB, summary="A category's names per locale (staff)"
)
def category_translations(category_id: int, db: DB, actor: StaffActor) -> list[NameTranslationOut]:
    return [NameTranslationOut.model_validate(t) for t in service.category_translations(db, category_id)]


@router.put(
    "/kb/categories/{category_id}/translations/{locale}",
    tags=KB,
    summary="Name (and describe) a category in one locale (staff)",
)
def set_category_translation(
    category_id: int, locale: str, data: CategoryTranslationIn, db: DB, actor: StaffActor
) -> NameTranslationOut:
    return NameTranslationOut.model_validate(
        service.set_category_translation(db, actor, category_id, locale, data)
    )


@router.delete(
    "/kb/categories/{category_id}/translations/{locale}",
    tags=KB,
    status_code=204,
    summary="Remove a category's name in one locale (staff)",
)
def delete_category_translation(category_id: int, locale: str, db: DB, actor: StaffActor) -> Response:
    service.delete_category_translation(db, actor, category_id, locale)
    return Response(status_code=204)


@router.get("/kb/sections/{section_id}/translations", tags=KB, summary="A section's names per locale (staff)")
def section_translations(section_id: int, db: DB, actor: StaffActor) -> list[NameTranslationOut]:
    service.get_section(db, section_id)
    return [NameTranslationOut.model_validate(t) for t in service.section_translations(db, [section_id])]


@router.put(
    "/kb/sections/{section_id}/translations/{locale}", tags=KB, summary="Name a section in one locale (staff)"
)
def set_section_translation(
    section_id: int, locale: str, data: SectionTranslationIn, db: DB, actor: StaffActor
) -> NameTranslationOut:
    return NameTranslationOut.model_validate(
        service.set_section_translation(db, actor, section_id, locale, data)
    )


@router.delete(
    "/kb/sections/{section_id}/translations/{locale}",
    tags=KB,
    status_code=204,
    summary="Remove a section's name in one locale (staff)",
)
def delete_section_translation(section_id: int, locale: str, db: DB, actor: StaffActor) -> Response:
    service.delete_section_translation(db, actor, section_id, locale)
    return Response(status_code=204)


@router.post("/kb/categories", tags=KB, status_code=201, summary="Create a category (staff)")
def create_category(data: CategoryIn, db: DB, actor: CurrentActor, now: Now) -> CategoryOut:
    return CategoryOut.model_validate(service.create_category(db, actor, data, now))


@router.patch(
    "/kb/categories/{category_id}",
    tags=KB,
    summary="Rename, re-describe or reorder a category (staff); the slug changes only when sent",
)
def update_category(category_id: int, data: CategoryPatch, db: DB, actor: StaffActor) -> CategoryOut:
    return CategoryOut.model_validate(service.update_category(db, actor, category_id, data))


@router.delete(
    "/kb/categories/{category_id}",
    tags=KB,
    status_code=204,
    summary="Delete an empty category (staff); 409 with the count when it still holds articles or FAQ entries",
)
def delete_category(category_id: int, db: DB, actor: StaffActor) -> Response:
    service.delete_category(db, actor, category_id)
    return Response(status_code=204)


@router.patch("/kb/sections/{section_id}", tags=KB, summary="Rename or reorder a section (staff)")
def update_section(section_id: int, data: SectionPatch, db: DB, actor: StaffActor) -> SectionOut:
    return SectionOut.model_validate(service.update_section(db, actor, section_id, data))


@router.delete(
    "/kb/sections/{section_id}",
    tags=KB,
    status_code=204,
    summary="Delete a section that holds no article (staff); 409 with the count otherwise",
)
def delete_section(section_id: int, db: DB, actor: StaffActor) -> Response:
    service.delete_section(db, actor, section_id)
    return Response(status_code=204)


@router.get("/kb/categories/{key}/sections", tags=KB, summary="Sections of a category")
def list_sections(key: str, db: DB) -> list[SectionOut]:
    category = service.get_category(db, key)
    return [SectionOut.model_validate(s) for s in service.list_sections(db, category.id)]


@router.post("/kb/sections", tags=KB, status_code=201, summary="Create a section (staff)")
def create_section(data: SectionIn, db: DB, actor: CurrentActor) -> SectionOut:
    return SectionOut.model_validate(service.create_section(db, actor, data))


@router.post(
    "/kb/articles",
    tags=KB,
    status_code=201,
    summary="Write an article (staff); published at once unless draft is true",
)
def create_article(data: ArticleIn, db: DB, actor: CurrentActor, now: Now) -> ArticleOut:
    article = service.create_article(db, actor, data, now)
    return service.read_article(db, actor, article.id, data.locale)


@router.get("/kb/articles", tags=KB, summary="Articles you may read, most recently edited first")
def list_articles(
    db: DB,
    actor: CurrentActor,
    locale: str | None = None,
    status: ArticleStatus | None = None,
    category: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
) -> ArticlePage:
    return service.list_articles(db, actor, locale, status, category, cursor, limit)


@router.get("/kb/articles/{article_id}", tags=KB, summary="Read an article (counts a view)")
def read_article(
    article_id: int,
    db: DB,
    actor: CurrentActor,
    now: Now,
    locale: str | None = None,
    search_id: int | None = None,
) -> ArticleOut:
    out = service.read_article(db, actor, article_id, locale, count_view=True)
    if search_id is not None:
        service.record_click(db, actor, search_id, article_id, now)
    return out


@router.patch("/kb/articles/{article_id}", tags=KB, summary="Change category, section or visibility (staff)")
def update_article(article_id: int, data: ArticlePatch, db: DB, actor: CurrentActor, now: Now) -> ArticleOut:
    service.update_article(db, actor, article_id, data, now)
    return service.read_article(db, actor, article_id, None)


@router.put(
    "/kb/articles/{article_id}/translations/{locale}",
    tags=KB,
    summary="Add or change the text in one locale (staff); other locales go outdated when the source changes",
)
def save_translation(
    article_id: int, locale: str, data: TranslationIn, db: DB, actor: CurrentActor, now: Now
) -> TranslationOut:
    return TranslationOut.model_validate(service.save_translation(db, actor, article_id, locale, data, now))


@router.post("/kb/articles/{article_id}/publish", tags=KB, summary="Publish (publishers)")
def publish(article_id: int, db: DB, actor: CurrentActor, now: Now) -> ArticleOut:
    service.publish(db, actor, article_id, now)
    return service.read_article(db, actor, article_id, None)


@router.post("/kb/articles/{article_id}/submit", tags=KB, summary="Submit a draft for review (staff)")
def submit(article_id: int, db: DB, actor: StaffActor, now: Now, data: ReviewIn | None = None) -> ArticleOut:
    service.submit_for_review(db, actor, article_id, now, data.comment if data else None)
    return service.read_article(db, actor, article_id, None)


@router.post(
    "/kb/articles/{article_id}/approve",
    tags=KB,
    summary="Approve an article in review: publish it (publishers other than the submitter)",
)
def approve(article_id: int, db: DB, actor: StaffActor, now: Now, data: ReviewIn | None = None) -> ArticleOut:
    service.approve(db, actor, article_id, now, data.comment if data else None)
    return service.read_article(db, actor, article_id, None)


@router.post(
    "/kb/articles/{article_id}/return",
    tags=KB,
    summary="Send an article in review back to its author as a draft, with a comment (publishers)",
)
def send_back(article_id: int, data: ReviewIn, db: DB, actor: StaffActor, now: Now) -> ArticleOut:
    service.send_back(db, actor, article_id, now, data.comment)
    return service.read_article(db, actor, article_id, None)


@router.get(
    "/kb/articles/{article_id}/events", tags=KB, summary="Workflow history: submitted, approved… (staff)"
)
def article_events(article_id: int, db: DB, actor: StaffActor) -> list[ArticleEventOut]:
    return [ArticleEventOut.model_validate(e) for e in service.article_events(db, actor, article_id)]


@router.post("/kb/articles/{article_id}/unpublish", tags=KB, summary="Back to draft (publishers)")
def unpublish(article_id: int, db: DB, actor: CurrentActor, now: Now, archive: bool = False) -> ArticleOut:
    service.unpublish(db, actor, article_id, now, archive)
    return service.read_article(db, actor, article_id, None)


@router.get("/kb/articles/{article_id}/revisions", tags=KB, summary="Revisions, newest first (staff)")
def list_revisions(
    article_id: int, db: DB, actor: CurrentActor, locale: str | None = None
) -> list[RevisionOut]:
    return [RevisionOut.model_validate(r) for r in service.list_revisions(db, actor, article_id, locale)]


@router.get(
    "/kb/articles/{article_id}/revisions/{revision_id}/diff",
    tags=KB,
    summary="Unified diff against the previous revision (staff)",
)
def diff_revision(article_id: int, revision_id: int, db: DB, actor: CurrentActor) -> RevisionDiff:
    return service.diff_revision(db, actor, article_id, revision_id)


@router.post("/kb/articles/{article_id}/votes", tags=KB, status_code=201, summary="Was this helpful?")
def vote(article_id: int, data: VoteIn, db: DB, actor: CurrentActor, now: Now) -> VoteOut:
    return service.vote(db, actor, article_id, data, now)


@router.get("/kb/search", tags=KB, summary="Search articles (anonymous callers: public articles)")
def search(
    db: DB,
    actor: CurrentActor,
    now: Now,
    q: Annotated[str, Query(max_length=service.MAX_QUERY_CHARS)] = "",
    locale: str | None = None,
    limit: Annotated[int, Query(ge=1, le=service.SEARCH_LIMIT_MAX)] = 10,
) -> SearchOut:
    return service.search_articles(db, actor, q, locale, limit, now)


@router.get(
    "/kb/suggest",
    tags=KB,
    summary="Articles matching text being typed (new ticket, reply); not logged as searches",
)
def suggest(
    db: DB,
    actor: CurrentActor,
    q: Annotated[str, Query(max_length=service.MAX_QUERY_CHARS)] = "",
    locale: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10)] = 5,
) -> list[SearchResult]:
    return service.suggest(db, actor, q, locale, limit)


@router.post(
    "/kb/articles/from-ticket",
    tags=KB,
    status_code=201,
    summary="Turn a solved ticket into a draft article (staff)",
)
def draft_from_ticket(data: FromTicketIn, db: DB, actor: CurrentActor, now: Now) -> ArticleOut:
    article = service.draft_from_ticket(db, actor, data.ticket, now)
    return service.read_article(db, actor, article.id, None)


@router.post("/kb/searches/{search_id}/clicks", tags=KB, status_code=204, summary="Record a result click")
def click(search_id: int, data: ClickIn, db: DB, actor: CurrentActor, now: Now) -> Response:
    service.record_click(db, actor, search_id, data.article_id, now)
    return Response(status_code=204)


@router.get(
    "/kb/analytics/search", tags=KB, summary="Top queries, queries that found nothing, click-through (staff)"
)
def search_analytics(
    db: DB, actor: CurrentActor, now: Now, days: Annotated[int, Query(ge=1, le=366)] = 30
) -> SearchAnalytics:
    return service.search_analytics(db, actor, now, days)


@router.get(
    "/kb/analytics/deflection", tags=KB, summary="Deflection rate per week, category and article (staff)"
)
def deflection(
    db: DB, actor: CurrentActor, now: Now, weeks: Annotated[int, Query(ge=1, le=104)] = 12
) -> DeflectionReport:
    return answers.deflection_report(db, actor, now, weeks)


@router.get(
    "/kb/faq", tags=KB, summary="FAQ entries of a locale; featured=true for the portal home (at most 10)"
)
def list_faq(
    db: DB,
    actor: CurrentActor,
    locale: str | None = None,
    category: str | None = None,
    featured: bool | None = None,
) -> list[FaqOut]:
    return [FaqOut.model_validate(e) for e in service.list_faq(db, actor, locale, category, featured)]


@router.post("/kb/faq", tags=KB, status_code=201, summary="Add an FAQ entry (staff)")
def create_faq(data: FaqIn, db: DB, actor: CurrentActor, now: Now) -> FaqOut:
    return FaqOut.model_validate(service.create_faq(db, actor, data, now))


@router.patch("/kb/faq/{entry_id}", tags=KB, summary="Change an FAQ entry (staff)")
def update_faq(entry_id: int, data: FaqPatch, db: DB, actor: StaffActor, now: Now) -> FaqOut:
    return FaqOut.model_validate(service.update_faq(db, actor, entry_id, data, now))


@router.post(
    "/kb/faq/{entry_id}/move",
    tags=KB,
    summary="Move an FAQ entry one place up or down in its category (staff); returns the new order",
)
def move_faq(entry_id: int, data: FaqMove, db: DB, actor: StaffActor) -> list[FaqOut]:
    return [FaqOut.model_validate(e) for e in service.move_faq(db, actor, entry_id, data.direction)]


@router.delete("/kb/faq/{entry_id}", tags=KB, status_code=204, summary="Remove an FAQ entry (staff)")
def delete_faq(entry_id: int, db: DB, actor: StaffActor) -> Response:
    service.delete_faq(db, actor, entry_id)
    return Response(status_code=204)


@router.post(
    "/answers",
    tags=KB,
    summary="Ask the answer bot; it answers from the knowledge base or says it does not know",
)
def ask(data: AskIn, db: DB, actor: CurrentActor, now: Now) -> AnswerOut:
    return answers.ask(db, actor, data, now)


@router.post(
    "/answers/{session}/feedback",
    tags=KB,
    summary="Did this solve it? yes records a deflection; no opens a ticket for a human with the transcript",
)
def feedback(session: str, data: FeedbackIn, db: DB, actor: CurrentActor, now: Now) -> FeedbackOut:
    return answers.feedback(db, actor, session, data, now)
