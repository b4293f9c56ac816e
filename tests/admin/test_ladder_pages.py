"""Tier ladder, escalation paths, teams, skills and calendars through the pages: saved
values land in the services' data; bad input comes back next to its field, values kept."""

from __future__ import annotations

import html
import re

from sqlalchemy.orm import Session

from tests import factories as f
from tests.admin.conftest import Browser
from tests.conftest import START
from tierdesk.core.security import SYSTEM
from tierdesk.tiers import service as tiers


def error_for(page: str, field: str) -> str:
    """The text of the error block tied to a field (empty when there is none)."""
    match = re.search(rf'<div class="field-error" id="f-{re.escape(field)}-error">(.*?)</div>', page, re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", match.group(1))).strip() if match else ""


def value_of(page: str, field: str) -> str | None:
    match = re.search(rf'name="{re.escape(field)}"[^>]*? value="([^"]*)"', page)
    return html.unescape(match.group(1)) if match else None


def tier_form(**over: str) -> dict[str, str]:
    return {"key": "L1", "name": "Front line", "level": "1", "time_box_minutes": "15", "enabled": "on"} | over


# --- tiers ------------------------------------------------------------------------------------------
def test_supervisor_lists_the_ladder_in_order_with_time_boxes(supervisor: Browser) -> None:
    page = supervisor.get("/settings/tiers").text
    assert (
        page.index("Self-service")
        < page.index("Front line")
        < page.index("Specialists")
        < page.index("Experts")
    )
    assert "15 min" in page and "30 min" in page and "no limit" in page


def test_supervisor_changes_a_time_box_and_sees_the_flash(
    supervisor: Browser, hd: f.Helpdesk, db: Session
) -> None:
    r = supervisor.post(
        f"/settings/tiers/{hd.tiers['L1']}",
        tier_form(time_box_minutes="20", calendar_id=str(hd.teams["calendar"])),
    )
    page = supervisor.follow(r)
    assert "Tier L1 saved." in page.text
    db.expire_all()
    tier = tiers.tier_by_key(db, "L1")
    assert tier is not None and tier.time_box_minutes == 20 and tier.calendar_id == hd.teams["calendar"]
    assert tier.is_default is False  # unchecked box = off


def test_an_empty_time_box_means_no_limit(supervisor: Browser, hd: f.Helpdesk, db: Session) -> None:
    supervisor.post(f"/settings/tiers/{hd.tiers['L1']}", tier_form(time_box_minutes=""))
    db.expire_all()
    assert tiers.tier_by_key(db, "L1").time_box_minutes is None  # type: ignore[union-attr]


def test_bad_tier_input_is_shown_next_to_each_field_and_nothing_is_saved(
    supervisor: Browser, hd: f.Helpdesk, db: Session
) -> None:
    r = supervisor.post(
        f"/settings/tiers/{hd.tiers['L1']}", tier_form(name="", time_box_minutes="-5", key="L 1!")
    )
    assert r.status_code == 422
    assert "cannot be empty" in error_for(r.text, "name")
    assert "greater than or equal to 1" in error_for(r.text, "time_box_minutes")
    assert error_for(r.text, "key")
    assert value_of(r.text, "time_box_minutes") == "-5" and value_of(r.text, "key") == "L 1!"
    db.expire_all()
    assert tiers.tier_by_key(db, "L1").time_box_minutes == 15  # type: ignore[union-attr]


def test_a_duplicate_tier_key_is_refused_without_a_500(supervisor: Browser, hd: f.Helpdesk) -> None:
    r = supervisor.post("/settings/tiers/new", {"key": "L2", "name": "Second L2", "level": "7"})
    assert r.status_code == 422 and "already exists" in r.text
    assert value_of(r.text, "name") == "Second L2"


def test_supervisor_adds_a_tier(supervisor: Browser, db: Session) -> None:
    page = supervisor.follow(
        supervisor.post(
            "/settings/tiers/new", {"key": "L5", "name": "Partners", "level": "5", "enabled": "on"}
        )
    )
    assert "Tier L5 created." in page.text
    assert tiers.tier_by_key(db, "L5") is not None


def test_a_level_that_is_not_a_number_is_explained(supervisor: Browser) -> None:
    r = supervisor.post("/settings/tiers/new", {"key": "L6", "name": "x", "level": "high"})
    assert r.status_code == 422 and "integer" in error_for(r.text, "level")
    r = supervisor.post("/settings/tiers/new", {"key": "L6", "name": "x", "level": ""})
    assert "required" in error_for(r.text, "level")


# --- escalation paths ---------------------------------------------------------------------------------
def test_supervisor_adds_an_upward_path_to_a_team(supervisor: Browser, hd: f.Helpdesk, db: Session) -> None:
    r = supervisor.post(
        f"/settings/tiers/{hd.tiers['L1']}/paths",
        {"to": f"team:{hd.teams['billing']}", "allowed_roles": ["agent", "supervisor"]},
    )
    assert "Escalation path added." in supervisor.follow(r).text
    paths = tiers.paths_from(db, hd.tiers["L1"])
    assert [(p.to_team_id, p.allowed_roles) for p in paths] == [
        (hd.teams["billing"], ["agent", "supervisor"])
    ]


def test_a_path_down_the_ladder_is_refused_next_to_the_target(
    supervisor: Browser, hd: f.Helpdesk, db: Session
) -> None:
    r = supervisor.post(
        f"/settings/tiers/{hd.tiers['L2']}/paths",
        {"to": f"tier:{hd.tiers['L1']}", "allowed_roles": ["agent"]},
    )
    assert r.status_code == 422
    assert "goes up the ladder" in error_for(r.text, "to")
    assert tiers.paths_from(db, hd.tiers["L2"]) == []


def test_a_path_needs_a_target_and_known_roles(supervisor: Browser, hd: f.Helpdesk) -> None:
    r = supervisor.post(f"/settings/tiers/{hd.tiers['L1']}/paths", {"to": "", "allowed_roles": ["agent"]})
    assert r.status_code == 422 and "Choose where the path leads" in error_for(r.text, "to")
    r = supervisor.post(
        f"/settings/tiers/{hd.tiers['L1']}/paths",
        {"to": f"tier:{hd.tiers['L2']}", "allowed_roles": ["wizard"]},
    )
    assert r.status_code == 422 and error_for(r.text, "allowed_roles")


def test_supervisor_removes_a_path(supervisor: Browser, hd: f.Helpdesk, db: Session) -> None:
    supervisor.post(
        f"/settings/tiers/{hd.tiers['L1']}/paths",
        {"to": f"tier:{hd.tiers['L3']}", "allowed_roles": ["agent"]},
    )
    path = tiers.paths_from(db, hd.tiers["L1"])[0]
    r = supervisor.post(f"/settings/paths/{path.id}/delete", {"tier_id": str(hd.tiers["L1"])})
    assert "Escalation path removed." in supervisor.follow(r).text
    assert tiers.list_paths(db, SYSTEM) == []


# --- teams ----------------------------------------------------------------------------------------------
def test_supervisor_creates_a_team_with_lead_and_members(
    supervisor: Browser, hd: f.Helpdesk, db: Session
) -> None:
    r = supervisor.post(
        "/settings/teams/new",
        {
            "key": "enterprise",
            "name": "Enterprise",
            "kind": "enterprise",
            "lead_id": str(hd.users["l3"]),
            "members": [str(hd.users["l2"]), str(hd.users["l3"])],
            "calendar_id": str(hd.teams["calendar"]),
        },
    )
    assert "Team Enterprise saved." in supervisor.follow(r).text
    team = tiers.team_by_key(db, "enterprise")
    assert team is not None and team.lead_id == hd.users["l3"] and team.kind == "enterprise"
    assert sorted(tiers.get_team(db, SYSTEM, team.id).member_ids) == sorted([hd.users["l2"], hd.users["l3"]])


def test_team_members_can_be_replaced_and_need_to_know_switched_on(
    supervisor: Browser, hd: f.Helpdesk, db: Session
) -> None:
    r = supervisor.post(
        f"/settings/teams/{hd.teams['billing']}",
        {
            "key": "billing",
            "name": "Billing",
            "kind": "billing",
            "need_to_know": "on",
            "members": [str(hd.users["l1"])],
        },
    )
    assert r.status_code == 303
    team = tiers.get_team(db, SYSTEM, hd.teams["billing"])
    assert team.need_to_know and team.member_ids == [hd.users["l1"]]


def test_bad_team_input_is_refused_field_by_field(supervisor: Browser, hd: f.Helpdesk) -> None:
    r = supervisor.post(
        "/settings/teams/new",
        {"key": "fraud", "name": "", "kind": "general", "members": [str(hd.users["alice"])]},
    )
    assert r.status_code == 422
    assert "cannot be empty" in error_for(r.text, "name")
    assert "staff" in error_for(r.text, "members")
    r = supervisor.post("/settings/teams/new", {"key": "fraud", "name": "Fraud again", "kind": "general"})
    assert r.status_code == 422 and "already exists" in r.text  # duplicate key
    r = supervisor.post("/settings/teams/new", {"key": "Bad Key", "name": "x", "kind": "pirates"})
    assert error_for(r.text, "key") and error_for(r.text, "kind")


# --- skills -----------------------------------------------------------------------------------------------
def test_supervisor_adds_a_skill_and_gives_it_to_an_agent(
    supervisor: Browser, hd: f.Helpdesk, db: Session
) -> None:
    assert (
        "Skill pdf-export added."
        in supervisor.follow(
            supervisor.post("/settings/skills", {"key": "pdf-export", "name": "PDF export"})
        ).text
    )
    r = supervisor.post(f"/settings/agents/{hd.users['l2']}/skills", {"level-pdf-export": "4"})
    page = supervisor.follow(r)
    assert "Skills saved." in page.text and "pdf-export 4" in page.text
    assert tiers.skills_of_agents(db, SYSTEM, [hd.users["l2"]]) == {hd.users["l2"]: {"pdf-export": 4}}


def test_skill_levels_outside_one_to_five_and_duplicate_skills_are_refused(
    supervisor: Browser, hd: f.Helpdesk
) -> None:
    supervisor.post("/settings/skills", {"key": "sql", "name": "SQL"})
    r = supervisor.post(f"/settings/agents/{hd.users['l2']}/skills", {"level-sql": "7"})
    assert r.status_code == 422 and "1 to 5" in error_for(r.text, "level-sql")
    r = supervisor.post("/settings/skills", {"key": "sql", "name": "SQL again"})
    assert r.status_code == 422 and "already exists" in r.text
    r = supervisor.post("/settings/skills", {"key": "", "name": ""})
    assert r.status_code == 422 and error_for(r.text, "key") and error_for(r.text, "name")


def test_skills_cannot_be_given_to_a_customer(supervisor: Browser, hd: f.Helpdesk) -> None:
    assert supervisor.post(f"/settings/agents/{hd.users['alice']}/skills", {}).status_code == 404


# --- calendars --------------------------------------------------------------------------------------------
def calendar_form(**over: str) -> dict[str, str]:
    base = {"name": "Tokyo office", "timezone": "Asia/Tokyo", "holidays": "2026-12-31\n--01-01"}
    for day in range(7):
        base[f"hours-{day}-0-open"] = "09:00" if day < 5 else ""
        base[f"hours-{day}-0-close"] = "18:00" if day < 5 else ""
        base[f"hours-{day}-1-open"] = ""
        base[f"hours-{day}-1-close"] = ""
    return base | over


def test_supervisor_creates_a_calendar_with_a_lunch_break_and_holidays(
    supervisor: Browser, db: Session
) -> None:
    r = supervisor.post(
        "/settings/calendars/new",
        calendar_form(**{"hours-0-0-close": "12:00", "hours-0-1-open": "13:00", "hours-0-1-close": "18:00"}),
    )
    assert "Calendar Tokyo office saved." in supervisor.follow(r).text
    cal = next(c for c in tiers.list_calendars(db, SYSTEM) if c.name == "Tokyo office")
    assert cal.timezone == "Asia/Tokyo"
    assert [list(i) for i in cal.hours["0"]] == [["09:00", "12:00"], ["13:00", "18:00"]]
    assert "5" not in cal.hours and cal.holidays == ["2026-12-31", "--01-01"]


def test_closing_before_opening_is_shown_next_to_that_weekday_with_values_kept(supervisor: Browser) -> None:
    r = supervisor.post(
        "/settings/calendars/new", calendar_form(**{"hours-2-0-open": "18:00", "hours-2-0-close": "09:00"})
    )
    assert r.status_code == 422
    assert "ends before it starts" in error_for(r.text, "hours-2")
    assert error_for(r.text, "hours-1") == ""
    assert (
        'name="hours-2-0-open" value="18:00"' in r.text and 'name="hours-2-0-close" value="09:00"' in r.text
    )


def test_unknown_time_zones_bad_times_overlaps_and_bad_holidays_are_refused(supervisor: Browser) -> None:
    r = supervisor.post(
        "/settings/calendars/new",
        calendar_form(
            timezone="Mars/Olympus",
            holidays="2026-02-30",
            **{
                "hours-0-0-open": "9am",
                "hours-1-1-open": "17:00",
                "hours-1-1-close": "19:00",
                "hours-3-0-close": "",
            },
        ),
    )
    assert r.status_code == 422
    assert "not a known time zone" in error_for(r.text, "timezone")
    assert "HH:MM" in error_for(r.text, "hours-0")
    assert "overlap" in error_for(r.text, "hours-1")
    assert "both an opening and a closing" in error_for(r.text, "hours-3")
    assert "is not a date" in error_for(r.text, "holidays")
    assert value_of(r.text, "timezone") == "Mars/Olympus"


def test_a_duplicate_calendar_name_and_an_empty_name_are_refused(supervisor: Browser, hd: f.Helpdesk) -> None:
    r = supervisor.post("/settings/calendars/new", calendar_form(name="Office Europe/Rome"))
    assert r.status_code == 422 and "already exists" in r.text
    r = supervisor.post("/settings/calendars/new", calendar_form(name=""))
    assert r.status_code == 422 and "cannot be empty" in error_for(r.text, "name")


def test_editing_a_calendar_keeps_what_it_shows(supervisor: Browser, hd: f.Helpdesk, db: Session) -> None:
    page = supervisor.get(f"/settings/calendars/{hd.teams['calendar']}").text
    assert 'value="Europe/Rome"' in page and 'name="hours-0-0-open" value="09:00"' in page
    r = supervisor.post(
        f"/settings/calendars/{hd.teams['calendar']}",
        calendar_form(name="Office Europe/Rome", timezone="Europe/Rome", holidays="--12-25"),
    )
    assert r.status_code == 303
    db.expire_all()
    assert tiers.get_calendar(db, SYSTEM, hd.teams["calendar"]).holidays == ["--12-25"]


def test_a_calendar_in_use_by_a_policy_cannot_be_deleted(
    supervisor: Browser, hd: f.Helpdesk, db: Session
) -> None:
    from tests.sla.factories import policy

    policy(db, hd.teams["calendar"])
    r = supervisor.post(f"/settings/calendars/{hd.teams['calendar']}/delete", {})
    assert r.status_code == 422 and "conflicts with existing data" in r.text
    assert tiers.get_calendar(db, SYSTEM, hd.teams["calendar"]) is not None


def test_a_tier_that_holds_tickets_cannot_be_deleted_and_the_page_says_switch_it_off(
    supervisor: Browser, hd: f.Helpdesk, db: Session
) -> None:
    f.ticket(db, f.actor(db, hd.users["carol"]), START)  # lands in the default tier, L1
    db.commit()  # as a request would: the counters are written at commit
    r = supervisor.post(f"/settings/tiers/{hd.tiers['L1']}/delete", {})
    assert r.status_code == 422 and "holds 1 ticket(s)" in r.text and "switch it off" in r.text
    db.expire_all()
    assert tiers.tier_by_id(db, hd.tiers["L1"]) is not None
