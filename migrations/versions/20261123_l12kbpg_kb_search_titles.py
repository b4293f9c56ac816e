"""knowledge base: PostgreSQL title-only search ranks a few hundred titles, not every one

A query made only of common words ("account", "password account") is searched in titles
only. On 100k articles such a query matched up to 35,000 titles, and ranking them read one
page of `kb_search_vectors` per title (title_tsv sat in rows that also hold the ~1.5 kB body
vector): EXPLAIN (ANALYZE, BUFFERS) showed 23,000 buffers and about 95 ms for "password |
account".

`kb_search_titles` holds per title only what that search needs: the filters, the article
id, the title vector, the text's length and two static upper bounds of its ts_rank_cd score (normalization 1,
all title positions weight A = 1.0, so the score of a title for an OR query is the number of
its positions that hold a query term divided by ln(1 + positions)):

- bound1 = (largest position count of one lexeme) / ln(1 + positions): no one-term query
  can score the title higher;
- bound2 = (the two largest position counts) / ln(1 + positions): the same for two terms.

kb/search.py reads the titles in descending bound order through the btree indexes below,
ranks the first few hundred that match exactly, and stops there when the tenth best score
is above the bound of the last title read (no unread title can beat it); otherwise it reads
more, and then ranks every matching title as before. The title GIN index moves along.

`text_len` is the number of positions of the document's whole-text vector: its minimum
(index below) bounds what a document without a query term in its title can score, so the
whole-text search can rank the titled documents first and stop there (kb/search.py).

Backfill: the bounds and lengths are computed from the existing vectors (unnest). The title
vector column leaves kb_search_vectors, which is then rewritten (CLUSTER on its primary
key) so its rows shrink. SQLite (FTS5) is unchanged.

Revision ID: l12kbpg
Revises: k11merge
Create Date: 2026-11-23 04:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "l12kbpg"
down_revision: str | None = "k11merge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Position counts per lexeme of one title vector, as rows (tf).
_TFS = "SELECT coalesce(array_length(u.positions, 1), 1) AS tf FROM unnest(v.title_tsv) AS u"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE TABLE kb_search_titles ("
        "doc_id INTEGER NOT NULL, "
        "article_id INTEGER NOT NULL, "
        "locale VARCHAR(5) NOT NULL, "
        "visibility VARCHAR(12) NOT NULL, "
        "organization_id INTEGER, "
        "bound1 DOUBLE PRECISION NOT NULL, "
        "bound2 DOUBLE PRECISION NOT NULL, "
        "text_len INTEGER NOT NULL, "
        "title_tsv tsvector NOT NULL, "
        "CONSTRAINT pk_kb_search_titles PRIMARY KEY (doc_id), "
        "CONSTRAINT fk_kb_search_titles_doc_id_kb_search_docs FOREIGN KEY (doc_id) "
        "REFERENCES kb_search_docs (id) ON DELETE CASCADE"
        ")"
    )
    op.execute(
        "INSERT INTO kb_search_titles "
        "(doc_id, article_id, locale, visibility, organization_id, bound1, bound2, text_len, title_tsv) "
        "SELECT v.doc_id, d.article_id, v.locale, v.visibility, v.organization_id, "
        f"coalesce((SELECT max(tf) FROM ({_TFS}) AS a), 0) / n.ln, "
        f"coalesce((SELECT sum(tf) FROM ({_TFS} ORDER BY 1 DESC LIMIT 2) AS b), 0) / n.ln, "
        f"coalesce((SELECT sum(tf) FROM ({_TFS.replace('title_tsv', 'tsv')}) AS e), 0), "
        "v.title_tsv "
        "FROM kb_search_vectors v JOIN kb_search_docs d ON d.id = v.doc_id, "
        f"LATERAL (SELECT ln(1 + coalesce((SELECT sum(tf) FROM ({_TFS}) AS c), 0)) "
        "+ CASE WHEN length(v.title_tsv) = 0 THEN 1 ELSE 0 END AS ln) AS n"
    )
    op.execute("CREATE INDEX ix_kb_search_titles_tsv ON kb_search_titles USING gin (title_tsv)")
    op.execute("CREATE INDEX ix_kb_search_titles_bound1 ON kb_search_titles (locale, bound1 DESC, doc_id)")
    op.execute("CREATE INDEX ix_kb_search_titles_bound2 ON kb_search_titles (locale, bound2 DESC, doc_id)")
    op.execute("CREATE INDEX ix_kb_search_titles_text_len ON kb_search_titles (text_len)")
    op.execute("DROP INDEX ix_kb_search_vectors_title_tsv")
    op.execute("ALTER TABLE kb_search_vectors DROP COLUMN title_tsv")
    op.execute("CLUSTER kb_search_vectors USING pk_kb_search_vectors")
    op.execute("ANALYZE kb_search_titles")
    op.execute("ANALYZE kb_search_vectors")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE kb_search_vectors ADD COLUMN title_tsv tsvector NOT NULL DEFAULT ''::tsvector")
    op.execute("ALTER TABLE kb_search_vectors ALTER COLUMN title_tsv SET STORAGE MAIN")
    op.execute(
        "UPDATE kb_search_vectors v SET title_tsv = t.title_tsv FROM kb_search_titles t WHERE t.doc_id = v.doc_id"
    )
    op.execute("ALTER TABLE kb_search_vectors ALTER COLUMN title_tsv DROP DEFAULT")
    op.execute("CREATE INDEX ix_kb_search_vectors_title_tsv ON kb_search_vectors USING gin (title_tsv)")
    op.execute("DROP TABLE kb_search_titles")
