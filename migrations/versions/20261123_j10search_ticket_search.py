"""ticket search: the index documents (FTS5 on SQLite, tsvector + GIN on PostgreSQL) and the
queue the tickets service writes and the worker drains

Every ticket that exists when this runs is queued, so the worker indexes existing tickets
on its own after the upgrade (`tierdesk search reindex` does it at once, in batches).

Revision ID: j10search
Revises: i9merge
Create Date: 2026-11-23 01:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tierdesk.core.db

revision: str = "j10search"
down_revision: str | None = "i9merge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "search_queue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_queue")),
    )
    op.create_table(
        "ticket_search_docs",
        sa.Column("ticket_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("public_terms", sa.Text(), nullable=False),
        sa.Column("internal_terms", sa.Text(), nullable=False),
        sa.Column("indexed_at", tierdesk.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_search_docs_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_ticket_search_docs")),
    )
    _create_fulltext()
    op.execute("INSERT INTO search_queue (ticket_id) SELECT id FROM tickets ORDER BY id")


def _create_fulltext() -> None:
    """SQLite: an FTS5 external-content table over ticket_search_docs (rowid = ticket id),
    kept in step by triggers, so a ticket's cascade delete also leaves the index. The terms
    are already analyzed (kb/analyzer.py), so `unicode61` only splits them on spaces.
    `detail=column`: no positions (search ANDs terms, never phrases), but column filters
    still work — customers' queries are limited to `public_terms`.

    PostgreSQL: two tsvector columns written by the application as literals, each under
    its own GIN index: `public_tsv` (what a customer may match) and `all_tsv` (public and
    internal terms: staff match a query's words across both)."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE ticket_fts USING fts5(public_terms, internal_terms, "
            "content='ticket_search_docs', content_rowid='ticket_id', "
            "tokenize='unicode61 remove_diacritics 0', detail='column')"
        )
        op.execute(
            "CREATE TRIGGER ticket_search_docs_ai AFTER INSERT ON ticket_search_docs BEGIN "
            "INSERT INTO ticket_fts(rowid, public_terms, internal_terms) "
            "VALUES (new.ticket_id, new.public_terms, new.internal_terms); END"
        )
        op.execute(
            "CREATE TRIGGER ticket_search_docs_ad AFTER DELETE ON ticket_search_docs BEGIN "
            "INSERT INTO ticket_fts(ticket_fts, rowid, public_terms, internal_terms) "
            "VALUES ('delete', old.ticket_id, old.public_terms, old.internal_terms); END"
        )
        op.execute(
            "CREATE TRIGGER ticket_search_docs_au AFTER UPDATE ON ticket_search_docs BEGIN "
            "INSERT INTO ticket_fts(ticket_fts, rowid, public_terms, internal_terms) "
            "VALUES ('delete', old.ticket_id, old.public_terms, old.internal_terms); "
            "INSERT INTO ticket_fts(rowid, public_terms, internal_terms) "
            "VALUES (new.ticket_id, new.public_terms, new.internal_terms); END"
        )
    else:
        op.execute(
            "ALTER TABLE ticket_search_docs ADD COLUMN public_tsv tsvector NOT NULL DEFAULT ''::tsvector"
        )
        op.execute("ALTER TABLE ticket_search_docs ADD COLUMN all_tsv tsvector NOT NULL DEFAULT ''::tsvector")
        op.execute(
            "CREATE INDEX ix_ticket_search_docs_public_tsv ON ticket_search_docs USING gin (public_tsv)"
        )
        op.execute("CREATE INDEX ix_ticket_search_docs_all_tsv ON ticket_search_docs USING gin (all_tsv)")
        # A bigger sample of lexemes: a term missing from the statistics is then estimated as
        # rare (as it is), so the planner takes the GIN index for it. With the default, a rare
        # or absent term was estimated at 0.4% of the rows and the plan walked the primary key
        # backwards through every document looking for 25 matches (300 ms at 100k tickets).
        for column in ("public_tsv", "all_tsv"):
            op.execute(f"ALTER TABLE ticket_search_docs ALTER COLUMN {column} SET STATISTICS 1000")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("ai", "ad", "au"):
            op.execute(f"DROP TRIGGER IF EXISTS ticket_search_docs_{trigger}")
        op.execute("DROP TABLE IF EXISTS ticket_fts")
    op.drop_table("ticket_search_docs")
    op.drop_table("search_queue")
