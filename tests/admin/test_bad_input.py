"""Whatever a form is sent, the answer is a page, never a 500, and a refused form leaves
the configuration exactly as it was."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from tests import factories as f
from tests.admin.conftest import Browser
from tests.admin.test_ladder_pages import error_for, value_of
from tests.sla import factories as sf
from tierdesk.admin.pages import router
from tierdesk.core.security import SYSTEM
from tierdesk.routing import service as routing
from tierdesk.sla import service as sla
from tierdesk.tiers import service as tiers

POSTS = [route.path for route in router.routes if isinstance(route, APIRoute) and "POST" in route.methods]

GARBAGE: list[dict[str, object]] = [
    {},
    {"key": "", "name": "", "level": "", "time_box_minutes": "", "calendar_id": "", "to": ""},
    {"key": "x" * 500, "name": "y" * 5000, "level": "-1", "time_box_minutes": "99999999999999999999"},
    {"level": "1e9", "time_box_minutes": "NaN", "calendar_id": "abc", "lead_id": "0", "members": ["x", "-1"]},
    {"to": "tier:abc", "allowed_roles": ["customer"], "direction": "sideways", "tier_id": "zz"},
    {"to": "team:999999", "timezone": "../../etc/passwd", "hours-0-0-open": "25:61", "hours-0-0-close": "-"},
    {
        "position": "-5",
        "stage": "never",
        "cond-0-field": "customer.flags.",
        "cond-0-op": "gt",
        "cond-0-value": "ten",
    },
    {"cond-0-field": "ticket.tags", "cond-0-op": "in", "cond-0-value": ",,,", "actions-tier": "<script>"},
    {
        "target-first_response-minutes": "0",
        "target-resolution-warn": "-1",
        "pause_statuses": ["closed"],
        "priority": "x",
    },
    {"level-sql": "3.5", "holidays": "--13-45\n2026-99-99\nyesterday", "kind": "pirates", "email": "e" * 400},
]


def _snapshot(db: Session) -> object:
    db.expire_all()
    return (
        [
            (t.key, t.name, t.level, t.time_box_minutes, t.enabled, t.is_default, t.calendar_id)
            for t in tiers.list_tiers(db, SYSTEM)
        ],
        [
            (t.key, t.name, t.kind, t.need_to_know, t.lead_id, t.member_ids)
            for t in tiers.list_teams(db, SYSTEM)
        ],
        [(c.name, c.timezone, c.hours, c.holidays) for c in tiers.list_calendars(db, SYSTEM)],
        [p.model_dump() for p in sla.list_policies(db, SYSTEM)],
        [(r.name, r.position, r.enabled, r.conditions, r.actions) for r in routing.list_rules(db, SYSTEM)],
        [(p.from_tier_id, p.to_tier_id, p.to_team_id) for p in tiers.list_paths(db, SYSTEM)],
        sorted(
            (k, tuple(sorted(v.items()))) for k, v in tiers.skills_of_agents(db, SYSTEM, [1, 2, 3]).items()
        ),
    )


@pytest.mark.parametrize("body", GARBAGE, ids=range(len(GARBAGE)))
def test_no_form_answers_500_to_garbage_and_refusals_change_nothing(
    supervisor: Browser, hd: f.Helpdesk, db: Session, body: dict[str, object]
) -> None:
    policy = sf.policy(db, hd.teams["calendar"])
    ids = {
        "tier_id": hd.tiers["L2"],
        "team_id": hd.teams["billing"],
        "calendar_id": hd.teams["calendar"],
        "policy_id": policy,
        "user_id": hd.users["l2"],
        "path_id": 999999,
        "skill_id": 999999,
        "rule_id": 999999,
    }
    before = _snapshot(db)
    for path in POSTS:
        if path.endswith("/delete") or path.endswith("/toggle") or path.endswith("/move"):
            continue  # these take no input worth fuzzing; their 404s are covered elsewhere
        url = re.sub(r"\{([a-z_]+)\}", lambda m: str(ids[m.group(1)]), path)
        r = supervisor.post(url, dict(body))
        assert r.status_code < 500, (url, r.status_code, r.text[:500])
        if r.status_code != 303:
            assert r.status_code in (404, 422), (url, r.status_code)
            assert _snapshot(db) == before, url


def test_a_level_already_taken_is_a_conflict_shown_on_the_form(supervisor: Browser, hd: f.Helpdesk) -> None:
    r = supervisor.post(
        f"/settings/tiers/{hd.tiers['L1']}", {"key": "L1", "name": "Front line", "level": "2"}
    )
    assert r.status_code == 422 and "already exists" in r.text


def test_making_a_tier_the_default_clears_the_old_default(
    supervisor: Browser, hd: f.Helpdesk, db: Session
) -> None:
    supervisor.post(
        f"/settings/tiers/{hd.tiers['L2']}",
        {
            "key": "L2",
            "name": "Specialists",
            "level": "2",
            "time_box_minutes": "30",
            "enabled": "on",
            "is_default": "on",
        },
    )
    db.expire_all()
    assert [t.key for t in tiers.list_tiers(db, SYSTEM) if t.is_default] == ["L2"]


def test_the_same_path_twice_is_refused(supervisor: Browser, hd: f.Helpdesk) -> None:
    body = {"to": f"tier:{hd.tiers['L3']}", "allowed_roles": ["agent"]}
    assert supervisor.post(f"/settings/tiers/{hd.tiers['L1']}/paths", body).status_code == 303
    r = supervisor.post(f"/settings/tiers/{hd.tiers['L1']}/paths", body)
    assert r.status_code == 422 and "already exists" in r.text


def test_a_day_may_close_at_midnight(supervisor: Browser, db: Session) -> None:
    from tests.admin.test_ladder_pages import calendar_form

    r = supervisor.post(
        "/settings/calendars/new",
        calendar_form(name="Late shift", **{"hours-4-0-open": "14:00", "hours-4-0-close": "24:00"}),
    )
    assert r.status_code == 303
    cal = next(c for c in tiers.list_calendars(db, SYSTEM) if c.name == "Late shift")
    assert [list(i) for i in cal.hours["4"]] == [["14:00", "24:00"]]


def test_a_negative_rule_position_and_a_bad_flag_value_are_shown_on_their_fields(
    supervisor: Browser, hd: f.Helpdesk
) -> None:
    from tests.admin.test_sla_and_routing_pages import rule_form

    r = supervisor.post(
        "/settings/routing/new",
        rule_form(
            position="-5",
            **{"cond-0-field": "organization.flags.arr", "cond-0-op": "gt", "cond-0-value": "lots"},
        ),
    )
    assert r.status_code == 422
    assert "greater than or equal to 0" in error_for(r.text, "position")
    assert "compares numbers" in error_for(r.text, "cond-0-value")


def test_a_flag_condition_stores_numbers_as_numbers(supervisor: Browser, hd: f.Helpdesk, db: Session) -> None:
    from tests.admin.test_sla_and_routing_pages import rule_form

    r = supervisor.post(
        "/settings/routing/new",
        rule_form(**{"cond-0-field": "organization.flags.arr", "cond-0-op": "gt", "cond-0-value": "50000"}),
    )
    assert r.status_code == 303
    assert routing.list_rules(db, SYSTEM)[0].conditions == [
        {"field": "organization.flags.arr", "op": "gt", "value": 50000}
    ]
    page = supervisor.get(f"/settings/routing/{routing.list_rules(db, SYSTEM)[0].id}").text
    assert value_of(page, "cond-0-value") == "50000"
