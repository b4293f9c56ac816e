"""All queries of ticket search: building index documents, draining the queue, and the
search itself on two backends fed with the same analyzed terms (kb/analyzer.py).

Authorization is part of the search SQL: every query joins `tickets` and applies
`tickets.repository.visibility(actor)` — the very clause the ticket list uses — so a
result is a ticket the caller may read, and need-to-know tickets never appear.

- SQLite: FTS5 table `ticket_fts` (external content `ticket_search_docs`, rowid = ticket
  id). Newest first walks the match list backwards (`ORDER BY rowid DESC`, consumed by
  FTS5) and probes each ticket by primary key until the page is full: the cost is the
  matches skipped, never the table. Customers, who see few tickets, go the other way: their
  tickets newest first (requester / organization index) with a per-ticket FTS5 check.
- PostgreSQL: `public_tsv` / `all_tsv` tsvector literals under GIN indexes, queried with a
  tsquery literal; the planner picks between the GIN bitmap and a backward primary-key walk.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    column,
    delete,
    exists,
    func,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.orm import Session

from tierdesk.core.errors import InvalidInput
from tierdesk.core.security import Actor
from tierdesk.kb import analyzer
from tierdesk.search.models import SearchQueue, TicketSearchDoc
from tierdesk.tickets.models import Message, MessageKind, Ticket
from tierdesk.tickets.repository import visibility
from tierdesk.tiers.models import Tier


# --- documents ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Doc:
    ticket_id: int
    public_terms: str
    internal_terms: str


def build_docs(db: Session, ticket_ids: Sequence[int]) -> tuple[list[Doc], list[int]]:
    """The index documents of `ticket_ids` (two queries for the batch), and the ids whose
    ticket no longer exists."""
    if not ticket_ids:
        return [], []
    tickets = db.execute(
        select(Ticket.id, Ticket.subject, Ticket.description, Ticket.language).where(
            Ticket.id.in_(ticket_ids)
        )
    ).all()
    public: dict[int, list[str]] = {}
    internal: dict[int, list[str]] = {}
    language: dict[int, str] = {}
    for tid, subject, description, lang in tickets:
        public[tid] = [subject, description or ""]
        internal[tid] = []
        language[tid] = lang
    rows = db.execute(
        select(Message.ticket_id, Message.kind, Message.body)
        .where(Message.ticket_id.in_(list(public)))
        .order_by(Message.ticket_id, Message.id)
    )
    for tid, kind, body in rows:
        (internal if kind == MessageKind.internal.value else public)[tid].append(body)
    docs = [
        Doc(tid, field_terms(public[tid], language[tid]), field_terms(internal[tid], language[tid]))
        for tid in public
    ]
    gone = sorted(set(ticket_ids) - set(public))
    return docs, gone


def field_terms(texts: Sequence[str], language: str) -> str:
    """One document field's terms: each non-empty text's terms, joined with spaces."""
    return " ".join(_terms(t, language) for t in texts if t)


@lru_cache(maxsize=65536)
def _terms(text: str, language: str) -> str:
    """A text's index terms, joined. Cached: canned replies, macros and bulk-loaded tickets
    repeat the same texts, and analysis is most of an index batch's time."""
    return " ".join(analyzer.terms(text, language))


def tsvector_literal(terms: str) -> str:
    """The tsvector literal written for a field's terms (PostgreSQL)."""
    return _lexemes(terms)


def _lexemes(terms: str) -> str:
    """A tsvector literal of distinct terms, without positions (search never ranks phrases)."""
    return " ".join(_lexeme(t) for t in dict.fromkeys(terms.split()))


def _lexeme(term: str) -> str:
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


def write_docs(db: Session, docs: Sequence[Doc], now: datetime, gone: Sequence[int] = ()) -> None:
    """Replace the documents of `docs` (delete + insert: on SQLite the triggers take the old
    terms out of ticket_fts and put the new ones in) and drop those of `gone`."""
    ids = [d.ticket_id for d in docs] + list(gone)
    if ids:
        db.execute(delete(TicketSearchDoc).where(TicketSearchDoc.ticket_id.in_(ids)))
    if not docs:
        return
    rows: list[dict[str, Any]] = [
        {
            "ticket_id": d.ticket_id,
            "public_terms": d.public_terms,
            "internal_terms": d.internal_terms,
            "at": now,
        }
        for d in docs
    ]
    if db.get_bind().dialect.name == "postgresql":
        for row in rows:
            row["public_tsv"] = _lexemes(row["public_terms"])
            row["all_tsv"] = _lexemes(f"{row['public_terms']} {row['internal_terms']}")
        db.execute(
            text(
                "INSERT INTO ticket_search_docs (ticket_id, public_terms, internal_terms, indexed_at, "
                "public_tsv, all_tsv) VALUES (:ticket_id, :public_terms, :internal_terms, :at, "
                "CAST(:public_tsv AS tsvector), CAST(:all_tsv AS tsvector))"
            ),
            rows,
        )
    else:
        db.execute(
            text(
                "INSERT INTO ticket_search_docs (ticket_id, public_terms, internal_terms, indexed_at) "
                "VALUES (:ticket_id, :public_terms, :internal_terms, :at)"
            ),
            [r | {"at": now.replace(tzinfo=None).isoformat(" ", "microseconds")} for r in rows],
        )


# --- the queue ---------------------------------------------------------------------------------
def claim_queued(db: Session, limit: int) -> tuple[list[int], list[int]]:
    """The oldest `limit` queue rows: (row ids, distinct ticket ids). On PostgreSQL the rows
    are locked and others' locked rows skipped, so several workers never index the same
    batch; a crash rolls the claim back and the rows are taken again."""
    stmt = select(SearchQueue.id, SearchQueue.ticket_id).order_by(SearchQueue.id).limit(limit)
    if db.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    rows = db.execute(stmt).all()
    return [r[0] for r in rows], list(dict.fromkeys(r[1] for r in rows))


def delete_queued(db: Session, row_ids: Sequence[int]) -> None:
    if row_ids:
        db.execute(delete(SearchQueue).where(SearchQueue.id.in_(row_ids)))


def queue_length(db: Session, cap: int = 100_000) -> int:
    inner = select(SearchQueue.id).limit(cap).subquery()
    return int(db.scalar(select(func.count()).select_from(inner)) or 0)


def ticket_ids_after(db: Session, after_id: int, limit: int) -> list[int]:
    """Ticket ids in ascending order after `after_id` (the reindex walks the primary key)."""
    return list(db.scalars(select(Ticket.id).where(Ticket.id > after_id).order_by(Ticket.id).limit(limit)))


def delete_docs_without_ticket(db: Session) -> None:
    """Documents whose ticket is gone (the foreign key cascades; this is for rows written
    while foreign keys were off)."""
    db.execute(delete(TicketSearchDoc).where(~exists().where(Ticket.id == TicketSearchDoc.ticket_id)))


def clear_queue_up_to(db: Session, last_row_id: int) -> None:
    db.execute(delete(SearchQueue).where(SearchQueue.id <= last_row_id))


def last_queue_row(db: Session) -> int:
    return int(db.scalar(select(func.max(SearchQueue.id))) or 0)


# --- search ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Filters:
    status: list[str] | None = None
    tier_id: int | None = None
    team_id: int | None = None
    assignee_id: int | None = None
    requester_id: int | None = None
    organization_id: int | None = None


def _filters(flt: Filters) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if flt.status:
        out.append(Ticket.status.in_(flt.status))
    for name in ("tier_id", "team_id", "assignee_id", "requester_id", "organization_id"):
        value = getattr(flt, name)
        if value is not None:
            out.append(getattr(Ticket, name) == value)
    return out


@dataclass(frozen=True)
class Row:
    ticket_id: int
    subject: str
    description: str
    language: str
    status: str
    priority: str
    tier_id: int | None
    tier_name: str | None
    created_at: datetime
    updated_at: datetime


_COLUMNS = (
    Ticket.id,
    Ticket.subject,
    Ticket.description,
    Ticket.language,
    Ticket.status,
    Ticket.priority,
    Ticket.tier_id,
    Tier.name,
    Ticket.created_at,
    Ticket.updated_at,
)

_fts = table("ticket_fts", column("rowid", Integer))
_docs = table("ticket_search_docs", column("ticket_id", Integer))


def fts_match(groups: Sequence[Sequence[str]], staff: bool) -> str:
    """An FTS5 query: every group (one query word: its stems in English and Italian, or a
    CJK bigram) must match; customers' queries only look at the public column. Terms hold
    letters and digits only, so quoting them is all the escaping needed."""
    expr = " AND ".join("(" + " OR ".join(f'"{t}"' for t in g) + ")" for g in groups)
    return f"({expr})" if staff else f"public_terms : ({expr})"


def tsquery(groups: Sequence[Sequence[str]]) -> str:
    return " & ".join("(" + " | ".join(_lexeme(t) for t in g) + ")" for g in groups)


def search(
    db: Session,
    actor: Actor,
    groups: Sequence[Sequence[str]],
    flt: Filters,
    limit: int,
    before_id: int | None = None,
    offset: int | None = None,
) -> list[Row]:
    """Up to `limit` readable tickets matching every group: newest first (keyset on the
    ticket id, `before_id`), or by relevance when `offset` is given (offset paging)."""
    stmt = _search_stmt(db, actor, groups, flt, limit, before_id, offset)
    return [Row(*r) for r in db.execute(stmt)]


def _search_stmt(
    db: Session,
    actor: Actor,
    groups: Sequence[Sequence[str]],
    flt: Filters,
    limit: int,
    before_id: int | None = None,
    offset: int | None = None,
) -> Select[*tuple[Any, ...]]:
    if db.get_bind().dialect.name == "postgresql":
        stmt = _postgres(actor, groups, offset is not None)
    else:
        stmt = _sqlite(actor, groups, offset is not None)
    stmt = stmt.where(visibility(actor), *_filters(flt))
    if before_id is not None:
        stmt = stmt.where(Ticket.id < before_id)
    stmt = stmt.limit(limit)
    if offset:
        stmt = stmt.offset(offset)
    return stmt


def _sqlite(actor: Actor, groups: Sequence[Sequence[str]], by_relevance: bool) -> Select[*tuple[Any, ...]]:
    match = fts_match(groups, actor.is_staff)
    if _narrow(actor) and not by_relevance:
        # A customer sees their own (and maybe their organization's) tickets, a team
        # specialist their team's: most matches are not theirs, so walking the match list
        # until 25 of theirs turn up could read all of it. Instead the matching ids are read
        # once (rowids only, no ticket rows) and the planner walks the caller's tickets.
        matching: Select[tuple[int]] = select(_fts.c.rowid).where(text("ticket_fts MATCH :match"))
        return (
            select(*_COLUMNS)
            .select_from(Ticket)
            .outerjoin(Tier, Tier.id == Ticket.tier_id)
            # A customer's "+ 0" is not an index term, so the plan walks their own indexes
            # (requester, organization) and checks each id against the list; a specialist's
            # team may hold many thousands of tickets, so theirs is driven by the list.
            .where(((Ticket.id + 0) if actor.is_customer else Ticket.id).in_(matching))
            .order_by(Ticket.id.desc())
            .params(match=match)
        )
    stmt = (
        select(*_COLUMNS)
        .select_from(_fts)
        .join(Ticket, Ticket.id == _fts.c.rowid)
        .outerjoin(Tier, Tier.id == Ticket.tier_id)
        .where(text("ticket_fts MATCH :match"))
        .params(match=match)
    )
    if by_relevance:
        return stmt.order_by(literal_column("ticket_fts.rank"), _fts.c.rowid.desc())
    return stmt.order_by(_fts.c.rowid.desc())


def _narrow(actor: Actor) -> bool:
    """Callers who see a small slice of the tickets: customers, and staff with no tier
    (team specialists: fraud, compliance, billing) below supervisor."""
    return actor.is_customer or (actor.is_staff and not actor.is_supervisor and not actor.tier_ids)


def _postgres(actor: Actor, groups: Sequence[Sequence[str]], by_relevance: bool) -> Select[*tuple[Any, ...]]:
    column_name = "all_tsv" if actor.is_staff else "public_tsv"
    stmt = (
        select(*_COLUMNS)
        .select_from(_docs)
        .join(Ticket, Ticket.id == _docs.c.ticket_id)
        .outerjoin(Tier, Tier.id == Ticket.tier_id)
        .where(text(f"ticket_search_docs.{column_name} @@ CAST(:tsq AS tsquery)"))
        .params(tsq=tsquery(groups))
    )
    if by_relevance:
        rank = text(f"ts_rank(ticket_search_docs.{column_name}, CAST(:tsq AS tsquery)) DESC")
        return stmt.order_by(rank, _docs.c.ticket_id.desc())
    return stmt.order_by(_docs.c.ticket_id.desc())


def messages_of(
    db: Session, ticket_ids: Iterable[int], include_internal: bool
) -> dict[int, list[tuple[str, str]]]:
    """(kind, body) of the messages of `ticket_ids`, oldest first, for snippets."""
    stmt = select(Message.ticket_id, Message.kind, Message.body).where(
        Message.ticket_id.in_(list(ticket_ids))
    )
    if not include_internal:
        stmt = stmt.where(Message.kind == MessageKind.public.value)
    out: dict[int, list[tuple[str, str]]] = {}
    for tid, kind, body in db.execute(stmt.order_by(Message.ticket_id, Message.id)):
        out.setdefault(tid, []).append((kind, body))
    return out


# --- cursors -----------------------------------------------------------------------------------
def encode_cursor(kind: str, value: int) -> str:
    raw = json.dumps([kind, value]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, kind: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        got_kind, value = json.loads(base64.urlsafe_b64decode(padded))
        if got_kind != kind or not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError
        return value
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise InvalidInput(
            "The cursor is not valid for this search. Use the next_cursor value of the previous page, "
            "with the same query and order.",
            field="cursor",
        ) from exc
