from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from tierdesk.kb import analyzer
from tierdesk.kb.models import Visibility

Title = Annotated[str, Field(min_length=1, max_length=250)]
Markdown = Annotated[str, Field(min_length=1, max_length=200_000)]
Slug = Annotated[str, Field(min_length=1, max_length=60)]


def check_locale(value: str) -> str:
    locale = analyzer.supported(value)
    if locale is None:
        raise ValueError(
            f"'{value[:20]}' is not a knowledge-base locale; use one of {', '.join(analyzer.LOCALES)}"
        )
    return locale


def _not_blank(value: str | None) -> str | None:
    if value is not None and not value.strip():
        raise ValueError("must not be blank")
    return value


Name = Annotated[str, Field(min_length=1, max_length=120)]
Description = Annotated[str, Field(max_length=2000)]
# Shown in ascending order; bounded so it always fits the INTEGER column.
Position = Annotated[int, Field(ge=0, le=1_000_000)]


class CategoryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    slug: Slug | None = None
    description: Description = ""
    position: Position = 0

    _name = field_validator("name")(_not_blank)


class CategoryPatch(BaseModel):
    """Rename, reorder or describe a category; only the fields sent change. The slug (the
    category's address on the portal) stays unless a new one is sent."""

    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    slug: Slug | None = None
    description: Description | None = None
    position: Position | None = None

    _name = field_validator("name", "slug")(_not_blank)


class CategoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    slug: str
    name: str
    description: str
    position: int


class CategoryTranslationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    description: Description = ""

    _name = field_validator("name")(_not_blank)


class SectionTranslationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name

    _name = field_validator("name")(_not_blank)


class NameTranslationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    locale: str
    name: str
    description: str = ""


class SectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: Slug
    name: Name
    position: Position = 0

    _name = field_validator("name")(_not_blank)


class SectionPatch(BaseModel):
    """Rename or reorder a section; only the fields sent change."""

    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    position: Position | None = None

    _name = field_validator("name")(_not_blank)


class SectionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    category_id: int
    name: str
    position: int


class ArticleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Title
    body: Markdown
    locale: str = analyzer.DEFAULT_LOCALE
    category: Slug = Field(description="Category slug or name; created when it does not exist yet.")
    section_id: int | None = None
    visibility: Visibility = Visibility.public
    organization_id: int | None = Field(default=None, description="Required for visibility 'organization'.")
    draft: bool = Field(default=False, description="Keep it as a draft instead of publishing it now.")

    _locale = field_validator("locale")(check_locale)
    _title = field_validator("title", "body")(_not_blank)


class ArticlePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: Slug | None = None
    section_id: int | None = None
    visibility: Visibility | None = None
    organization_id: int | None = None


class TranslationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Title
    body: Markdown
    note: Annotated[str, Field(max_length=500)] | None = None

    _title = field_validator("title", "body")(_not_blank)


class ReviewIn(BaseModel):
    """A comment for a workflow step; sending an article back requires one."""

    model_config = ConfigDict(extra="forbid")
    comment: Annotated[str, Field(max_length=2000)] | None = None


class ArticleEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    article_id: int
    kind: str
    from_status: str
    to_status: str
    actor_user_id: int | None
    comment: str | None
    created_at: datetime


class TranslationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    locale: str
    title: str
    body: str
    outdated: bool
    updated_at: datetime


class ArticleOut(BaseModel):
    id: int
    status: str
    visibility: str
    organization_id: int | None
    category: CategoryOut
    section_id: int | None
    source_locale: str
    locale: str
    title: str
    body: str
    html: str
    outdated: bool
    locales: list[str]
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    view_count: int
    helpful_count: int
    unhelpful_count: int
    url: str


class ArticleSummary(BaseModel):
    id: int
    title: str
    locale: str
    status: str
    visibility: str
    category_id: int
    updated_at: datetime
    published_at: datetime | None
    view_count: int
    outdated_locales: list[str] = []


class ArticlePage(BaseModel):
    items: list[ArticleSummary]
    next_cursor: str | None


class RevisionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    article_id: int
    locale: str
    title: str
    author_user_id: int | None
    note: str | None
    published: bool
    created_at: datetime


class RevisionDiff(BaseModel):
    revision_id: int
    against_id: int | None
    diff: str


class SearchResult(BaseModel):
    id: int
    title: str
    snippet: str = Field(description="HTML-escaped text with <mark> around the matched words.")
    score: float
    locale: str
    url: str


class SearchOut(BaseModel):
    results: list[SearchResult]
    search_id: int | None = Field(description="Pass back with a click so click-through is measured.")
    backend: str


class FromTicketIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ticket: Annotated[str, Field(min_length=1, max_length=20, description="T-1042 or 1042")]


class ClickIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    article_id: int


class VoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    helpful: bool
    comment: Annotated[str, Field(max_length=2000)] | None = None
    locale: str | None = None

    @field_validator("locale")
    @classmethod
    def _loc(cls, value: str | None) -> str | None:
        return None if value is None else check_locale(value)


class VoteOut(BaseModel):
    article_id: int
    helpful_count: int
    unhelpful_count: int


class FaqIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: Slug
    locale: str = analyzer.DEFAULT_LOCALE
    question: Annotated[str, Field(min_length=1, max_length=300)]
    answer: Annotated[str, Field(min_length=1, max_length=5000)]
    article_id: int | None = None
    position: Position = 0
    featured: bool = False

    _locale = field_validator("locale")(check_locale)
    _text = field_validator("question", "answer")(_not_blank)


class FaqPatch(BaseModel):
    """Change an FAQ entry; only the fields sent change (article_id: null unlinks it)."""

    model_config = ConfigDict(extra="forbid")
    category: Slug | None = None
    locale: str | None = None
    question: Annotated[str, Field(min_length=1, max_length=300)] | None = None
    answer: Annotated[str, Field(min_length=1, max_length=5000)] | None = None
    article_id: int | None = None
    position: Position | None = None
    featured: bool | None = None

    _text = field_validator("question", "answer")(_not_blank)

    @field_validator("locale")
    @classmethod
    def _loc(cls, value: str | None) -> str | None:
        return None if value is None else check_locale(value)


class FaqMove(BaseModel):
    model_config = ConfigDict(extra="forbid")
    direction: Literal["up", "down"]


class FaqOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    category_id: int
    locale: str
    question: str
    answer: str
    article_id: int | None
    position: int
    featured: bool


class QueryCount(BaseModel):
    query: str
    count: int
    clicks: int = 0


class SearchAnalytics(BaseModel):
    since: datetime
    searches: int
    with_click: int
    click_through_rate: float | None
    zero_result_searches: int
    top_queries: list[QueryCount]
    zero_result_queries: list[QueryCount]


class AskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: Annotated[str, Field(max_length=4000)]
    locale: str = analyzer.DEFAULT_LOCALE
    session: Annotated[str, Field(max_length=64)] | None = Field(
        default=None, description="The session key from a previous answer, to continue the conversation."
    )

    _locale = field_validator("locale")(check_locale)

    @field_validator("question")
    @classmethod
    def _q(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("type a question")
        return value


class ArticleRef(BaseModel):
    id: int
    title: str
    locale: str
    url: str


class AnswerOut(BaseModel):
    session: str
    answered: bool
    confidence: float
    passage: str | None
    article: ArticleRef | None
    message: str
    related: list[ArticleRef]


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    solved: bool
    email: EmailStr | None = Field(
        default=None, description="Anonymous visitors: where a human should reply."
    )
    name: Annotated[str, Field(max_length=200)] | None = None
    details: Annotated[str, Field(max_length=20_000)] | None = None


class FeedbackOut(BaseModel):
    session: str
    outcome: str
    ticket_id: int | None = None
    ticket_number: str | None = None


class DeflectionRow(BaseModel):
    key: str
    label: str
    sessions: int
    deflected: int
    handed_off: int
    rate: float | None


class DeflectionReport(BaseModel):
    since: datetime
    settled_sessions: int
    deflected: int
    rate: float | None
    pending: int
    by_week: list[DeflectionRow]
    by_category: list[DeflectionRow]
    by_article: list[DeflectionRow]
