"""Skip-tier rules applied where tickets are created, join an incident, or are escalated."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests import factories as f
from tierdesk.core.clock import FrozenClock
from tierdesk.core.errors import Forbidden
from tierdesk.core.security import SYSTEM
from tierdesk.customers import service as customers
from tierdesk.customers.schemas import OrganizationPatch
from tierdesk.escalation import service as escalation
from tierdesk.escalation.schemas import EscalateIn
from tierdesk.routing import service as routing
from tierdesk.routing.schemas import RuleIn
from tierdesk.tickets import service as tickets
from tierdesk.tickets.schemas import LinkCreate

HANDOFF = {"problem": "Checkout crashes", "tried": "Reproduced on iOS 18", "impact": "No orders from iPhones"}


def rule(db: Session, clock: FrozenClock, **data: Any) -> None:
    routing.create_rule(db, SYSTEM, RuleIn.model_validate(data), clock.now())


def test_strategic_account_goes_straight_to_its_dedicated_expert_team(
    db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    experts = f.team(db, "enterprise", "enterprise")
    customers.update_organization(db, SYSTEM, hd.orgs["acme"], OrganizationPatch(dedicated_team_id=experts))
    rule(
        db,
        clock,
        name="Strategic accounts",
        conditions=[{"field": "organization.strategic", "op": "eq", "value": True}],
        actions={"tier": "L3", "team": "@dedicated"},
    )
    t = f.ticket(db, f.actor(db, hd.users["alice"]), clock.now())
    assert (t.tier_id, t.team_id) == (hd.tiers["L3"], experts)
    created = tickets.list_events(db, SYSTEM, t.id)[0]
    assert created.data is not None and "Strategic accounts" in " ".join(created.data["routing"])
    plain = f.ticket(db, f.actor(db, hd.users["carol"]), clock.now())
    assert (plain.tier_id, plain.team_id) == (hd.tiers["L1"], None)


def test_fraud_report_lands_with_the_need_to_know_fraud_team_only(db: Session, clock: FrozenClock) -> None:
    hd = f.helpdesk(db)
    rule(
        db,
        clock,
        name="Fraud",
        conditions=[{"field": "ticket.category", "op": "eq", "value": "fraud"}],
        actions={"team": "fraud", "priority": "high"},
    )
    t = f.ticket(
        db, f.actor(db, hd.users["carol"]), clock.now(), category="fraud", subject="我没有下过这个订单"
    )
    assert t.team_id == hd.teams["fraud"] and t.priority == "high"
    assert tickets.get_ticket(db, f.actor(db, hd.users["fraud"]), t.id).id == t.id
    for outsider in ("l1", "supervisor"):  # they may learn it exists, not read it
        with pytest.raises(Forbidden, match="need-to-know team 'Fraud'"):
            tickets.get_ticket(db, f.actor(db, hd.users[outsider]), t.id)


def test_ticket_linked_to_a_declared_outage_moves_to_the_crisis_team(db: Session, clock: FrozenClock) -> None:
    hd = f.helpdesk(db)
    crisis = f.team(db, "crisis", "crisis")
    rule(
        db,
        clock,
        name="Outage",
        conditions=[{"field": "ticket.has_incident", "op": "eq", "value": True}],
        actions={"team": "crisis"},
    )
    agent = f.actor(db, hd.users["l1"])
    t = f.ticket(db, agent, clock.now(), requester_id=hd.customers["carol"], subject="Dashboard is blank")
    assert t.team_id is None
    tickets.add_link(db, agent, t.id, LinkCreate(kind="part_of_incident", external_key="INC-7"), clock.now())
    assert t.team_id == crisis


def test_small_shop_rule_sends_l1_escalations_to_engineering(db: Session, clock: FrozenClock) -> None:
    hd = f.helpdesk(db)
    eng = f.team(db, "engineering", "engineering")
    rule(
        db,
        clock,
        name="Small shop",
        stage="escalate",
        conditions=[{"field": "ticket.tier", "op": "eq", "value": "L1"}],
        actions={"team": "engineering"},
    )
    t = f.ticket(db, f.actor(db, hd.users["carol"]), clock.now())
    moved = escalation.escalate(
        db,
        f.actor(db, hd.users["l1"]),
        t.id,
        EscalateIn.model_validate({"reason": "bug", "handoff": HANDOFF}),
        clock.now(),
    )
    assert (moved.tier_id, moved.team_id) == (hd.tiers["L1"], eng)
    step = escalation.path(db, SYSTEM, t.id).steps[-1]
    assert step.to_team_id == eng


def test_explicit_routing_by_staff_wins_over_a_rule(db: Session, clock: FrozenClock) -> None:
    hd = f.helpdesk(db)
    rule(
        db,
        clock,
        name="Fraud",
        conditions=[{"field": "ticket.category", "op": "eq", "value": "fraud"}],
        actions={"team": "fraud"},
    )
    t = f.ticket(
        db,
        f.actor(db, hd.users["admin"]),
        clock.now(),
        requester_id=hd.customers["carol"],
        category="fraud",
        team_id=hd.teams["billing"],
    )
    assert t.team_id == hd.teams["billing"]
