"""Only supervisors and administrators reach the settings pages, on every GET and POST."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser

import pytest
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from tests import factories as f
from tests.admin.conftest import Browser
from tierdesk.admin.pages import router
from tierdesk.core.security import SYSTEM
from tierdesk.tiers import service as tiers
from tierdesk.tiers.schemas import SkillIn

ROUTES = [
    (method, route.path)
    for route in router.routes
    if isinstance(route, APIRoute)
    for method in sorted(route.methods)
]


def _concrete(path: str, hd: f.Helpdesk) -> str:
    return re.sub(r"\{[a-z_]+\}", str(hd.tiers["L1"]), path)


def test_the_router_has_both_pages_and_forms() -> None:
    methods = {m for m, _ in ROUTES}
    assert methods == {"GET", "POST"} and len(ROUTES) > 30


@pytest.mark.parametrize(("who", "status"), [("l1", 403), ("fraud", 403), ("alice", 404)])
def test_agents_are_refused_and_customers_never_learn_the_settings_exist(
    sign_in: Callable[[str], Browser], hd: f.Helpdesk, db: Session, who: str, status: int
) -> None:
    browser = sign_in(who)
    before = [(t.key, t.name, t.time_box_minutes) for t in tiers.all_tiers(db)]
    for method, path in ROUTES:
        url = _concrete(path, hd)
        if method == "GET":
            r = browser.get(url)
        else:
            # A valid CSRF token and plausible data: the role alone must stop it.
            r = browser.post(url, {"key": "L9", "name": "Hacked", "level": "9", "time_box_minutes": "1"})
        assert r.status_code == status, (method, url, r.status_code)
        assert "text/html" in r.headers["content-type"]
    db.expire_all()
    assert [(t.key, t.name, t.time_box_minutes) for t in tiers.all_tiers(db)] == before


def test_anonymous_visitors_are_sent_to_sign_in(client, hd: f.Helpdesk) -> None:  # type: ignore[no-untyped-def]
    for method, path in ROUTES:
        r = client.request(method, _concrete(path, hd), follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login", (method, path)


@pytest.mark.parametrize("who", ["supervisor", "admin"])
def test_supervisors_and_admins_see_every_section_on_the_settings_home(
    sign_in: Callable[[str], Browser], who: str
) -> None:
    page = sign_in(who).get("/settings")
    assert page.status_code == 200
    for href in (
        "/settings/tiers",
        "/settings/teams",
        "/settings/skills",
        "/settings/calendars",
        "/settings/sla",
        "/settings/routing",
    ):
        assert f'href="{href}"' in page.text


def test_the_settings_link_in_the_menu_shows_only_for_supervisors(sign_in: Callable[[str], Browser]) -> None:
    assert 'href="/settings"' in sign_in("supervisor").client.get("/").text
    assert 'href="/settings"' not in sign_in("l1").client.get("/").text


def test_a_form_without_the_csrf_token_changes_nothing(
    supervisor: Browser, hd: f.Helpdesk, db: Session
) -> None:
    url = f"/settings/tiers/{hd.tiers['L1']}"
    r = supervisor.post(url, {"key": "L1", "name": "Renamed", "level": "1", "enabled": "on"}, csrf=False)
    assert r.status_code == 403
    r = supervisor.post(url, {"key": "L1", "name": "Renamed", "level": "1", "csrf": "forged"}, csrf=False)
    assert r.status_code == 403
    db.expire_all()
    assert tiers.tier_by_key(db, "L1").name == "Front line"  # type: ignore[union-attr]


def test_a_missing_record_is_a_404_page_not_a_500(supervisor: Browser) -> None:
    for url in (
        "/settings/tiers/999999",
        "/settings/sla/999999",
        "/settings/routing/999999",
        "/settings/calendars/999999",
        "/settings/teams/999999",
        "/settings/agents/999999/skills",
    ):
        r = supervisor.get(url)
        assert r.status_code == 404 and "text/html" in r.headers["content-type"], url


def test_the_refusal_page_keeps_the_user_menu_so_an_agent_can_go_on(
    sign_in: Callable[[str], Browser],
) -> None:
    page = sign_in("l1").get("/settings")
    assert page.status_code == 403
    assert "Only supervisors and administrators" in page.text
    assert 'action="/logout"' in page.text and 'href="/settings"' not in page.text


class _Fields(HTMLParser):
    """Collects the ids of form fields and the `for` of labels on a page."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[str] = []
        self.labelled: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "label" and a.get("for"):
            self.labelled.add(str(a["for"]))
        if tag in ("input", "select", "textarea") and a.get("type") not in ("hidden", "submit"):
            self.fields.append(str(a.get("id") or f"<{tag} name={a.get('name')} without id>"))


def test_every_field_on_every_settings_page_has_a_label(
    supervisor: Browser, hd: f.Helpdesk, db: Session
) -> None:
    from tests.sla.factories import policy

    pid = policy(db, hd.teams["calendar"])
    urls = [
        "/settings/tiers/new",
        f"/settings/tiers/{hd.tiers['L1']}",
        "/settings/teams/new",
        f"/settings/teams/{hd.teams['billing']}",
        "/settings/skills",
        f"/settings/agents/{hd.users['l2']}/skills",
        "/settings/calendars/new",
        f"/settings/calendars/{hd.teams['calendar']}",
        "/settings/sla/new",
        f"/settings/sla/{pid}",
        "/settings/routing/new",
        "/settings/routing/test",
    ]
    tiers.create_skill(db, SYSTEM, SkillIn(key="sql", name="SQL"))  # so the agent page has a field
    for url in urls:
        parser = _Fields()
        parser.feed(supervisor.get(url).text)
        assert parser.fields, url
        unlabelled = [fid for fid in parser.fields if fid not in parser.labelled]
        assert not unlabelled, (url, unlabelled)
