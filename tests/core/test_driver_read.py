"""core/driver_read.py: the create path's reads (the configuration token, the requester) in
one read transaction on SQLite's driver. The values are Core's, what the Session itself has
written is never missed, and the configuration token is read again after the scope.

These need a Session on an engine (the shared test connection would hide its uncommitted
rows from another connection), so they build their own SQLite file."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from tierdesk.core.db import Database
from tierdesk.core.driver_read import DRIVER_READ_KEY, DriverSelect, driver_read
from tierdesk.core.memo import _generation
from tierdesk.core.migrate import upgrade
from tierdesk.customers import repository
from tierdesk.customers.models import Customer


@pytest.fixture
def filedb(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'dr.db'}")
    upgrade(database.url)
    yield database
    database.dispose()


def _customer(database: Database, **values: object) -> int:
    with database.session(write=True) as db:
        customer = Customer(name="Zoe", email="zoe@example.com", language="ja", **values)
        db.add(customer)
        db.commit()
        return customer.id


def test_a_driver_read_gives_the_requester_as_core_does(filedb: Database) -> None:
    vip = _customer(filedb, vip=True, flags={"fraud_watch": True, "note": "京都"})
    with filedb.session(write=False) as db:
        by_core = repository.requester_row(db, vip)
        db.rollback()
        with driver_read(db):
            assert db.info[DRIVER_READ_KEY] is not None
            by_driver = repository.requester_row(db, vip)
            missing = repository.requester_row(db, 987654)
            assert not db.in_transaction()  # nothing went through the Session
    assert by_core is not None and by_driver is not None
    assert (
        tuple(by_driver) == tuple(by_core) == (vip, None, "ja", True, {"fraud_watch": True, "note": "京都"})
    )
    assert by_driver.vip is True and by_driver.language == "ja"
    assert missing is None


def test_once_the_session_has_begun_reads_go_through_it_and_see_its_own_changes(filedb: Database) -> None:
    customer_id = _customer(filedb)
    with filedb.session(write=True) as db, driver_read(db):
        customer = db.get(Customer, customer_id)  # the Session begins its own transaction
        assert customer is not None
        customer.language = "it"
        db.flush()
        row = repository.requester_row(db, customer_id)
        assert row is not None and row.language == "it"
        db.rollback()


def test_the_configuration_token_is_read_again_after_the_scope(filedb: Database, tmp_path: Path) -> None:
    def change_elsewhere(token: str) -> None:  # another process edits configuration
        with sqlite3.connect(tmp_path / "dr.db") as other:
            other.execute("UPDATE config_generation SET token = ?", (token,))

    with filedb.session(write=False) as db:
        with driver_read(db):
            before = _generation(db)
            change_elsewhere("first-change")
            assert _generation(db) == before  # one snapshot for the whole scope
        assert _generation(db) == "first-change"  # the Session reads it in its own transaction
        db.rollback()
        change_elsewhere("second-change")
        with driver_read(db):
            assert _generation(db) == "second-change"


def test_a_session_bound_to_a_connection_reads_through_it(filedb: Database) -> None:
    customer_id = _customer(filedb)
    with filedb.engine.connect() as conn:
        conn.begin()
        db = Session(bind=conn, join_transaction_mode="create_savepoint")
        db.execute(Customer.__table__.update().values(language="zh"))  # not committed
        with driver_read(db):
            assert DRIVER_READ_KEY not in db.info
            row = repository.requester_row(db, customer_id)
        assert row is not None and row.language == "zh"
        db.close()


def test_a_missing_parameter_is_refused_not_read_as_null(filedb: Database) -> None:
    by_id = DriverSelect(select(Customer.__table__.c.name).where(Customer.__table__.c.id == bindparam("id")))
    with filedb.session(write=False) as db, driver_read(db), pytest.raises(KeyError, match="'id'"):
        by_id.first(db, {})
