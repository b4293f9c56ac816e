"""SLA policies and routing rules through the pages: a policy change recomputes running
deadlines (via the sla service), rules are edited, reordered, switched off and tried
against a real ticket."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from tests import factories as f
from tests.admin.conftest import Browser
from tests.admin.test_ladder_pages import error_for, value_of
from tests.sla import factories as sf
from tierdesk.core.clock import FrozenClock
from tierdesk.core.security import SYSTEM
from tierdesk.routing import service as routing
from tierdesk.sla import service as sla


def policy_form(calendar_id: int, **over: str) -> dict[str, str]:
    base = {
        "name": "Default",
        "position": "100",
        "enabled": "on",
        "calendar_id": str(calendar_id),
        "pause_statuses": ["pending", "on_hold"],
        "target-first_response-minutes": "60",
        "target-resolution-minutes": "480",
    }
    return base | over  # type: ignore[return-value]


def due(db: Session, ticket_id: int, metric: str, clock: FrozenClock) -> object:
    return next(t.due_at for t in sla.ticket_sla(db, ticket_id, clock.now()).timers if t.metric == metric)


# --- SLA policies ---------------------------------------------------------------------------------------
def test_supervisor_changes_a_policy_and_running_deadlines_move_with_it(
    supervisor: Browser, hd: f.Helpdesk, db: Session, clock: FrozenClock
) -> None:
    policy_id = sf.policy(db, hd.teams["calendar"])
    ticket = f.ticket(db, f.actor(db, hd.users["carol"]), clock.now())  # Monday 09:00 UTC = 10:00 Rome
    first_due = due(db, ticket.id, "first_response", clock)
    clock.advance(minutes=10)

    r = supervisor.post(
        f"/settings/sla/{policy_id}",
        policy_form(
            hd.teams["calendar"],
            **{"target-first_response-minutes": "30", "target-first_response-warn": "50"},
        ),
    )
    page = supervisor.follow(r)
    assert "SLA policy Default saved" in page.text
    db.expire_all()
    assert due(db, ticket.id, "first_response", clock) == first_due - timedelta(minutes=30)
    targets = {t.metric: (t.minutes, t.warn_percent) for t in sla.get_policy(db, SYSTEM, policy_id).targets}
    assert targets == {"first_response": (30, 50), "resolution": (480, 80)}


def test_the_policy_list_shows_conditions_and_targets(
    supervisor: Browser, hd: f.Helpdesk, db: Session
) -> None:
    sf.policy(
        db,
        hd.teams["calendar"],
        name="Enterprise urgent",
        priority="urgent",
        segment="enterprise",
        position=10,
    )
    page = supervisor.get("/settings/sla").text
    assert (
        "Enterprise urgent" in page and "urgent" in page and "enterprise" in page and "First response" in page
    )


def test_supervisor_creates_a_policy_for_a_tier_and_priority(
    supervisor: Browser, hd: f.Helpdesk, db: Session
) -> None:
    r = supervisor.post(
        "/settings/sla/new",
        policy_form(
            hd.teams["calendar"],
            name="L2 high",
            tier_id=str(hd.tiers["L2"]),
            priority="high",
            plan="gold",
            **{
                "target-time_in_tier-minutes": "45",
                "target-periodic_update-minutes": "120",
                "target-next_response-minutes": "90",
            },
        ),
    )
    assert r.status_code == 303
    made = next(p for p in sla.list_policies(db, SYSTEM) if p.name == "L2 high")
    assert (made.tier_id, made.priority, made.plan, made.segment) == (hd.tiers["L2"], "high", "gold", None)
    assert {t.metric for t in made.targets} == {
        "first_response",
        "next_response",
        "time_in_tier",
        "resolution",
        "periodic_update",
    }


def test_bad_policy_input_is_shown_next_to_each_target(
    supervisor: Browser, hd: f.Helpdesk, db: Session
) -> None:
    policy_id = sf.policy(db, hd.teams["calendar"])
    r = supervisor.post(
        f"/settings/sla/{policy_id}",
        policy_form(
            hd.teams["calendar"],
            name="",
            **{"target-first_response-minutes": "-5", "target-resolution-warn": "150"},
        ),
    )
    assert r.status_code == 422
    assert "greater than or equal to 1" in error_for(r.text, "target-first_response-minutes")
    assert "less than or equal to 100" in error_for(r.text, "target-resolution-warn")
    assert "cannot be empty" in error_for(r.text, "name")
    assert value_of(r.text, "target-first_response-minutes") == "-5"
    assert {t.minutes for t in sla.get_policy(db, SYSTEM, policy_id).targets} == {60, 480}


def test_a_policy_needs_a_calendar_a_target_and_a_unique_name(
    supervisor: Browser, hd: f.Helpdesk, db: Session
) -> None:
    sf.policy(db, hd.teams["calendar"])
    r = supervisor.post("/settings/sla/new", {"name": "Empty", "calendar_id": "", "enabled": "on"})
    assert r.status_code == 422
    assert "Choose the calendar" in error_for(r.text, "calendar_id")
    assert "at least one target" in error_for(r.text, "targets")
    r = supervisor.post("/settings/sla/new", policy_form(hd.teams["calendar"]))
    assert r.status_code == 422 and "already exists" in r.text
    r = supervisor.post(
        "/settings/sla/new",
        policy_form(hd.teams["calendar"], name="Odd", pause_statuses=["solved"], priority="asap"),
    )
    assert error_for(r.text, "pause_statuses") and error_for(r.text, "priority")


# --- routing rules -------------------------------------------------------------------------------------------
def rule_form(**over: str) -> dict[str, str]:
    base = {
        "name": "Fraud reports",
        "stage": "create",
        "position": "",
        "enabled": "on",
        "stop": "on",
        "cond-0-field": "ticket.category",
        "cond-0-op": "eq",
        "cond-0-value": "fraud",
        "cond-1-field": "",
        "cond-1-op": "eq",
        "cond-1-value": "",
        "actions-team": "fraud",
        "actions-priority": "high",
        "actions-tier": "",
        "actions-add_tags": "fraud, review",
    }
    return base | over


def test_supervisor_writes_a_rule_with_typed_conditions(
    supervisor: Browser, hd: f.Helpdesk, db: Session
) -> None:
    r = supervisor.post(
        "/settings/routing/new",
        rule_form(
            **{
                "cond-1-field": "customer.vip",
                "cond-1-op": "eq",
                "cond-1-value": "true",
                "cond-2-field": "ticket.priority",
                "cond-2-op": "in",
                "cond-2-value": "urgent, high",
            }
        ),
    )
    assert "Rule Fraud reports saved." in supervisor.follow(r).text
    rule = routing.list_rules(db, SYSTEM)[0]
    assert rule.conditions == [
        {"field": "ticket.category", "op": "eq", "value": "fraud"},
        {"field": "customer.vip", "op": "eq", "value": True},
        {"field": "ticket.priority", "op": "in", "value": ["urgent", "high"]},
    ]
    assert rule.actions == {"team": "fraud", "priority": "high", "add_tags": ["fraud", "review"]}


def test_a_rule_that_cannot_work_is_explained_next_to_the_condition(
    supervisor: Browser, hd: f.Helpdesk, db: Session
) -> None:
    r = supervisor.post(
        "/settings/routing/new",
        rule_form(
            **{
                "cond-1-field": "customer.vip",
                "cond-1-op": "contains",
                "cond-1-value": "yes",
                "cond-0-field": "ticket.colour",
                "actions-tier": "L9",
            }
        ),
    )
    assert r.status_code == 422
    assert "unknown field" in error_for(r.text, "cond-0-field")
    assert "does not apply" in error_for(r.text, "cond-1-value")
    assert value_of(r.text, "cond-0-field") == "ticket.colour" and value_of(r.text, "cond-1-value") == "yes"
    assert 'value="fraud" selected' in r.text  # the chosen team is kept too
    assert routing.list_rules(db, SYSTEM) == []
    # the service's own check (tier keys must exist) also lands next to its field
    r = supervisor.post("/settings/routing/new", rule_form(**{"actions-tier": "L9"}))
    assert r.status_code == 422 and "does not exist" in error_for(r.text, "actions-tier")


def test_a_rule_needs_an_action_and_a_unique_name(supervisor: Browser, hd: f.Helpdesk) -> None:
    r = supervisor.post(
        "/settings/routing/new",
        rule_form(**{"actions-team": "", "actions-priority": "", "actions-add_tags": ""}),
    )
    assert r.status_code == 422 and "at least one action" in error_for(r.text, "actions")
    supervisor.post("/settings/routing/new", rule_form())
    r = supervisor.post("/settings/routing/new", rule_form())
    assert r.status_code == 422 and "already exists" in r.text


def test_rules_are_reordered_and_switched_off_from_the_list(
    supervisor: Browser, hd: f.Helpdesk, db: Session
) -> None:
    for name in ("First", "Second", "Third"):
        supervisor.post("/settings/routing/new", rule_form(name=name))
    third = routing.list_rules(db, SYSTEM)[2]
    supervisor.post(f"/settings/routing/{third.id}/move", {"direction": "up"})
    supervisor.post(f"/settings/routing/{third.id}/move", {"direction": "up"})
    db.expire_all()
    assert [r.name for r in routing.list_rules(db, SYSTEM)] == ["Third", "First", "Second"]
    supervisor.post(f"/settings/routing/{third.id}/move", {"direction": "up"})  # already first: no change
    db.expire_all()
    assert [r.name for r in routing.list_rules(db, SYSTEM)] == ["Third", "First", "Second"]
    page = supervisor.follow(supervisor.post(f"/settings/routing/{third.id}/toggle", {}))
    assert "Rule Third disabled." in page.text
    db.expire_all()
    assert routing.get_rule(db, SYSTEM, third.id).enabled is False


def test_a_rule_is_tried_against_a_real_ticket_without_changing_it(
    supervisor: Browser, hd: f.Helpdesk, db: Session, clock: FrozenClock
) -> None:
    billing = f.ticket(db, f.actor(db, hd.users["carol"]), clock.now(), category="billing")
    fraud = f.ticket(
        db, f.actor(db, hd.users["carol"]), clock.now(), subject="Someone used my card", category="fraud"
    )
    supervisor.post("/settings/routing/new", rule_form())  # after the tickets: they were not routed
    rule = routing.list_rules(db, SYSTEM)[0]
    page = supervisor.get(f"/settings/routing/test?ticket=T-{billing.id}&stage=create&rule={rule.id}")
    assert page.status_code == 200 and "does not match" in page.text and "No rule matched." in page.text
    page = supervisor.get(f"/settings/routing/test?ticket=T-{fraud.id}&stage=create&rule={rule.id}")
    assert page.status_code == 200
    assert "rule &#39;Fraud reports&#39; matched" in page.text and "✓" in page.text
    assert "Fraud" in page.text.split("<dt>Team</dt>")[1].split("</dd>")[0]
    db.refresh(fraud)
    assert fraud.team_id is None and fraud.priority == "normal"  # a dry run changes nothing


def test_a_dry_run_against_a_missing_ticket_says_so(supervisor: Browser) -> None:
    page = supervisor.get("/settings/routing/test?ticket=T-424242&stage=create")
    assert page.status_code == 422 and "does not exist or you may not see it" in error_for(
        page.text, "ticket"
    )
    page = supervisor.get("/settings/routing/test?ticket=nonsense&stage=sideways")
    assert page.status_code == 422 and error_for(page.text, "stage")


def test_a_dry_run_on_a_need_to_know_ticket_says_whose_it_is_next_to_the_field(
    supervisor: Browser, hd: f.Helpdesk, db: Session, clock: FrozenClock
) -> None:
    from tierdesk.tickets import service as tickets
    from tierdesk.tickets.schemas import TicketPatch

    t = f.ticket(db, f.actor(db, hd.users["carol"]), clock.now())
    tickets.update_ticket(db, SYSTEM, t.id, TicketPatch(team_id=hd.teams["fraud"]), clock.now())
    page = supervisor.get(f"/settings/routing/test?ticket=T-{t.id}&stage=create")
    assert page.status_code == 422
    assert error_for(page.text, "ticket")  # refused next to the field, not an error page
    assert t.subject not in page.text.split("</h1>")[1]  # nothing of the ticket leaks
