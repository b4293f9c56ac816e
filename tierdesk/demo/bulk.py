"""Bulk data for benchmarks: `tierdesk seed bulk --tickets N`.

Fills a database with N tickets fast (tens of thousands per second) on top of the
reference data that is already there (tiers, teams, agents: `tierdesk seed demo` provides
them). Each ticket comes with what the services would have written for it:

- its `created` event (and, for tickets that were worked on, the agent's first public
  reply with its `public_reply` and `first_response` events and every status change as a
  `field_changed` event, in an order `TICKETS.TRANSITIONS` allows);
- its tags, both in `tickets.tags` and in `ticket_tags`;
- its search document, with the terms the search indexer would write (so search works at
  once; SQLite's `ticket_fts` or PostgreSQL's tsvector columns included);
- the `ticket_counters` upserted by the same amounts, so the counters match the table.

The mix is deterministic for a given seed and looks like a year of a real desk: newer
tickets are mostly open, older ones mostly closed; tiers weighted towards L1; subjects and
replies in en/zh/ja/it from the demo's templates, matching each customer's language; bulk
organizations and customers are created alongside (about one customer per 20 tickets).

Bulk tickets carry no SLA timers (the SLA sweep has its own bench, `bench/sla_sweep.py`).

How it is fast (docs/performance.md has the measurements): Python draws the tickets and
writes tickets, tags and search documents as tuples, with one driver-level executemany per
table and batch (SQLite) or COPY (PostgreSQL); the database derives the replies and events
from the ticket rows in two INSERT … SELECT statements per batch; search terms are computed
once per template; big loads set the secondary indexes (and SQLite's FTS trigger,
PostgreSQL's foreign keys) aside and recreate them from their stored DDL at the end; the
caller commits once per batch.
Ticket ids continue after the highest number ever handed out (SQLite's `sqlite_sequence`,
PostgreSQL's sequence), and the sequences are advanced afterwards, so tickets created
later through the API continue the numbering.
"""

from __future__ import annotations

import json
import random
import re
import time
from bisect import bisect
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from itertools import accumulate
from typing import Any

from sqlalchemy import Connection, Engine, TextClause, event, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tierdesk.accounts.models import User
from tierdesk.customers.models import Customer
from tierdesk.demo.seed import REPLIES, TEMPLATES
from tierdesk.search import service as search
from tierdesk.tickets.models import AuthorKind, EventKind, MessageKind, TicketCounter
from tierdesk.tiers.models import AgentTier, Team, Tier

DEFAULT_BATCH = 50_000
STAFF_ROLES = ("agent", "specialist", "supervisor", "admin")

# Weights. A ticket created in the last `RECENT` share of the period is likely still being
# worked on; older ones are mostly solved or closed.
RECENT = 0.04
STATUS_RECENT = {"new": 25, "open": 35, "pending": 15, "on_hold": 5, "solved": 15, "closed": 5}
STATUS_OLDER = {"new": 1, "open": 6, "pending": 3, "on_hold": 2, "solved": 13, "closed": 75}
PRIORITIES = {"urgent": 3, "high": 15, "normal": 62, "low": 20}
CHANNELS = {"email": 40, "web": 30, "chat": 15, "api": 5, "phone": 5, "widget": 5}
LANGUAGES = {"en": 55, "zh": 15, "ja": 15, "it": 15}
CATEGORIES = {
    "how-to": 22, "login": 20, "billing": 16, "bug": 14, "refund": 12, "outage": 4,
    "compliance": 3, "fraud": 3, None: 6,
}  # fmt: skip
TIER_LEVEL_WEIGHTS = {1: 60, 2: 25, 3: 12, 4: 3}  # L0 is self-service: no tickets wait there
TEAM_FOR_CATEGORY = {"billing": "billing", "refund": "billing", "fraud": "fraud", "compliance": "compliance"}
TAGS = ["mobile", "ios", "android", "invoice", "sso", "api", "card", "eu", "returning-customer", "vip"]
TAGGED_SHARE = 0.3
TIMEZONES = {"en": "Europe/London", "zh": "Asia/Shanghai", "ja": "Asia/Tokyo", "it": "Europe/Rome"}


@dataclass
class BulkResult:
    tickets: int = 0
    first_id: int = 0
    last_id: int = 0
    events: int = 0
    messages: int = 0
    tags: int = 0
    organizations: int = 0
    customers: int = 0
    seconds: float = 0.0
    index_seconds: float = 0.0  # part of `seconds` spent recreating indexes (and filling ticket_fts)
    statuses: Counter[str] = field(default_factory=Counter)
    phases: dict[str, float] = field(default_factory=dict)  # wall seconds per step of the load

    def timed(self, phase: str, since: float) -> float:
        """Add the time since `since` to `phase`; returns now, to time the next one from."""
        now = time.perf_counter()
        self.phases[phase] = self.phases.get(phase, 0.0) + now - since
        return now

    @property
    def per_second(self) -> float:
        return self.tickets / self.seconds if self.seconds else 0.0


@dataclass
class _Refs:
    tiers: list[int]  # enabled, non-self-service tiers (L1..)
    tier_weights: list[int]
    agents_by_tier: dict[int, list[int]]
    teams: dict[str, int]
    customers: list[tuple[int, int | None, str]]  # id, organization id, language


class NoTiers(Exception):
    """The database has no tiers yet: load the demo (or create tiers) first."""


# --- helpers ---------------------------------------------------------------------------------
class _Pick:
    """Weighted choice with one random() and a bisect (random.choices is 3x slower per call)."""

    def __init__(self, weights: dict[Any, int] | Sequence[tuple[Any, int]]) -> None:
        items = list(weights.items()) if isinstance(weights, dict) else list(weights)
        self.values = [v for v, _ in items]
        self.cum = list(accumulate(w for _, w in items))
        self.total = self.cum[-1]

    def __call__(self, rnd: random.Random) -> Any:
        return self.values[bisect(self.cum, rnd.random() * self.total)]


class _Writer:
    """Writes tuples in one statement per table and batch: executemany on SQLite (bypassing
    SQLAlchemy's per-row type processing, which would cost more than the insert itself),
    COPY on PostgreSQL."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.pg = conn.dialect.name == "postgresql"

    def flag(self, value: bool) -> Any:
        return value if self.pg else int(value)

    def write(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        cols = ", ".join(columns)
        if self.pg:
            raw = self.conn.connection.driver_connection
            assert raw is not None
            with raw.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in columns)
            self.conn.exec_driver_sql(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)

    def write_search_docs(self, rows: list[tuple[Any, ...]]) -> None:
        """Search documents: (ticket_id, public_terms, internal_terms, indexed_at) on SQLite,
        whose triggers (or `restore_fts_trigger`) put them into `ticket_fts`; with the
        `public_tsv` and `all_tsv` literals too on PostgreSQL."""
        self.write("ticket_search_docs", DOC_COLUMNS + (("public_tsv", "all_tsv") if self.pg else ()), rows)

    def drop_fts_trigger(self) -> str | None:
        """SQLite: drop the trigger that copies each new search document into ticket_fts
        (migration j10search) and return its DDL; None on PostgreSQL or if it is not there."""
        if self.pg:
            return None
        ddl = self.conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (FTS_INSERT_TRIGGER,)
        ).scalar()
        if ddl is None:
            return None
        self.conn.exec_driver_sql(f"DROP TRIGGER {FTS_INSERT_TRIGGER}")
        return str(ddl)

    def restore_fts_trigger(self, ddl: str, first_id: int, last_id: int) -> None:
        """Do the dropped trigger's work for the documents of tickets first_id..last_id in one
        statement (the same columns it inserts), then recreate it from its own DDL.

        FTS5 merges its index segments as they pile up (`automerge`), so a big fill rewrites
        the same postings several times. With automerge off during the fill and one
        `optimize` afterwards, every posting is merged once, into a single segment: at 1M
        documents 8.1 s instead of 9.1–11.0 s, and 1 segment instead of 8 for searches to
        read (docs/performance.md). Automerge then goes back to what it was."""
        automerge = self.conn.exec_driver_sql(
            "SELECT v FROM ticket_fts_config WHERE k = 'automerge'"
        ).scalar()
        self.conn.exec_driver_sql("INSERT INTO ticket_fts (ticket_fts, rank) VALUES ('automerge', 0)")
        self.conn.exec_driver_sql(
            "INSERT INTO ticket_fts (rowid, public_terms, internal_terms) SELECT ticket_id, public_terms, "
            "internal_terms FROM ticket_search_docs WHERE ticket_id BETWEEN ? AND ? ORDER BY ticket_id",
            (first_id, last_id),
        )
        self.conn.exec_driver_sql(
            "INSERT INTO ticket_fts (ticket_fts, rank) VALUES ('automerge', ?)",
            (FTS_DEFAULT_AUTOMERGE if automerge is None else int(automerge),),
        )
        self.conn.exec_driver_sql("INSERT INTO ticket_fts (ticket_fts) VALUES ('optimize')")
        self.conn.exec_driver_sql(ddl)

    def drop_indexes(self, tables: Sequence[str]) -> list[tuple[str, str]]:
        """Drop the secondary indexes of `tables` (not those behind primary keys or unique
        constraints) and return (name, DDL) to recreate them exactly as they were."""
        if self.pg:
            rows = self.conn.execute(
                text(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                    "AND tablename = ANY(:t) AND indexname NOT IN (SELECT conname FROM pg_constraint)"
                ),
                {"t": list(tables)},
            ).all()
        else:
            rows = self.conn.execute(
                text(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                    "AND tbl_name IN (" + ", ".join(f"'{t}'" for t in tables) + ")"
                )
            ).all()
        dropped = [(str(name), str(ddl)) for name, ddl in rows if name not in APPENDED_INDEXES]
        for name, _ in dropped:
            self.conn.exec_driver_sql(f'DROP INDEX "{name}"')
        return dropped

    def create_indexes(self, indexes: list[tuple[str, str]]) -> None:
        if self.pg:  # sorts and GIN builds in memory (64 MB by default), for this transaction only
            self.conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '512MB'")
        for _, ddl in indexes:
            self.conn.exec_driver_sql(ddl)

    def drop_foreign_keys(self, tables: Sequence[str]) -> list[tuple[str, str]]:
        """PostgreSQL: drop the foreign keys of `tables` and return (table, DDL) to add them
        back. Each is then checked once for the whole table by one join when it is added,
        instead of by a trigger per inserted row (most of COPY's time). SQLite: nothing (its
        foreign keys live in CREATE TABLE and cost it little)."""
        if not self.pg:
            return []
        rows = self.conn.execute(
            text(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE contype = 'f' AND connamespace = current_schema()::regnamespace "
                "AND conrelid::regclass::text = ANY(:t) ORDER BY conrelid::regclass::text, conname"
            ),
            {"t": list(tables)},
        ).all()
        for table, name, _ in rows:
            self.conn.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        return [
            (str(table), f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {ddl}') for table, name, ddl in rows
        ]

    def next_id(self, table: str, never_reused: bool = False) -> int:
        """The first free id. For tables whose numbers are never reused (tickets), also past
        the highest id SQLite's sqlite_sequence / PostgreSQL's sequence ever handed out."""
        highest = int(self.conn.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {table}")).scalar_one())
        if self.pg:
            seq = self.conn.execute(text(f"SELECT pg_get_serial_sequence('{table}', 'id')")).scalar_one()
            last, called = self.conn.execute(text(f"SELECT last_value, is_called FROM {seq}")).one()
            highest = max(highest, int(last) if called else int(last) - 1)
        elif never_reused:
            seq = self.conn.execute(
                text("SELECT seq FROM sqlite_sequence WHERE name = :t"), {"t": table}
            ).scalar()
            highest = max(highest, int(seq or 0))
        return highest + 1

    def advance(self, table: str, last_id: int) -> None:
        """Make the next id the database hands out follow `last_id` (SQLite's AUTOINCREMENT
        already tracks explicit ids; PostgreSQL's sequence does not)."""
        if self.pg:
            self.conn.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), GREATEST(:v, 1))"),
                {"v": last_id},
            )


def use_bulk_pragmas(engine: Engine) -> None:
    """Make every new SQLite connection of `engine` trade durability for speed while loading:
    a crash mid-load may lose the last batches (the load is repeatable), never corrupt the
    file. Dispose of the engine afterwards so the pool does not keep these connections."""
    engine.dispose()

    @event.listens_for(engine, "connect")
    def _bulk(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        # threads: CREATE INDEX sorts with a helper thread (about 25% faster at 100k).
        for pragma in ("synchronous=OFF", "cache_size=-262144", "temp_store=MEMORY", "threads=2"):
            cur.execute(f"PRAGMA {pragma}")
        cur.close()


# --- reference data ----------------------------------------------------------------------------
def _references(db: Session, rnd: random.Random, w: _Writer, customers_wanted: int, now: datetime) -> _Refs:
    tiers = [
        (t.id, t.level)
        for t in db.execute(
            select(Tier.id, Tier.level)
            .where(Tier.enabled.is_(True), Tier.self_service.is_(False))
            .order_by(Tier.level)
        )
    ]
    if not tiers:
        raise NoTiers("There are no tiers to put tickets in. Run `tierdesk seed demo` first.")
    agents: dict[int, list[int]] = {tid: [] for tid, _ in tiers}
    for uid, tid in db.execute(
        select(AgentTier.user_id, AgentTier.tier_id)
        .join(User, User.id == AgentTier.user_id)
        .where(User.is_active.is_(True), User.role.in_(STAFF_ROLES))
        .order_by(AgentTier.user_id)
    ):
        if tid in agents:
            agents[tid].append(uid)
    teams = {key: tid for tid, key in db.execute(select(Team.id, Team.key))}
    existing = [
        (cid, oid, lang)
        for cid, oid, lang in db.execute(
            select(Customer.id, Customer.organization_id, Customer.language).order_by(Customer.id)
        )
    ]
    return _Refs(
        tiers=[tid for tid, _ in tiers],
        tier_weights=[TIER_LEVEL_WEIGHTS.get(level, 2) for _, level in tiers],
        agents_by_tier=agents,
        teams=teams,
        customers=existing + _bulk_customers(db, rnd, w, customers_wanted, now),
    )


def _bulk_customers(
    db: Session, rnd: random.Random, w: _Writer, wanted: int, now: datetime
) -> list[tuple[int, int | None, str]]:
    """About one organization per 25 customers; 60% of customers belong to one."""
    if wanted <= 0:
        return []
    org_first = w.next_id("organizations")
    cust_first = w.next_id("customers")
    tag = f"b{cust_first}"  # unique per run, so names and e-mails never collide with earlier loads
    n_orgs = max(1, wanted // 25)
    segments = _Pick({"smb": 60, "mid_market": 30, "enterprise": 10})
    plans = {"smb": "starter", "mid_market": "business", "enterprise": "enterprise"}
    org_rows, org_langs = [], []
    naive_now = now.astimezone(UTC).replace(tzinfo=None)
    created: Any = naive_now if w.pg else naive_now.isoformat(" ", "microseconds")
    for k in range(n_orgs):
        segment = segments(rnd)
        lang = _Pick(LANGUAGES)(rnd)
        org_langs.append(lang)
        org_rows.append(
            (org_first + k, f"Bulk Org {tag}-{k}", f"org{k}.{tag}.example.com", plans[segment], segment,
             w.flag(segment == "enterprise" and k % 7 == 0), w.flag(k % 3 == 0), "{}", "", created)
        )  # fmt: skip
    w.write(
        "organizations",
        (
            "id",
            "name",
            "domain",
            "plan",
            "segment",
            "strategic",
            "shared_tickets",
            "flags",
            "notes",
            "created_at",
        ),
        org_rows,
    )
    pick_lang = _Pick(LANGUAGES)
    rows: list[tuple[Any, ...]] = []
    out: list[tuple[int, int | None, str]] = []
    for k in range(wanted):
        cid = cust_first + k
        oid: int | None
        if rnd.random() < 0.6:
            o = rnd.randrange(n_orgs)
            oid = org_first + o
            lang = org_langs[o] if rnd.random() < 0.8 else pick_lang(rnd)
        else:
            oid, lang = None, pick_lang(rnd)
        rows.append(
            (cid, f"Customer {tag}-{k}", f"c{k}.{tag}@bulk.example.com", oid, lang, TIMEZONES[lang],
             w.flag(k % 50 == 0), "{}", created)
        )  # fmt: skip
        out.append((cid, oid, lang))
    w.write(
        "customers",
        ("id", "name", "email", "organization_id", "language", "timezone", "vip", "flags", "created_at"),
        rows,
    )
    w.advance("organizations", org_first + n_orgs - 1)
    w.advance("customers", cust_first + wanted - 1)
    return out


# --- the load ----------------------------------------------------------------------------------
TICKET_COLUMNS = (
    "id", "subject", "description", "status", "priority", "category", "channel", "language",
    "requester_id", "organization_id", "tier_id", "team_id", "assignee_id", "tags", "reopen_count",
    "source", "created_at", "updated_at", "first_responded_at", "solved_at", "closed_at",
)  # fmt: skip
EVENT_COLUMNS = (
    "ticket_id", "at", "actor_kind", "actor_user_id", "actor_customer_id", "kind", "field", "old", "new",
    "reason", "data",
)  # fmt: skip
DOC_COLUMNS = ("ticket_id", "public_terms", "internal_terms", "indexed_at")
MESSAGE_COLUMNS = (
    "id", "ticket_id", "kind", "author_kind", "author_user_id", "author_customer_id", "body", "created_at",
)  # fmt: skip


EPOCH = datetime(1970, 1, 1)  # naive UTC: rows are built from naive datetimes (no tz math per row)
INDEXED_TABLES = ("tickets", "ticket_events", "messages", "ticket_tags", "ticket_search_docs")
# Rebuilding already pays at 10k tickets on top of the demo's 1,200 (0.46 s of CPU against
# 0.82 s keeping the indexes and the FTS trigger, 2026-11-23); the floor keeps small loads
# into a small table from touching the schema.
REBUILD_INDEXES_FROM = 5_000
FTS_INSERT_TRIGGER = "ticket_search_docs_ai"
FTS_DEFAULT_AUTOMERGE = 4  # FTS5's default when the table's config does not set it
# Indexes the load appends to in key order (ticket ids and creation times ascend), which
# costs less than sorting them again afterwards: they stay.
APPENDED_INDEXES = frozenset(
    {"ix_ticket_events_ticket", "ix_messages_ticket", "ix_ticket_tags_ticket", "ix_tickets_created"}
)


def load(
    db: Session,
    tickets: int,
    now: datetime,
    *,
    seed: int = 7,
    days: int = 365,
    batch: int = DEFAULT_BATCH,
    customers: int | None = None,
    rebuild_indexes: bool | None = None,
    commit: Callable[[], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> BulkResult:
    """Add `tickets` tickets created over the `days` before `now`, with their events,
    messages, tags and counters. Writes in batches of `batch` tickets and calls `commit`
    after each (pass None to leave the whole load in the caller's transaction).

    `rebuild_indexes` drops the secondary indexes of the ticket tables (and, on PostgreSQL,
    their foreign keys; on SQLite, the trigger that feeds ticket_fts) before loading and
    recreates them from their stored DDL afterwards (even when the load fails), which is
    several times faster than maintaining them row by row. By default (None) it does so
    when `commit` is given, at least REBUILD_INDEXES_FROM tickets are loaded and the load
    is at least as big as the table already is (so the table is empty, or nearly so,
    compared with what is added: only the demo's tickets)."""
    started = time.perf_counter()
    rnd = random.Random(seed)
    w = _Writer(db.connection())
    wanted = customers if customers is not None else max(50, tickets // 20)
    refs = _references(db, rnd, w, wanted, now)
    result = BulkResult(customers=wanted, organizations=max(1, wanted // 25) if wanted else 0)
    first = w.next_id("tickets", never_reused=True)
    if rebuild_indexes is None:
        existing = int(db.execute(text("SELECT COUNT(*) FROM tickets")).scalar_one())
        rebuild_indexes = commit is not None and tickets >= max(REBUILD_INDEXES_FROM, existing)
    dropped: list[tuple[str, str]] = []
    if rebuild_indexes:
        dropped = w.drop_indexes(INDEXED_TABLES) + w.drop_foreign_keys(INDEXED_TABLES)
    # SQLite's FTS trigger costs 4x more than filling ticket_fts from the documents in one
    # statement at the end, so it is set aside too: when the indexes are, or when the whole
    # load is the caller's one transaction (nobody else can write a document meanwhile).
    fts_trigger = w.drop_fts_trigger() if rebuild_indexes or commit is None else None
    if commit:
        commit()
    try:
        _load_tickets(db, refs, rnd, tickets, first, now, days, batch, result, commit, progress)
    finally:
        if dropped or fts_trigger:
            if commit:
                db.rollback()  # a failed batch leaves nothing half-written behind the indexes
            w = _Writer(db.connection())
            index_started = clock = time.perf_counter()
            if fts_trigger:
                w.restore_fts_trigger(fts_trigger, first, first + tickets - 1)
                clock = result.timed("fill ticket_fts", clock)
            w.create_indexes(dropped)
            if commit:
                commit()
            result.timed("recreate indexes", clock)
            result.index_seconds = time.perf_counter() - index_started
    result.seconds = time.perf_counter() - started
    return result


# A number no template holds: a numbered template's terms are computed once with it in place
# of "{n}", and each ticket's number then takes its place in the terms (see _template).
_SENTINEL = "7777777777777"
_WORD_CHAR = re.compile(r"[^\W_]")


@dataclass(frozen=True)
class _Template:
    subject: str
    description: str
    numbered: bool
    terms: str | None  # the search terms of subject + description; None: analyse per ticket


def _template(text: str, language: str) -> _Template:
    """A demo subject/description pair, with its search terms computed once. For a numbered
    template the number's term is spliced in per ticket, which is exact when "{n}" stands
    apart from letters and digits (the analyzer then sees the number as a word of its own
    that stems to itself): checked here against the analyzer with two numbers, and the
    template is analysed per ticket otherwise."""
    subject, description = text.split(" | ", 1)
    numbered = "{n}" in subject or "{n}" in description
    terms: str | None = search.document_field_terms([subject, description], language)
    if numbered:
        whole = f"{subject} | {description}"
        apart = all(
            not _WORD_CHAR.match(whole[i - 1 : i] or " ")
            and not _WORD_CHAR.match(whole[i + 3 : i + 4] or " ")
            for i in (m.start() for m in re.finditer(r"\{n\}", whole))
        )
        terms = search.document_field_terms(
            [subject.replace("{n}", _SENTINEL), description.replace("{n}", _SENTINEL)], language
        )
        for number in ("10000", "98765"):
            direct = search.document_field_terms(
                [subject.replace("{n}", number), description.replace("{n}", number)], language
            )
            apart = apart and direct == terms.replace(_SENTINEL, number)
        terms = terms if apart else None
    return _Template(subject, description, numbered, terms)


def _lexemes_of(tpl: _Template, reply_terms: str) -> str:
    """The tsvector literal of a template's terms and a reply's, without a number's."""
    assert tpl.terms is not None
    return search.tsvector_literal(" ".join(t for t in (tpl.terms + reply_terms).split() if t != _SENTINEL))


def _reply_class(status: str) -> str:
    if status in ("solved", "closed"):
        return "solved"
    return "ack" if status in ("open", "on_hold") else "ask"


def _load_tickets(
    db: Session,
    refs: _Refs,
    rnd: random.Random,
    tickets: int,
    first: int,
    now: datetime,
    days: int,
    batch: int,
    result: BulkResult,
    commit: Callable[[], None] | None,
    progress: Callable[[int], None] | None,
) -> None:
    """Python draws each ticket (the random choices) and writes the tickets, their tags and
    their search documents; the database derives each batch's reply messages and events
    from the ticket rows in two set-based statements (`_derived`), which is where most of
    the rows are and where Python's per-row binding cost the most."""
    w = _Writer(db.connection())
    pg = w.pg
    msg_next = w.next_id("messages")
    ev_next = w.next_id("ticket_events")
    result.first_id = first
    period = timedelta(days=days).total_seconds() * 0.999
    start_ts = now.astimezone(UTC).replace(tzinfo=None) - timedelta(days=days) - EPOCH
    start_s = start_ts.total_seconds()
    pick_status_recent, pick_status_older = _Pick(STATUS_RECENT), _Pick(STATUS_OLDER)
    pick_priority, pick_channel, pick_category = _Pick(PRIORITIES), _Pick(CHANNELS), _Pick(CATEGORIES)
    pick_tier = _Pick(list(zip(refs.tiers, refs.tier_weights, strict=True)))
    templates = {lang: {cat: [_template(t, lang) for t in ts] for cat, ts in cats.items()} for lang, cats in TEMPLATES.items()}  # fmt: skip
    reply_terms = {
        (lang, cls): " " + search.document_field_terms([REPLIES[lang][cls]], lang)
        for lang in TEMPLATES
        for cls in ("solved", "ack", "ask")
    }
    all_categories = [c for c in CATEGORIES if c]
    json_tags = {t: json.dumps([t]) for t in TAGS}
    three_days = timedelta(days=3)
    n_customers, n_tags = len(refs.customers), len(TAGS)
    derive = _derived(pg)
    derive_params = {f"reply_{lang}_{cls}": REPLIES[lang][cls] for lang, cls in reply_terms}

    def fmt(value: datetime) -> Any:
        # PostgreSQL takes the naive datetime; SQLite gets the exact text SQLAlchemy's DateTime
        # stores (keyset pagination compares these strings), microseconds always present.
        return value if pg else value.isoformat(" ", "microseconds")

    indexed_at = fmt(now.astimezone(UTC).replace(tzinfo=None))
    lexemes: dict[tuple[_Template, str], str] = {}
    counters: Counter[tuple[str, int]] = Counter()
    done = 0
    while done < tickets:
        clock = time.perf_counter()
        n = min(batch, tickets - done)
        t_rows: list[tuple[Any, ...]] = []
        tag_rows: list[tuple[Any, ...]] = []
        doc_rows: list[tuple[Any, ...]] = []
        replies = 0
        for k in range(done, done + n):
            tid = first + k
            # Ids ascend with creation time, as they do in a live desk.
            age = (k + rnd.random()) / tickets  # 0 = oldest, 1 = newest
            created_dt = EPOCH + timedelta(seconds=start_s + age * period)
            status = (pick_status_recent if age > 1 - RECENT else pick_status_older)(rnd)
            customer_id, org_id, lang = refs.customers[rnd.randrange(n_customers)]
            category = pick_category(rnd)
            tpl = rnd.choice(templates[lang][category or rnd.choice(all_categories)])
            subject, description, terms = tpl.subject, tpl.description, tpl.terms
            number = ""
            if tpl.numbered:
                number = str(10000 + rnd.randrange(90000))
                subject, description = subject.replace("{n}", number), description.replace("{n}", number)
                if terms is None:
                    terms = search.document_field_terms([subject, description], lang)
                else:
                    terms = terms.replace(_SENTINEL, number)
            assert terms is not None
            tier_id = pick_tier(rnd)
            team_id = refs.teams.get(TEAM_FOR_CATEGORY.get(category or "", ""))
            agents = refs.agents_by_tier.get(tier_id)
            assignee = agents[rnd.randrange(len(agents))] if agents and status != "new" else None
            tag = TAGS[rnd.randrange(n_tags)] if rnd.random() < TAGGED_SHARE else None
            tags_json = json_tags[tag] if tag else "[]"
            priority, channel = pick_priority(rnd), pick_channel(rnd)
            created = updated = fmt(created_dt)
            first_responded = solved = closed = None
            reply = ""
            if status != "new":
                # The agent's first public reply, minutes to hours later, sets the status; a
                # closed ticket was solved with that reply and closed three days later.
                at_dt = created_dt + timedelta(seconds=300 + rnd.random() * 14400)
                updated = first_responded = fmt(at_dt)
                if status in ("solved", "closed"):
                    solved = first_responded
                if status == "closed":
                    updated = closed = fmt(at_dt + three_days)
                reply = _reply_class(status)
                terms += reply_terms[(lang, reply)]
                replies += 1
            t_rows.append(
                (tid, subject, description, status, priority, category, channel, lang, customer_id,
                 org_id, tier_id, team_id, assignee, tags_json, 0, "bulk", created, updated,
                 first_responded, solved, closed)
            )  # fmt: skip
            if pg:
                # tsvector literals: the template's (cached) with the ticket's number added;
                # PostgreSQL drops a repeated lexeme on input, as the indexer's never has one.
                cached = lexemes.get((tpl, reply))
                if tpl.terms is None:
                    tsv = search.tsvector_literal(terms)
                elif cached is None:
                    tsv = lexemes[(tpl, reply)] = _lexemes_of(tpl, reply_terms.get((lang, reply), ""))
                else:
                    tsv = cached
                if tpl.terms is not None and number:
                    tsv = f"{tsv} {search.tsvector_literal(number)}"
                doc_rows.append((tid, terms, "", indexed_at, tsv, tsv))  # no internal notes: all = public
            else:
                doc_rows.append((tid, terms, "", indexed_at))
            if tag:
                tag_rows.append((tag, tid))
            counters[(status, tier_id)] += 1
        clock = result.timed("draw tickets (Python)", clock)
        w.write("tickets", TICKET_COLUMNS, t_rows)
        w.write("ticket_tags", ("tag", "ticket_id"), tag_rows)
        clock = result.timed("write tickets and tags", clock)
        span = {"lo": first + done, "hi": first + done + n - 1, "msg_first": msg_next, "ev_first": ev_next}
        written = w.conn.execute(derive.messages, span | derive_params).rowcount
        if written != replies:
            raise RuntimeError(f"bulk: wrote {written} reply messages for {replies} worked-on tickets")
        clock = result.timed("derive messages", clock)
        events = w.conn.execute(derive.events, span).rowcount
        clock = result.timed("derive events", clock)
        w.write_search_docs(doc_rows)
        clock = result.timed("write search documents", clock)
        msg_next += replies
        ev_next += events
        result.events += events
        result.messages += replies
        result.tags += len(tag_rows)
        done += n
        if commit:
            commit()
            w = _Writer(db.connection())
            result.timed("commit", clock)
        if progress:
            progress(done)
    result.tickets = tickets
    result.last_id = first + tickets - 1
    for (status, _tier), count in counters.items():
        result.statuses[status] += count
    if tickets:
        w.advance("tickets", result.last_id)
        w.advance("messages", msg_next - 1)
        w.advance("ticket_events", ev_next - 1)
        _bump_counters(db, counters)
    if commit:
        commit()


@dataclass(frozen=True)
class _Derived:
    messages: TextClause
    events: TextClause


@lru_cache(maxsize=2)
def _derived(pg: bool) -> _Derived:
    """The two statements that derive a batch's rows from its tickets (ids :lo..:hi), the
    same rows the services write:

    - each worked-on ticket's first public reply (message ids from :msg_first, in ticket
      order), by its assignee (or the system when its tier has no agent), in the ticket's
      language, worded for the status it left the ticket in;
    - its events, numbered on from the highest id in ticket order and, within a ticket, in the order
      the services append them: `created` (with the ticket's initial fields, as the service
      records them), then `public_reply` and `first_response` for the reply, then the status
      changes (`new`/`open` -> status with the reply; `solved` -> `closed` three days later).
    """

    system, agent, customer = (k.value for k in (AuthorKind.system, AuthorKind.agent, AuthorKind.customer))
    created, public_reply, first_response, changed = (
        k.value for k in (EventKind.created, EventKind.public_reply, EventKind.first_response, EventKind.field_changed)
    )  # fmt: skip
    public = MessageKind.public.value

    def txt(expr: str) -> str:
        return f"COALESCE(CAST({expr} AS TEXT), 'null')"

    initial = "CASE WHEN assignee_id IS NULL THEN 'new' ELSE 'open' END"
    reply_cls = (
        "CASE WHEN status IN ('solved', 'closed') THEN 'solved' "
        "WHEN status IN ('open', 'on_hold') THEN 'ack' ELSE 'ask' END"
    )
    worked = (
        f"WITH w AS (SELECT id AS ticket_id, status, language, {reply_cls} AS reply, "
        "first_responded_at AS at, closed_at, "
        f"assignee_id AS actor, CASE WHEN assignee_id IS NULL THEN '{system}' ELSE '{agent}' END AS actor_kind, "
        f"{initial} AS initial, :msg_first + ROW_NUMBER() OVER (ORDER BY id) - 1 AS message_id "
        "FROM tickets WHERE id BETWEEN :lo AND :hi AND status <> 'new') "
    )
    body = (
        "CASE "
        + " ".join(
            f"WHEN language = '{lang}' AND reply = '{cls}' THEN :reply_{lang}_{cls}"
            for lang in TEMPLATES
            for cls in ("solved", "ack", "ask")
        )
        + " END"
    )
    messages = text(
        "INSERT INTO messages ("
        + ", ".join(MESSAGE_COLUMNS)
        + ") "
        + worked
        + f"SELECT message_id, ticket_id, '{public}', actor_kind, actor, NULL, {body}, at FROM w ORDER BY message_id"
    )
    # The `created` event's data, as text in the layout json.dumps gives the service's dict.
    data = (
        f'\'{{"status": "\' || {initial} || \'", "priority": "\' || priority || '
        f"'\", \"category\": ' || COALESCE('\"' || category || '\"', 'null') || "
        f'\', "channel": "\' || channel || \'", "tier_id": \' || {txt("tier_id")} || '
        f"', \"team_id\": ' || {txt('team_id')} || ', \"assignee_id\": ' || {txt('assignee_id')} || "
        f"', \"tags\": ' || CAST(tags AS TEXT) || ', \"routing\": null}}'"
    )
    reply_data = "'{\"message_id\": ' || CAST(message_id AS TEXT) || '}'"
    data_col = "CAST(data AS JSONB)" if pg else "data"
    # SQLite numbers the rows max(id) + 1, ... in the order they are inserted, which the
    # ORDER BY sets; numbering them with a window function too cost half as much again.
    # PostgreSQL's ids are explicit (a sequence promises uniqueness, not this order).
    event_id = "id, " if pg else ""
    event_id_value = ":ev_first + ROW_NUMBER() OVER (ORDER BY ticket_id, seq) - 1, " if pg else ""
    null_text = "CAST(NULL AS TEXT)"
    events = text(
        f"INSERT INTO ticket_events ({event_id}"
        + ", ".join(EVENT_COLUMNS)
        + ") "
        + worked
        + f"SELECT {event_id_value}ticket_id, at, actor_kind, "
        f"actor_user_id, actor_customer_id, kind, field, old, new, reason, {data_col} FROM ("
        f"SELECT id AS ticket_id, 0 AS seq, created_at AS at, '{customer}' AS actor_kind, "
        f"CAST(NULL AS INTEGER) AS actor_user_id, requester_id AS actor_customer_id, '{created}' AS kind, "
        f"{null_text} AS field, {null_text} AS old, {null_text} AS new, {null_text} AS reason, {data} AS data "
        "FROM tickets WHERE id BETWEEN :lo AND :hi "
        f"UNION ALL SELECT ticket_id, 1, at, actor_kind, actor, NULL, '{public_reply}', NULL, NULL, NULL, NULL, "
        f"{reply_data} FROM w "
        f"UNION ALL SELECT ticket_id, 2, at, actor_kind, actor, NULL, '{first_response}', NULL, NULL, NULL, NULL, "
        f"{reply_data} FROM w "
        f"UNION ALL SELECT ticket_id, 3, at, actor_kind, actor, NULL, '{changed}', 'status', initial, "
        "CASE WHEN status = 'closed' THEN 'solved' ELSE status END, 'set with reply', NULL FROM w "
        "WHERE status <> initial "
        f"UNION ALL SELECT ticket_id, 4, closed_at, actor_kind, actor, NULL, '{changed}', 'status', "
        "'solved', 'closed', 'closed after 3 days', NULL FROM w WHERE status = 'closed'"
        ") e ORDER BY ticket_id, seq"
    )
    return _Derived(messages, events)


def _bump_counters(db: Session, counters: Counter[tuple[str, int]]) -> None:
    """The same upsert the tickets service uses, once per (status, tier) instead of per ticket."""
    insert = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
    for (status, tier_id), delta in sorted(counters.items()):
        stmt = insert(TicketCounter).values(status=status, tier_id=tier_id or 0, count=delta)
        db.execute(
            stmt.on_conflict_do_update(
                index_elements=["status", "tier_id"], set_={"count": TicketCounter.count + delta}
            )
        )


def analyze(db: Session) -> None:
    """Refresh the planner's statistics after a big load (what autovacuum would do later)."""
    conn = db.connection()
    if conn.dialect.name == "postgresql":
        for table in (
            "tickets", "ticket_events", "messages", "ticket_tags", "customers", "organizations",
            "ticket_search_docs",  # the search planner's term statistics (see migration j10search)
        ):  # fmt: skip
            conn.exec_driver_sql(f"ANALYZE {table}")
    else:
        conn.exec_driver_sql("ANALYZE")
