"""The kept (status, tier) counters: what the dashboard, the queues and /metrics count.

A transaction adds its counter changes up and writes them when it commits, in one order
(tickets/repository.py, "counters"). These tests prove what a team would notice: the
counts stay right when a change is rolled back, a transaction reads its own changes, and,
on PostgreSQL, two agents moving tickets in opposite directions at the same moment do not
wait for each other (they deadlocked when each counter row was changed, and held, as the
transaction went).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.orm import Session

from tests import factories as f
from tierdesk.core.clock import FrozenClock
from tierdesk.core.db import Database, normalise_url
from tierdesk.core.migrate import upgrade
from tierdesk.tickets import service
from tierdesk.tickets.schemas import TicketPatch

URL = os.environ.get("TIERDESK_DATABASE_URL", "")


def counts(db: Session) -> dict[tuple[str, int], int]:
    return {(s, t): n for s, t, n in service.status_counts(db) if n}


def test_a_change_that_is_rolled_back_leaves_the_counters_as_they_were(
    db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    sup = f.actor(db, hd.users["supervisor"])
    t = f.ticket(db, sup, clock.now(), requester_id=hd.customers["carol"])
    db.commit()
    before = counts(db)
    assert before[("new", hd.tiers["L1"])] >= 1

    service.update_ticket(db, sup, t.id, TicketPatch(tier_id=hd.tiers["L2"], status="pending"), clock.now())
    db.rollback()  # say the request failed after the change

    assert counts(db) == before
    db.commit()  # and nothing left over is written by the next commit
    assert counts(db) == before


def test_a_transaction_counts_its_own_changes_before_it_commits(db: Session, clock: FrozenClock) -> None:
    hd = f.helpdesk(db)
    sup = f.actor(db, hd.users["supervisor"])
    before = counts(db).get(("open", hd.tiers["L2"]), 0)
    t = f.ticket(db, sup, clock.now(), requester_id=hd.customers["carol"])
    service.update_ticket(db, sup, t.id, TicketPatch(tier_id=hd.tiers["L2"], status="open"), clock.now())
    assert counts(db).get(("open", hd.tiers["L2"]), 0) == before + 1


# --- PostgreSQL: two transactions at once ------------------------------------------------------
@dataclass
class Shop:
    database: Database
    tiers: dict[str, int]
    supervisor: int
    open_ticket: int
    pending_ticket: int


@pytest.fixture
def shop(clock: FrozenClock) -> Iterator[Shop]:
    """A fresh PostgreSQL database (committed data that two sessions can see), with one open
    and one pending ticket in L1."""
    if not URL.startswith("postgres"):
        pytest.skip("needs PostgreSQL (TIERDESK_DATABASE_URL): SQLite has one writer at a time")
    url = normalise_url(URL)
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = f"tierdesk_counters_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    database = None
    try:
        own = make_url(url).set(database=name).render_as_string(hide_password=False)
        upgrade(own)
        database = Database(own)
        with database.session(write=True) as db:
            hd = f.helpdesk(db)
            sup = f.actor(db, hd.users["supervisor"])
            opened = f.ticket(db, sup, clock.now(), requester_id=hd.customers["carol"])
            service.update_ticket(db, sup, opened.id, TicketPatch(status="open"), clock.now())
            waiting = f.ticket(db, sup, clock.now(), requester_id=hd.customers["carol"])
            service.update_ticket(db, sup, waiting.id, TicketPatch(status="pending"), clock.now())
            db.commit()
            made = Shop(database, hd.tiers, hd.users["supervisor"], opened.id, waiting.id)
        yield made
    finally:
        if database is not None:
            database.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_two_agents_moving_tickets_in_opposite_directions_do_not_wait_for_each_other(
    shop: Shop, clock: FrozenClock
) -> None:
    l1 = shop.tiers["L1"]
    with shop.database.session(write=True) as first, shop.database.session(write=True) as second:
        # The first agent sets the open ticket pending: (open, L1) -1, (pending, L1) +1, and
        # has not committed yet. The second reopens the pending one: the same two counters,
        # the other way round. Each locks its own ticket; neither may wait on the counters.
        service.update_ticket(
            first,
            f.actor(first, shop.supervisor),
            shop.open_ticket,
            TicketPatch(status="pending"),
            clock.now(),
        )
        first.flush()
        second.execute(text("SET LOCAL lock_timeout = '3s'"))
        service.update_ticket(
            second,
            f.actor(second, shop.supervisor),
            shop.pending_ticket,
            TicketPatch(status="open"),
            clock.now(),
        )
        second.flush()
        second.commit()  # it would time out here (or above) waiting for the first's counter rows
        first.commit()

    with shop.database.session() as db:
        assert counts(db) == {("open", l1): 1, ("pending", l1): 1}
        grouped = db.execute(text("SELECT status, tier_id, count(*) FROM tickets GROUP BY 1, 2")).all()
        assert {(s, t): n for s, t, n in grouped} == counts(db)
