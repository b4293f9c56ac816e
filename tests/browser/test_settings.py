"""The supervisor settings pages in Chromium: a supervisor changes an SLA policy and sees
the change, a bad value is shown next to its field, an agent cannot open the settings,
and every main settings page fits a desktop and a phone (390x844) screen.

Screenshots go to the harness's `shots` directory (`make screenshots` -> docs/screenshots)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from tests.browser.conftest import PHONE, PageFactory, Server
from tests.browser.support import assert_no_horizontal_overflow
from tierdesk.routing.models import RoutingRule
from tierdesk.sla.models import SlaPolicy, SlaTarget
from tierdesk.tiers.models import Calendar, Tier


def _first_policy(server: Server) -> tuple[int, str, int]:
    with server.db() as db:
        policy = db.scalars(select(SlaPolicy).order_by(SlaPolicy.position, SlaPolicy.id)).first()
        assert policy is not None, "the demo has SLA policies"
        first = db.get(SlaTarget, (policy.id, "first_response"))
        return policy.id, policy.name, first.minutes if first else 0


def _minutes(server: Server, policy_id: int) -> int | None:
    with server.db() as db:
        target = db.get(SlaTarget, (policy_id, "first_response"))
        return target.minutes if target else None


def test_a_supervisor_changes_an_sla_policy_in_the_page_and_sees_it(
    login: PageFactory, server: Server
) -> None:
    policy_id, _, minutes = _first_policy(server)
    new = minutes + 7
    page = login("supervisor")
    page.goto("/")
    page.locator("summary").first.click()
    page.locator("a[href='/settings']").click()
    page.wait_for_url("**/settings")
    page.locator("a[href='/settings/sla']").first.click()
    page.locator(f"a[href='/settings/sla/{policy_id}']").click()
    page.fill("input[name='target-first_response-minutes']", str(new))
    page.locator("form.form button[type=submit]").first.click()
    page.wait_for_url("**/settings/sla")
    assert page.locator(".flash").is_visible()
    row = page.locator("tr", has=page.locator(f"a[href='/settings/sla/{policy_id}']"))
    assert str(new) in row.inner_text()
    assert _minutes(server, policy_id) == new


def test_a_negative_target_is_shown_next_to_its_field_and_the_value_is_kept(
    login: PageFactory, server: Server
) -> None:
    policy_id, _, minutes = _first_policy(server)
    page = login("admin")
    page.goto(f"/settings/sla/{policy_id}")
    page.fill("input[name='target-resolution-minutes']", "-30")
    page.locator("form.form button[type=submit]").first.click()
    error = page.locator("#f-target-resolution-minutes-error")
    assert error.is_visible() and "1" in error.inner_text()
    assert page.input_value("input[name='target-resolution-minutes']") == "-30"
    field = page.locator("input[name='target-resolution-minutes']")
    assert field.get_attribute("aria-invalid") == "true"
    assert _minutes(server, policy_id) == minutes


def test_an_agent_cannot_open_the_settings(login: PageFactory) -> None:
    page = login("l1.yuki")
    response = page.goto("/settings/sla")
    assert response is not None and response.status == 403
    page.goto("/")
    assert page.locator("a[href='/settings']").count() == 0


PAGES = [
    ("settings-home", "/settings"),
    ("settings-tiers", "/settings/tiers"),
    ("settings-tier-l1", "/settings/tiers/{L1}"),
    ("settings-teams", "/settings/teams"),
    ("settings-skills", "/settings/skills"),
    ("settings-calendars", "/settings/calendars"),
    ("settings-calendar", "/settings/calendars/{calendar}"),
    ("settings-sla", "/settings/sla"),
    ("settings-sla-policy", "/settings/sla/{policy}"),
    ("settings-routing", "/settings/routing"),
    ("settings-routing-rule", "/settings/routing/{rule}"),
]


@pytest.mark.parametrize(("viewport", "suffix"), [((1280, 800), ""), (PHONE, "-phone")])
def test_every_settings_page_renders_and_fits_the_screen(
    login: PageFactory, server: Server, shots: Path, viewport: tuple[int, int], suffix: str
) -> None:
    policy_id = _first_policy(server)[0]
    with server.db() as db:
        ids = {
            "L1": db.scalars(select(Tier.id).where(Tier.key == "L1")).one(),
            "calendar": db.scalars(select(Calendar.id).order_by(Calendar.id)).first(),
            "policy": policy_id,
            "rule": db.scalars(select(RoutingRule.id).order_by(RoutingRule.id)).first(),
        }
    out = shots
    page = login("admin", viewport=viewport)
    for shot, url in PAGES:
        response = page.goto(url.format(**ids))
        assert response is not None and response.status == 200, url
        assert page.locator("h1").first.is_visible()
        assert_no_horizontal_overflow(page)
        page.screenshot(path=str(out / f"{shot}{suffix}.png"), full_page=True)
    # A calendar form with a closing time before the opening time, as a supervisor sees it.
    page.goto(f"/settings/calendars/{ids['calendar']}")
    page.fill("input[name='hours-0-0-open']", "18:00")
    page.fill("input[name='hours-0-0-close']", "09:00")
    page.fill("input[name='timezone']", "Mars/Olympus")
    page.locator("form.form button[type=submit]").first.click()
    assert page.locator("#f-hours-0-error").is_visible() and page.locator("#f-timezone-error").is_visible()
    assert_no_horizontal_overflow(page)
    page.screenshot(path=str(out / f"settings-calendar-errors{suffix}.png"), full_page=True)
