"""One SLA scheduler as a separate OS process, for tests/sla/test_scheduler_processes.py.

    python tests/sla/scheduler_child.py --url URL --now ISO --batch N [--sleep-after-claim S] [--loops K]

Loops the way `tierdesk scheduler` does (one write transaction per tick, commit, roll back
on error and go on) until a tick fires nothing or K ticks have run, then prints one JSON
line with its totals.

With --sleep-after-claim, `tierdesk.sla.tasks._breach` is wrapped (in this process only):
after its first call the process prints `CLAIMED {...}` (the timer ids this transaction has
claimed) to stdout, flushed, and sleeps S seconds, so a test can `kill -9` it while it holds
claimed but uncommitted rows.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tierdesk.core.db import Database
from tierdesk.sla import service as sla
from tierdesk.sla import tasks

MAX_CONSECUTIVE_ERRORS = 20


def _arm_sleep_after_claim(seconds: float) -> None:
    """Record what each claim returns; after the first batch of breaches, report the ids and sleep."""
    claimed: dict[str, list[int]] = {"warned": [], "breached": []}
    original_warnings, original_due, original_breach = sla.claim_warnings, sla.claim_due, tasks._breach

    def claim_warnings(db: Session, now: datetime, limit: int) -> list[sla.ClaimedTimer]:
        timers = original_warnings(db, now, limit)
        claimed["warned"].extend(t.id for t in timers)
        return timers

    def claim_due(
        db: Session, now: datetime, limit: int, boxes: bool | None = None
    ) -> list[sla.ClaimedTimer]:
        timers = original_due(db, now, limit, boxes)
        claimed["breached"].extend(t.id for t in timers)
        return timers

    calls = 0

    def breach(db: Session, timers: list[sla.ClaimedTimer], now: datetime, result: tasks.TickResult) -> None:
        nonlocal calls
        original_breach(db, timers, now, result)
        calls += 1
        if calls == 1:
            db.flush()  # the first batch's breach rows are on the server, uncommitted, when we die
            print("CLAIMED " + json.dumps(claimed), flush=True)
            time.sleep(seconds)

    # tasks calls `sla.claim_*` through the module, so patching the module attributes works.
    sla.claim_warnings = claim_warnings  # type: ignore[assignment]
    sla.claim_due = claim_due  # type: ignore[assignment]
    tasks._breach = breach  # type: ignore[assignment]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--now", required=True, type=datetime.fromisoformat)
    parser.add_argument("--batch", type=int, default=tasks.BATCH)
    parser.add_argument("--sleep-after-claim", type=float, default=None)
    parser.add_argument("--loops", type=int, default=None)
    args = parser.parse_args(argv)
    if args.now.tzinfo is None:
        parser.error("--now needs a UTC offset, e.g. 2026-03-02T10:00:00+00:00")
    if args.sleep_after_claim is not None:
        _arm_sleep_after_claim(args.sleep_after_claim)

    database = Database(args.url)
    totals: dict[str, Any] = {"ticks": 0, "warned": 0, "breached": 0, "escalated": 0, "errors": []}
    consecutive_errors = 0
    try:
        while args.loops is None or totals["ticks"] < args.loops:
            totals["ticks"] += 1
            with database.session(write=True) as db:
                try:
                    result = tasks.tick(db, args.now, args.batch)
                    db.commit()
                except Exception as exc:  # what worker.run_job does: roll back, log, go on
                    db.rollback()
                    traceback.print_exc(file=sys.stderr)
                    totals["errors"].append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
                    consecutive_errors += 1
                    if consecutive_errors >= MAX_CONSECUTIVE_ERRORS:
                        print(json.dumps(totals), flush=True)
                        return 2
                    continue
            consecutive_errors = 0
            totals["warned"] += result.warned
            totals["breached"] += result.breached
            totals["escalated"] += result.escalated
            if result.warned == 0 and result.breached == 0:
                break
    finally:
        database.dispose()
    print(json.dumps(totals), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
