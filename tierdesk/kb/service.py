"""Knowledge-base rules: articles and translations with revisions, publishing, search
with analytics, votes, FAQ. The answer bot and deflection live in kb/answers.py.

Every write flushes (the request commits). Staff write; customers and anonymous visitors
read what `repository.readable(actor)` lets them, and anything else answers 404.
"""

from __future__ import annotations

import base64
import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tierdesk.core.config import get_settings
from tierdesk.core.crud import flush_or_conflict
from tierdesk.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from tierdesk.core.i18n import N_
from tierdesk.core.security import Actor, require_staff
from tierdesk.customers import service as customers
from tierdesk.kb import analyzer, render, search
from tierdesk.kb import repository as repo
from tierdesk.kb.models import (
    Article,
    ArticleEvent,
    ArticleEventKind,
    ArticleStatus,
    Category,
    CategoryTranslation,
    FaqEntry,
    Revision,
    SearchLog,
    Section,
    SectionTranslation,
    Translation,
    Visibility,
    Vote,
)
from tierdesk.kb.schemas import (
    ArticleIn,
    ArticleOut,
    ArticlePage,
    ArticlePatch,
    ArticleSummary,
    CategoryIn,
    CategoryOut,
    CategoryPatch,
    CategoryTranslationIn,
    FaqIn,
    FaqPatch,
    QueryCount,
    RevisionDiff,
    SearchAnalytics,
    SearchOut,
    SearchResult,
    SectionIn,
    SectionPatch,
    SectionTranslationIn,
    TranslationIn,
    VoteIn,
    VoteOut,
)
from tierdesk.tickets import service as tickets
from tierdesk.tickets.models import MessageKind, Status

MAX_QUERY_CHARS = 1000
SEARCH_LIMIT_MAX = 50


def article_url(article_id: int, locale: str) -> str:
    return f"/help/articles/{article_id}?locale={locale}"


def locale_or_error(value: str | None, field: str = "locale") -> str | None:
    if value is None or value == "":
        return None
    locale = analyzer.supported(value)
    if locale is None:
        raise InvalidInput(
            f"'{value[:20]}' is not a knowledge-base locale; use one of {', '.join(analyzer.LOCALES)}.",
            field=field,
        )
    return locale


# --- categories and sections -----------------------------------------------------------------
def _slugify(name: str) -> str:
    slug = re.sub(r"[^\w]+", "-", analyzer.normalize(name).casefold()).strip("-")
    return slug[:60] or "general"


def create_category(db: Session, actor: Actor, data: CategoryIn, now: datetime) -> Category:
    require_staff(actor)
    category = Category(
        slug=_slugify(data.slug or data.name),
        name=data.name.strip(),
        description=data.description,
        position=data.position,
        created_at=now,
    )
    db.add(category)
    flush_or_conflict(db, f"Category '{category.slug}'")
    return category


def _category(db: Session, actor: Actor, key: str, now: datetime, create: bool) -> Category:
    found = repo.category_by_key(db, key)
    if found is not None:
        return found
    if not create:
        raise InvalidInput(f"There is no category '{key[:60]}'.", field="category")
    return create_category(db, actor, CategoryIn(name=key.strip()[:120]), now)


def list_categories(db: Session) -> list[Category]:
    return repo.categories(db)


def find_category(db: Session, key: str) -> Category | None:
    """The category with this slug or name (case-insensitive), if any."""
    return repo.category_by_key(db, key) if key.strip() else None


def get_category(db: Session, key: str) -> Category:
    found = repo.category_by_key(db, key)
    if found is None or not key.strip():
        raise NotFound(f"There is no category '{key[:60]}'.")
    return found


def create_section(db: Session, actor: Actor, data: SectionIn) -> Section:
    require_staff(actor)
    category = repo.category_by_key(db, data.category)
    if category is None:
        raise InvalidInput(f"There is no category '{data.category}'.", field="category")
    if repo.section_named(db, category.id, data.name, 0) is not None:
        raise Conflict(
            f"This category already has a section called '{data.name.strip()[:60]}'.", field="name"
        )
    section = Section(category_id=category.id, name=data.name.strip(), position=data.position)
    db.add(section)
    flush_or_conflict(db, f"Section '{data.name}'")
    return section


def list_sections(db: Session, category_id: int) -> list[Section]:
    return repo.sections(db, category_id)


def get_category_by_id(db: Session, category_id: int) -> Category:
    found = db.get(Category, category_id)
    if found is None:
        raise NotFound(f"There is no category {category_id}.")
    return found


def article_counts(db: Session) -> dict[int, int]:
    """Articles of any status per category id (for the management page)."""
    return repo.article_counts(db)


def update_category(db: Session, actor: Actor, category_id: int, patch: CategoryPatch) -> Category:
    """Rename, re-describe, re-slug or reorder a category (staff, the same people who write
    articles). A name may not be another category's name or slug, because articles, FAQ
    entries and portal addresses name categories by either. Fields sent as null are left
    as they are."""
    require_staff(actor)
    category = get_category_by_id(db, category_id)
    fields = patch.model_dump(exclude_unset=True, exclude_none=True)
    if "name" in fields:
        name = fields["name"].strip()
        clash = repo.category_named(db, name, category.id)
        if clash is not None:
            raise Conflict(f"Another category is already called '{name[:60]}'.", field="name")
        category.name = name
    if "slug" in fields:
        slug = _slugify(fields["slug"])
        clash = repo.category_named(db, slug, category.id)
        if clash is not None:
            raise Conflict(f"Another category already uses the address '{slug}'.", field="slug")
        category.slug = slug
    if "description" in fields:
        category.description = fields["description"]
    if "position" in fields:
        category.position = fields["position"]
    flush_or_conflict(db, f"Category '{category.slug}'")
    return category


def delete_category(db: Session, actor: Actor, category_id: int) -> None:
    """Delete an empty category (its sections go with it). A category that still holds
    articles (any status: drafts and archived ones count) or FAQ entries is refused with a
    409 that says how many, so nothing is lost by accident; move or delete them first."""
    require_staff(actor)
    category = get_category_by_id(db, category_id)
    # Lock the row so an article created in it concurrently waits for (and then fails on) the delete.
    db.refresh(category, with_for_update=True)
    articles, faq = repo.category_holdings(db, category.id)
    if articles:
        raise Conflict(
            f"Category '{category.name}' still holds {articles} article{'s' if articles != 1 else ''}; "
            "move them to another category or delete them first.",
            field="delete",
            articles=articles,
        )
    if faq:
        raise Conflict(
            f"Category '{category.name}' still holds {faq} FAQ entr{'ies' if faq != 1 else 'y'}; "
            "delete them first.",
            field="delete",
            faq_entries=faq,
        )
    db.delete(category)
    flush_or_conflict(db, f"Category '{category.slug}'")


def get_section(db: Session, section_id: int) -> Section:
    found = db.get(Section, section_id)
    if found is None:
        raise NotFound(f"There is no section {section_id}.")
    return found


def update_section(db: Session, actor: Actor, section_id: int, patch: SectionPatch) -> Section:
    """Rename or reorder a section (staff). Names are unique within a category
    (case-insensitive). Fields sent as null are left as they are."""
    require_staff(actor)
    section = get_section(db, section_id)
    fields = patch.model_dump(exclude_unset=True, exclude_none=True)
    if "name" in fields:
        name = fields["name"].strip()
        if repo.section_named(db, section.category_id, name, section.id) is not None:
            raise Conflict(f"This category already has a section called '{name[:60]}'.", field="name")
        section.name = name
    if "position" in fields:
        section.position = fields["position"]
    flush_or_conflict(db, f"Section '{section.name}'")
    return section


def delete_section(db: Session, actor: Actor, section_id: int) -> None:
    """Delete a section that holds no article (any status); otherwise a 409 saying how many."""
    require_staff(actor)
    section = get_section(db, section_id)
    db.refresh(section, with_for_update=True)
    articles = repo.section_article_count(db, section.id)
    if articles:
        raise Conflict(
            f"Section '{section.name}' still holds {articles} article{'s' if articles != 1 else ''}; "
            "move them to another section or delete them first.",
            field="delete",
            articles=articles,
        )
    db.delete(section)
    flush_or_conflict(db, f"Section '{section.name}'")


# --- names per locale ----------------------------------------------------------------------
@dataclass(frozen=True)
class LocalName:
    name: str
    description: str


def _supported_or_error(locale: str) -> str:
    loc = locale_or_error(locale)
    if loc is None:
        raise InvalidInput("Say which locale this name is in.", field="locale")
    return loc


def set_category_translation(
    db: Session, actor: Actor, category_id: int, locale: str, data: CategoryTranslationIn
) -> CategoryTranslation:
    """Add or change a category's name (and description) in one locale (staff)."""
    require_staff(actor)
    loc = _supported_or_error(locale)
    category = get_category_by_id(db, category_id)
    found = repo.category_translations(db, [category.id], loc)
    row = found[0] if found else CategoryTranslation(category_id=category.id, locale=loc)
    row.name, row.description = data.name.strip(), data.description
    db.add(row)
    flush_or_conflict(db, f"The {loc} name of category '{category.slug}'")
    return row


def delete_category_translation(db: Session, actor: Actor, category_id: int, locale: str) -> None:
    """Remove a category's name in one locale (the default name shows again); 404 if none."""
    require_staff(actor)
    loc = _supported_or_error(locale)
    found = repo.category_translations(db, [get_category_by_id(db, category_id).id], loc)
    if not found:
        raise NotFound(f"Category {category_id} has no {loc} name.")
    db.delete(found[0])
    db.flush()


def set_section_translation(
    db: Session, actor: Actor, section_id: int, locale: str, data: SectionTranslationIn
) -> SectionTranslation:
    """Add or change a section's name in one locale (staff)."""
    require_staff(actor)
    loc = _supported_or_error(locale)
    section = get_section(db, section_id)
    found = repo.section_translations(db, [section.id], loc)
    row = found[0] if found else SectionTranslation(section_id=section.id, locale=loc)
    row.name = data.name.strip()
    db.add(row)
    flush_or_conflict(db, f"The {loc} name of section {section.id}")
    return row


def delete_section_translation(db: Session, actor: Actor, section_id: int, locale: str) -> None:
    require_staff(actor)
    loc = _supported_or_error(locale)
    found = repo.section_translations(db, [get_section(db, section_id).id], loc)
    if not found:
        raise NotFound(f"Section {section_id} has no {loc} name.")
    db.delete(found[0])
    db.flush()


def category_translations(db: Session, category_id: int) -> list[CategoryTranslation]:
    return repo.category_translations(db, [get_category_by_id(db, category_id).id])


def section_translations(db: Session, section_ids: Sequence[int]) -> list[SectionTranslation]:
    return repo.section_translations(db, section_ids)


def category_names(db: Session, categories: Sequence[Category], locale: str | None) -> dict[int, LocalName]:
    """Each category's name and description in `locale`, else its own (default) ones."""
    loc = locale_or_error(locale)
    out = {c.id: LocalName(c.name, c.description) for c in categories}
    if loc is None:
        return out
    for t in repo.category_translations(db, list(out), loc):
        out[t.category_id] = LocalName(t.name, t.description or out[t.category_id].description)
    return out


def section_names(db: Session, sections: Sequence[Section], locale: str | None) -> dict[int, str]:
    loc = locale_or_error(locale)
    out = {s.id: s.name for s in sections}
    if loc is not None:
        for t in repo.section_translations(db, list(out), loc):
            out[t.section_id] = t.name
    return out


# --- articles ---------------------------------------------------------------------------------
def _check_visibility(db: Session, visibility: Visibility, organization_id: int | None) -> None:
    if visibility == Visibility.organization:
        if organization_id is None:
            raise InvalidInput("An organization-only article needs organization_id.", field="organization_id")
        if customers.organization_by_id(db, organization_id) is None:
            raise InvalidInput(f"Organization {organization_id} does not exist.", field="organization_id")
    elif organization_id is not None:
        raise InvalidInput(
            "organization_id is only for articles with visibility 'organization'.", field="organization_id"
        )


def _check_section(db: Session, section_id: int | None, category_id: int) -> None:
    if section_id is None:
        return
    section = db.get(Section, section_id)
    if section is None or section.category_id != category_id:
        raise InvalidInput(f"Section {section_id} is not in this category.", field="section_id")


def create_article(db: Session, actor: Actor, data: ArticleIn, now: datetime) -> Article:
    """A new article with its first translation and revision; published right away unless
    `draft` is set (as in Zendesk Guide's API). The category is found by slug or name and
    created when it does not exist yet."""
    require_staff(actor)
    _check_visibility(db, data.visibility, data.organization_id)
    category = _category(db, actor, data.category, now, create=True)
    _check_section(db, data.section_id, category.id)
    article = Article(
        category_id=category.id,
        section_id=data.section_id,
        source_locale=data.locale,
        visibility=data.visibility.value,
        organization_id=data.organization_id,
        status=ArticleStatus.draft.value,
        author_user_id=actor.user_id,
        created_at=now,
        updated_at=now,
        view_count=0,
        helpful_count=0,
        unhelpful_count=0,
    )
    db.add(article)
    db.flush()
    _save_translation(db, actor, article, data.locale, data.title, data.body, None, now)
    if not data.draft:
        if not may_publish(actor):
            raise Forbidden(N_("You may not publish articles; save it as a draft and submit it for review."))
        publish(db, actor, article.id, now)
    return article


def _save_translation(
    db: Session,
    actor: Actor,
    article: Article,
    locale: str,
    title: str,
    body: str,
    note: str | None,
    now: datetime,
) -> tuple[Translation, bool]:
    """Upsert the text of one locale, append a revision, flag other locales outdated when the
    source text changed. Returns (translation, changed)."""
    title = title.strip()
    body = render.strip_active_content(body)
    if not body.strip():
        raise InvalidInput("The body holds nothing but removed script or frames.", field="body")
    current = repo.translation(db, article.id, locale)
    if current is not None and current.title == title and current.body == body:
        return current, False
    if current is None:
        current = Translation(
            article_id=article.id,
            locale=locale,
            title=title,
            body=body,
            outdated=False,
            created_at=now,
            updated_at=now,
            updated_by_user_id=actor.user_id,
        )
        db.add(current)
    else:
        current.title, current.body = title, body
        current.outdated = False
        current.updated_at = now
        current.updated_by_user_id = actor.user_id
    db.add(
        Revision(
            article_id=article.id,
            locale=locale,
            title=title,
            body=body,
            author_user_id=actor.user_id,
            note=note,
            published=article.status == ArticleStatus.published.value,
            created_at=now,
        )
    )
    if locale == article.source_locale:
        for other in repo.translations(db, [article.id])[article.id]:
            if other.locale != locale:
                other.outdated = True
    article.updated_at = now
    db.flush()
    return current, True


def get_article_for_edit(db: Session, actor: Actor, article_id: int, lock: bool = True) -> Article:
    require_staff(actor)
    article = repo.get_readable(db, actor, article_id, for_update=lock)
    if article is None:
        raise NotFound(f"Article {article_id} does not exist.")
    return article


def save_translation(
    db: Session, actor: Actor, article_id: int, locale: str, data: TranslationIn, now: datetime
) -> Translation:
    """Add or change the text of `locale`. Changing the source locale marks the other
    translations outdated; saving a translation clears its own flag. A published article is
    re-indexed at once (edits of a published article are live, as in Zendesk Guide)."""
    loc = locale_or_error(locale)
    if loc is None:
        raise InvalidInput("Say which locale this translation is in.", field="locale")
    article = get_article_for_edit(db, actor, article_id)
    _require_publisher_for_live(actor, article)
    translation, changed = _save_translation(db, actor, article, loc, data.title, data.body, data.note, now)
    if changed and article.status == ArticleStatus.published.value:
        _index(db, article)
    return translation


def update_article(db: Session, actor: Actor, article_id: int, patch: ArticlePatch, now: datetime) -> Article:
    article = get_article_for_edit(db, actor, article_id)
    _require_publisher_for_live(actor, article)
    fields = patch.model_fields_set
    visibility = patch.visibility if patch.visibility is not None else Visibility(article.visibility)
    org = patch.organization_id if "organization_id" in fields else article.organization_id
    if visibility != Visibility.organization and "organization_id" not in fields:
        org = None
    _check_visibility(db, visibility, org)
    if patch.category is not None:
        category_id = _category(db, actor, patch.category, now, create=False).id
        if category_id != article.category_id and "section_id" not in fields:
            # Its section belongs to the old category: leave it sectionless in the new one.
            article.section_id = None
        article.category_id = category_id
    if "section_id" in fields:
        _check_section(db, patch.section_id, article.category_id)
        article.section_id = patch.section_id
    article.visibility, article.organization_id = visibility.value, org
    article.updated_at = now
    db.flush()
    if article.status == ArticleStatus.published.value:
        _index(db, article)
    return article


def may_publish(actor: Actor) -> bool:
    """Whether the actor publishes directly and reviews others' submissions: a staff role
    listed in the `kb_publisher_roles` setting (every staff role by default)."""
    return actor.is_staff and actor.role is not None and actor.role.value in get_settings().kb_publisher_roles


def _require_publisher_for_live(actor: Actor, article: Article) -> None:
    """Edits of a published article are live at once, so under team publishing only
    publishers make them; a writer asks a publisher, or has it taken back to draft."""
    if article.status == ArticleStatus.published.value and not may_publish(actor):
        raise Forbidden(N_("This article is published; only a publisher may change it."))


def _require_publisher(actor: Actor) -> None:
    require_staff(actor)
    if not may_publish(actor):
        raise Forbidden(N_("You may not publish articles; submit the draft for review instead."))


def _record(
    db: Session,
    actor: Actor,
    article: Article,
    kind: ArticleEventKind,
    to: ArticleStatus,
    comment: str | None,
    now: datetime,
) -> None:
    db.add(
        ArticleEvent(
            article_id=article.id,
            kind=kind.value,
            from_status=article.status,
            to_status=to.value,
            actor_user_id=actor.user_id,
            comment=comment,
            created_at=now,
        )
    )
    article.status = to.value
    article.updated_at = now


def _make_live(db: Session, article: Article, now: datetime) -> None:
    article.published_at = now
    for t in repo.translations(db, [article.id])[article.id]:
        latest = repo.latest_revision(db, article.id, t.locale)
        if latest is not None:
            latest.published = True
    db.flush()
    _index(db, article)


def publish(db: Session, actor: Actor, article_id: int, now: datetime, comment: str | None = None) -> Article:
    """Make the article live in every locale it has, and searchable (publishers only); an
    article in review is published as if approved by this publisher."""
    _require_publisher(actor)
    article = get_article_for_edit(db, actor, article_id)
    if article.status == ArticleStatus.in_review.value:
        return approve(db, actor, article_id, now, comment)
    _record(db, actor, article, ArticleEventKind.published, ArticleStatus.published, comment, now)
    _make_live(db, article, now)
    return article


def _clean_comment(comment: str | None) -> str | None:
    text = (comment or "").strip()
    if len(text) > 2000:
        raise InvalidInput(N_("Keep the comment under 2,000 characters."), field="comment")
    return text or None


def submit_for_review(
    db: Session, actor: Actor, article_id: int, now: datetime, comment: str | None = None
) -> Article:
    """Draft -> in review (any staff). The article stays unpublished until a publisher
    approves it; its text can still be edited meanwhile."""
    article = get_article_for_edit(db, actor, article_id)
    if article.status != ArticleStatus.draft.value:
        raise Conflict(N_("Only drafts can be submitted for review."), article_status=article.status)
    _record(
        db, actor, article, ArticleEventKind.submitted, ArticleStatus.in_review, _clean_comment(comment), now
    )
    db.flush()
    return article


def approve(db: Session, actor: Actor, article_id: int, now: datetime, comment: str | None = None) -> Article:
    """In review -> published, by a publisher other than the person who submitted it."""
    _require_publisher(actor)
    article = get_article_for_edit(db, actor, article_id)
    if article.status != ArticleStatus.in_review.value:
        raise Conflict(N_("This article is not in review."), article_status=article.status)
    submitted = repo.last_event(db, article.id, ArticleEventKind.submitted.value)
    if submitted is not None and actor.user_id is not None and submitted.actor_user_id == actor.user_id:
        raise Conflict(N_("You submitted this article; someone else has to review it."))
    _record(
        db, actor, article, ArticleEventKind.approved, ArticleStatus.published, _clean_comment(comment), now
    )
    _make_live(db, article, now)
    return article


def send_back(db: Session, actor: Actor, article_id: int, now: datetime, comment: str | None) -> Article:
    """In review -> draft with the reviewer's comment (required: the author needs to know why)."""
    _require_publisher(actor)
    text = _clean_comment(comment)
    if text is None:
        raise InvalidInput(N_("Say what has to change before it can be published."), field="comment")
    article = get_article_for_edit(db, actor, article_id)
    if article.status != ArticleStatus.in_review.value:
        raise Conflict(N_("This article is not in review."), article_status=article.status)
    _record(db, actor, article, ArticleEventKind.returned, ArticleStatus.draft, text, now)
    db.flush()
    return article


def article_events(db: Session, actor: Actor, article_id: int) -> list[ArticleEvent]:
    get_article_for_edit(db, actor, article_id, lock=False)
    return repo.article_events(db, article_id)


def unpublish(db: Session, actor: Actor, article_id: int, now: datetime, archive: bool = False) -> Article:
    """Take a published (or in-review) article down, back to draft or archived (publishers)."""
    _require_publisher(actor)
    article = get_article_for_edit(db, actor, article_id)
    kind = ArticleEventKind.archived if archive else ArticleEventKind.unpublished
    _record(db, actor, article, kind, ArticleStatus.archived if archive else ArticleStatus.draft, None, now)
    search.remove_article(db, article.id)
    db.flush()
    return article


def _doc(article: Article, t: Translation) -> search.DocTerms:
    plain = render.to_text(t.body)
    return search.DocTerms(
        doc_id=t.id,
        article_id=article.id,
        locale=t.locale,
        visibility=article.visibility,
        organization_id=article.organization_id,
        title_terms=analyzer.terms(t.title, t.locale),
        body_terms=analyzer.terms(plain, t.locale),
        title=t.title,
        plain=plain,
    )


def _index(db: Session, article: Article) -> None:
    docs = [_doc(article, t) for t in repo.translations(db, [article.id])[article.id]]
    search.remove_article(db, article.id)
    search.backend_for(db).put(db, docs)


def reindex(db: Session, article_ids: Sequence[int]) -> int:
    """Rebuild the search documents of these articles (published ones only); for bulk
    loads, restores and analyzer changes. Returns the number of documents written."""
    articles = [
        a
        for a in db.scalars(select(Article).where(Article.id.in_(article_ids)))
        if a.status == ArticleStatus.published.value
    ]
    texts = repo.translations(db, [a.id for a in articles])
    docs = [_doc(a, t) for a in articles for t in texts[a.id]]
    search.backend_for(db).put(db, docs)
    return len(docs)


def pick(translations: Sequence[Translation], locale: str | None, source: str) -> Translation:
    """The caller's locale, else the default locale, else the source text."""
    by_locale = {t.locale: t for t in translations}
    for candidate in (locale, analyzer.DEFAULT_LOCALE, source):
        if candidate and candidate in by_locale:
            return by_locale[candidate]
    return translations[0]


def read_article(
    db: Session, actor: Actor, article_id: int, locale: str | None, count_view: bool = False
) -> ArticleOut:
    article = repo.get_readable(db, actor, article_id)
    if article is None:
        raise NotFound(f"Article {article_id} does not exist or you may not see it.")
    loc = locale_or_error(locale)
    all_translations = repo.translations(db, [article.id])[article.id]
    chosen = pick(all_translations, loc, article.source_locale)
    if count_view and article.status == ArticleStatus.published.value:
        repo.bump_views(db, article.id)
        db.refresh(article, ["view_count"])
    category = db.get(Category, article.category_id)
    assert category is not None  # FK
    local = category_names(db, [category], loc or chosen.locale)[category.id]
    category_out = CategoryOut.model_validate(category).model_copy(
        update={"name": local.name, "description": local.description}
    )
    return ArticleOut(
        id=article.id,
        status=article.status,
        visibility=article.visibility,
        organization_id=article.organization_id,
        category=category_out,
        section_id=article.section_id,
        source_locale=article.source_locale,
        locale=chosen.locale,
        title=chosen.title,
        body=chosen.body,
        html=render.to_html(chosen.body),
        outdated=chosen.outdated,
        locales=[t.locale for t in all_translations],
        created_at=article.created_at,
        updated_at=article.updated_at,
        published_at=article.published_at,
        view_count=article.view_count,
        helpful_count=article.helpful_count,
        unhelpful_count=article.unhelpful_count,
        url=article_url(article.id, chosen.locale),
    )


def _cursor(article: Article) -> str:
    return base64.urlsafe_b64encode(f"{article.updated_at.isoformat()}|{article.id}".encode()).decode()


def _parse_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    if not cursor:
        return None
    try:
        stamp, _, ident = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(stamp), int(ident)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("This cursor is not one we handed out.", field="cursor") from exc


def list_articles(
    db: Session,
    actor: Actor,
    locale: str | None,
    status: ArticleStatus | None,
    category: str | None,
    cursor: str | None,
    limit: int,
) -> ArticlePage:
    loc = locale_or_error(locale)
    category_id = get_category(db, category).id if category else None
    rows = repo.articles_page(
        db, actor, status.value if status else None, category_id, _parse_cursor(cursor), limit + 1
    )
    more = len(rows) > limit
    rows = rows[:limit]
    texts = repo.translations(db, [a.id for a in rows])
    items = []
    for a in rows:
        t = pick(texts[a.id], loc, a.source_locale)
        items.append(
            ArticleSummary(
                id=a.id,
                title=t.title,
                locale=t.locale,
                status=a.status,
                visibility=a.visibility,
                category_id=a.category_id,
                updated_at=a.updated_at,
                published_at=a.published_at,
                view_count=a.view_count,
                outdated_locales=[x.locale for x in texts[a.id] if x.outdated] if actor.is_staff else [],
            )
        )
    return ArticlePage(items=items, next_cursor=_cursor(rows[-1]) if more and rows else None)


@dataclass(frozen=True)
class ShelfItem:
    id: int
    title: str
    locale: str


@dataclass(frozen=True)
class Shelf:
    """One section of a category on the portal (section None: articles without a section)."""

    section_id: int | None
    name: str | None
    articles: list[ShelfItem]
    more: str | None  # keyset cursor of the next page of this section, when there is one


SHELF_SIZE = 30


def category_shelves(
    db: Session, actor: Actor, category: Category, locale: str | None, per_section: int = SHELF_SIZE
) -> list[Shelf]:
    """The published articles of a category that the actor may read, grouped under their
    sections in section order (position, then id), articles without a section last; the
    newest `per_section` of each, with a cursor when a section has more. Empty sections
    (or sections whose articles the actor may not read) are left out."""
    loc = locale_or_error(locale)
    rows = repo.category_shelf(db, actor, category.id, per_section)
    texts = repo.translations(db, [i for i, _ in rows])
    articles = repo.articles_by_id(db, actor, [i for i, _ in rows])
    grouped: dict[int | None, list[int]] = {}
    for article_id, section_id in rows:
        grouped.setdefault(section_id, []).append(article_id)
    present = [s for s in repo.sections(db, category.id) if s.id in grouped]
    names = section_names(db, present, loc)
    order: list[tuple[int | None, str | None]] = [(s.id, names[s.id]) for s in present]
    if None in grouped:
        order.append((None, None))
    shelves = []
    for section_id, name in order:
        ids = grouped[section_id]
        shown = ids[:per_section]
        items = []
        for article_id in shown:
            t = pick(texts[article_id], loc, articles[article_id].source_locale)
            items.append(ShelfItem(article_id, t.title, t.locale))
        last = articles[shown[-1]]
        more = _published_cursor(last) if len(ids) > per_section else None
        shelves.append(Shelf(section_id, name, items, more))
    return shelves


def section_articles(
    db: Session,
    actor: Actor,
    category: Category,
    section_id: int | None,
    locale: str | None,
    cursor: str | None,
    limit: int = 50,
) -> Shelf:
    """One section's published articles (newest first, keyset), for "more in this section"."""
    loc = locale_or_error(locale)
    name = None
    if section_id is not None:
        section = db.get(Section, section_id)
        if section is None or section.category_id != category.id:
            raise NotFound(f"Category '{category.slug}' has no section {section_id}.")
        name = section_names(db, [section], loc)[section.id]
    rows = repo.section_page(db, actor, category.id, section_id, _parse_cursor(cursor), limit + 1)
    shown = rows[:limit]
    texts = repo.translations(db, [a.id for a in shown])
    items = []
    for a in shown:
        t = pick(texts[a.id], loc, a.source_locale)
        items.append(ShelfItem(a.id, t.title, t.locale))
    more = _published_cursor(shown[-1]) if len(rows) > limit and shown else None
    return Shelf(section_id, name, items, more)


def _published_cursor(article: Article) -> str:
    assert article.published_at is not None  # published articles only
    return base64.urlsafe_b64encode(f"{article.published_at.isoformat()}|{article.id}".encode()).decode()


# --- revisions ------------------------------------------------------------------------------
def list_revisions(db: Session, actor: Actor, article_id: int, locale: str | None) -> list[Revision]:
    get_article_for_edit(db, actor, article_id, lock=False)
    return repo.revisions(db, article_id, locale_or_error(locale))


def diff_revision(db: Session, actor: Actor, article_id: int, revision_id: int) -> RevisionDiff:
    """Unified diff (difflib) of a revision against the one before it in the same locale."""
    get_article_for_edit(db, actor, article_id, lock=False)
    rev = repo.revision(db, article_id, revision_id)
    if rev is None:
        raise NotFound(f"Article {article_id} has no revision {revision_id}.")
    before = repo.previous_revision(db, rev)
    old = [] if before is None else [f"# {before.title}", "", *before.body.splitlines()]
    new = [f"# {rev.title}", "", *rev.body.splitlines()]
    lines = difflib.unified_diff(
        old,
        new,
        fromfile=f"revision {before.id}" if before else "(nothing)",
        tofile=f"revision {rev.id}",
        lineterm="",
    )
    return RevisionDiff(revision_id=rev.id, against_id=before.id if before else None, diff="\n".join(lines))


# --- search ---------------------------------------------------------------------------------
def audience(actor: Actor) -> search.Audience:
    return search.Audience(
        staff=actor.is_staff, organization_id=actor.organization_id if actor.is_customer else None
    )


@dataclass(frozen=True)
class Found:
    article_id: int
    locale: str
    title: str
    score: float
    snippet: str
    text: str  # plain text of the body
    terms: list[str]  # the query's terms in the analysis that found it


def find(db: Session, actor: Actor, q: str, locale: str | None, limit: int) -> list[Found]:
    """Ranked published articles the actor may read. With a locale: that locale first, then
    the default locale for articles not found in it, then the locales of the query's own
    script (a Chinese query asked with locale=en). Without: every locale."""
    if not q.strip():
        raise InvalidInput("Type something to search for.", field="q")
    if len(q) > MAX_QUERY_CHARS:
        raise InvalidInput(f"Search for at most {MAX_QUERY_CHARS} characters.", field="q")
    limit = max(1, min(limit, SEARCH_LIMIT_MAX))
    backend = search.backend_for(db)
    who = audience(actor)
    passes: list[tuple[list[str] | None, list[str]]] = []
    if locale:
        passes.append(([locale], analyzer.query_terms(q, locale)))
        if locale != analyzer.DEFAULT_LOCALE:
            fallback = analyzer.DEFAULT_LOCALE
            passes.append(([fallback], analyzer.query_terms(q, fallback)))
        # A Chinese or Japanese query typed in an English or Italian page still finds the
        # articles written in its script, after those of the asked and default locales.
        for other in analyzer.script_locales(q):
            if other != locale:
                passes.append(([other], analyzer.query_terms(q, other)))
    else:
        passes.append((None, analyzer.query_terms_any(q, ("en", "it"))))
    hits: list[tuple[search.Hit, list[str]]] = []
    seen: set[int] = set()
    for locales, terms in passes:
        if len(hits) >= limit:
            break
        chosen = search.plan(db, terms)
        for hit in backend.search(db, chosen.terms, locales, who, limit, chosen.title_only):
            if hit.article_id not in seen and len(hits) < limit:
                seen.add(hit.article_id)
                hits.append((hit, terms))
    if not hits:
        return []
    texts = search.shown(db, [h.doc_id for h, _ in hits])
    out = []
    for hit, terms in hits:
        title, plain = texts[hit.doc_id]
        snippet = render.highlight(plain, hit.locale, set(terms)).html
        out.append(Found(hit.article_id, hit.locale, title, hit.score, snippet, plain, terms))
    return out


def _actor_kind(actor: Actor) -> str:
    if actor.is_anonymous:
        return "anonymous"
    return "customer" if actor.is_customer else "staff"


def search_articles(
    db: Session, actor: Actor, q: str, locale: str | None, limit: int, now: datetime, log: bool = True
) -> SearchOut:
    loc = locale_or_error(locale)
    found = find(db, actor, q, loc, limit)
    search_id = None
    if log:
        entry = SearchLog(
            query=analyzer.normalize(" ".join(q.split())).casefold()[:200],
            locale=loc,
            result_count=len(found),
            actor_kind=_actor_kind(actor),
            user_id=actor.user_id,
            created_at=now,
        )
        db.add(entry)
        db.flush()
        search_id = entry.id
    return SearchOut(
        results=[
            SearchResult(
                id=f.article_id,
                title=f.title,
                snippet=f.snippet,
                score=f.score,
                locale=f.locale,
                url=article_url(f.article_id, f.locale),
            )
            for f in found
        ],
        search_id=search_id,
        backend=search.backend_for(db).name,
    )


def suggest(db: Session, actor: Actor, text: str, locale: str | None, limit: int = 5) -> list[SearchResult]:
    """Articles matching what someone is typing (a new ticket, a reply): like search, but
    not logged (keystrokes are not searches) and empty text gives no suggestions."""
    text = text.strip()[:MAX_QUERY_CHARS]
    if not text:
        return []
    found = find(db, actor, text, locale_or_error(locale), limit)
    return [
        SearchResult(
            id=f.article_id,
            title=f.title,
            snippet=f.snippet,
            score=f.score,
            locale=f.locale,
            url=article_url(f.article_id, f.locale),
        )
        for f in found
    ]


@dataclass(frozen=True)
class TicketSuggestion:
    """An article suggested on an agent's ticket page; `public` says whether its link may go
    into a public reply (internal and organization-only articles are for the agent)."""

    result: SearchResult
    public: bool


def suggest_for_ticket(
    db: Session, actor: Actor, text: str, locale: str | None, limit: int = 5
) -> list[TicketSuggestion]:
    """Public and internal articles matching a ticket, for the agent working it."""
    require_staff(actor)
    found = suggest(db, actor, text, locale, limit)
    articles = repo.articles_by_id(db, actor, [f.id for f in found])
    return [
        TicketSuggestion(f, f.id in articles and articles[f.id].visibility == Visibility.public.value)
        for f in found
    ]


def draft_from_ticket(db: Session, actor: Actor, ticket_ref: str, now: datetime) -> Article:
    """Knowledge-centred practice: turn a solved ticket into a draft article (question from
    the ticket, answer from the staff's public replies) for an agent to edit and publish.
    Internal notes are never copied. The draft is internal until someone changes it."""
    require_staff(actor)
    ticket = tickets.get_ticket(db, actor, tickets.parse_ref(ticket_ref))
    if ticket.status not in (Status.solved.value, Status.closed.value):
        raise Conflict(f"{ticket.number} is {ticket.status}; only solved or closed tickets become articles.")
    replies = [
        m.body
        for m in tickets.list_messages(db, actor, ticket.id)
        if m.kind == MessageKind.public.value and m.author_kind == "agent"
    ]
    if not replies:
        raise Conflict(f"{ticket.number} has no public staff reply to turn into an answer.")
    body = f"{ticket.description.strip()}\n\n## Answer\n\n" + "\n\n".join(r.strip() for r in replies)
    data = ArticleIn(
        title=ticket.subject[:250],
        body=body[:200_000],
        locale=analyzer.supported(ticket.language) or analyzer.DEFAULT_LOCALE,
        category=ticket.category or "general",
        visibility=Visibility.internal,
        draft=True,
    )
    return create_article(db, actor, data, now)


def record_click(db: Session, actor: Actor, search_id: int, article_id: int, now: datetime) -> None:
    """Click-through: the first article opened from a search result list."""
    entry = db.get(SearchLog, search_id)
    if entry is None or (entry.user_id is not None and entry.user_id != actor.user_id):
        raise NotFound(f"Search {search_id} does not exist.")
    if repo.get_readable(db, actor, article_id) is None:
        raise NotFound(f"Article {article_id} does not exist or you may not see it.")
    if entry.clicked_at is None:
        entry.clicked_article_id, entry.clicked_at = article_id, now
        db.flush()


def search_analytics(db: Session, actor: Actor, now: datetime, days: int, limit: int = 20) -> SearchAnalytics:
    require_staff(actor)
    since = now - timedelta(days=days)
    total, clicked, zero = repo.search_totals(db, since)
    return SearchAnalytics(
        since=since,
        searches=total,
        with_click=clicked,
        click_through_rate=round(clicked / total, 4) if total else None,
        zero_result_searches=zero,
        top_queries=[
            QueryCount(query=q, count=n, clicks=c) for q, n, c in repo.top_queries(db, since, False, limit)
        ],
        zero_result_queries=[
            QueryCount(query=q, count=n) for q, n, _ in repo.top_queries(db, since, True, limit)
        ],
    )


# --- votes ----------------------------------------------------------------------------------
def vote(db: Session, actor: Actor, article_id: int, data: VoteIn, now: datetime) -> VoteOut:
    """'Was this helpful?' One vote per signed-in person (voting again replaces it);
    anonymous votes are counted each time. Only published articles take votes."""
    article = repo.get_readable(db, actor, article_id, for_update=True)
    if article is None:
        raise NotFound(f"Article {article_id} does not exist or you may not see it.")
    if article.status != ArticleStatus.published.value:
        raise Conflict(f"Article {article_id} is not published; only published articles take votes.")
    locale = data.locale or article.source_locale
    comment = (data.comment or "").strip() or None
    previous = None
    if actor.user_id is not None:
        previous = db.query(Vote).filter(Vote.article_id == article.id, Vote.user_id == actor.user_id).first()
    if previous is not None:
        if previous.helpful != data.helpful:
            article.helpful_count += 1 if data.helpful else -1
            article.unhelpful_count += -1 if data.helpful else 1
        previous.helpful, previous.comment, previous.locale, previous.created_at = (
            data.helpful,
            comment,
            locale,
            now,
        )
    else:
        db.add(
            Vote(
                article_id=article.id,
                locale=locale,
                helpful=data.helpful,
                comment=comment,
                user_id=actor.user_id,
                created_at=now,
            )
        )
        if data.helpful:
            article.helpful_count += 1
        else:
            article.unhelpful_count += 1
    db.flush()
    return VoteOut(
        article_id=article.id, helpful_count=article.helpful_count, unhelpful_count=article.unhelpful_count
    )


def list_votes(db: Session, actor: Actor, article_id: int, limit: int = 100) -> list[Vote]:
    get_article_for_edit(db, actor, article_id, lock=False)
    return list(
        db.query(Vote)
        .filter(Vote.article_id == article_id)
        .order_by(Vote.created_at.desc(), Vote.id.desc())
        .limit(limit)
    )


# --- FAQ ------------------------------------------------------------------------------------
FEATURED_MAX = 10


def create_faq(db: Session, actor: Actor, data: FaqIn, now: datetime) -> FaqEntry:
    require_staff(actor)
    category = _category(db, actor, data.category, now, create=False)
    if data.article_id is not None and db.get(Article, data.article_id) is None:
        raise InvalidInput(f"Article {data.article_id} does not exist.", field="article_id")
    entry = FaqEntry(
        category_id=category.id,
        locale=data.locale,
        question=data.question.strip(),
        answer=render.strip_active_content(data.answer),
        article_id=data.article_id,
        position=data.position,
        featured=data.featured,
        created_at=now,
    )
    db.add(entry)
    db.flush()
    return entry


def _faq_entry(db: Session, entry_id: int) -> FaqEntry:
    entry = db.get(FaqEntry, entry_id)
    if entry is None:
        raise NotFound(f"There is no FAQ entry {entry_id}.")
    return entry


def update_faq(db: Session, actor: Actor, entry_id: int, patch: FaqPatch, now: datetime) -> FaqEntry:
    """Change an FAQ entry's question, answer, linked article, category, locale, position or
    featured flag (staff). Fields not sent stay; article_id sent as null unlinks the article."""
    require_staff(actor)
    entry = _faq_entry(db, entry_id)
    fields = patch.model_fields_set
    if patch.category is not None:
        entry.category_id = _category(db, actor, patch.category, now, create=False).id
    if patch.locale is not None:
        entry.locale = patch.locale
    if patch.question is not None:
        entry.question = patch.question.strip()
    if patch.answer is not None:
        entry.answer = render.strip_active_content(patch.answer)
        if not entry.answer.strip():
            raise InvalidInput("The answer holds nothing but removed script or frames.", field="answer")
    if "article_id" in fields:
        if patch.article_id is not None and db.get(Article, patch.article_id) is None:
            raise InvalidInput(f"Article {patch.article_id} does not exist.", field="article_id")
        entry.article_id = patch.article_id
    if patch.position is not None:
        entry.position = patch.position
    if patch.featured is not None:
        entry.featured = patch.featured
    db.flush()
    return entry


def move_faq(db: Session, actor: Actor, entry_id: int, direction: str) -> list[FaqEntry]:
    """Move an entry one place up or down among its category's entries of the same locale.
    The list is renumbered 0, 10, 20… so ties left by hand-typed positions cannot make the
    move a no-op. Returns the list in its new order."""
    require_staff(actor)
    entry = _faq_entry(db, entry_id)
    # Lock the category row: two concurrent moves in one list renumber it one after the other.
    category = db.get(Category, entry.category_id, with_for_update=True)
    assert category is not None  # FK
    entries = repo.faq_list(db, entry.category_id, entry.locale)
    i = next(n for n, e in enumerate(entries) if e.id == entry.id)
    j = i - 1 if direction == "up" else i + 1
    if 0 <= j < len(entries):
        entries[i], entries[j] = entries[j], entries[i]
    for n, e in enumerate(entries):
        e.position = n * 10
    db.flush()
    return entries


def faq_for_staff(db: Session, actor: Actor, locale: str) -> list[FaqEntry]:
    """Every FAQ entry of a locale, by category and position (the management page)."""
    require_staff(actor)
    return repo.faq_of_locale(db, locale)


def featured_count(db: Session, locale: str) -> int:
    return repo.faq_featured_count(db, locale)


def delete_faq(db: Session, actor: Actor, entry_id: int) -> None:
    """Remove an FAQ entry (staff); the article it pointed at stays."""
    require_staff(actor)
    entry = _faq_entry(db, entry_id)
    db.delete(entry)
    db.flush()


def list_faq(
    db: Session, actor: Actor, locale: str | None, category: str | None, featured: bool | None
) -> list[FaqEntry]:
    """Entries of a locale (falling back to the default locale when it has none)."""
    loc = locale_or_error(locale) or analyzer.DEFAULT_LOCALE
    category_id = get_category(db, category).id if category else None
    entries = repo.faq(db, actor, loc, category_id, featured)
    if not entries and loc != analyzer.DEFAULT_LOCALE:
        entries = repo.faq(db, actor, analyzer.DEFAULT_LOCALE, category_id, featured)
    return entries[:FEATURED_MAX] if featured else entries


def categories_by_id(db: Session, ids: Sequence[int]) -> dict[int, Category]:
    return repo.categories_by_id(db, ids)
