"""`tierdesk seed bulk`: fast bulk tickets that look exactly like tickets the services made."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, func, inspect, select, text
from sqlalchemy.orm import Session

from tests import factories as f
from tierdesk.core.clock import FrozenClock
from tierdesk.core.migrate import upgrade
from tierdesk.core.security import SYSTEM
from tierdesk.customers.models import Customer
from tierdesk.demo import bulk
from tierdesk.search import service as search
from tierdesk.search.models import TicketSearchDoc
from tierdesk.tickets import service as tickets
from tierdesk.tickets.models import TRANSITIONS, Message, Status, Ticket, TicketEvent, TicketTag
from tierdesk.tickets.schemas import TicketCreate
from tierdesk.tickets.service import TicketFilter


def _status_path(events: list[TicketEvent]) -> list[str]:
    created = next(e for e in events if e.kind == "created")
    assert created.data is not None
    path = [created.data["status"]]
    for e in events:
        if e.kind == "field_changed" and e.field == "status":
            assert e.old == path[-1], "each status event starts where the previous one ended"
            path.append(str(e.new))
    return path


def test_bulk_load_writes_tickets_with_creation_events_and_matching_counters(
    db: Session, clock: FrozenClock
) -> None:
    f.helpdesk(db)

    result = bulk.load(db, 300, clock.now(), seed=3)

    rows = list(db.scalars(select(Ticket).where(Ticket.source == "bulk").order_by(Ticket.id)))
    assert len(rows) == result.tickets == 300
    assert [t.id for t in rows] == list(range(result.first_id, result.last_id + 1))
    created = db.scalar(select(func.count()).select_from(TicketEvent).where(TicketEvent.kind == "created"))
    assert created == 300
    counted = Counter((t.status, t.tier_id or 0) for t in rows)
    assert {(s, tier): n for s, tier, n in tickets.status_counts(db) if n} == dict(counted)
    assert db.scalar(select(func.count()).select_from(TicketEvent)) == result.events
    assert db.scalar(select(func.count()).select_from(Message)) == result.messages


def test_bulk_tickets_have_a_realistic_mix_of_statuses_tiers_languages_and_customers(
    db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)

    bulk.load(db, 600, clock.now(), seed=5, customers=40)

    rows = list(db.scalars(select(Ticket).where(Ticket.source == "bulk")))
    assert {t.status for t in rows} >= {"new", "open", "solved", "closed"}
    assert {t.language for t in rows} == {"en", "zh", "ja", "it"}
    assert {t.tier_id for t in rows} >= {hd.tiers["L1"], hd.tiers["L2"], hd.tiers["L3"]}
    assert hd.tiers["L0"] not in {t.tier_id for t in rows}, "self-service holds no tickets"
    assert {t.priority for t in rows} == {"urgent", "high", "normal", "low"}
    assert len({t.requester_id for t in rows}) > 20
    assert any(t.organization_id for t in rows) and any(t.organization_id is None for t in rows)
    assert db.scalar(select(func.count()).select_from(Customer)) >= 40
    japanese = [t for t in rows if t.language == "ja"]
    assert any(any("\u3040" <= ch <= "\u30ff" for ch in t.subject) for t in japanese)
    # Tickets that were worked on carry the agent's reply; open-ended ones are the newest.
    closed = [t for t in rows if t.status == "closed"]
    assert all(t.first_responded_at and t.solved_at and t.closed_at for t in closed)
    assert all(t.updated_at >= t.created_at for t in rows)


def test_every_bulk_status_history_follows_the_allowed_transitions(db: Session, clock: FrozenClock) -> None:
    f.helpdesk(db)
    result = bulk.load(db, 200, clock.now(), seed=11)

    events = list(
        db.scalars(
            select(TicketEvent)
            .where(TicketEvent.ticket_id.between(result.first_id, result.last_id))
            .order_by(TicketEvent.ticket_id, TicketEvent.id)
        )
    )
    by_ticket: dict[int, list[TicketEvent]] = {}
    for e in events:
        by_ticket.setdefault(e.ticket_id, []).append(e)
    statuses = {i: s for i, s in db.execute(select(Ticket.id, Ticket.status).where(Ticket.source == "bulk"))}
    assert set(by_ticket) == set(statuses)
    for ticket_id, evs in by_ticket.items():
        path = _status_path(evs)
        assert path[-1] == statuses[ticket_id]
        for old, new in pairwise(path):
            assert Status(new) in TRANSITIONS[Status(old)], (ticket_id, path)
        if path[-1] != "new":
            assert [e.kind for e in evs][1:3] == ["public_reply", "first_response"]


def test_tags_are_stored_in_both_places(db: Session, clock: FrozenClock) -> None:
    f.helpdesk(db)
    result = bulk.load(db, 200, clock.now(), seed=2)

    pairs = {(tag, i) for tag, i in db.execute(select(TicketTag.tag, TicketTag.ticket_id))}
    from_json = {(tag, t.id) for t in db.scalars(select(Ticket)) for tag in t.tags}
    assert pairs == from_json
    assert len(pairs) == result.tags > 0


def test_ticket_numbers_continue_after_a_bulk_load(db: Session, clock: FrozenClock) -> None:
    hd = f.helpdesk(db)
    admin = f.actor(db, hd.users["admin"])
    before = f.ticket(db, admin, clock.now(), requester_id=hd.customers["carol"])

    result = bulk.load(db, 50, clock.now(), seed=1)
    after = tickets.create_ticket(
        db, admin, TicketCreate(subject="After the load", requester_id=hd.customers["carol"]), clock.now()
    )

    assert result.first_id == before.id + 1
    assert after.id == result.last_id + 1
    second = bulk.load(db, 10, clock.now(), seed=1)
    assert second.first_id == after.id + 1


def test_bulk_tickets_show_up_in_the_queue_list_newest_first(db: Session, clock: FrozenClock) -> None:
    hd = f.helpdesk(db)
    bulk.load(db, 400, clock.now(), seed=9)

    flt = TicketFilter(status=["open"], tier_id=hd.tiers["L1"])
    page, _ = tickets.list_tickets(db, SYSTEM, flt, "-created_at", None, 25)

    assert page and all(t.status == "open" and t.tier_id == hd.tiers["L1"] for t in page)
    created = [t.created_at for t in page]
    assert created == sorted(created, reverse=True)
    assert all(t.created_at <= clock.now() for t in page)


def test_bulk_load_refuses_a_database_without_tiers(db: Session, clock: FrozenClock) -> None:
    try:
        bulk.load(db, 10, clock.now())
    except bulk.NoTiers as exc:
        assert "seed demo" in str(exc)
    else:
        raise AssertionError("expected NoTiers")


def test_a_load_that_rebuilds_the_indexes_leaves_every_index_in_place(
    db: Session, clock: FrozenClock
) -> None:
    f.helpdesk(db)

    def indexes() -> set[str]:
        found = set()
        for table in bulk.INDEXED_TABLES:
            found |= {str(ix["name"]) for ix in inspect(db.connection()).get_indexes(table)}
        return found

    before = indexes()
    bulk.load(db, 100, clock.now(), rebuild_indexes=True)

    assert "ix_tickets_tier_status_created" in before
    assert indexes() == before


def test_after_a_load_the_counters_equal_the_tickets_per_status_and_tier(
    db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    admin = f.actor(db, hd.users["admin"])
    f.ticket(db, admin, clock.now(), requester_id=hd.customers["carol"])  # a ticket the service made

    bulk.load(db, 500, clock.now(), seed=4, batch=150)

    in_table = db.execute(
        select(Ticket.status, func.coalesce(Ticket.tier_id, 0), func.count()).group_by(
            Ticket.status, Ticket.tier_id
        )
    ).all()
    assert {(s, tier): n for s, tier, n in tickets.status_counts(db) if n} == {
        (s, t): n for s, t, n in in_table
    }


def test_every_loaded_ticket_has_its_creation_event_and_each_reply_its_events(
    db: Session, clock: FrozenClock
) -> None:
    f.helpdesk(db)
    result = bulk.load(db, 400, clock.now(), seed=6, batch=120)

    loaded = Ticket.id.between(result.first_id, result.last_id)
    created = dict(
        db.execute(
            select(TicketEvent.ticket_id, func.count())
            .where(
                TicketEvent.kind == "created", TicketEvent.ticket_id.between(result.first_id, result.last_id)
            )
            .group_by(TicketEvent.ticket_id)
        ).all()
    )
    assert created == {tid: 1 for tid in range(result.first_id, result.last_id + 1)}
    worked = set(db.scalars(select(Ticket.id).where(loaded, Ticket.status != "new")))
    messages = list(db.execute(select(Message.id, Message.ticket_id).where(Message.ticket_id.in_(worked))))
    assert sorted(tid for _, tid in messages) == sorted(worked), "one reply per worked-on ticket"
    for kind in ("public_reply", "first_response"):
        refs = {
            (e.ticket_id, (e.data or {}).get("message_id"))
            for e in db.scalars(
                select(TicketEvent).where(TicketEvent.kind == kind, TicketEvent.ticket_id.in_(worked))
            )
        }
        assert refs == {(tid, mid) for mid, tid in messages}, f"each {kind} event names its ticket's reply"
    first_created = db.scalar(
        select(TicketEvent).where(TicketEvent.kind == "created", TicketEvent.ticket_id == result.first_id)
    )
    ticket = db.get_one(Ticket, result.first_id)
    assert first_created is not None and first_created.data is not None
    assert first_created.at == ticket.created_at and first_created.actor_customer_id == ticket.requester_id
    assert first_created.data["priority"] == ticket.priority and first_created.data["tags"] == ticket.tags


def test_search_finds_a_loaded_ticket_by_its_number_and_words(db: Session, clock: FrozenClock) -> None:
    hd = f.helpdesk(db)
    admin = f.actor(db, hd.users["admin"])
    result = bulk.load(db, 300, clock.now(), seed=8)

    numbered = db.scalars(
        select(Ticket)
        .where(Ticket.id.between(result.first_id, result.last_id), Ticket.language == "en")
        .where(Ticket.subject.like("Invoice %"))
    ).first()
    assert numbered is not None, "seed 8 loads an English invoice ticket"
    number = numbered.subject.split()[1]

    hits = [h.ticket_id for h in search.search_tickets(db, admin, f"invoice {number}", limit=100).items]

    assert numbered.id in hits
    assert all(
        number in t.subject + t.description for t in db.scalars(select(Ticket).where(Ticket.id.in_(hits)))
    )


def test_loaded_search_documents_are_what_the_indexer_writes(db: Session, clock: FrozenClock) -> None:
    f.helpdesk(db)
    result = bulk.load(db, 400, clock.now(), seed=10, batch=150)
    ids = list(range(result.first_id, result.last_id + 1))

    def docs() -> dict[int, tuple[str, ...]]:
        extra = ", public_tsv::text, all_tsv::text" if db.get_bind().dialect.name == "postgresql" else ""
        rows = db.execute(
            text(
                f"SELECT ticket_id, public_terms, internal_terms{extra} FROM ticket_search_docs WHERE ticket_id >= :lo"
            ),
            {"lo": result.first_id},
        )
        return {int(r[0]): tuple(r[1:]) for r in rows}

    loaded = docs()
    search.index_tickets(db, ids, clock.now())

    assert sorted(loaded) == ids
    assert loaded == docs()
    assert db.scalar(select(func.count()).select_from(TicketSearchDoc)) >= len(ids)


def _schema(conn: Connection) -> list[tuple[str, ...]]:
    """Every table, index, trigger and constraint definition, as the database reports them."""
    if conn.dialect.name == "sqlite":
        rows = conn.execute(
            text("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
        )
        # A table's lines are compared as a set: Alembic's batch mode writes a rebuilt table's
        # constraints in a different order from one run to the next.
        return sorted(
            (kind, name, table, str(sorted(line.strip(" ,") for line in str(sql).splitlines())))
            for kind, name, table, sql in rows
        )
    rows = conn.execute(
        text(
            "SELECT 'index', indexname, tablename, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "UNION ALL SELECT 'constraint', conname, conrelid::regclass::text, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE connamespace = current_schema()::regnamespace "
            "UNION ALL SELECT 'trigger', tgname, tgrelid::regclass::text, pg_get_triggerdef(oid) FROM pg_trigger "
            "WHERE NOT tgisinternal "
            "UNION ALL SELECT 'column', table_name || '.' || column_name, data_type, "
            "coalesce(column_default, '') || ' ' || is_nullable FROM information_schema.columns "
            "WHERE table_schema = current_schema() "
            "UNION ALL SELECT 'statistics', attrelid::regclass::text || '.' || attname, '', attstattarget::text "
            "FROM pg_attribute WHERE attrelid IN (SELECT oid FROM pg_class WHERE relnamespace = "
            "current_schema()::regnamespace AND relkind = 'r') AND attnum > 0"
        )
    )
    return sorted(tuple(str(v) for v in r) for r in rows)


def test_a_load_that_rebuilds_the_indexes_leaves_the_schema_exactly_as_the_migrations_made_it(
    db: Session, clock: FrozenClock, tmp_path: Path
) -> None:
    f.helpdesk(db)
    before = _schema(db.connection())  # the session's database: a fresh `alembic upgrade head`

    bulk.load(db, 300, clock.now(), batch=100, rebuild_indexes=True)

    after = _schema(db.connection())
    assert any(r[1] == "ix_tickets_tier_status_created" for r in after)
    assert after == before
    if db.get_bind().dialect.name == "sqlite":  # and a migration run just now, on a new file
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
        upgrade(url)
        engine = create_engine(url)
        with engine.connect() as fresh:
            assert _schema(fresh) == after
        engine.dispose()


@pytest.mark.parametrize(
    ("rebuild", "commits"),
    [(False, False), (False, True), (True, True)],
    ids=["one transaction", "committed batches, indexes kept", "committed batches, indexes rebuilt"],
)
def test_a_loaded_database_answers_like_one_the_services_filled(
    db: Session, clock: FrozenClock, rebuild: bool, commits: bool
) -> None:
    hd = f.helpdesk(db)
    admin = f.actor(db, hd.users["admin"])
    result = bulk.load(
        db,
        300,
        clock.now(),
        seed=12,
        batch=100,
        rebuild_indexes=rebuild,
        commit=db.commit if commits else None,
    )

    newest = db.scalar(select(Ticket).where(Ticket.source == "bulk").order_by(Ticket.id.desc()).limit(1))
    assert newest is not None and newest.id == result.last_id
    page, _ = tickets.list_tickets(db, SYSTEM, TicketFilter(), "-created_at", None, 25)
    assert page[0].id == result.last_id
    assert search.search_tickets(db, admin, newest.subject.split()[0], limit=100).items


def test_a_load_that_fails_halfway_still_puts_the_indexes_trigger_and_keys_back(
    db: Session, clock: FrozenClock
) -> None:
    f.helpdesk(db)
    before = _schema(db.connection())

    def fail_after_the_first_batch(done: int) -> None:
        raise RuntimeError(f"stopped after {done} tickets")

    with pytest.raises(RuntimeError, match="stopped after 100 tickets"):
        bulk.load(db, 300, clock.now(), batch=100, rebuild_indexes=True, progress=fail_after_the_first_batch)

    assert _schema(db.connection()) == before


def test_a_load_leaves_one_merged_search_index_that_still_takes_new_tickets(
    db: Session, clock: FrozenClock
) -> None:
    if db.get_bind().dialect.name != "sqlite":
        pytest.skip("ticket_fts (FTS5) is SQLite's; PostgreSQL keeps tsvector columns")
    hd = f.helpdesk(db)
    admin = f.actor(db, hd.users["admin"])
    bulk.load(db, 300, clock.now(), seed=8, batch=100)

    # One `optimize` after the fill: every posting merged once, into one segment, and FTS5
    # merging new segments again as it did before the load.
    assert db.execute(text("SELECT COUNT(DISTINCT segid) FROM ticket_fts_idx")).scalar_one() == 1
    assert db.execute(text("SELECT v FROM ticket_fts_config WHERE k = 'automerge'")).scalar_one() == 4

    later = f.ticket(
        db, SYSTEM, clock.now(), subject="Quokka invoice missing", requester_id=hd.customers["carol"]
    )
    search.index_tickets(db, [later.id], clock.now())
    assert [h.ticket_id for h in search.search_tickets(db, admin, "quokka", limit=10).items] == [later.id]
