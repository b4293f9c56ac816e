"""knowledge base: PostgreSQL ranks from a narrow table of inline tsvectors; index on
kb_articles.section_id

PostgreSQL search spent its time on ts_rank_cd reading each matching row's tsvector: the
`tsv` column of kb_search_docs (about 1.6 kB) lived in the TOAST table beside rows that also
carry the title, the plain text and the analyzed terms, so ranking one row cost about four
buffer reads (heap, TOAST index, TOAST chunks). `kb_search_vectors` holds only what the
ranking query needs (locale, visibility, organization, tsvector), with the tsvector stored
inline and uncompressed (STORAGE MAIN, toast_tuple_target 8160: only a row over 8 kB is
compressed or moved out of line), so ranking a row reads one page of a table less than half
the size. The title-only vector (`title_tsv`, for queries made only of common terms) moves
along. The same ts_rank_cd runs on the same vectors: results and scores do not change.
SQLite (FTS5) is unchanged.

Deleting a section sets its articles' section_id to NULL and the management pages count a
section's articles: both need an index on kb_articles.section_id (both backends).

Revision ID: j10kb
Revises: i9merge
Create Date: 2026-11-23 01:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "j10kb"
down_revision: str | None = "i9merge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("kb_articles", schema=None) as batch_op:
        batch_op.create_index("ix_kb_articles_section", ["section_id"], unique=False)
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE TABLE kb_search_vectors ("
        "doc_id INTEGER NOT NULL, "
        "locale VARCHAR(5) NOT NULL, "
        "visibility VARCHAR(12) NOT NULL, "
        "organization_id INTEGER, "
        "tsv tsvector NOT NULL, "
        "title_tsv tsvector NOT NULL, "
        "CONSTRAINT pk_kb_search_vectors PRIMARY KEY (doc_id), "
        "CONSTRAINT fk_kb_search_vectors_doc_id_kb_search_docs FOREIGN KEY (doc_id) "
        "REFERENCES kb_search_docs (id) ON DELETE CASCADE"
        ") WITH (toast_tuple_target = 8160)"
    )
    op.execute("ALTER TABLE kb_search_vectors ALTER COLUMN tsv SET STORAGE MAIN")
    op.execute("ALTER TABLE kb_search_vectors ALTER COLUMN title_tsv SET STORAGE MAIN")
    # Copying detoasts each value, so the rows are written inline under the new settings.
    op.execute(
        "INSERT INTO kb_search_vectors (doc_id, locale, visibility, organization_id, tsv, title_tsv) "
        "SELECT id, locale, visibility, organization_id, tsv, title_tsv FROM kb_search_docs"
    )
    op.execute("CREATE INDEX ix_kb_search_vectors_tsv ON kb_search_vectors USING gin (tsv)")
    op.execute("CREATE INDEX ix_kb_search_vectors_title_tsv ON kb_search_vectors USING gin (title_tsv)")
    op.execute("DROP INDEX ix_kb_search_docs_tsv")
    op.execute("DROP INDEX ix_kb_search_docs_title_tsv")
    op.execute("ALTER TABLE kb_search_docs DROP COLUMN tsv")
    op.execute("ALTER TABLE kb_search_docs DROP COLUMN title_tsv")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE kb_search_docs ADD COLUMN tsv tsvector NOT NULL DEFAULT ''::tsvector")
        op.execute("ALTER TABLE kb_search_docs ADD COLUMN title_tsv tsvector NOT NULL DEFAULT ''::tsvector")
        op.execute(
            "UPDATE kb_search_docs d SET tsv = v.tsv, title_tsv = v.title_tsv "
            "FROM kb_search_vectors v WHERE v.doc_id = d.id"
        )
        op.execute("CREATE INDEX ix_kb_search_docs_tsv ON kb_search_docs USING gin (tsv)")
        op.execute("CREATE INDEX ix_kb_search_docs_title_tsv ON kb_search_docs USING gin (title_tsv)")
        op.execute("DROP TABLE kb_search_vectors")
    with op.batch_alter_table("kb_articles", schema=None) as batch_op:
        batch_op.drop_index("ix_kb_articles_section")
