"""Background jobs: one loop, each job a single-step function called with a fresh
transaction and the current time, so tests call the same function with a fake clock.

`tierdesk worker` runs this loop on its own; `tierdesk serve` (one process, the `make run`
mode) runs it in a thread beside the web server.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from tierdesk.accounts import tasks as accounts_tasks
from tierdesk.core.clock import Clock
from tierdesk.core.config import Settings
from tierdesk.core.db import Database
from tierdesk.core.logging import get_logger
from tierdesk.kb import tasks as kb_tasks
from tierdesk.search import tasks as search_tasks
from tierdesk.sla import tasks as sla_tasks
from tierdesk.swarms import tasks as swarms_tasks

log = get_logger("tierdesk.worker")


@dataclass(frozen=True)
class Job:
    name: str
    every_seconds: float
    run: Callable[[Session, datetime, Settings], object]
    # Given a run's result, whether a backlog remains: the loop then runs the job again at
    # once (each run its own transaction) for up to BACKLOG_SECONDS before the other jobs.
    again: Callable[[object], bool] | None = None


BACKLOG_SECONDS = 5.0


# `tierdesk worker`: housekeeping and (as they land) outbox delivery.
WORKER_JOBS: tuple[Job, ...] = (
    Job(
        "purge_login_failures",
        300,
        lambda db, now, s: accounts_tasks.purge_login_failures(db, now, s.login_window_seconds),
    ),
    Job("close_finished_swarms", 60, lambda db, now, s: swarms_tasks.close_finished_swarms(db, now)),
    Job("settle_kb_sessions", 300, lambda db, now, s: kb_tasks.settle_sessions(db, now)),
    # Tickets whose text changed (the tickets service queues them): a batch per run, again at once
    # while a full batch came back.
    Job(
        "index_search_queue",
        1.0,
        lambda db, now, s: search_tasks.index_queued(db, now),
        again=search_tasks.more_pending,
    ),
)
# `tierdesk scheduler`: time-driven rules. Several schedulers may run at once (claims are exclusive).
SCHEDULER_JOBS: tuple[Job, ...] = (
    Job("sla_tick", 1.0, lambda db, now, s: sla_tasks.tick(db, now), again=sla_tasks.more_pending),
)
JOBS = WORKER_JOBS + SCHEDULER_JOBS


def run_job(database: Database, job: Job, now: datetime, settings: Settings) -> object:
    """Run one job in one transaction: commit on success, roll back on error."""
    with database.session(write=True) as db:
        try:
            result = job.run(db, now, settings)
            db.commit()
            return result
        except Exception:
            db.rollback()
            log.exception("job_failed", job=job.name)
            raise


def run_forever(
    database: Database,
    settings: Settings,
    clock: Clock,
    stop: threading.Event,
    tick: float = 1.0,
    jobs: tuple[Job, ...] = JOBS,
) -> None:
    last: dict[str, float] = {}
    while not stop.is_set():
        now = clock.now()
        stamp = now.timestamp()
        for job in jobs:
            if stamp - last.get(job.name, 0.0) >= job.every_seconds:
                last[job.name] = stamp
                try:
                    result = run_job(database, job, now, settings)
                    log.debug("job_done", job=job.name, result=str(result))
                    budget = time.monotonic() + BACKLOG_SECONDS
                    while job.again and job.again(result) and time.monotonic() < budget and not stop.is_set():
                        result = run_job(database, job, clock.now(), settings)
                except Exception:  # a failing job must not stop the others
                    pass
        stop.wait(tick)


def start_in_thread(
    database: Database, settings: Settings, clock: Clock
) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(
        target=run_forever, args=(database, settings, clock, stop), name="tierdesk-worker", daemon=True
    )
    thread.start()
    return thread, stop
