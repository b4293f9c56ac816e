from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests import factories as f
from tierdesk.core.clock import FrozenClock
from tierdesk.core.security import Scope
from tierdesk.routing import api as routing_api

URL = "/api/v1/routing-rules"
PROBLEM = "application/problem+json"


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    # Until web/app.py registers the routing router, add it here (once).
    if not any(getattr(r, "path", None) == URL for r in app.routes):
        app.include_router(routing_api.router)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def h(
    db: Session, user_id: int, clock: FrozenClock, scopes: tuple[Scope, ...] = (Scope.read, Scope.write)
) -> dict[str, str]:
    return {"Authorization": f"Bearer {f.token(db, user_id, clock.now(), scopes)}"}


STRATEGIC = {
    "name": "Strategic accounts",
    "conditions": [{"field": "organization.strategic", "op": "eq", "value": True}],
    "actions": {"team": "@dedicated", "tier": "L3"},
}


def test_a_supervisor_writes_a_rule_and_checks_it_with_a_dry_run(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    sup = h(db, hd.users["supervisor"], clock)
    r = client.post(URL, json=STRATEGIC, headers=sup)
    assert r.status_code == 201, r.text
    rule = r.json()
    assert (rule["stage"], rule["position"], rule["enabled"], rule["stop"]) == ("create", 10, True, True)
    assert rule["actions"] == {"team": "@dedicated", "tier": "L3"}
    fraud = client.post(
        URL,
        json={
            "name": "Fraud reports",
            "position": 5,
            "conditions": [{"field": "ticket.category", "op": "in", "value": ["fraud", "chargeback"]}],
            "actions": {"team": "fraud", "priority": "high"},
        },
        headers=sup,
    ).json()

    facts = {"subject": "Need help", "org_strategic": True, "org_dedicated_team_id": hd.teams["billing"]}
    r = client.post(f"{URL}/test", json=facts, headers=sup)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "tier_id": hd.tiers["L3"],
        "tier_key": "L3",
        "team_id": hd.teams["billing"],
        "team_key": "billing",
        "priority": None,
        "add_tags": [],
        "rule_ids": [rule["id"]],
        "reasons": ["rule 'Strategic accounts' matched"],
    }
    r = client.post(f"{URL}/test", json=facts | {"category": "Chargeback"}, headers=sup).json()
    assert (r["team_key"], r["priority"], r["rule_ids"]) == ("fraud", "high", [fraud["id"]])
    # Nothing routes an escalation yet.
    r = client.post(f"{URL}/test", json=facts | {"stage": "escalate"}, headers=sup).json()
    assert r["rule_ids"] == [] and r["team_id"] is None

    listed = client.get(URL, headers=sup).json()
    assert [x["name"] for x in listed] == ["Fraud reports", "Strategic accounts"]

    r = client.patch(f"{URL}/{rule['id']}", json={"enabled": False, "position": 1}, headers=sup)
    assert r.status_code == 200 and r.json()["enabled"] is False
    r = client.post(f"{URL}/test", json=facts, headers=sup).json()
    assert r["rule_ids"] == []
    assert client.delete(f"{URL}/{rule['id']}", headers=sup).status_code == 204
    assert client.get(f"{URL}/{rule['id']}", headers=sup).status_code == 404


def test_rules_list_by_stage_in_evaluation_order(client: TestClient, db: Session, clock: FrozenClock) -> None:
    hd = f.helpdesk(db)
    sup = h(db, hd.users["admin"], clock)
    client.post(
        URL,
        json={
            "name": "L1 escalations to billing",
            "stage": "escalate",
            "conditions": [{"field": "ticket.tier", "op": "eq", "value": "L1"}],
            "actions": {"team": "billing"},
        },
        headers=sup,
    )
    client.post(URL, json=STRATEGIC, headers=sup)
    assert [r["name"] for r in client.get(URL, params={"stage": "escalate"}, headers=sup).json()] == [
        "L1 escalations to billing"
    ]
    assert [r["stage"] for r in client.get(URL, headers=sup).json()] == ["create", "escalate"]


def _problem(r: Any) -> dict[str, Any]:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = r.json()
    assert body["status"] == 422 and body["title"] == "Invalid input"
    return body


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (
            {"conditions": [{"field": "ticket.colour", "op": "eq", "value": "red"}]},
            "conditions.0.field",
            "ticket.colour",
        ),
        (
            {"conditions": [{"field": "ticket.category", "op": "like", "value": "f%"}]},
            "conditions.0.op",
            "'eq'",
        ),
        (
            {"conditions": [{"field": "ticket.category", "op": "gt", "value": 3}]},
            "conditions.0",
            "'gt' does not apply",
        ),
        (
            {"conditions": [{"field": "customer.vip", "op": "eq", "value": "yes"}]},
            "conditions.0",
            "true or false",
        ),
        (
            {"conditions": [{"field": "ticket.tags", "op": "in", "value": "vip"}]},
            "conditions.0",
            "non-empty list",
        ),
        (
            {"conditions": [{"field": "customer.flags.arr", "op": "gt", "value": "big"}]},
            "conditions.0",
            "compares numbers",
        ),
        ({"conditions": [{"field": "ticket.tier", "op": "eq", "value": "L9"}]}, "conditions.0.value", "L9"),
        ({"actions": {"team": "astronauts"}}, "actions.team", "Team 'astronauts' does not exist"),
        ({"actions": {"tier": "L9"}}, "actions.tier", "Tier 'L9' does not exist"),
        ({"actions": {}}, "actions", "at least one action"),
        ({"actions": {"assign": "bob"}}, "actions.assign", "not a field"),
        ({"actions": {"priority": "critical"}}, "actions.priority", "'urgent'"),
        ({"stage": "resolve"}, "stage", "'create'"),
    ],
)
def test_a_rule_that_cannot_work_is_a_422_problem_naming_what_to_fix(
    client: TestClient, db: Session, clock: FrozenClock, change: dict[str, Any], field: str, words: str
) -> None:
    hd = f.helpdesk(db)
    body = _problem(client.post(URL, json=STRATEGIC | change, headers=h(db, hd.users["supervisor"], clock)))
    assert words in body["detail"], body
    assert field in [e["field"] for e in body["errors"]], body


def test_a_rule_routing_to_a_disabled_tier_is_refused(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    sup = h(db, hd.users["supervisor"], clock)
    client.patch(f"/api/v1/tiers/{hd.tiers['L4']}", json={"enabled": False}, headers=sup)
    body = _problem(client.post(URL, json=STRATEGIC | {"actions": {"tier": "L4"}}, headers=sup))
    assert "disabled" in body["detail"]


def test_a_patch_is_validated_like_a_create(client: TestClient, db: Session, clock: FrozenClock) -> None:
    hd = f.helpdesk(db)
    sup = h(db, hd.users["supervisor"], clock)
    rule = client.post(URL, json=STRATEGIC, headers=sup).json()
    _problem(client.patch(f"{URL}/{rule['id']}", json={"actions": {"team": "nobody"}}, headers=sup))
    _problem(
        client.patch(f"{URL}/{rule['id']}", json={"conditions": [{"field": "x", "op": "eq"}]}, headers=sup)
    )
    assert client.get(f"{URL}/{rule['id']}", headers=sup).json()["actions"] == STRATEGIC["actions"]


def test_duplicate_rule_name_is_a_409_conflict(client: TestClient, db: Session, clock: FrozenClock) -> None:
    hd = f.helpdesk(db)
    sup = h(db, hd.users["supervisor"], clock)
    assert client.post(URL, json=STRATEGIC, headers=sup).status_code == 201
    r = client.post(URL, json=STRATEGIC, headers=sup)
    assert r.status_code == 409 and "already exists" in r.json()["detail"]


def test_only_supervisors_change_rules_while_staff_read_and_dry_run(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    rule = client.post(URL, json=STRATEGIC, headers=h(db, hd.users["supervisor"], clock)).json()
    one = f"{URL}/{rule['id']}"
    agent = h(db, hd.users["l1"], clock)
    assert client.get(URL, headers=agent).status_code == 200
    assert client.get(one, headers=agent).status_code == 200
    assert client.post(f"{URL}/test", json={"org_strategic": True}, headers=agent).status_code == 200
    assert client.post(URL, json=STRATEGIC | {"name": "Mine"}, headers=agent).status_code == 403
    assert client.patch(one, json={"enabled": False}, headers=agent).status_code == 403
    assert client.delete(one, headers=agent).status_code == 403

    customer = h(db, hd.users["alice"], clock)
    for r in (
        client.get(URL, headers=customer),
        client.post(URL, json=STRATEGIC | {"name": "Mine"}, headers=customer),
        client.post(f"{URL}/test", json={}, headers=customer),
    ):
        assert r.status_code == 403 and r.headers["content-type"].startswith(PROBLEM)

    for r in (
        client.get(URL),
        client.post(URL, json=STRATEGIC | {"name": "Mine"}),
        client.delete(one),
    ):
        assert r.status_code == 401 and r.headers["content-type"].startswith(PROBLEM)

    read_only = h(db, hd.users["supervisor"], clock, scopes=(Scope.read,))
    assert client.patch(one, json={"enabled": False}, headers=read_only).status_code == 403
    assert client.get(one, headers=read_only).json()["enabled"] is True


def test_a_missing_rule_is_a_404(client: TestClient, db: Session, clock: FrozenClock) -> None:
    hd = f.helpdesk(db)
    sup = h(db, hd.users["supervisor"], clock)
    assert client.get(f"{URL}/424242", headers=sup).status_code == 404
    assert client.patch(f"{URL}/424242", json={"enabled": False}, headers=sup).status_code == 404
