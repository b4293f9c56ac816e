"""The supervisor dashboard in Chromium: a supervisor opens it from the workspace navigation
and reads every panel on a desktop and a phone (390x844) screen without sideways scrolling;
an agent has no link to it and is refused at the URL.

Screenshots go to $TIERDESK_SCREENSHOTS when set (`docs/screenshots`), else to the test's
temporary directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, PageFactory
from tests.browser.support import assert_no_horizontal_overflow


@pytest.mark.parametrize("viewport,suffix", [((1280, 800), ""), (PHONE, "-phone")])
def test_a_supervisor_opens_the_dashboard_from_the_navigation_and_it_fits_the_screen(
    login: PageFactory, shots: Path, viewport: tuple[int, int], suffix: str
) -> None:
    page: Any = login("supervisor", viewport=viewport)
    page.goto("/desk/mine")
    page.locator('nav.views a[href="/desk/dashboard"]').click()
    # The demo supervisor's profile speaks Italian (and lives in Europe/Rome).
    expect(page.locator("h1")).to_have_text("Cruscotto")
    expect(page.get_by_role("heading", name="Ticket non risolti per livello")).to_be_visible()
    for panel in (
        "dash-tickets",
        "dash-sla",
        "dash-moves",
        "dash-days",
        "dash-agents",
        "dash-csat",
        "dash-deflection",
    ):
        expect(page.locator(f"#{panel}")).to_be_visible()
    expect(page.locator(".dash-head")).to_contain_text("Europe/Rome")
    assert page.url.endswith("/desk/dashboard")  # hx-boost pushed the URL
    # The demo's L1 queue has unsolved tickets: its row links to the queue.
    expect(page.locator('#dashboard a[href="/desk/tier/L1"]').first).to_be_visible()
    expect(page.locator("ol.days li")).to_have_count(14)
    assert page.locator('nav.views a[href="/desk/dashboard"][aria-current="page"]').count() == 1
    assert_no_horizontal_overflow(page)
    page.screenshot(path=str(shots / f"dashboard{suffix}.png"), full_page=True)


def test_an_agent_has_no_dashboard_link_and_is_refused_at_its_url(login: PageFactory) -> None:
    page: Any = login("l1.yuki")
    page.goto("/desk/mine")
    assert page.locator('a[href="/desk/dashboard"]').count() == 0
    response = page.goto("/desk/dashboard")
    assert response is not None and response.status == 403
    assert page.locator("#dashboard").count() == 0
