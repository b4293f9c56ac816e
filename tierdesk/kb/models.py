"""Knowledge base (L0 self-service): categories and sections, articles with one
translation per locale, every saved version as a revision, votes, FAQ entries, the search
index, search analytics and self-service sessions (what deflection is measured on).

An article is visible to customers when it is published and its visibility allows it:
`public` (everyone, anonymous too), `organization` (customers of that organization and
staff), `internal` (staff only, e.g. refund-policy exceptions).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from tierdesk.core.db import Base, JSONType, UTCDateTime


class Visibility(StrEnum):
    public = "public"
    internal = "internal"
    organization = "organization"


class ArticleStatus(StrEnum):
    draft = "draft"
    in_review = "in_review"  # submitted by its author; a publisher approves or sends it back
    published = "published"
    archived = "archived"


class ArticleEventKind(StrEnum):
    submitted = "submitted"  # draft -> in_review
    approved = "approved"  # in_review -> published, by someone other than the submitter
    returned = "returned"  # in_review -> draft, with the reviewer's comment
    published = "published"  # published directly by someone who may publish
    unpublished = "unpublished"  # back to draft
    archived = "archived"


class SessionOutcome(StrEnum):
    solved = "solved"  # the customer said "this solved it"
    handed_off = "handed_off"  # the customer said no: a ticket was opened for a human
    deflected = "deflected"  # saw an answer and opened no ticket within 24 hours
    ticket_opened = "ticket_opened"  # saw an answer and still opened a ticket within 24 hours


DEFLECTED = (SessionOutcome.solved.value, SessionOutcome.deflected.value)


def _in(name: str, values: type[StrEnum]) -> str:
    return f"{name} IN ({', '.join(repr(v.value) for v in values)})"


class Category(Base):
    __tablename__ = "kb_categories"
    __table_args__ = (Index("ix_kb_categories_position", "position", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Section(Base):
    __tablename__ = "kb_sections"
    __table_args__ = (
        UniqueConstraint("category_id", "name", name="uq_kb_sections_category_name"),
        Index("ix_kb_sections_category_position", "category_id", "position", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("kb_categories.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(Integer, default=0)


class CategoryTranslation(Base):
    """A category's name (and description) in one locale; the category's own name is the
    default shown where a locale has none."""

    __tablename__ = "kb_category_translations"
    __table_args__ = (UniqueConstraint("category_id", "locale", name="uq_kb_category_translations_locale"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("kb_categories.id", ondelete="CASCADE"))
    locale: Mapped[str] = mapped_column(String(5))
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")


class SectionTranslation(Base):
    """A section's name in one locale (the section's own name is the default)."""

    __tablename__ = "kb_section_translations"
    __table_args__ = (UniqueConstraint("section_id", "locale", name="uq_kb_section_translations_locale"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("kb_sections.id", ondelete="CASCADE"))
    locale: Mapped[str] = mapped_column(String(5))
    name: Mapped[str] = mapped_column(String(120))


class Article(Base):
    __tablename__ = "kb_articles"
    __table_args__ = (
        CheckConstraint(_in("visibility", Visibility), name="visibility"),
        CheckConstraint(_in("status", ArticleStatus), name="status"),
        CheckConstraint("(visibility = 'organization') = (organization_id IS NOT NULL)", name="organization"),
        # Portal: published articles of a category, newest first (keyset on published_at, id).
        Index("ix_kb_articles_category_status", "category_id", "status", "published_at", "id"),
        # Agent workspace: articles by status, most recently edited first.
        Index("ix_kb_articles_status_updated", "status", "updated_at", "id"),
        # A section's articles: counted before deleting it, nulled by its ON DELETE SET NULL.
        Index("ix_kb_articles_section", "section_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("kb_categories.id", ondelete="RESTRICT"))
    section_id: Mapped[int | None] = mapped_column(ForeignKey("kb_sections.id", ondelete="SET NULL"))
    # The locale the article was written in: when its text changes, other translations are outdated.
    source_locale: Mapped[str] = mapped_column(String(5))
    visibility: Mapped[str] = mapped_column(String(12))
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(10))
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    view_count: Mapped[int] = mapped_column(Integer, default=0)
    helpful_count: Mapped[int] = mapped_column(Integer, default=0)
    unhelpful_count: Mapped[int] = mapped_column(Integer, default=0)


class ArticleEvent(Base):
    """Append-only history of an article's publishing workflow (who moved it where, with
    which comment), written in the transaction that changes its status."""

    __tablename__ = "kb_article_events"
    __table_args__ = (
        CheckConstraint(_in("kind", ArticleEventKind), name="kind"),
        Index("ix_kb_article_events_article", "article_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(12))
    from_status: Mapped[str] = mapped_column(String(10))
    to_status: Mapped[str] = mapped_column(String(10))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Translation(Base):
    """The current text of an article in one locale (markdown; sanitised when rendered)."""

    __tablename__ = "kb_translations"
    __table_args__ = (UniqueConstraint("article_id", "locale", name="uq_kb_translations_article_locale"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"))
    locale: Mapped[str] = mapped_column(String(5))
    title: Mapped[str] = mapped_column(String(250))
    body: Mapped[str] = mapped_column(Text)
    # Set when the source-locale text changed after this translation was last saved.
    outdated: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Revision(Base):
    """Every saved version of a translation, with its author (append-only)."""

    __tablename__ = "kb_revisions"
    __table_args__ = (Index("ix_kb_revisions_article_locale", "article_id", "locale", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"))
    locale: Mapped[str] = mapped_column(String(5))
    title: Mapped[str] = mapped_column(String(250))
    body: Mapped[str] = mapped_column(Text)
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(String(500))
    # True for the revision that was live when the article was (re)published.
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Vote(Base):
    __tablename__ = "kb_votes"
    __table_args__ = (
        # One vote per signed-in person and article (voting again changes it).
        Index(
            "ux_kb_votes_article_user",
            "article_id",
            "user_id",
            unique=True,
            sqlite_where=text("user_id IS NOT NULL"),
            postgresql_where=text("user_id IS NOT NULL"),
        ),
        Index("ix_kb_votes_article_created", "article_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"))
    locale: Mapped[str] = mapped_column(String(5))
    helpful: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class FaqEntry(Base):
    """A curated question with a short answer, optionally pointing at an article.
    Featured entries (at most ten per locale are shown) appear on the portal home."""

    __tablename__ = "kb_faq_entries"
    __table_args__ = (
        Index("ix_kb_faq_locale_featured", "locale", "featured", "position", "id"),
        Index("ix_kb_faq_category", "category_id", "locale", "position", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("kb_categories.id", ondelete="CASCADE"))
    locale: Mapped[str] = mapped_column(String(5))
    question: Mapped[str] = mapped_column(String(300))
    answer: Mapped[str] = mapped_column(Text)
    article_id: Mapped[int | None] = mapped_column(ForeignKey("kb_articles.id", ondelete="SET NULL"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    featured: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SearchDoc(Base):
    """One row per published translation: its analyzed terms and what the visibility
    filter needs. The full-text index lives beside it and is fed from it: an FTS5
    external-content table `kb_fts` on SQLite; on PostgreSQL the narrow table
    `kb_search_vectors` (doc_id, locale, visibility, organization_id, tsv under a GIN index)
    plus a `title_tsv` column here (created by the migrations, written by kb/search.py)."""

    __tablename__ = "kb_search_docs"
    __table_args__ = (Index("ix_kb_search_docs_article", "article_id", "locale"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # = translation id
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"))
    locale: Mapped[str] = mapped_column(String(5))
    visibility: Mapped[str] = mapped_column(String(12))
    organization_id: Mapped[int | None] = mapped_column(Integer)
    title_terms: Mapped[str] = mapped_column(Text)
    body_terms: Mapped[str] = mapped_column(Text)
    # What a result shows: the title and the body as plain text (markdown rendered once at
    # indexing), so a search never renders markdown or loads the article bodies.
    title: Mapped[str] = mapped_column(String(250))
    plain: Mapped[str] = mapped_column(Text)
    # "zzlocen zzvispublic" / "zzorg12": filter tokens matched inside FTS5 (see kb/search.py).
    facets: Mapped[str] = mapped_column(Text)


class SearchTerm(Base):
    """Document frequency of each indexed term (and, under the empty term, the number of
    documents). Search drops terms found in most documents from large indexes: they carry
    almost no ranking signal and would make the backend score most of the index."""

    __tablename__ = "kb_terms"

    term: Mapped[str] = mapped_column(String(100), primary_key=True)
    df: Mapped[int] = mapped_column(Integer)


class SearchLog(Base):
    """One row per search: top queries, queries that found nothing, click-through."""

    __tablename__ = "kb_searches"
    __table_args__ = (
        Index("ix_kb_searches_created", "created_at", "id"),
        Index(
            "ix_kb_searches_zero",
            "created_at",
            sqlite_where=text("result_count = 0"),
            postgresql_where=text("result_count = 0"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    query: Mapped[str] = mapped_column(String(200))
    locale: Mapped[str | None] = mapped_column(String(5))
    result_count: Mapped[int] = mapped_column(Integer)
    actor_kind: Mapped[str] = mapped_column(String(10))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    clicked_article_id: Mapped[int | None] = mapped_column(ForeignKey("kb_articles.id", ondelete="SET NULL"))
    clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SelfServiceSession(Base):
    """A customer's self-service visit (answer bot conversation or portal reading).
    Deflection is measured on these: a session that saw an answer counts as deflected when
    the customer said it solved the problem, or opened no ticket within 24 hours."""

    __tablename__ = "kb_sessions"
    __table_args__ = (
        CheckConstraint(f"outcome IS NULL OR {_in('outcome', SessionOutcome)}", name="outcome"),
        Index("ix_kb_sessions_answered", "first_answer_at", "id"),
        # What the settling job reads: sessions that saw an answer and have no outcome yet.
        Index(
            "ix_kb_sessions_unsettled",
            "first_answer_at",
            sqlite_where=text("outcome IS NULL AND first_answer_at IS NOT NULL"),
            postgresql_where=text("outcome IS NULL AND first_answer_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # unguessable; held by the visitor
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    locale: Mapped[str] = mapped_column(String(5))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_at: Mapped[datetime] = mapped_column(UTCDateTime())
    first_answer_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_article_id: Mapped[int | None] = mapped_column(ForeignKey("kb_articles.id", ondelete="SET NULL"))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("kb_categories.id", ondelete="SET NULL"))
    # [{"at", "question", "answered", "confidence", "article_id", "title", "passage", "shown": [ids]}]
    transcript: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    outcome: Mapped[str | None] = mapped_column(String(14))
    outcome_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
