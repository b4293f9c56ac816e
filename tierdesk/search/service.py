"""Keyword search over tickets: the only entry point other domains and the web layer use.

- `search_tickets(db, actor, q, …)`: tickets the actor may read (the ticket list's own
  visibility rule, inside the query) whose text holds every word of `q`, newest first or
  by relevance, each with an escaped, highlighted snippet.
- `index_tickets(db, ids, now)`: (re)build the index documents of some tickets; the worker
  calls it for queued ids (`tasks.index_queued`), `reindex` for all of them in batches.

What is matched: subject, description and public messages in one field, internal notes in
another that only staff match (a customer's query never looks at it, and a customer's
snippet never quotes it). Text goes through kb/analyzer.py, the analyzer the help center
uses: NFKC, case folding, CJK bigrams plus unigrams (a one-character query still matches),
Snowball stems in the ticket's language. A query word matches in English or Italian form
("rimborsi" and "refunds" both work whatever the ticket's language), every word must match.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from tierdesk.core.errors import Forbidden, InvalidInput
from tierdesk.core.security import Actor, require_signed_in
from tierdesk.kb import analyzer
from tierdesk.search import repository as repo
from tierdesk.search.repository import Filters

MAX_QUERY_CHARS = 500
MAX_QUERY_WORDS = 16
MAX_LIMIT = 100
MAX_RELEVANCE_OFFSET = 1000  # relevance pages are offset pages: stop before they get expensive
SNIPPET_CHARS = 180
# Stems are taken in both languages whose stemmers tickets are indexed with (zh and ja
# tickets stem their Latin words as English): kb/analyzer.py _STEMMER_LANGUAGE.
QUERY_LOCALES = ("en", "it")
ORDERS = ("newest", "relevance")

__all__ = [
    "Filters",
    "drain_queue",
    "index_range",
    "index_tickets",
    "query_groups",
    "reindex",
    "search_tickets",
]


def query_groups(q: str) -> list[list[str]]:
    """One group per query word (or CJK bigram): the terms any of which satisfies it. A word
    that is a stop word in either language is dropped (the index does not hold it for tickets
    in that language). Raises InvalidInput for an empty, over-long or wordless query."""
    q = (q or "").strip()
    if not q:
        raise InvalidInput("Type something to search for.", field="q")
    if len(q) > MAX_QUERY_CHARS:
        raise InvalidInput(
            f"The search is {len(q)} characters long; search with at most {MAX_QUERY_CHARS}.", field="q"
        )
    per_locale = [
        {(t.start, t.end): t.term for t in analyzer.tokens(q, loc, for_query=True)} for loc in QUERY_LOCALES
    ]
    spans = sorted(set().union(*per_locale), key=lambda s: (s[0], s[1]))
    groups: list[list[str]] = []
    run: list[str] = []  # consecutive CJK bigrams of one run of characters

    def add(group: list[str]) -> None:
        if group not in groups:
            groups.append(group)

    def end_run() -> None:
        # "订单退款" must find "订单……退款": the words' own pairs are in the text, the pair
        # across them ("单退") is not. So a run asks for each of its characters (the index
        # holds unigrams) and for at least one of its pairs (they keep "订单" from matching
        # any text that merely holds 订 and 单 apart).
        if len(run) > 1:
            for ch in dict.fromkeys("".join(run)):
                add([ch])
        if run:
            add(list(dict.fromkeys(run)))
        run.clear()

    last_end = -1
    for span in spans:
        if any(span not in terms for terms in per_locale):
            continue
        group = list(dict.fromkeys(terms[span] for terms in per_locale))
        term = group[0]
        if len(group) == 1 and len(term) == 2 and span[1] - span[0] == 2 and analyzer.script_locales(term):
            if run and span[0] != last_end - 1:
                end_run()
            run.append(term)
            last_end = span[1]
            continue
        end_run()
        add(group)
    end_run()
    if not groups:
        if any(ch.isalnum() for ch in q):
            raise InvalidInput(
                "The search holds only very common words (such as 'the' or 'di'); add a more specific one.",
                field="q",
            )
        raise InvalidInput("The search has no letters or digits to look for.", field="q")
    return groups[:MAX_QUERY_WORDS]


@dataclass(frozen=True)
class SearchHit:
    ticket_id: int
    ref: str
    subject: str
    status: str
    priority: str
    tier_id: int | None
    tier: str | None
    created_at: datetime
    updated_at: datetime
    snippet: str  # HTML: the text escaped, matches wrapped in <mark>
    in_internal_note: bool  # the snippet quotes an internal note (staff only)


@dataclass(frozen=True)
class SearchPage:
    items: list[SearchHit]
    next_cursor: str | None


def search_tickets(
    db: Session,
    actor: Actor,
    q: str,
    flt: Filters | None = None,
    *,
    limit: int = 25,
    cursor: str | None = None,
    order: str = "newest",
) -> SearchPage:
    """Tickets `actor` may read whose text holds every word of `q`. Newest first (keyset:
    the cursor carries the last ticket id) or by relevance (the cursor carries an offset,
    up to MAX_RELEVANCE_OFFSET). Internal notes are matched and quoted for staff only."""
    require_signed_in(actor)
    flt = flt or Filters()
    if actor.is_customer and any(v is not None for v in (flt.tier_id, flt.team_id, flt.assignee_id)):
        raise Forbidden("Customers cannot filter by tier, team or assignee.")
    if order not in ORDERS:
        raise InvalidInput(f"order must be one of: {', '.join(ORDERS)}.", field="order")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}.", field="limit")
    groups = query_groups(q)
    before_id = offset = None
    if order == "relevance":
        offset = repo.decode_cursor(cursor, "rel") if cursor else 0
        if offset > MAX_RELEVANCE_OFFSET:
            raise InvalidInput(
                f"Relevance order shows the first {MAX_RELEVANCE_OFFSET} results; "
                "refine the search or sort by newest.",
                field="cursor",
            )
    elif cursor:
        before_id = repo.decode_cursor(cursor, "new")
    rows = repo.search(db, actor, groups, flt, limit + 1, before_id=before_id, offset=offset)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = (
            repo.encode_cursor("rel", (offset or 0) + limit)
            if order == "relevance"
            else repo.encode_cursor("new", rows[-1].ticket_id)
        )
    messages = repo.messages_of(db, [r.ticket_id for r in rows], include_internal=actor.is_staff)
    wanted = {t for g in groups for t in g}
    items = []
    for r in rows:
        texts = [("public", r.description or ""), *messages.get(r.ticket_id, [])]
        # Public text first: a snippet quotes an internal note only when nothing public
        # matches. The subject is shown anyway, so it is quoted only when nothing else matches.
        texts.sort(key=lambda kt: kt[0] != "public")
        snippet, internal = make_snippet([*texts, ("public", r.subject)], wanted, r.language)
        items.append(
            SearchHit(
                ticket_id=r.ticket_id,
                ref=f"T-{r.ticket_id}",
                subject=r.subject,
                status=r.status,
                priority=r.priority,
                tier_id=r.tier_id,
                tier=r.tier_name,
                created_at=r.created_at,
                updated_at=r.updated_at,
                snippet=snippet,
                in_internal_note=internal,
            )
        )
    return SearchPage(items, next_cursor)


_SPACE = re.compile(r"\s+")


def make_snippet(
    texts: Sequence[tuple[str, str]], wanted: set[str], language: str | None
) -> tuple[str, bool]:
    """The first text (in the given order) that holds a wanted term, cut to SNIPPET_CHARS
    around the first match, HTML-escaped, with every match inside wrapped in <mark>.
    Returns (snippet, whether it quotes an internal note). Falls back to the start of the
    first non-empty text (escaped) when no term is found (a stale index)."""
    for kind, raw in texts:
        text = analyzer.normalize(_SPACE.sub(" ", raw).strip())
        if not text:
            continue
        hits = [(t.start, t.end) for t in analyzer.tokens(text, language) if t.term in wanted]
        if not hits:
            continue
        first = hits[0][0]
        start = max(0, first - SNIPPET_CHARS // 3)
        end = min(len(text), start + SNIPPET_CHARS)
        return _highlight(text, start, end, hits), kind != "public"
    for _kind, raw in texts:
        text = _SPACE.sub(" ", raw).strip()
        if text:
            cut = text[:SNIPPET_CHARS]
            return html.escape(cut) + ("…" if len(text) > len(cut) else ""), False
    return "", False


def _highlight(text: str, start: int, end: int, hits: list[tuple[int, int]]) -> str:
    spans: list[list[int]] = []
    for s, e in sorted(hits):
        s, e = max(s, start), min(e, end)
        if s >= e:
            continue
        if spans and s <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], e)
        else:
            spans.append([s, e])
    out = ["…" if start > 0 else ""]
    pos = start
    for s, e in spans:
        out.append(html.escape(text[pos:s]))
        out.append(f"<mark>{html.escape(text[s:e])}</mark>")
        pos = e
    out.append(html.escape(text[pos:end]))
    out.append("…" if end < len(text) else "")
    return "".join(out)


# --- indexing ----------------------------------------------------------------------------------
def index_tickets(db: Session, ticket_ids: Sequence[int], now: datetime) -> int:
    """Rebuild the index documents of `ticket_ids` from their current text (ids whose ticket
    is gone lose their document). Returns how many documents were written."""
    docs, gone = repo.build_docs(db, ticket_ids)
    repo.write_docs(db, docs, now, gone)
    return len(docs)


def document_field_terms(texts: Sequence[str], language: str) -> str:
    """The terms one field of a ticket's index document holds for `texts` (subject,
    description, then public message bodies in order; or internal note bodies), exactly as
    `index_tickets` writes them. `tierdesk seed bulk` writes documents with it."""
    return repo.field_terms(texts, language)


def tsvector_literal(terms: str) -> str:
    """PostgreSQL: the tsvector literal `index_tickets` writes for a field's terms (its
    distinct terms, quoted, without positions)."""
    return repo.tsvector_literal(terms)


def index_queued(db: Session, now: datetime, batch: int) -> int:
    """Take up to `batch` queue rows, re-index their tickets, delete the rows. Returns the
    number of rows taken (a full batch means more may be waiting)."""
    row_ids, ticket_ids = repo.claim_queued(db, batch)
    if row_ids:
        index_tickets(db, ticket_ids, now)
        repo.delete_queued(db, row_ids)
    return len(row_ids)


def queue_length(db: Session) -> int:
    return repo.queue_length(db)


def index_range(
    db: Session,
    now: Callable[[], datetime],
    *,
    after_id: int = 0,
    batch: int = 5000,
    commit: Callable[[], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Index every ticket whose id is above `after_id`, walking the primary key in batches
    (`commit` after each, so a million tickets never make one huge transaction). `tierdesk
    seed bulk` calls it for the tickets it just loaded. Returns the tickets indexed."""
    done = 0
    while True:
        ids = repo.ticket_ids_after(db, after_id, batch)
        if not ids:
            break
        index_tickets(db, ids, now())
        after_id = ids[-1]
        done += len(ids)
        if commit:
            commit()
        if progress:
            progress(done)
    return done


def reindex(
    db: Session,
    now: Callable[[], datetime],
    *,
    batch: int = 5000,
    commit: Callable[[], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Rebuild every ticket's document (`tierdesk search reindex`). Queue rows written before
    the start are dropped at the end: the walk has covered their tickets (rows queued during
    the walk stay, for the worker)."""
    last_row = repo.last_queue_row(db)
    done = index_range(db, now, batch=batch, commit=commit, progress=progress)
    repo.delete_docs_without_ticket(db)
    repo.clear_queue_up_to(db, last_row)
    if commit:
        commit()
    return done


def drain_queue(db: Session, now: datetime, batch: int = 2000) -> int:
    """Index everything queued, in the caller's transaction (`tierdesk seed demo`, tests)."""
    total = 0
    while taken := index_queued(db, now, batch):
        total += taken
    return total
