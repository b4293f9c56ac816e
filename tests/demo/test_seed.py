from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests import factories as f
from tests.conftest import START
from tierdesk.accounts import service as accounts
from tierdesk.core.clock import FrozenClock
from tierdesk.core.db import Database
from tierdesk.core.errors import Forbidden
from tierdesk.core.security import Actor
from tierdesk.customers import service as customers
from tierdesk.demo import seed
from tierdesk.tickets import service as tickets
from tierdesk.tickets.models import Message, Ticket, TicketLink
from tierdesk.tiers import service as tiers


@dataclass
class Loaded:
    db: Session
    clock: FrozenClock
    created: list[tuple[str, str]]


@pytest.fixture(scope="module")
def loaded(database: Database) -> Iterator[Loaded]:
    """The demo loaded once for the module (it takes seconds), rolled back at the end.
    The tests only read it, apart from sign-ins stamping last_login_at."""
    conn = database.engine.connect()
    trans = conn.begin()
    db = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    clock = FrozenClock(START)
    created = seed.load_demo(db, clock.now(), only_if_empty=True)
    assert created is not None
    yield Loaded(db, clock, created)
    db.close()
    trans.rollback()
    conn.close()


def actor(db: Session, email: str) -> Actor:
    user = accounts.user_by_email(db, email)
    assert user is not None, email
    return f.actor(db, user.id)


def all_tickets(db: Session) -> list[Ticket]:
    return list(db.scalars(select(Ticket).order_by(Ticket.id)))


def test_demo_loads_200_tickets_in_four_languages_with_creation_events(loaded: Loaded) -> None:
    db, clock = loaded.db, loaded.clock
    admin = actor(db, "admin@tierdesk.example.com")
    rows = all_tickets(db)
    assert len(rows) == 200
    languages = Counter(t.language for t in rows)
    assert set(languages) == {"en", "zh", "ja", "it"}
    assert min(languages.values()) >= 20
    assert any("无法登录账户" in t.subject for t in rows if t.language == "zh")
    earliest = clock.now() - timedelta(days=30)
    for t in rows:
        events = tickets.list_events(db, admin, t.id)
        assert [e.kind for e in events].count("created") == 1
        assert events[0].kind == "created"
        assert events[0].actor_kind in ("agent", "customer")  # a real person, never the system
        times = [e.at for e in events]
        assert times == sorted(times), t.number
        assert earliest <= t.created_at == times[0] and times[-1] <= clock.now()


def test_demo_strategic_organization_has_a_dedicated_team_and_owner(loaded: Loaded) -> None:
    db = loaded.db
    admin = actor(db, "admin@tierdesk.example.com")
    orgs = {o.name: o for o in customers.list_organizations(db, admin)}
    assert {o.segment for o in orgs.values()} == {"enterprise", "mid_market", "smb"}
    kitsune = orgs["Kitsune Logistics K.K."]
    owner = actor(db, "l3.kenji@tierdesk.example.com")
    enterprise = tiers.team_by_key(db, "enterprise")
    assert enterprise is not None
    assert kitsune.strategic and kitsune.shared_tickets and kitsune.flags["proactive_contact"] is True
    assert (kitsune.dedicated_team_id, kitsune.account_owner_id) == (enterprise.id, owner.user_id)
    assert owner.user_id in tiers.get_team(db, admin, enterprise.id).member_ids

    worked = [t for t in all_tickets(db) if t.organization_id == kitsune.id and t.status != "new"]
    assert worked
    assert all(t.team_id == enterprise.id for t in worked if t.category != "compliance")
    # The contact with a login sees the whole organization's tickets (shared_tickets).
    contact = actor(db, "hanako.sato@kitsune-logistics.example.com")
    assert all(tickets.get_ticket(db, contact, t.id) for t in worked)


def test_demo_walks_tickets_through_every_tier_status_team_and_link(loaded: Loaded) -> None:
    db, created = loaded.db, loaded.created
    rows = all_tickets(db)
    tier_keys = {t.id: t.key for t in tiers.all_tiers(db)}
    assert {t.status for t in rows} == {"new", "open", "pending", "on_hold", "solved", "closed"}
    assert {"L1", "L2", "L3", "L4"} <= {tier_keys[t.tier_id] for t in rows if t.tier_id}
    assert {"web", "email", "chat", "phone", "api"} <= {t.channel for t in rows}
    assert any(t.reopen_count for t in rows)
    links = list(db.scalars(select(TicketLink)))
    assert {"related", "duplicate_of", "engineering_bug"} <= {lk.kind for lk in links}
    assert all(lk.external_key.startswith("ENG-") for lk in links if lk.kind == "engineering_bug")

    # The maintained (status, tier) counters agree with the tickets themselves.
    expected = Counter((t.status, t.tier_id or 0) for t in rows)
    counted = {(s, tier): n for s, tier, n in tickets.status_counts(db) if n}
    assert counted == dict(expected)

    # Customers only ever write through their own logins.
    users = [accounts.user_by_email(db, email) for email, _ in created]
    login_customers = {u.customer_id for u in users if u is not None and u.customer_id is not None}
    authors = set(db.scalars(select(Message.author_customer_id).where(Message.author_kind == "customer")))
    assert authors and authors <= login_customers

    # Fraud and compliance cases sit with their need-to-know teams, out of everyone else's sight.
    outsiders = [actor(db, f"{who}@tierdesk.example.com") for who in ("l1.yuki", "supervisor")]
    for team_key, specialist in (("fraud", "fraud.emma"), ("compliance", "compliance.lin")):
        team = tiers.team_by_key(db, team_key)
        assert team is not None and team.need_to_know
        routed = [t for t in rows if t.category == team_key and t.status != "new"]
        assert routed and all(t.team_id == team.id for t in routed)
        inside = actor(db, f"{specialist}@tierdesk.example.com")
        for t in routed:
            assert tickets.get_ticket(db, inside, t.id).id == t.id
            for outsider in outsiders:  # they may learn the ticket exists, nothing more
                with pytest.raises(Forbidden, match="need-to-know"):
                    tickets.get_ticket(db, outsider, t.id)


def test_demo_returns_a_login_for_every_role_that_signs_in_with_the_demo_password(loaded: Loaded) -> None:
    db, clock, created = loaded.db, loaded.clock, loaded.created
    emails = [email for email, _ in created]
    assert len(emails) == len(set(emails)) == 13
    roles = Counter(actor(db, email).role for email in emails)
    assert roles == {"admin": 1, "supervisor": 1, "agent": 5, "specialist": 3, "customer": 3}
    assert ("l1.yuki@tierdesk.example.com", "agent L1 (ja)") in created
    assert len(seed.DEMO_PASSWORD) >= 10
    for email in ("supervisor@tierdesk.example.com", "noah.turner@shopper.example.net"):
        user = accounts.sign_in(db, email, seed.DEMO_PASSWORD, "127.0.0.1", clock.now(), 5, 900)
        assert user.email == email
    # Staff come with their working profile: languages, calendar, capacity.
    admin = actor(db, "admin@tierdesk.example.com")
    yuki = accounts.get_user(db, admin, actor(db, "l1.yuki@tierdesk.example.com").user_id or 0)
    assert yuki.work is not None
    assert yuki.work.languages == ["ja", "en"] and yuki.work.calendar_id and yuki.work.max_open_tickets
    assert yuki.work.skills["japanese"] == 5
