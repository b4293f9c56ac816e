"""knowledge base: an "in review" status and the article workflow history

Authors can submit a draft for review; a publisher approves (publishes) it or sends it back
with a comment. `kb_articles.status` accepts 'in_review' (the check constraint is replaced,
in batch mode so SQLite rebuilds the table), and `kb_article_events` records every status
change (submitted, approved, returned, published, unpublished, archived) with its actor and
comment, written in the same transaction as the change.

Category and section names become translatable: `kb_category_translations` (name and
description per locale) and `kb_section_translations` (name per locale); the portal shows
the reader's locale and falls back to the category's or section's own name.

Revision ID: l12kbui
Revises: k11merge
Create Date: 2026-11-23 04:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tierdesk.core.db import UTCDateTime

revision: str = "l12kbui"
down_revision: str | None = "k11merge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUS = "status IN ('draft', 'published', 'archived')"
NEW_STATUS = "status IN ('draft', 'in_review', 'published', 'archived')"
KINDS = "kind IN ('submitted', 'approved', 'returned', 'published', 'unpublished', 'archived')"


def upgrade() -> None:
    with op.batch_alter_table("kb_articles", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_kb_articles_status"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_kb_articles_status"), NEW_STATUS)
    op.create_table(
        "kb_article_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("from_status", sa.String(length=10), nullable=False),
        sa.Column("to_status", sa.String(length=10), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(KINDS, name=op.f("ck_kb_article_events_kind")),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["kb_articles.id"],
            name=op.f("fk_kb_article_events_article_id_kb_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["users.id"],
            name=op.f("fk_kb_article_events_actor_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_article_events")),
    )
    op.create_index("ix_kb_article_events_article", "kb_article_events", ["article_id", "id"], unique=False)
    op.create_table(
        "kb_category_translations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(length=5), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["kb_categories.id"],
            name=op.f("fk_kb_category_translations_category_id_kb_categories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_category_translations")),
        sa.UniqueConstraint("category_id", "locale", name="uq_kb_category_translations_locale"),
    )
    op.create_table(
        "kb_section_translations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("section_id", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(length=5), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["section_id"],
            ["kb_sections.id"],
            name=op.f("fk_kb_section_translations_section_id_kb_sections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_section_translations")),
        sa.UniqueConstraint("section_id", "locale", name="uq_kb_section_translations_locale"),
    )


def downgrade() -> None:
    op.drop_table("kb_section_translations")
    op.drop_table("kb_category_translations")
    op.drop_index("ix_kb_article_events_article", table_name="kb_article_events")
    op.drop_table("kb_article_events")
    # Articles still in review go back to draft: the old constraint does not know the status.
    op.execute("UPDATE kb_articles SET status = 'draft' WHERE status = 'in_review'")
    with op.batch_alter_table("kb_articles", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_kb_articles_status"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_kb_articles_status"), OLD_STATUS)
