"""knowledge base: categories, sections, articles, translations, revisions, votes, FAQ,
search index (FTS5 on SQLite, tsvector + GIN on PostgreSQL), search log, self-service sessions

Revision ID: h8kb
Revises: g7merge
Create Date: 2026-11-22 23:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tierdesk.core.db

revision: str = "h8kb"
down_revision: str | None = "g7merge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kb_categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", tierdesk.core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_categories")),
        sa.UniqueConstraint("slug", name=op.f("uq_kb_categories_slug")),
    )
    with op.batch_alter_table("kb_categories", schema=None) as batch_op:
        batch_op.create_index("ix_kb_categories_position", ["position", "id"], unique=False)

    op.create_table(
        "kb_sections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["kb_categories.id"],
            name=op.f("fk_kb_sections_category_id_kb_categories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_sections")),
        sa.UniqueConstraint("category_id", "name", name="uq_kb_sections_category_name"),
    )
    with op.batch_alter_table("kb_sections", schema=None) as batch_op:
        batch_op.create_index(
            "ix_kb_sections_category_position", ["category_id", "position", "id"], unique=False
        )

    op.create_table(
        "kb_articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("section_id", sa.Integer(), nullable=True),
        sa.Column("source_locale", sa.String(length=5), nullable=False),
        sa.Column("visibility", sa.String(length=12), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("author_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", tierdesk.core.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", tierdesk.core.db.UTCDateTime(), nullable=False),
        sa.Column("published_at", tierdesk.core.db.UTCDateTime(), nullable=True),
        sa.Column("view_count", sa.Integer(), nullable=False),
        sa.Column("helpful_count", sa.Integer(), nullable=False),
        sa.Column("unhelpful_count", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "(visibility = 'organization') = (organization_id IS NOT NULL)",
            name=op.f("ck_kb_articles_organization"),
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'published', 'archived')", name=op.f("ck_kb_articles_status")
        ),
        sa.CheckConstraint(
            "visibility IN ('public', 'internal', 'organization')", name=op.f("ck_kb_articles_visibility")
        ),
        sa.ForeignKeyConstraint(
            ["author_user_id"],
            ["users.id"],
            name=op.f("fk_kb_articles_author_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["kb_categories.id"],
            name=op.f("fk_kb_articles_category_id_kb_categories"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_kb_articles_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["section_id"],
            ["kb_sections.id"],
            name=op.f("fk_kb_articles_section_id_kb_sections"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_articles")),
    )
    with op.batch_alter_table("kb_articles", schema=None) as batch_op:
        batch_op.create_index(
            "ix_kb_articles_category_status", ["category_id", "status", "published_at", "id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_kb_articles_organization_id"), ["organization_id"], unique=False)
        batch_op.create_index("ix_kb_articles_status_updated", ["status", "updated_at", "id"], unique=False)

    op.create_table(
        "kb_faq_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(length=5), nullable=False),
        sa.Column("question", sa.String(length=300), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("featured", sa.Boolean(), nullable=False),
        sa.Column("created_at", tierdesk.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["kb_articles.id"],
            name=op.f("fk_kb_faq_entries_article_id_kb_articles"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["kb_categories.id"],
            name=op.f("fk_kb_faq_entries_category_id_kb_categories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_faq_entries")),
    )
    with op.batch_alter_table("kb_faq_entries", schema=None) as batch_op:
        batch_op.create_index("ix_kb_faq_category", ["category_id", "locale", "position", "id"], unique=False)
        batch_op.create_index(
            "ix_kb_faq_locale_featured", ["locale", "featured", "position", "id"], unique=False
        )

    op.create_table(
        "kb_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(length=5), nullable=False),
        sa.Column("title", sa.String(length=250), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author_user_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("created_at", tierdesk.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["kb_articles.id"],
            name=op.f("fk_kb_revisions_article_id_kb_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["author_user_id"],
            ["users.id"],
            name=op.f("fk_kb_revisions_author_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_revisions")),
    )
    with op.batch_alter_table("kb_revisions", schema=None) as batch_op:
        batch_op.create_index("ix_kb_revisions_article_locale", ["article_id", "locale", "id"], unique=False)

    op.create_table(
        "kb_search_docs",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(length=5), nullable=False),
        sa.Column("visibility", sa.String(length=12), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("title_terms", sa.Text(), nullable=False),
        sa.Column("body_terms", sa.Text(), nullable=False),
        sa.Column("title", sa.String(length=250), nullable=False),
        sa.Column("plain", sa.Text(), nullable=False),
        sa.Column("facets", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["kb_articles.id"],
            name=op.f("fk_kb_search_docs_article_id_kb_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_search_docs")),
    )
    with op.batch_alter_table("kb_search_docs", schema=None) as batch_op:
        batch_op.create_index("ix_kb_search_docs_article", ["article_id", "locale"], unique=False)
    _create_fulltext()
    op.create_table(
        "kb_terms",
        sa.Column("term", sa.String(length=100), nullable=False),
        sa.Column("df", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("term", name=op.f("pk_kb_terms")),
    )

    op.create_table(
        "kb_searches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("query", sa.String(length=200), nullable=False),
        sa.Column("locale", sa.String(length=5), nullable=True),
        sa.Column("result_count", sa.Integer(), nullable=False),
        sa.Column("actor_kind", sa.String(length=10), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", tierdesk.core.db.UTCDateTime(), nullable=False),
        sa.Column("clicked_article_id", sa.Integer(), nullable=True),
        sa.Column("clicked_at", tierdesk.core.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["clicked_article_id"],
            ["kb_articles.id"],
            name=op.f("fk_kb_searches_clicked_article_id_kb_articles"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_kb_searches_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_searches")),
    )
    with op.batch_alter_table("kb_searches", schema=None) as batch_op:
        batch_op.create_index("ix_kb_searches_created", ["created_at", "id"], unique=False)
        batch_op.create_index(
            "ix_kb_searches_zero",
            ["created_at"],
            unique=False,
            sqlite_where=sa.text("result_count = 0"),
            postgresql_where=sa.text("result_count = 0"),
        )

    op.create_table(
        "kb_translations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(length=5), nullable=False),
        sa.Column("title", sa.String(length=250), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("outdated", sa.Boolean(), nullable=False),
        sa.Column("created_at", tierdesk.core.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", tierdesk.core.db.UTCDateTime(), nullable=False),
        sa.Column("updated_by_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["kb_articles.id"],
            name=op.f("fk_kb_translations_article_id_kb_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_user_id"],
            ["users.id"],
            name=op.f("fk_kb_translations_updated_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_translations")),
        sa.UniqueConstraint("article_id", "locale", name="uq_kb_translations_article_locale"),
    )
    op.create_table(
        "kb_votes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(length=5), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", tierdesk.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["kb_articles.id"],
            name=op.f("fk_kb_votes_article_id_kb_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_kb_votes_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_votes")),
    )
    with op.batch_alter_table("kb_votes", schema=None) as batch_op:
        batch_op.create_index("ix_kb_votes_article_created", ["article_id", "created_at", "id"], unique=False)
        batch_op.create_index(
            "ux_kb_votes_article_user",
            ["article_id", "user_id"],
            unique=True,
            sqlite_where=sa.text("user_id IS NOT NULL"),
            postgresql_where=sa.text("user_id IS NOT NULL"),
        )

    op.create_table(
        "kb_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("locale", sa.String(length=5), nullable=False),
        sa.Column("started_at", tierdesk.core.db.UTCDateTime(), nullable=False),
        sa.Column("last_at", tierdesk.core.db.UTCDateTime(), nullable=False),
        sa.Column("first_answer_at", tierdesk.core.db.UTCDateTime(), nullable=True),
        sa.Column("first_article_id", sa.Integer(), nullable=True),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column(
            "transcript",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("outcome", sa.String(length=14), nullable=True),
        sa.Column("outcome_at", tierdesk.core.db.UTCDateTime(), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('solved', 'handed_off', 'deflected', 'ticket_opened')",
            name=op.f("ck_kb_sessions_outcome"),
        ),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["kb_categories.id"],
            name=op.f("fk_kb_sessions_category_id_kb_categories"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_kb_sessions_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["first_article_id"],
            ["kb_articles.id"],
            name=op.f("fk_kb_sessions_first_article_id_kb_articles"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_kb_sessions_ticket_id_tickets"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_kb_sessions_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_sessions")),
        sa.UniqueConstraint("key", name=op.f("uq_kb_sessions_key")),
    )
    with op.batch_alter_table("kb_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_kb_sessions_answered", ["first_answer_at", "id"], unique=False)
        batch_op.create_index(
            "ix_kb_sessions_unsettled",
            ["first_answer_at"],
            unique=False,
            sqlite_where=sa.text("outcome IS NULL AND first_answer_at IS NOT NULL"),
            postgresql_where=sa.text("outcome IS NULL AND first_answer_at IS NOT NULL"),
        )


def _create_fulltext() -> None:
    """The full-text index over kb_search_docs, fed with terms from kb/analyzer.py.

    SQLite: an FTS5 external-content table (the text lives once, in kb_search_docs) kept in
    step by triggers, so a cascade delete of an article also leaves the index. The terms
    are already analyzed, so `unicode61` only has to split them on spaces (diacritics are
    kept, as on PostgreSQL). A third column holds facet tokens (locale, visibility,
    organization), so the locale and visibility filters are part of the MATCH and FTS5 ranks
    only the documents the caller may see. PostgreSQL: a tsvector column written by the application with
    weights A (title) / B (body), under a GIN index."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE kb_fts USING fts5(title_terms, body_terms, facets, "
            "content='kb_search_docs', content_rowid='id', "
            "tokenize='unicode61 remove_diacritics 0', detail='full')"
        )
        op.execute(
            "CREATE TRIGGER kb_search_docs_ai AFTER INSERT ON kb_search_docs BEGIN "
            "INSERT INTO kb_fts(rowid, title_terms, body_terms, facets) "
            "VALUES (new.id, new.title_terms, new.body_terms, new.facets); END"
        )
        op.execute(
            "CREATE TRIGGER kb_search_docs_ad AFTER DELETE ON kb_search_docs BEGIN "
            "INSERT INTO kb_fts(kb_fts, rowid, title_terms, body_terms, facets) "
            "VALUES ('delete', old.id, old.title_terms, old.body_terms, old.facets); END"
        )
        op.execute(
            "CREATE TRIGGER kb_search_docs_au AFTER UPDATE ON kb_search_docs BEGIN "
            "INSERT INTO kb_fts(kb_fts, rowid, title_terms, body_terms, facets) "
            "VALUES ('delete', old.id, old.title_terms, old.body_terms, old.facets); "
            "INSERT INTO kb_fts(rowid, title_terms, body_terms, facets) "
            "VALUES (new.id, new.title_terms, new.body_terms, new.facets); END"
        )
        # Titles alone, for queries made only of very common terms (kb/search.py: plan): a
        # column filter on kb_fts would read the full position lists of those terms.
        op.execute(
            "CREATE VIRTUAL TABLE kb_fts_title USING fts5(title_terms, facets, "
            "content='kb_search_docs', content_rowid='id', "
            "tokenize='unicode61 remove_diacritics 0', detail='full')"
        )
        op.execute(
            "CREATE TRIGGER kb_search_docs_title_ai AFTER INSERT ON kb_search_docs BEGIN "
            "INSERT INTO kb_fts_title(rowid, title_terms, facets) "
            "VALUES (new.id, new.title_terms, new.facets); END"
        )
        op.execute(
            "CREATE TRIGGER kb_search_docs_title_ad AFTER DELETE ON kb_search_docs BEGIN "
            "INSERT INTO kb_fts_title(kb_fts_title, rowid, title_terms, facets) "
            "VALUES ('delete', old.id, old.title_terms, old.facets); END"
        )
        op.execute(
            "CREATE TRIGGER kb_search_docs_title_au AFTER UPDATE ON kb_search_docs BEGIN "
            "INSERT INTO kb_fts_title(kb_fts_title, rowid, title_terms, facets) "
            "VALUES ('delete', old.id, old.title_terms, old.facets); "
            "INSERT INTO kb_fts_title(rowid, title_terms, facets) "
            "VALUES (new.id, new.title_terms, new.facets); END"
        )
    else:
        op.execute("ALTER TABLE kb_search_docs ADD COLUMN tsv tsvector NOT NULL DEFAULT ''::tsvector")
        op.execute("CREATE INDEX ix_kb_search_docs_tsv ON kb_search_docs USING gin (tsv)")
        # Titles alone, for queries made only of very common terms (kb/search.py: plan).
        op.execute("ALTER TABLE kb_search_docs ADD COLUMN title_tsv tsvector NOT NULL DEFAULT ''::tsvector")
        op.execute("CREATE INDEX ix_kb_search_docs_title_tsv ON kb_search_docs USING gin (title_tsv)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("ai", "ad", "au", "title_ai", "title_ad", "title_au"):
            op.execute(f"DROP TRIGGER IF EXISTS kb_search_docs_{trigger}")
        op.execute("DROP TABLE IF EXISTS kb_fts_title")
        op.execute("DROP TABLE IF EXISTS kb_fts")
    with op.batch_alter_table("kb_sessions", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_kb_sessions_unsettled",
            sqlite_where=sa.text("outcome IS NULL AND first_answer_at IS NOT NULL"),
            postgresql_where=sa.text("outcome IS NULL AND first_answer_at IS NOT NULL"),
        )
        batch_op.drop_index("ix_kb_sessions_answered")

    op.drop_table("kb_sessions")
    with op.batch_alter_table("kb_votes", schema=None) as batch_op:
        batch_op.drop_index(
            "ux_kb_votes_article_user",
            sqlite_where=sa.text("user_id IS NOT NULL"),
            postgresql_where=sa.text("user_id IS NOT NULL"),
        )
        batch_op.drop_index("ix_kb_votes_article_created")

    op.drop_table("kb_votes")
    op.drop_table("kb_translations")
    with op.batch_alter_table("kb_searches", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_kb_searches_zero",
            sqlite_where=sa.text("result_count = 0"),
            postgresql_where=sa.text("result_count = 0"),
        )
        batch_op.drop_index("ix_kb_searches_created")

    op.drop_table("kb_searches")
    with op.batch_alter_table("kb_search_docs", schema=None) as batch_op:
        batch_op.drop_index("ix_kb_search_docs_article")

    op.drop_table("kb_terms")
    op.drop_table("kb_search_docs")
    with op.batch_alter_table("kb_revisions", schema=None) as batch_op:
        batch_op.drop_index("ix_kb_revisions_article_locale")

    op.drop_table("kb_revisions")
    with op.batch_alter_table("kb_faq_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_kb_faq_locale_featured")
        batch_op.drop_index("ix_kb_faq_category")

    op.drop_table("kb_faq_entries")
    with op.batch_alter_table("kb_articles", schema=None) as batch_op:
        batch_op.drop_index("ix_kb_articles_status_updated")
        batch_op.drop_index(batch_op.f("ix_kb_articles_organization_id"))
        batch_op.drop_index("ix_kb_articles_category_status")

    op.drop_table("kb_articles")
    with op.batch_alter_table("kb_sections", schema=None) as batch_op:
        batch_op.drop_index("ix_kb_sections_category_position")

    op.drop_table("kb_sections")
    with op.batch_alter_table("kb_categories", schema=None) as batch_op:
        batch_op.drop_index("ix_kb_categories_position")

    op.drop_table("kb_categories")
