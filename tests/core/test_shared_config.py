"""Configuration kept in each process (core/memo.py `shared`): fast because every request no
longer re-reads tokens, tiers, calendars, policies and rules, and never stale, because every
configuration write starts a new generation that every process sees on its next request.

The cross-process and rollback cases need real commits, so those tests use their own SQLite
file (the suite's connection is rolled back, never committed).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests import factories as f
from tests.conftest import START
from tierdesk.accounts.models import User
from tierdesk.core.clock import FrozenClock
from tierdesk.core.config import Settings
from tierdesk.core.db import Database, config_generation
from tierdesk.core.memo import shared
from tierdesk.core.migrate import upgrade
from tierdesk.customers import service as customers
from tierdesk.tiers.models import Tier
from tierdesk.web.app import create_app


def _token(db: Session) -> str | None:
    return db.execute(select(config_generation.c.token)).scalar_one_or_none()


def _tier_name(db: Session, key: str) -> str:
    return shared(
        db, ("test_tier_name", key), lambda: db.scalars(select(Tier.name).where(Tier.key == key)).one()
    )


@pytest.fixture
def filedb(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'shared.db'}")
    upgrade(database.url)
    with database.session(write=True) as db:
        f.helpdesk(db)
        db.commit()
    yield database
    database.dispose()


def test_renaming_a_tier_starts_a_new_configuration_generation(db: Session) -> None:
    f.ladder(db)
    before = _token(db)
    tier = db.scalars(select(Tier).where(Tier.key == "L2")).one()
    tier.name = "Second line, renamed"
    db.flush()
    assert _token(db) != before


def test_a_new_customer_does_not_throw_away_every_process_configuration(db: Session) -> None:
    before = _token(db)
    customers.find_or_create_customer(db, "new.person@cust.example.com", "New Person")
    db.flush()
    assert _token(db) == before


def test_a_tier_renamed_and_committed_by_another_process_is_seen_on_the_next_read(filedb: Database) -> None:
    with filedb.session(write=False) as db:
        first = _tier_name(db, "L2")
    code = (
        "from sqlalchemy import select\n"
        "from tierdesk.core.db import Database\n"
        "from tierdesk.tiers.models import Tier\n"
        f"d = Database({filedb.url!r})\n"
        "with d.session(write=True) as s:\n"
        "    s.scalars(select(Tier).where(Tier.key == 'L2')).one().name = 'Renamed elsewhere'\n"
        "    s.commit()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    with filedb.session(write=False) as db:
        assert _tier_name(db, "L2") == "Renamed elsewhere" != first


def test_a_value_read_inside_a_rolled_back_change_is_never_served_afterwards(filedb: Database) -> None:
    with filedb.session(write=True) as db:
        db.scalars(select(Tier).where(Tier.key == "L1")).one().name = "Never committed"
        db.flush()
        assert _tier_name(db, "L1") == "Never committed"
        db.rollback()
    with filedb.session(write=False) as db:
        assert _tier_name(db, "L1") != "Never committed"


def test_without_the_generation_row_nothing_is_kept(filedb: Database) -> None:
    with filedb.session(write=True) as db:
        db.execute(config_generation.delete())
        db.commit()
    with filedb.session(write=False) as db:
        assert _tier_name(db, "L1")
        # A raw change no hook sees is still read, because nothing was kept.
        db.execute(update(Tier).where(Tier.key == "L1").values(name="Raw"))
        assert _tier_name(db, "L1") == "Raw"


def test_a_revoked_token_is_refused_on_the_very_next_request(filedb: Database, tmp_path: Path) -> None:
    clock = FrozenClock(START)
    with filedb.session(write=True) as db:
        admin = db.scalars(select(User.id).where(User.email == "admin@desk.example.com")).one()
        token = f.token(db, admin, clock.now())
        db.commit()
    settings = Settings(
        database_url=filedb.url, attachments_dir=tmp_path / "att", secret_key="t", log_level="WARNING"
    )
    app = create_app(settings, database=filedb, clock=clock)
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(app) as client:
        mine = client.get("/api/v1/tokens", headers=headers)
        assert mine.status_code == 200
        token_id = mine.json()[0]["id"]
        assert client.get("/api/v1/tickets", headers=headers).status_code == 200  # now kept in the process
        assert client.delete(f"/api/v1/tokens/{token_id}", headers=headers).status_code == 204
        refused = client.get("/api/v1/tickets", headers=headers)
        assert refused.status_code == 401
        assert "revoked" in refused.json()["detail"]
