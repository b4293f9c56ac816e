"""The agent workspace in Chromium: an L1 agent replies and escalates with a hand-off, an L2
agent opens the ticket and reads the hand-off without asking anyone; the keyboard shortcuts
work; the queue and ticket pages fit a desktop and a phone (390x844) screen.

Screenshots go to $TIERDESK_SCREENSHOTS when set (`docs/screenshots` for the README),
else to the test's temporary directory."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import PHONE, PageFactory, Server
from tests.browser.support import assert_no_horizontal_overflow
from tierdesk.core.security import SYSTEM
from tierdesk.customers.models import Customer
from tierdesk.tickets import service as tickets
from tierdesk.tickets.models import Ticket, TicketEvent
from tierdesk.tickets.schemas import TicketCreate
from tierdesk.tiers.models import Tier


def _new_l1_ticket(server: Server, subject: str) -> tuple[int, str]:
    """A fresh ticket in the L1 queue from a demo customer (the demo's tickets change under
    other tests), created through the tickets service like any other."""
    with server.db() as db:
        requester = db.scalars(select(Customer).where(Customer.email == server.email("noah.turner"))).one()
        l1 = db.scalars(select(Tier.id).where(Tier.key == "L1")).one()
        data = TicketCreate(
            subject=subject,
            description="The export to CSV stops at 99% and the file is empty.",
            requester_id=requester.id,
            tier_id=l1,
            channel="web",
        )
        ticket = tickets.create_ticket(db, SYSTEM, data, datetime.now(UTC))
        db.commit()
        return ticket.id, ticket.number


def _ticket(server: Server, ticket_id: int) -> tuple[Ticket, list[TicketEvent]]:
    with server.db() as db:
        ticket = db.get(Ticket, ticket_id)
        events = list(db.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)))
        assert ticket is not None
        db.expunge_all()
        return ticket, events


def test_l1_replies_and_escalates_and_l2_reads_the_hand_off_without_asking(
    login: PageFactory, server: Server, shots: Path
) -> None:
    subject = f"CSV export empty {uuid.uuid4().hex[:6]}"
    ticket_id, number = _new_l1_ticket(server, subject)

    # L1 (Giulia) finds it in the L1 queue, opens it, replies and escalates.
    l1: Any = login("l1.giulia")
    l1.goto("/desk/tier/L1")
    l1.get_by_role("link", name=subject).click()
    l1.wait_for_url(f"**/tickets/{number}")
    l1.fill("#reply-body", "Thanks, we are looking at the export right now.")
    l1.locator("#reply-form button[type=submit]").click()
    # hx-boost swaps the page in place: wait for the reply to show, not for a navigation.
    expect(l1.locator("#conversation .message.from-agent")).to_contain_text("we are looking at the export")

    # "e" opens the escalation form with the hand-off prefilled from the timeline.
    l1.locator("body").click(position={"x": 5, "y": 300})
    l1.keyboard.press("e")
    assert l1.locator("#escalate").get_attribute("open") is not None
    assert subject in l1.input_value("#esc-problem")
    assert "we are looking at the export" in l1.input_value("#esc-tried")
    l1.fill("#esc-reason", "Needs the export service logs")
    l1.fill("#esc-tried", "Asked for the browser; retried the export twice; same empty file.")
    l1.locator("#escalate-form button[type=submit]").click()
    # The ticket left L1 (unassigned, in L2): Giulia is back on her tickets with a note.
    done = l1.locator(".flash, .field-error, .ticket-head .error")
    done.first.wait_for()
    errors = l1.locator(".field-error, .ticket-head .error")
    assert errors.count() == 0, f"escalation refused: {errors.all_inner_texts()}"
    expect(l1.locator(".flash")).to_contain_text(number)

    _, events = _ticket(server, ticket_id)
    kinds = [e.kind for e in events]
    assert "public_reply" in kinds and "escalated" in kinds
    escalated = next(e for e in events if e.kind == "escalated")
    assert escalated.data and escalated.data["handoff"]["tried"].startswith("Asked for the browser")

    # L2 (Sarah) sees it in the L2 queue and reads the hand-off on top of the ticket.
    l2: Any = login("l2.sarah")
    l2.goto("/desk/tier/L2")
    assert l2.get_by_role("link", name=subject).is_visible()
    l2.goto(f"/tickets/{number}")
    handoff = l2.locator(".handoff-latest")
    assert handoff.is_visible()
    text = handoff.inner_text()
    assert "Needs the export service logs" in text
    assert "retried the export twice" in text and subject in text
    l2.screenshot(path=str(shots / "workspace-ticket.png"), full_page=True)


def test_j_and_k_walk_a_queue_and_a_takes_the_ticket(login: PageFactory, server: Server) -> None:
    subject = f"Password reset loop {uuid.uuid4().hex[:6]}"
    ticket_id, number = _new_l1_ticket(server, subject)
    page: Any = login("l1.yuki")
    page.goto("/desk/tier/L1")
    page.keyboard.press("j")
    assert page.locator("tr.selected").count() == 1
    first = page.locator("tr.selected").get_attribute("data-href")
    page.keyboard.press("j")
    page.keyboard.press("k")
    assert page.locator("tr.selected").get_attribute("data-href") == first
    page.goto(f"/tickets/{number}")
    page.keyboard.press("?")
    assert page.locator("#shortcuts-help").is_visible()
    page.keyboard.press("Escape")
    page.keyboard.press("a")
    expect(page.locator("#take-it")).to_have_count(0)  # the page came back with the ticket mine
    ticket, _ = _ticket(server, ticket_id)
    assert ticket.assignee_id is not None and ticket.status == "open"


@pytest.mark.parametrize("viewport,suffix", [((1280, 800), ""), (PHONE, "-phone")])
def test_queue_and_ticket_pages_fit_the_screen(
    login: PageFactory, server: Server, shots: Path, viewport: tuple[int, int], suffix: str
) -> None:
    _, number = _new_l1_ticket(server, f"Invoice shows the wrong VAT number {uuid.uuid4().hex[:4]}")
    page: Any = login("supervisor", viewport=viewport)
    for shot, url in (
        ("workspace-queue", "/desk/tier/L1"),
        ("workspace-breaching", "/desk/breaching"),
        ("workspace-ticket-fresh", f"/tickets/{number}"),
    ):
        response = page.goto(url)
        assert response is not None and response.status == 200, url
        assert page.locator("h1").first.is_visible()
        assert_no_horizontal_overflow(page)
        page.screenshot(path=str(shots / f"{shot}{suffix}.png"), full_page=shot != "workspace-queue")
