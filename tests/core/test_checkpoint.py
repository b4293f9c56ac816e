"""core/checkpoint.py: the web app's commits never checkpoint the write-ahead log; a thread
of the process does, once the log has grown past 1,000 pages, and writers then start the log
again from its beginning. Other processes keep SQLite's automatic checkpoints.

These build their own SQLite file (the checkpoint is about a real file's log)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tierdesk.core.checkpoint import Checkpointer
from tierdesk.core.db import Database


@pytest.fixture
def path(tmp_path: Path) -> str:
    return str(tmp_path / "ck.db")


@pytest.fixture
def web_database(path: str) -> Iterator[Database]:
    database = Database(f"sqlite:///{path}", background_checkpoints=True)
    assert database.checkpointer is not None
    database.checkpointer.stop()  # the test takes the thread's steps itself
    yield database
    database.dispose()


def _write_pages(database: Database, pages: int) -> None:
    """About `pages` 4 KiB pages of new rows, 100 per commit."""
    with database.engine.connect() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS filler (body BLOB)"))
        conn.commit()
        for start in range(0, pages, 100):
            for _ in range(min(100, pages - start)):
                conn.execute(text("INSERT INTO filler (body) VALUES (randomblob(3900))"))
            conn.commit()


def _autocheckpoint(database: Database) -> int:
    with database.engine.connect() as conn:
        return int(conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())


def test_the_web_apps_commits_leave_the_log_to_the_checkpointer(web_database: Database, path: str) -> None:
    assert _autocheckpoint(web_database) == 0
    _write_pages(web_database, 1500)
    checkpointer = Checkpointer(path)
    try:
        done = checkpointer.run_due()
        assert done is not None and not done.busy
        assert done.log_frames > 1500  # no commit checkpointed it on the way
        assert done.checkpointed == done.log_frames  # nobody was reading: all of it copied
        _write_pages(web_database, 5)
        again = checkpointer.checkpoint()
        assert again.log_frames < 50  # the next writer started the log from its beginning
    finally:
        checkpointer.stop()


def test_a_small_log_is_left_alone(web_database: Database, path: str) -> None:
    _write_pages(web_database, 50)
    checkpointer = Checkpointer(path)
    try:
        assert checkpointer.run_due() is None
        assert checkpointer.checkpoints == 0
    finally:
        checkpointer.stop()


def test_other_processes_keep_sqlites_own_checkpoints(path: str) -> None:
    database = Database(f"sqlite:///{path}")
    try:
        assert database.checkpointer is None
        assert _autocheckpoint(database) == 1000
        _write_pages(database, 1500)
        with database.engine.connect() as conn:  # the commits checkpointed as they went
            _busy, frames, _copied = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
        assert frames < 1500
    finally:
        database.dispose()


def test_the_thread_checkpoints_by_itself(path: str) -> None:
    database = Database(f"sqlite:///{path}", background_checkpoints=True)
    try:
        assert database.checkpointer is not None
        database.checkpointer.poll_seconds = 0.001
        _write_pages(database, 1200)
        # The thread polls every millisecond here; give it a bounded while to act.
        for _ in range(5000):
            if database.checkpointer.checkpoints:
                break
            database.checkpointer._stop.wait(0.001)
        assert database.checkpointer.checkpoints >= 1
    finally:
        database.dispose()
