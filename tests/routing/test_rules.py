"""Routing rules: the pure condition matcher, the edge validation, and decide() on the
product's examples."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy.orm import Session

from tests import factories as f
from tierdesk.core.clock import FrozenClock
from tierdesk.core.errors import InvalidInput
from tierdesk.core.security import SYSTEM
from tierdesk.customers import service as customers
from tierdesk.customers.schemas import OrganizationPatch
from tierdesk.routing import service as routing
from tierdesk.routing.schemas import Condition, FactsIn, RuleIn, RulePatch
from tierdesk.routing.service import Decision, RoutingFacts, decide, matches
from tierdesk.tiers import service as tiers
from tierdesk.tiers.schemas import TierPatch


def cond(field: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


FACTS = RoutingFacts(
    category="Billing",
    priority="high",
    channel="email",
    language="zh",
    tags=("refund", "card"),
    subject="申请退款：订单 #4411 重复扣款",
    tier_key="L1",
    has_incident=False,
    customer_vip=True,
    customer_language="zh",
    customer_flags={"arr": 120_000, "beta": True, "region": "apac", "products": ["pos", "payroll"]},
    org_strategic=True,
    org_plan="enterprise",
    org_segment="enterprise",
    org_flags={"seats": 40, "sso": False},
    org_dedicated_team_id=7,
)
NO_ORG = RoutingFacts(category=None, subject="Cannot log in", tier_key="L1")


# --- the pure matcher ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("condition", "facts", "expected"),
    [
        # text: eq/ne ignore case and full-width forms; ne is the negation of eq
        (cond("ticket.category", "eq", "billing"), FACTS, True),
        (cond("ticket.category", "eq", "ＢＩＬＬＩＮＧ"), FACTS, True),
        (cond("ticket.category", "eq", "fraud"), FACTS, False),
        (cond("ticket.category", "ne", "fraud"), FACTS, True),
        (cond("ticket.category", "ne", "Billing"), FACTS, False),
        (cond("ticket.category", "ne", "fraud"), NO_ORG, True),
        (cond("ticket.category", "eq", "fraud"), NO_ORG, False),
        (cond("ticket.priority", "in", ["urgent", "high"]), FACTS, True),
        (cond("ticket.priority", "not_in", ["urgent", "high"]), FACTS, False),
        (cond("ticket.channel", "in", ["chat", "phone"]), FACTS, False),
        (cond("ticket.channel", "not_in", ["chat", "phone"]), FACTS, True),
        (cond("ticket.language", "eq", "zh"), FACTS, True),
        (cond("customer.language", "ne", "en"), FACTS, True),
        (cond("ticket.tier", "eq", "L1"), FACTS, True),
        (cond("organization.plan", "eq", "Enterprise"), FACTS, True),
        (cond("organization.segment", "in", ["smb", "mid_market"]), FACTS, False),
        # text contains is a substring test, CJK included
        (cond("ticket.subject", "contains", "退款"), FACTS, True),
        (cond("ticket.subject", "contains", "扣款"), FACTS, True),
        (cond("ticket.subject", "contains", "发票"), FACTS, False),
        (cond("ticket.subject", "contains", "LOG IN"), NO_ORG, True),
        # exists: present and not empty; exists false is its opposite
        (cond("ticket.category", "exists", True), FACTS, True),
        (cond("ticket.category", "exists", True), NO_ORG, False),
        (cond("ticket.category", "exists", False), NO_ORG, True),
        (cond("organization.plan", "exists", None), NO_ORG, False),
        # booleans
        (cond("customer.vip", "eq", True), FACTS, True),
        (cond("customer.vip", "eq", False), FACTS, False),
        (cond("customer.vip", "ne", True), NO_ORG, True),
        (cond("ticket.has_incident", "eq", True), FACTS, False),
        (cond("organization.strategic", "eq", True), FACTS, True),
        (cond("organization.strategic", "eq", True), NO_ORG, False),
        (cond("organization.has_dedicated_team", "eq", True), FACTS, True),
        (cond("organization.has_dedicated_team", "eq", False), NO_ORG, True),
        (cond("customer.vip", "exists"), NO_ORG, True),
        # tags: contains is membership (not substring), in/not_in are any-overlap
        (cond("ticket.tags", "contains", "refund"), FACTS, True),
        (cond("ticket.tags", "contains", "ref"), FACTS, False),
        (cond("ticket.tags", "in", ["chargeback", "card"]), FACTS, True),
        (cond("ticket.tags", "not_in", ["chargeback", "card"]), FACTS, False),
        (cond("ticket.tags", "not_in", ["chargeback"]), FACTS, True),
        (cond("ticket.tags", "exists"), FACTS, True),
        (cond("ticket.tags", "exists"), NO_ORG, False),
        # flags: any JSON value; numbers compare with gt/lt
        (cond("customer.flags.arr", "gt", 100_000), FACTS, True),
        (cond("customer.flags.arr", "lt", 100_000), FACTS, False),
        (cond("organization.flags.seats", "lt", 50.5), FACTS, True),
        (cond("organization.flags.seats", "gt", 40), FACTS, False),
        (cond("customer.flags.region", "gt", 1), FACTS, False),
        (cond("customer.flags.missing", "gt", 1), FACTS, False),
        (cond("customer.flags.missing", "lt", 1), FACTS, False),
        (cond("customer.flags.region", "eq", "APAC"), FACTS, True),
        (cond("customer.flags.region", "in", ["emea", "apac"]), FACTS, True),
        (cond("customer.flags.region", "contains", "pa"), FACTS, True),
        (cond("customer.flags.products", "contains", "payroll"), FACTS, True),
        (cond("customer.flags.products", "contains", "pay"), FACTS, False),
        (cond("customer.flags.beta", "eq", True), FACTS, True),
        (cond("customer.flags.beta", "eq", 1), FACTS, False),
        (cond("customer.flags.arr", "eq", 120_000.0), FACTS, True),
        (cond("organization.flags.sso", "eq", False), FACTS, True),
        (cond("organization.flags.sso", "exists"), FACTS, True),
        (cond("organization.flags.sso", "exists"), NO_ORG, False),
        (cond("organization.flags.sso", "ne", True), NO_ORG, True),
        # text against a list-valued flag holds when the list holds it; text never equals a
        # number or a boolean, and a list of mixed values compares each on its own
        (cond("customer.flags.products", "eq", "POS"), FACTS, True),
        (cond("customer.flags.products", "in", ["crm", "Payroll"]), FACTS, True),
        (cond("customer.flags.products", "not_in", ["crm"]), FACTS, True),
        (cond("customer.flags.arr", "eq", "120000"), FACTS, False),
        (cond("customer.flags.beta", "in", ["true", "yes"]), FACTS, False),
        (cond("customer.flags.arr", "in", ["120000", 120_000]), FACTS, True),
        (cond("customer.flags.region", "in", [True, "ＡＰＡＣ"]), FACTS, True),
        (cond("customer.flags.missing", "not_in", ["apac"]), FACTS, True),
    ],
)
def test_each_operator_reads_each_kind_of_field_as_documented(
    condition: dict[str, Any], facts: RoutingFacts, expected: bool
) -> None:
    assert matches([condition], facts) is expected


def test_every_condition_must_hold_and_no_conditions_always_hold() -> None:
    vip = cond("customer.vip", "eq", True)
    refund = cond("ticket.subject", "contains", "退款")
    assert matches([vip, refund], FACTS)
    assert not matches([vip, cond("ticket.channel", "eq", "chat")], FACTS)
    assert matches([], FACTS) and matches([], NO_ORG)


def test_a_hand_edited_condition_this_version_cannot_read_never_holds() -> None:
    assert not matches([cond("ticket.colour", "eq", "red")], FACTS)
    assert not matches([cond("ticket.category", "between", "a")], FACTS)
    assert not matches([cond("ticket.category", "in", "billing")], FACTS)
    assert not matches([{"op": "exists"}], FACTS)


# --- validation at the edge (no database) ---------------------------------------------------------
@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (cond("ticket.colour", "eq", "red"), "unknown field 'ticket.colour'"),
        (cond("customer.flags.", "eq", "x"), "unknown field 'customer.flags.'"),
        (cond("ticket.category", "gt", 3), "'gt' does not apply to ticket.category"),
        (cond("customer.vip", "contains", "x"), "'contains' does not apply to customer.vip"),
        (cond("ticket.tags", "eq", "vip"), "'eq' does not apply to ticket.tags"),
        (cond("customer.vip", "eq", "yes"), "customer.vip is true or false"),
        (cond("ticket.category", "eq", 7), "ticket.category is text"),
        (cond("ticket.category", "in", "fraud"), "'in' needs a non-empty list"),
        (cond("ticket.category", "not_in", []), "'not_in' needs a non-empty list"),
        (cond("customer.flags.arr", "gt", "100"), "'gt' compares numbers"),
        (cond("customer.flags.arr", "lt", True), "'lt' compares numbers"),
        (cond("ticket.subject", "contains", ""), "'contains' looks for a piece of text"),
        (cond("ticket.category", "exists", "yes"), "'exists' takes true, false or no value"),
        (cond("ticket.priority", "eq", "critical"), "ticket.priority is one of urgent, high, normal, low"),
        (cond("organization.flags.tier", "eq", {"a": 1}), "needs text, a number or true/false"),
    ],
)
def test_a_condition_that_cannot_work_is_refused_with_a_sentence(
    condition: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError) as err:
        Condition.model_validate(condition)
    assert message in str(err.value)


def test_exists_without_a_value_is_stored_as_exists_true() -> None:
    assert Condition.model_validate({"field": "ticket.category", "op": "exists"}).stored() == {
        "field": "ticket.category",
        "op": "exists",
        "value": True,
    }


def test_a_rule_without_any_action_is_refused() -> None:
    for actions in ({}, {"add_tags": []}, {"tier": None}):
        with pytest.raises(ValidationError) as err:
            RuleIn.model_validate({"name": "Nothing", "actions": actions})
        assert "at least one action" in str(err.value)


# --- decide() on the product's examples --------------------------------------------------------------
# The same rules as docs/routing.md.
EXAMPLES: list[dict[str, Any]] = [
    {
        "name": "Fraud reports",
        "position": 10,
        "conditions": [{"field": "ticket.category", "op": "eq", "value": "fraud"}],
        "actions": {"team": "fraud", "priority": "high"},
    },
    {
        "name": "Compliance requests",
        "position": 20,
        "conditions": [{"field": "ticket.category", "op": "eq", "value": "compliance"}],
        "actions": {"team": "compliance"},
    },
    {
        "name": "Declared outage",
        "position": 30,
        "conditions": [{"field": "ticket.has_incident", "op": "eq", "value": True}],
        "actions": {"team": "crisis", "add_tags": ["outage"]},
    },
    {
        "name": "Strategic accounts",
        "position": 40,
        "conditions": [{"field": "organization.strategic", "op": "eq", "value": True}],
        "actions": {"team": "@dedicated", "tier": "L3"},
    },
    {
        "name": "Small shop: L1 escalates to engineering",
        "stage": "escalate",
        "position": 10,
        "conditions": [{"field": "ticket.tier", "op": "eq", "value": "L1"}],
        "actions": {"team": "engineering"},
    },
]


@dataclass
class Desk:
    tiers: dict[str, int]
    teams: dict[str, int]
    rules: dict[str, int]
    kitsune: RoutingFacts  # a ticket from a strategic organization with a dedicated team


def add_rule(db: Session, clock: FrozenClock, **body: Any) -> int:
    return routing.create_rule(db, SYSTEM, RuleIn.model_validate(body), clock.now()).id


@pytest.fixture
def desk(db: Session, clock: FrozenClock) -> Desk:
    ladder = f.ladder(db)
    teams = {
        "fraud": f.team(db, "fraud", "fraud", need_to_know=True),
        "compliance": f.team(db, "compliance", "compliance", need_to_know=True),
        "crisis": f.team(db, "crisis", "crisis"),
        "engineering": f.team(db, "engineering", "engineering"),
        "kitsune-experts": f.team(db, "kitsune-experts", "enterprise"),
    }
    org_id = f.organization(db, "Kitsune K.K.", strategic=True)
    org = customers.update_organization(
        db, SYSTEM, org_id, OrganizationPatch(dedicated_team_id=teams["kitsune-experts"], plan="enterprise")
    )
    rules = {body["name"]: add_rule(db, clock, **body) for body in EXAMPLES}
    kitsune = RoutingFacts(
        subject="Dashboard is slow",
        tier_key="L1",
        org_strategic=org.strategic,
        org_plan=org.plan,
        org_segment=org.segment,
        org_flags=org.flags,
        org_dedicated_team_id=org.dedicated_team_id,
    )
    return Desk(tiers=ladder, teams=teams, rules=rules, kitsune=kitsune)


def test_a_strategic_organization_goes_straight_to_its_dedicated_team_at_l3(db: Session, desk: Desk) -> None:
    d = decide(db, desk.kitsune, "create")
    assert (d.tier_id, d.team_id) == (desk.tiers["L3"], desk.teams["kitsune-experts"])
    assert d.rule_ids == (desk.rules["Strategic accounts"],)
    assert d.reasons == ("rule 'Strategic accounts' matched",)
    assert d.routes


def test_a_strategic_organization_without_a_dedicated_team_still_reaches_l3(db: Session, desk: Desk) -> None:
    facts = RoutingFacts(subject="Hello", org_strategic=True)
    d = decide(db, facts, "create")
    assert (d.tier_id, d.team_id) == (desk.tiers["L3"], None)
    assert "the organization has no dedicated team" in d.reasons[1]


def test_fraud_goes_to_the_fraud_team_even_from_a_strategic_organization(db: Session, desk: Desk) -> None:
    facts = RoutingFacts(
        category="Fraud", org_strategic=True, org_dedicated_team_id=desk.teams["kitsune-experts"]
    )
    d = decide(db, facts, "create")
    assert (d.team_id, d.tier_id, d.priority) == (desk.teams["fraud"], None, "high")
    assert d.rule_ids == (desk.rules["Fraud reports"],)


def test_compliance_requests_go_to_the_compliance_team(db: Session, desk: Desk) -> None:
    d = decide(db, RoutingFacts(category="compliance", subject="GDPR data export"), "create")
    assert d.team_id == desk.teams["compliance"] and d.rule_ids == (desk.rules["Compliance requests"],)


def test_a_ticket_linked_to_a_declared_outage_goes_to_the_crisis_team(db: Session, desk: Desk) -> None:
    d = decide(db, RoutingFacts(subject="Checkout down", has_incident=True), "create")
    assert d.team_id == desk.teams["crisis"] and d.add_tags == ("outage",)


def test_an_ordinary_ticket_follows_the_normal_ladder(db: Session, desk: Desk) -> None:
    d = decide(db, RoutingFacts(category="billing", subject="Invoice copy", tier_key="L1"), "create")
    assert d == Decision(None, None, None, (), (), ()) and not d.routes


def test_a_small_shop_sends_l1_escalations_straight_to_engineering(db: Session, desk: Desk) -> None:
    for key in ("L2", "L3", "L4"):
        tiers.update_tier(db, SYSTEM, desk.tiers[key], TierPatch(enabled=False))
    at_l1 = RoutingFacts(subject="Export crashes", tier_key="L1")
    d = decide(db, at_l1, "escalate")
    assert (d.team_id, d.tier_id) == (desk.teams["engineering"], None)
    assert d.reasons == ("rule 'Small shop: L1 escalates to engineering' matched",)
    # Escalate-stage rules do not touch new tickets, and other tiers escalate normally.
    assert decide(db, at_l1, "create").rule_ids == ()
    assert decide(db, RoutingFacts(tier_key="L0"), "escalate").rule_ids == ()


def test_disabled_rules_are_ignored(db: Session, desk: Desk, clock: FrozenClock) -> None:
    routing.update_rule(db, SYSTEM, desk.rules["Strategic accounts"], RulePatch(enabled=False), clock.now())
    assert decide(db, desk.kitsune, "create").rule_ids == ()


def test_position_not_creation_order_decides_which_rule_runs_first(
    db: Session, desk: Desk, clock: FrozenClock
) -> None:
    early = add_rule(
        db,
        clock,
        name="Strategic to the crisis desk",
        position=5,
        conditions=[cond("organization.strategic", "eq", True)],
        actions={"team": "crisis"},
    )
    d = decide(db, desk.kitsune, "create")
    assert d.rule_ids == (early,) and d.team_id == desk.teams["crisis"] and d.tier_id is None


def test_same_position_runs_the_older_rule_first(db: Session, desk: Desk, clock: FrozenClock) -> None:
    twin = add_rule(
        db,
        clock,
        name="Strategic twin",
        position=40,
        conditions=[cond("organization.strategic", "eq", True)],
        actions={"team": "crisis"},
    )
    assert decide(db, desk.kitsune, "create").rule_ids == (desk.rules["Strategic accounts"],)
    assert twin > desk.rules["Strategic accounts"]


def test_non_stop_rules_add_tags_and_later_matches_override_tier_and_team(
    db: Session, desk: Desk, clock: FrozenClock
) -> None:
    vip = add_rule(
        db,
        clock,
        name="Tag VIPs",
        position=1,
        stop=False,
        conditions=[cond("customer.vip", "eq", True)],
        actions={"add_tags": ["vip"], "team": "crisis", "tier": "L2", "priority": "urgent"},
    )
    apac = add_rule(
        db,
        clock,
        name="Tag APAC",
        position=2,
        stop=False,
        conditions=[cond("customer.flags.region", "eq", "apac")],
        actions={"add_tags": ["apac", "vip"]},
    )
    facts = RoutingFacts(
        customer_vip=True,
        customer_flags={"region": "apac"},
        org_strategic=True,
        org_dedicated_team_id=desk.teams["kitsune-experts"],
    )
    d = decide(db, facts, "create")
    # The strategic rule (position 40, stop) replaces the VIP rule's tier and team; the
    # VIP rule's priority stands because no later rule sets one; tags accumulate once each.
    assert d.rule_ids == (vip, apac, desk.rules["Strategic accounts"])
    assert (d.tier_id, d.team_id, d.priority) == (desk.tiers["L3"], desk.teams["kitsune-experts"], "urgent")
    assert d.add_tags == ("vip", "apac")


def test_a_stop_rule_ends_the_evaluation(db: Session, desk: Desk, clock: FrozenClock) -> None:
    add_rule(
        db,
        clock,
        name="Catch-all tag",
        position=1000,
        stop=False,
        actions={"add_tags": ["triaged"]},
    )
    assert decide(db, RoutingFacts(subject="x"), "create").add_tags == ("triaged",)
    assert decide(db, desk.kitsune, "create").add_tags == ()


def test_a_rule_whose_tier_was_disabled_later_is_skipped_with_a_reason(db: Session, desk: Desk) -> None:
    tiers.update_tier(db, SYSTEM, desk.tiers["L3"], TierPatch(enabled=False))
    d = decide(db, desk.kitsune, "create")
    assert d.tier_id is None and d.team_id == desk.teams["kitsune-experts"]
    assert "tier 'L3' is disabled" in d.reasons[1]


def test_new_rules_go_after_the_last_rule_of_their_stage(db: Session, desk: Desk, clock: FrozenClock) -> None:
    create_id = add_rule(db, clock, name="Late create", actions={"add_tags": ["late"]})
    escalate_id = add_rule(db, clock, name="Late escalate", stage="escalate", actions={"add_tags": ["late"]})
    assert routing.get_rule(db, SYSTEM, create_id).position == 50
    assert routing.get_rule(db, SYSTEM, escalate_id).position == 20


def test_updating_a_rule_moves_its_updated_at_only(db: Session, desk: Desk, clock: FrozenClock) -> None:
    rule_id = desk.rules["Compliance requests"]
    created = routing.get_rule(db, SYSTEM, rule_id).created_at
    later = clock.advance(hours=1)
    rule = routing.update_rule(db, SYSTEM, rule_id, RulePatch(position=25), later)
    assert (rule.created_at, rule.updated_at, rule.position) == (created, created + timedelta(hours=1), 25)


def test_an_unknown_stage_is_invalid_input(db: Session) -> None:
    with pytest.raises(InvalidInput):
        decide(db, NO_ORG, "resolve")


def test_every_rule_in_the_supervisor_guide_is_valid_and_the_examples_are_the_tested_ones() -> None:
    guide = (Path(__file__).parents[2] / "docs" / "routing.md").read_text(encoding="utf-8")
    blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", guide, re.S)]
    documented = [b for b in blocks if "actions" in b]
    for body in documented:
        RuleIn.model_validate(body)
    for example in EXAMPLES:
        assert example in documented, example["name"]
    dry_runs = [b for b in blocks if "subject" in b]
    assert dry_runs and all(FactsIn.model_validate(b) for b in dry_runs)
