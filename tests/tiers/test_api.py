from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests import factories as f
from tierdesk.core.clock import FrozenClock


def h(db: Session, user_id: int, clock: FrozenClock) -> dict[str, str]:
    return {"Authorization": f"Bearer {f.token(db, user_id, clock.now())}"}


def test_ladder_lists_lowest_tier_first_with_time_boxes(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    tiers = client.get("/api/v1/tiers", headers=h(db, hd.users["l1"], clock)).json()
    assert [(t["key"], t["time_box_minutes"]) for t in tiers] == [
        ("L0", None),
        ("L1", 15),
        ("L2", 30),
        ("L3", None),
        ("L4", None),
    ]


def test_small_shop_sends_l1_escalations_straight_to_engineering(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    sup = h(db, hd.users["supervisor"], clock)
    eng = client.post(
        "/api/v1/teams", json={"key": "engineering", "name": "Developers", "kind": "engineering"}, headers=sup
    ).json()
    r = client.post(
        "/api/v1/escalation-paths",
        json={"from_tier_id": hd.tiers["L1"], "to_team_id": eng["id"]},
        headers=sup,
    )
    assert r.status_code == 201
    for key in ("L2", "L3", "L4"):
        assert (
            client.patch(f"/api/v1/tiers/{hd.tiers[key]}", json={"enabled": False}, headers=sup).status_code
            == 200
        )
    enabled = [t["key"] for t in client.get("/api/v1/tiers", headers=sup).json() if t["enabled"]]
    assert enabled == ["L0", "L1"]
    both = {"from_tier_id": hd.tiers["L1"], "to_team_id": eng["id"], "to_tier_id": hd.tiers["L2"]}
    assert client.post("/api/v1/escalation-paths", json=both, headers=sup).status_code == 422


def test_only_supervisors_change_the_ladder(client: TestClient, db: Session, clock: FrozenClock) -> None:
    hd = f.helpdesk(db)
    r = client.patch(
        f"/api/v1/tiers/{hd.tiers['L1']}", json={"time_box_minutes": 60}, headers=h(db, hd.users["l1"], clock)
    )
    assert r.status_code == 403
    r = client.get("/api/v1/tiers", headers=h(db, hd.users["carol"], clock))
    assert r.status_code == 403


def test_duplicate_tier_key_is_a_409_conflict(client: TestClient, db: Session, clock: FrozenClock) -> None:
    hd = f.helpdesk(db)
    r = client.post(
        "/api/v1/tiers",
        json={"key": "L1", "name": "Again", "level": 9},
        headers=h(db, hd.users["admin"], clock),
    )
    assert r.status_code == 409 and "already exists" in r.json()["detail"]


def test_calendar_with_unknown_time_zone_or_backwards_hours_is_rejected(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    sup = h(db, hd.users["supervisor"], clock)
    r = client.post("/api/v1/calendars", json={"name": "Mars", "timezone": "Mars/Olympus"}, headers=sup)
    assert r.status_code == 422 and "time zone" in r.json()["detail"]
    r = client.post(
        "/api/v1/calendars",
        json={"name": "Rome", "timezone": "Europe/Rome", "hours": {"0": [["18:00", "09:00"]]}},
        headers=sup,
    )
    assert r.status_code == 422
    ok = client.post(
        "/api/v1/calendars",
        json={
            "name": "Rome",
            "timezone": "Europe/Rome",
            "hours": {"0": [["09:00", "13:00"], ["14:00", "18:00"]]},
            "holidays": ["2026-12-25"],
        },
        headers=sup,
    )
    assert ok.status_code == 201


def test_agent_profile_holds_tiers_teams_skills_and_capacity(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    admin = h(db, hd.users["admin"], clock)
    client.post("/api/v1/skills", json={"key": "refunds", "name": "Refunds"}, headers=admin)
    r = client.patch(
        f"/api/v1/users/{hd.users['l1']}",
        json={
            "work": {
                "tier_ids": [hd.tiers["L1"], hd.tiers["L2"]],
                "team_ids": [hd.teams["billing"]],
                "skills": {"refunds": 4},
                "languages": ["ja", "en"],
                "max_open_tickets": 12,
            }
        },
        headers=admin,
    )
    assert r.status_code == 200, r.text
    work = r.json()["work"]
    assert work["skills"] == {"refunds": 4} and work["max_open_tickets"] == 12 and len(work["tier_ids"]) == 2
    bad = client.patch(
        f"/api/v1/users/{hd.users['l1']}", json={"work": {"skills": {"juggling": 3}}}, headers=admin
    )
    assert bad.status_code == 422 and "juggling" in bad.json()["detail"]


def test_an_escalation_path_down_or_sideways_is_refused_so_the_ladder_has_no_cycle(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    sup = h(db, hd.users["supervisor"], clock)
    down = {"from_tier_id": hd.tiers["L2"], "to_tier_id": hd.tiers["L1"]}
    r = client.post("/api/v1/escalation-paths", json=down, headers=sup)
    assert r.status_code == 422 and "goes up the ladder" in r.json()["detail"]
    assert r.json()["field"] == "to_tier_id"
    up = {"from_tier_id": hd.tiers["L1"], "to_tier_id": hd.tiers["L2"]}
    assert client.post("/api/v1/escalation-paths", json=up, headers=sup).status_code == 201


def test_the_same_escalation_path_twice_is_a_409_naming_the_field(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    sup = h(db, hd.users["supervisor"], clock)
    to_team = {"from_tier_id": hd.tiers["L1"], "to_team_id": hd.teams["billing"]}
    assert client.post("/api/v1/escalation-paths", json=to_team, headers=sup).status_code == 201
    again = client.post("/api/v1/escalation-paths", json=to_team, headers=sup)
    assert again.status_code == 409 and again.json()["field"] == "to_team_id"
    to_tier = {"from_tier_id": hd.tiers["L1"], "to_tier_id": hd.tiers["L3"]}
    assert client.post("/api/v1/escalation-paths", json=to_tier, headers=sup).status_code == 201
    assert client.post("/api/v1/escalation-paths", json=to_tier, headers=sup).status_code == 409


def test_deleting_a_tier_that_holds_tickets_is_a_409_and_an_empty_one_goes(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    f.ticket(db, f.actor(db, hd.users["carol"]), clock.now())  # in L1, the default tier
    db.commit()  # as a request would: the counters are written at commit
    sup = h(db, hd.users["supervisor"], clock)
    r = client.delete(f"/api/v1/tiers/{hd.tiers['L1']}", headers=sup)
    assert r.status_code == 409 and "holds 1 ticket(s)" in r.json()["detail"]
    assert (
        client.delete(f"/api/v1/tiers/{hd.tiers['L1']}", headers=h(db, hd.users["l1"], clock)).status_code
        == 403
    )
    assert client.delete(f"/api/v1/tiers/{hd.tiers['L4']}", headers=sup).status_code == 204
