"""Helpers shared by the group-writer tests (core/group.py)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from tests import factories as f
from tierdesk.core.clock import FrozenClock
from tierdesk.tickets import service
from tierdesk.tickets.schemas import TicketCreate

T = TypeVar("T")


def ticket_plans(db: Session, clock: FrozenClock, count: int) -> list[service.CreatePlan]:
    """`count` planned tickets "Printer 0", "Printer 1", … by an L1 agent for carol."""
    hd = f.helpdesk(db)
    agent = f.actor(db, hd.users["l1"])
    carol = hd.customers["carol"]
    return [
        service.plan_ticket(db, agent, TicketCreate(subject=f"Printer {i}", requester_id=carol), clock.now())
        for i in range(count)
    ]


def run_in_thread(coro: Coroutine[Any, Any, T]) -> T:
    """asyncio.run in a thread of its own: after a browser test, Playwright's sync API leaves
    an event loop running in the test thread, where asyncio.run refuses to start."""
    out: list[T] = []
    errors: list[BaseException] = []

    def main() -> None:
        try:
            out.append(asyncio.run(coro))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=main)
    thread.start()
    thread.join(60)
    if errors:
        raise errors[0]
    assert out, "the event loop did not finish"
    return out[0]
