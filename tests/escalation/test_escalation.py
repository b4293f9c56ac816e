"""Manual escalation with hand-off, de-escalation, configured paths, the small-shop ladder."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests import factories as f
from tierdesk.core.clock import FrozenClock
from tierdesk.core.security import SYSTEM
from tierdesk.tickets import service as tickets
from tierdesk.tickets.schemas import MessageCreate
from tierdesk.tiers import service as tiers
from tierdesk.tiers.schemas import EscalationPathIn, TierPatch

HANDOFF = {
    "problem": "Customer cannot export invoices as PDF since the 3.2 update.",
    "tried": "Cleared cache, tried Chrome and Firefox, reproduced on a test account.",
    "impact": "Month-end closing blocked for a 40-seat account.",
}


def h(db: Session, user_id: int, clock: FrozenClock) -> dict[str, str]:
    return {"Authorization": f"Bearer {f.token(db, user_id, clock.now())}"}


def test_l1_escalates_with_a_handoff_and_l2_reads_it_without_asking_the_customer(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    t = f.ticket(db, f.actor(db, hd.users["carol"]), clock.now())
    l1, l2 = h(db, hd.users["l1"], clock), h(db, hd.users["l2"], clock)
    assert client.get(f"/api/v1/tickets/{t.id}", headers=l2).status_code == 404
    r = client.post(
        f"/api/v1/tickets/{t.id}/escalate",
        json={"reason": "Needs PDF export expertise", "handoff": HANDOFF},
        headers=l1,
    )
    assert r.status_code == 200, r.text
    assert r.json()["tier_id"] == hd.tiers["L2"]
    steps = client.get(f"/api/v1/tickets/{t.id}/escalations", headers=l2).json()["steps"]
    assert len(steps) == 1
    step = steps[0]
    assert (step["from_tier_id"], step["to_tier_id"], step["automatic"]) == (
        hd.tiers["L1"],
        hd.tiers["L2"],
        False,
    )
    assert step["handoff"] == HANDOFF and step["by_user_id"] == hd.users["l1"]
    # it left L1's queue
    assert client.get(f"/api/v1/tickets/{t.id}", headers=l1).status_code == 404


def test_handoff_draft_is_prefilled_from_the_timeline(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    agent = f.actor(db, hd.users["l1"])
    t = f.ticket(
        db,
        f.actor(db, hd.users["alice"]),
        clock.now(),
        subject="导出发票失败",
        description="点击导出后没有反应",
    )
    tickets.add_message(
        db,
        agent,
        t.id,
        MessageCreate(body="Reproduced on staging with invoice 88", kind="internal"),
        clock.now(),
    )
    draft = client.get(
        f"/api/v1/tickets/{t.id}/escalation/draft", headers=h(db, hd.users["l1"], clock)
    ).json()
    assert draft["problem"].startswith("导出发票失败") and "点击导出后没有反应" in draft["problem"]
    assert "Reproduced on staging with invoice 88" in draft["tried"]
    assert "Acme: strategic account" in draft["impact"]
    assert draft["next_tier_id"] == hd.tiers["L2"]


def test_escalation_needs_a_reason_and_a_complete_handoff(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    t = f.ticket(db, f.actor(db, hd.users["carol"]), clock.now())
    r = client.post(
        f"/api/v1/tickets/{t.id}/escalate",
        json={"reason": "x", "handoff": {"problem": "p", "tried": ""}},
        headers=h(db, hd.users["l1"], clock),
    )
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"reason", "handoff.tried", "handoff.impact"} <= fields


def test_configured_paths_limit_roles_and_supervisors_override(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    tiers.create_path(
        db,
        SYSTEM,
        EscalationPathIn(from_tier_id=hd.tiers["L1"], to_tier_id=hd.tiers["L2"], allowed_roles=["agent"]),
    )
    t = f.ticket(db, f.actor(db, hd.users["carol"]), clock.now())
    body = {"to_tier_id": hd.tiers["L3"], "reason": "Looks like a product bug", "handoff": HANDOFF}
    r = client.post(f"/api/v1/tickets/{t.id}/escalate", json=body, headers=h(db, hd.users["l1"], clock))
    assert r.status_code == 403 and "escalation path" in r.json()["detail"]
    r = client.post(
        f"/api/v1/tickets/{t.id}/escalate", json=body, headers=h(db, hd.users["supervisor"], clock)
    )
    assert r.status_code == 200 and r.json()["tier_id"] == hd.tiers["L3"]


def test_de_escalation_goes_down_with_a_note_and_never_up(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    t = f.ticket(
        db,
        f.actor(db, hd.users["admin"]),
        clock.now(),
        requester_id=hd.customers["carol"],
        tier_id=hd.tiers["L2"],
    )
    l2 = h(db, hd.users["l2"], clock)
    up = client.post(
        f"/api/v1/tickets/{t.id}/de-escalate", json={"to_tier_id": hd.tiers["L3"], "note": "nope"}, headers=l2
    )
    assert up.status_code == 422
    r = client.post(
        f"/api/v1/tickets/{t.id}/de-escalate",
        json={"to_tier_id": hd.tiers["L1"], "note": "Known fix KB-12: send the reset link"},
        headers=l2,
    )
    assert r.status_code == 200 and r.json()["tier_id"] == hd.tiers["L1"]
    steps = client.get(f"/api/v1/tickets/{t.id}/escalations", headers=h(db, hd.users["l1"], clock)).json()[
        "steps"
    ]
    assert steps[-1]["kind"] == "de_escalated" and "KB-12" in steps[-1]["reason"]


def test_small_shop_sends_l1_escalations_straight_to_engineering(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    eng = f.team(db, "engineering", "engineering")
    tiers.create_path(db, SYSTEM, EscalationPathIn(from_tier_id=hd.tiers["L1"], to_team_id=eng))
    for key in ("L2", "L3", "L4"):
        tiers.update_tier(db, SYSTEM, hd.tiers[key], TierPatch(enabled=False))
    t = f.ticket(db, f.actor(db, hd.users["carol"]), clock.now())
    r = client.post(
        f"/api/v1/tickets/{t.id}/escalate",
        json={"reason": "Crash in checkout", "handoff": HANDOFF},
        headers=h(db, hd.users["l1"], clock),
    )
    assert r.status_code == 200, r.text
    assert (r.json()["tier_id"], r.json()["team_id"]) == (hd.tiers["L1"], eng)


def test_top_of_the_ladder_cannot_go_higher(client: TestClient, db: Session, clock: FrozenClock) -> None:
    hd = f.helpdesk(db)
    t = f.ticket(
        db,
        f.actor(db, hd.users["admin"]),
        clock.now(),
        requester_id=hd.customers["carol"],
        tier_id=hd.tiers["L4"],
    )
    r = client.post(
        f"/api/v1/tickets/{t.id}/escalate",
        json={"reason": "more help", "handoff": HANDOFF},
        headers=h(db, hd.users["admin"], clock),
    )
    assert r.status_code == 422 and "top of the ladder" in r.json()["detail"]


def test_customers_cannot_escalate(client: TestClient, db: Session, clock: FrozenClock) -> None:
    hd = f.helpdesk(db)
    t = f.ticket(db, f.actor(db, hd.users["carol"]), clock.now())
    r = client.post(
        f"/api/v1/tickets/{t.id}/escalate",
        json={"reason": "hurry up", "handoff": HANDOFF},
        headers=h(db, hd.users["carol"], clock),
    )
    assert r.status_code == 403
