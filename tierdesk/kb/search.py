"""Full-text search over published article translations: one interface, two backends,
both fed with the terms of kb/analyzer.py (so a query means the same on both).

- SQLite: FTS5 external-content table `kb_fts` over `kb_search_docs`, ranked with
  `bm25(kb_fts, TITLE_WEIGHT, 1.0)` (title weighted above body).
- PostgreSQL: `kb_search_vectors.tsv`, written as a tsvector literal (title terms weight A,
  body terms weight B) and searched with a tsquery literal under a GIN index, ranked with
  `ts_rank_cd`; a narrow table so that ranking reads little (see PostgresBackend.search). Literals, not `to_tsvector('simple', …)`: the terms are already analyzed, and
  PostgreSQL's word parser depends on the database's LC_CTYPE (under "C" it treats CJK
  characters as separators), so feeding it again could split them differently.

Queries OR their terms and let the ranking sort it out: a paraphrase rarely repeats every
word of an article. Visibility is part of the WHERE clause, never filtered afterwards.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import bindparam, delete, insert, select, text
from sqlalchemy.orm import Session

from tierdesk.kb.models import SearchDoc, SearchTerm, Visibility

TITLE_WEIGHT = 4.0
OVERFETCH = 8  # SQLite: rank this many times the limit before filtering


@dataclass(frozen=True)
class Audience:
    """Who searches: staff also see internal articles; customers see their organization's."""

    staff: bool
    organization_id: int | None = None


@dataclass(frozen=True)
class Hit:
    doc_id: int  # the translation id
    article_id: int
    locale: str
    score: float  # higher is better (backend-specific scale)


@dataclass(frozen=True)
class DocTerms:
    doc_id: int
    article_id: int
    locale: str
    visibility: str
    organization_id: int | None
    title_terms: list[str]
    body_terms: list[str]
    title: str
    plain: str


class Backend(Protocol):
    name: str

    def put(self, db: Session, docs: Sequence[DocTerms]) -> None: ...

    def search(
        self,
        db: Session,
        terms: list[str],
        locales: list[str] | None,
        audience: Audience,
        limit: int,
        title_only: bool = False,
    ) -> list[Hit]: ...


def _visibility_sql(audience: Audience) -> tuple[str, dict[str, object]]:
    if audience.staff:
        return "", {}
    if audience.organization_id is not None:
        return (
            " AND (d.visibility = 'public' OR (d.visibility = 'organization' AND d.organization_id = :org))",
            {"org": audience.organization_id},
        )
    return " AND d.visibility = 'public'", {}


def _locale_sql(locales: list[str] | None) -> str:
    return " AND d.locale IN :locales" if locales else ""


# --- document frequencies -----------------------------------------------------------------
DOCS = ""  # the kb_terms row that counts documents
COMMON_SHARE = 0.05  # a term in more than this share of documents is "common"...
PRUNE_FROM_DOCS = 2000  # ...and dropped from queries on indexes at least this big
_UPSERT = text(
    "INSERT INTO kb_terms (term, df) VALUES (:term, :n) "
    "ON CONFLICT (term) DO UPDATE SET df = kb_terms.df + excluded.df"
)


def _count_terms(db: Session, rows: Sequence[tuple[str, str]], sign: int) -> None:
    counts: Counter[str] = Counter()
    for title_terms, body_terms in rows:
        counts.update({t for t in f"{title_terms} {body_terms}".split() if len(t) <= 100})
    if rows:
        counts[DOCS] = len(rows)
        db.execute(_UPSERT, [{"term": t, "n": sign * n} for t, n in sorted(counts.items())])


def _remove(db: Session, doc_ids: list[int]) -> None:
    if doc_ids:
        old = db.execute(
            select(SearchDoc.title_terms, SearchDoc.body_terms).where(SearchDoc.id.in_(doc_ids))
        ).all()
        _count_terms(db, [(r[0], r[1]) for r in old], -1)
        db.execute(delete(SearchDoc).where(SearchDoc.id.in_(doc_ids)))


@dataclass(frozen=True)
class Plan:
    """What to send to the backend: the terms, and whether to look in titles only."""

    terms: list[str]
    title_only: bool = False  # every term is common: rank the articles titled with them


def plan(db: Session, terms: list[str]) -> Plan:
    """The query terms worth sending to the backend. On a large index, terms that more than
    COMMON_SHARE of the documents contain are dropped (they carry almost no ranking signal
    and would make the backend score a large part of the index) and so are terms no document
    contains. When every term is common, the two rarest are kept and only titles are
    searched ("account" alone: the articles about accounts, not every article that mentions
    one; titles are short, so few match). On a small index every term is kept."""
    if not terms:
        return Plan(terms)
    rows = db.execute(select(SearchTerm.term, SearchTerm.df).where(SearchTerm.term.in_([DOCS, *terms]))).all()
    df = {r[0]: int(r[1]) for r in rows}
    total = df.pop(DOCS, 0)
    if total < PRUNE_FROM_DOCS:
        return Plan(terms)
    present = [t for t in terms if df.get(t, 0) > 0]
    rare = [t for t in present if df[t] <= COMMON_SHARE * total]
    if rare:
        return Plan(rare)
    rarest = sorted(present, key=lambda t: df[t])[:2]
    return Plan(rarest, title_only=True)


def useful_terms(db: Session, terms: list[str]) -> list[str]:
    return plan(db, terms).terms


def _remove_article_docs(db: Session, article_id: int) -> None:
    _remove(db, list(db.scalars(select(SearchDoc.id).where(SearchDoc.article_id == article_id))))


class SqliteBackend:
    name = "sqlite-fts5"

    def put(self, db: Session, docs: Sequence[DocTerms]) -> None:
        # Delete + insert: the triggers take the old terms out of kb_fts and put the new in.
        _remove(db, [d.doc_id for d in docs])
        if docs:
            rows = [_row(d) for d in docs]
            db.execute(insert(SearchDoc), rows)
            _count_terms(db, [(" ".join(d.title_terms), " ".join(d.body_terms)) for d in docs], +1)

    def search(
        self,
        db: Session,
        terms: list[str],
        locales: list[str] | None,
        audience: Audience,
        limit: int,
        title_only: bool = False,
    ) -> list[Hit]:
        if not terms:
            return []
        # Terms hold letters and digits only, so quoting them is all the escaping needed.
        terms_match = " OR ".join(f'"{t}"' for t in terms)
        # Title-only queries use the titles' own FTS5 table (short doclists).
        table, weights = ("kb_fts_title", "1.0, 0.0") if title_only else ("kb_fts", ":tw, 1.0, 0.0")
        # First the best OVERFETCH x limit matches by bm25 alone, then the visibility and
        # locale filter on those rows. When at least `limit` survive, they are exactly the top
        # `limit` of the filtered set (every row ranked lower was worse than all of them); if
        # not, and there may be more matches, the filter goes into the MATCH itself as facet
        # tokens (exact, but it reads the long facet doclists, so it is the second choice).
        fetch = max(limit * OVERFETCH, 40)
        ranked = db.execute(
            text(
                f"SELECT rowid, bm25({table}, {weights}) AS rank FROM {table} "
                f"WHERE {table} MATCH :match ORDER BY rank LIMIT :fetch"
            ),
            {"match": f"({terms_match})", "tw": TITLE_WEIGHT, "fetch": fetch},
        ).all()
        hits = self._visible(db, ranked, locales, audience)[:limit]
        if len(hits) >= limit or len(ranked) < fetch:
            return hits
        match = f"({terms_match}){_facet_match(locales, audience)}"
        ranked = db.execute(
            text(
                f"SELECT rowid, bm25({table}, {weights}) AS rank FROM {table} "
                f"WHERE {table} MATCH :match ORDER BY rank LIMIT :limit"
            ),
            {"match": match, "tw": TITLE_WEIGHT, "limit": limit},
        ).all()
        return self._visible(db, ranked, locales, audience)[:limit]

    @staticmethod
    def _visible(
        db: Session, ranked: Sequence[Any], locales: list[str] | None, audience: Audience
    ) -> list[Hit]:
        if not ranked:
            return []
        where, params = _visibility_sql(audience)
        stmt = text(
            "SELECT d.id, d.article_id, d.locale FROM kb_search_docs d "
            f"WHERE d.id IN :ids{_locale_sql(locales)}{where}"
        ).bindparams(bindparam("ids", expanding=True))
        params["ids"] = [r[0] for r in ranked]
        if locales:
            stmt = stmt.bindparams(bindparam("locales", expanding=True))
            params["locales"] = locales
        docs = {r[0]: (r[1], r[2]) for r in db.execute(stmt, params)}
        return [
            Hit(r[0], docs[r[0]][0], docs[r[0]][1], round(-float(r[1]), 4))
            for r in sorted(ranked, key=lambda r: (r[1], r[0]))
            if r[0] in docs
        ]


def _lexeme(term: str) -> str:
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector_literal(title_terms: list[str], body_terms: list[str]) -> str:
    """'term':1A,5A 'other':2B … with positions capped at 16383 (PostgreSQL's maximum)."""
    positions: dict[str, list[str]] = {}
    pos = 0
    for weight, terms in (("A", title_terms), ("B", body_terms)):
        for term in terms:
            pos = min(pos + 1, 16383)
            entry = positions.setdefault(term, [])
            if len(entry) < 256:  # PostgreSQL keeps at most 256 positions per lexeme
                entry.append(f"{pos}{weight}")
    return " ".join(f"{_lexeme(t)}:{','.join(p)}" for t, p in positions.items())


class PostgresBackend:
    name = "postgresql-tsvector"

    def put(self, db: Session, docs: Sequence[DocTerms]) -> None:
        _remove(db, [d.doc_id for d in docs])
        if not docs:
            return
        rows = [
            _row(d)
            | {
                "tsv": tsvector_literal(d.title_terms, d.body_terms),
                "title_tsv": tsvector_literal(d.title_terms, []),
            }
            for d in docs
        ]
        db.execute(
            text(
                "INSERT INTO kb_search_docs "
                "(id, article_id, locale, visibility, organization_id, title_terms, body_terms, "
                "title, plain, facets) VALUES (:id, :article_id, :locale, :visibility, "
                ":organization_id, :title_terms, :body_terms, :title, :plain, :facets)"
            ),
            rows,
        )
        # The ranked vector lives in its own narrow table (deleted with the doc by cascade).
        db.execute(
            text(
                "INSERT INTO kb_search_vectors "
                "(doc_id, locale, visibility, organization_id, tsv, title_tsv) "
                "VALUES (:id, :locale, :visibility, :organization_id, CAST(:tsv AS tsvector), "
                "CAST(:title_tsv AS tsvector))"
            ),
            rows,
        )
        _count_terms(db, [(" ".join(d.title_terms), " ".join(d.body_terms)) for d in docs], +1)

    def search(
        self,
        db: Session,
        terms: list[str],
        locales: list[str] | None,
        audience: Audience,
        limit: int,
        title_only: bool = False,
    ) -> list[Hit]:
        if not terms:
            return []
        query = " | ".join(_lexeme(t) for t in terms)
        where, params = _visibility_sql(audience)
        # Weights {D, C, B, A}: title (A) counts 2.5x the body (B), about FTS5's 4:1 after length normalisation.
        rank = "ts_rank_cd('{0.1, 0.2, 0.4, 1.0}', COLUMN, q, 1)"
        filters = f"{_locale_sql(locales)}{where}".replace("d.", "v.")
        if title_only:
            sql = (
                "SELECT d.id, d.article_id, d.locale, top.rank FROM ("
                f"SELECT v.doc_id, {rank.replace('COLUMN', 'v.title_tsv')} AS rank "
                "FROM kb_search_vectors v, CAST(:query AS tsquery) AS q "
                f"WHERE v.title_tsv @@ q{filters} ORDER BY rank DESC, v.doc_id LIMIT :limit"
                ") AS top JOIN kb_search_docs d ON d.id = top.doc_id ORDER BY top.rank DESC, d.id"
            )
        else:
            # Every matching row is ranked (ts_rank_cd reads its whole tsvector), so both paths
            # rank in kb_search_vectors, where a row is just the filters and the vectors
            # stored inline: one page read per row instead of a wide row plus its TOAST chunks
            # (EXPLAIN ANALYZE at 100k articles: 1,593 buffers instead of 6,006 for a term in
            # 1,640 documents). Only the top `limit` ids are joined back for the article id.
            sql = (
                "SELECT d.id, d.article_id, d.locale, top.rank FROM ("
                f"SELECT v.doc_id, {rank.replace('COLUMN', 'v.tsv')} AS rank "
                "FROM kb_search_vectors v, CAST(:query AS tsquery) AS q "
                f"WHERE v.tsv @@ q{filters} ORDER BY rank DESC, v.doc_id LIMIT :limit"
                ") AS top JOIN kb_search_docs d ON d.id = top.doc_id ORDER BY top.rank DESC, d.id"
            )
        stmt = text(sql)
        if locales:
            stmt = stmt.bindparams(bindparam("locales", expanding=True))
            params["locales"] = locales
        # psycopg prepares a statement after its fifth run on a connection, and PostgreSQL
        # may then switch to a generic plan, blind to how many documents these terms match
        # (the bitmap-AND with the locale index that EXPLAIN showed for rare CJK bigrams costs
        # 26 ms where the GIN index alone costs 0.3 ms). Plan each search for its own terms.
        db.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
        rows = db.execute(stmt, {"query": query, "limit": limit, **params})
        return [Hit(r[0], r[1], r[2], round(float(r[3]), 4)) for r in rows]


def _row(d: DocTerms) -> dict[str, object]:
    return {
        "id": d.doc_id,
        "article_id": d.article_id,
        "locale": d.locale,
        "visibility": d.visibility,
        "organization_id": d.organization_id if d.visibility == Visibility.organization.value else None,
        "title_terms": " ".join(d.title_terms),
        "body_terms": " ".join(d.body_terms),
        "title": d.title,
        "plain": d.plain,
        "facets": facets(d),
    }


def facets(d: DocTerms) -> str:
    """Filter tokens stored beside the text: locale, visibility, organization. The 'zz'
    prefix keeps them apart from real terms (the tokenizer splits on '_')."""
    out = [f"zzloc{d.locale}", f"zzvis{d.visibility}"]
    if d.visibility == Visibility.organization.value and d.organization_id is not None:
        out.append(f"zzorg{d.organization_id}")
    return " ".join(out)


def _facet_match(locales: list[str] | None, audience: Audience) -> str:
    parts = []
    if locales:
        parts.append("facets:(" + " OR ".join(f"zzloc{loc}" for loc in locales) + ")")
    if not audience.staff:
        allowed = ["zzvispublic"]
        if audience.organization_id is not None:
            allowed.append(f"zzorg{int(audience.organization_id)}")
        parts.append("facets:(" + " OR ".join(allowed) + ")")
    return "".join(f" AND {p}" for p in parts)


_SQLITE = SqliteBackend()
_POSTGRES = PostgresBackend()


def backend_for(db: Session) -> Backend:
    return _SQLITE if db.get_bind().dialect.name == "sqlite" else _POSTGRES


def remove_article(db: Session, article_id: int) -> None:
    _remove_article_docs(db, article_id)


def shown(db: Session, doc_ids: list[int]) -> dict[int, tuple[str, str]]:
    """doc id -> (title, plain text) of search results."""
    rows = db.execute(select(SearchDoc.id, SearchDoc.title, SearchDoc.plain).where(SearchDoc.id.in_(doc_ids)))
    return {r[0]: (r[1], r[2]) for r in rows}
