"""L4 vendors: open a case with a vendor's reference, thread the vendor's answers back into the
ticket, and measure the vendor's response time against its own target."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests import factories as f
from tests.factories import Helpdesk
from tests.sla import factories as sf
from tierdesk.core.clock import FrozenClock
from tierdesk.core.config import Settings
from tierdesk.core.security import SYSTEM
from tierdesk.tickets.models import Message, Ticket, TicketEvent
from tierdesk.vendors import api as vendors_api
from tierdesk.vendors import service as vendors
from tierdesk.vendors.schemas import VendorIn

VENDORS = "/api/v1/vendors"
CASES = "/api/v1/vendor-cases"
WEBHOOK = f"{CASES}/webhook"
PROBLEM = "application/problem+json"
SECRET = "s3cret-shared-with-the-vendor"
ROME = ZoneInfo("Europe/Rome")
PAYSTREAM = {
    "key": "paystream",
    "name": "PayStream",
    "contact_email": "Support@PayStream.example",
    "response_target_minutes": 120,
}


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    # Until web/app.py registers the vendors router, add it here (once).
    if not any(getattr(r, "path", None) == VENDORS for r in app.routes):
        app.include_router(vendors_api.router)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def h(db: Session, user_id: int, clock: FrozenClock) -> dict[str, str]:
    return {"Authorization": f"Bearer {f.token(db, user_id, clock.now())}"}


def vendor(db: Session, clock: FrozenClock, calendar_id: int | None = None, **fields: Any) -> int:
    data = VendorIn.model_validate(PAYSTREAM | {"calendar_id": calendar_id} | fields)
    return vendors.create_vendor(db, SYSTEM, data, clock.now()).id


def l3_ticket(db: Session, hd: Helpdesk, clock: FrozenClock, customer: str = "alice") -> Ticket:
    return f.ticket(
        db,
        SYSTEM,
        clock.now(),
        subject="Card payments fail at checkout",
        requester_id=hd.customers[customer],
        tier_id=hd.tiers["L3"],
    )


def events(db: Session, ticket_id: int, kind: str) -> list[TicketEvent]:
    stmt = select(TicketEvent).where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == kind)
    return list(db.scalars(stmt.order_by(TicketEvent.id)))


def messages(db: Session, ticket_id: int) -> list[Message]:
    return list(db.scalars(select(Message).where(Message.ticket_id == ticket_id).order_by(Message.id)))


def rome(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    """A wall-clock time in Rome, as the aware UTC instant the app's clock gives."""
    return datetime(year, month, day, hour, minute, tzinfo=ROME).astimezone(UTC)


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    return body


def open_case(
    client: TestClient, auth: dict[str, str], ticket: Ticket, vendor_id: int, reference: str = "PS-88123"
) -> dict[str, Any]:
    body = {"vendor_id": vendor_id, "reference": reference, "summary": "Declines with code 51 since 3.2."}
    r = client.post(f"/api/v1/tickets/T-{ticket.id}/vendor-cases", json=body, headers=auth)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


# --- the directory -------------------------------------------------------------------------------
def test_supervisors_keep_the_vendor_directory_and_other_staff_only_read_it(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    sup, l1 = h(db, hd.users["supervisor"], clock), h(db, hd.users["l1"], clock)
    calendar = sf.office_calendar(db)
    r = client.post(VENDORS, json=PAYSTREAM | {"key": " PayStream", "calendar_id": calendar}, headers=sup)
    assert r.status_code == 201, r.text
    created = r.json()
    assert (created["key"], created["contact_email"], created["calendar_id"]) == (
        "paystream",
        "support@paystream.example",
        calendar,
    )
    problem(client.post(VENDORS, json=PAYSTREAM, headers=sup), 409)
    problem(client.post(VENDORS, json=PAYSTREAM | {"key": "other"}, headers=l1), 403)
    assert [v["key"] for v in client.get(VENDORS, headers=l1).json()] == ["paystream"]

    url = f"{VENDORS}/{created['id']}"
    r = client.patch(url, json={"response_target_minutes": 240, "calendar_id": None}, headers=sup)
    assert r.status_code == 200, r.text
    assert (r.json()["response_target_minutes"], r.json()["calendar_id"]) == (240, None)
    problem(client.patch(url, json={"notes": "call first"}, headers=l1), 403)
    assert client.get(url, headers=l1).json()["response_target_minutes"] == 240

    alice = h(db, hd.users["alice"], clock)
    problem(client.get(VENDORS, headers=alice), 403)
    problem(client.get(url, headers=alice), 403)
    problem(client.get(VENDORS), 401)
    problem(client.get(f"{VENDORS}/999999", headers=l1), 404)


def test_invalid_vendors_and_cases_are_422_problems(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    sup = h(db, hd.users["supervisor"], clock)
    bad = PAYSTREAM | {"key": "pay stream", "contact_email": "nobody", "response_target_minutes": 0}
    fields = {e["field"] for e in problem(client.post(VENDORS, json=bad, headers=sup), 422)["errors"]}
    assert fields == {"key", "contact_email", "response_target_minutes"}
    r = client.post(VENDORS, json=PAYSTREAM | {"calendar_id": 999999}, headers=sup)
    assert problem(r, 422)["field"] == "calendar_id"
    problem(client.patch(f"{VENDORS}/1", json={}, headers=sup), 422)

    ticket = l3_ticket(db, hd, clock)
    url = f"/api/v1/tickets/{ticket.id}/vendor-cases"
    r = client.post(url, json={"vendor_id": 999999, "reference": "X-1", "summary": "s"}, headers=sup)
    assert problem(r, 422)["field"] == "vendor_id"
    vid = vendor(db, clock)
    r = client.post(url, json={"vendor_id": vid, "reference": "  ", "summary": ""}, headers=sup)
    assert {e["field"] for e in problem(r, 422)["errors"]} == {"reference", "summary"}
    case = open_case(client, sup, ticket, vid)
    problem(client.post(f"{CASES}/{case['id']}/replies", json={"body": ""}, headers=sup), 422)
    assert messages(db, ticket.id)[-1].body.startswith("Escalated to vendor PayStream")


# --- escalating --------------------------------------------------------------------------------------
def test_escalating_to_a_vendor_records_the_event_the_note_and_a_due_time_on_the_vendor_calendar(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    vid = vendor(db, clock, calendar_id=sf.office_calendar(db))  # Mon-Fri 09-18 Rome
    ticket = l3_ticket(db, hd, clock)
    clock.set(rome(2026, 3, 6, 17, 0))  # Friday 17:00 in Rome
    l3 = h(db, hd.users["l3"], clock)

    case = open_case(client, l3, ticket, vid)
    # 60 minutes on Friday, then 60 on Monday morning.
    due = datetime(2026, 3, 9, 10, 0, tzinfo=ROME)
    assert case["due_at"] == iso(due)
    assert (case["reference"], case["vendor_key"], case["opened_by_user_id"]) == (
        "PS-88123",
        "paystream",
        hd.users["l3"],
    )
    assert case["first_response_at"] is None and case["breached"] is False

    [event] = events(db, ticket.id, "vendor_escalated")
    assert event.actor_user_id == hd.users["l3"]
    assert event.data == {
        "vendor": "paystream",
        "vendor_case_id": case["id"],
        "reference": "PS-88123",
        "due_at": due.astimezone(UTC).isoformat(),
    }
    [note] = messages(db, ticket.id)
    assert (note.kind, note.author_user_id) == ("internal", hd.users["l3"])
    assert "PayStream" in note.body and "PS-88123" in note.body and "2026-03-09 09:00 UTC" in note.body
    assert "Declines with code 51" in note.body
    # L4 is the vendor: the ticket moved there with a hand-off, owned by the opener, on hold.
    db.expire_all()
    moved = db.get(Ticket, ticket.id)
    assert moved is not None
    assert (moved.tier_id, moved.assignee_id, moved.status) == (hd.tiers["L4"], hd.users["l3"], "on_hold")
    [escalated] = events(db, ticket.id, "escalated")
    assert escalated.data is not None and escalated.data["to_tier_id"] == hd.tiers["L4"]
    assert "Card payments fail at checkout" in escalated.data["handoff"]["problem"]
    assert escalated.reason == "Vendor case PS-88123 opened with PayStream"

    r = client.get(f"/api/v1/tickets/{ticket.id}/vendor-cases", headers=l3)
    assert [c["id"] for c in r.json()] == [case["id"]]
    clock.set(rome(2026, 3, 9, 10, 1))
    assert client.get(f"/api/v1/tickets/{ticket.id}/vendor-cases", headers=l3).json()[0]["breached"] is True

    # The customer sees none of it.
    r = client.get(f"/api/v1/tickets/{ticket.id}/timeline", headers=h(db, hd.users["alice"], clock))
    assert r.status_code == 200 and "PS-88123" not in r.text and "PayStream" not in r.text


def test_a_vendor_without_a_calendar_answers_against_a_round_the_clock_target(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    vid = vendor(db, clock)
    clock.set(rome(2026, 3, 6, 17, 0))
    case = open_case(client, h(db, hd.users["l3"], clock), l3_ticket(db, hd, clock), vid)
    assert case["due_at"] == iso(datetime(2026, 3, 6, 19, 0, tzinfo=ROME))


def test_the_same_vendor_reference_twice_is_a_409(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    l3 = h(db, hd.users["l3"], clock)
    first, second = l3_ticket(db, hd, clock), l3_ticket(db, hd, clock, "carol")
    paystream, other = vendor(db, clock), vendor(db, clock, key="cardhub", name="CardHub")
    open_case(client, l3, first, paystream)
    body = {"vendor_id": paystream, "reference": " PS-88123 ", "summary": "Same case"}
    r = client.post(f"/api/v1/tickets/{second.id}/vendor-cases", json=body, headers=l3)
    assert "already tracked" in problem(r, 409)["detail"]
    assert messages(db, second.id) == [] and events(db, second.id, "vendor_escalated") == []
    # Another vendor may use the same number.
    open_case(client, l3, second, other)


def test_customers_get_403_and_staff_who_cannot_see_the_ticket_get_404(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    vid = vendor(db, clock)
    ticket = l3_ticket(db, hd, clock)
    case = open_case(client, h(db, hd.users["l3"], clock), ticket, vid)
    body = {"vendor_id": vid, "reference": "PS-2", "summary": "again"}
    url = f"/api/v1/tickets/{ticket.id}/vendor-cases"

    alice = h(db, hd.users["alice"], clock)
    problem(client.post(url, json=body, headers=alice), 403)
    problem(client.get(url, headers=alice), 403)
    problem(client.post(f"{CASES}/{case['id']}/replies", json={"body": "hi"}, headers=alice), 403)
    problem(client.get(f"{VENDORS}/{vid}/performance", headers=alice), 403)

    l1 = h(db, hd.users["l1"], clock)  # an L1 agent does not see an L3 ticket
    problem(client.post(url, json=body, headers=l1), 404)
    problem(client.get(url, headers=l1), 404)
    detail = problem(client.post(f"{CASES}/{case['id']}/replies", json={"body": "hi"}, headers=l1), 404)
    assert "PS-88123" not in detail["detail"]
    problem(client.post(f"{CASES}/{case['id']}/close", headers=l1), 404)
    problem(client.post(url, json=body), 401)
    assert len(messages(db, ticket.id)) == 1


# --- answers ----------------------------------------------------------------------------------------
def test_a_vendor_reply_threads_back_and_stamps_the_response_time_within_target(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    vid = vendor(db, clock, calendar_id=sf.office_calendar(db))
    ticket = l3_ticket(db, hd, clock)
    clock.set(rome(2026, 3, 6, 17, 0))
    l3 = h(db, hd.users["l3"], clock)
    case = open_case(client, l3, ticket, vid)

    clock.set(rome(2026, 3, 9, 9, 30))  # 90 business minutes later
    answer = {"body": "A fix for code 51 ships in SDK 4.1.2.", "from_email": "Ana@PayStream.example"}
    r = client.post(f"{CASES}/{case['id']}/replies", json=answer, headers=l3)
    assert r.status_code == 200, r.text
    stamped = r.json()
    assert stamped["first_response_at"] == iso(clock.now())
    assert (stamped["response_seconds"], stamped["breached"]) == (90 * 60, False)

    note = messages(db, ticket.id)[-1]
    assert note.kind == "internal"
    assert note.body.startswith("[Vendor PayStream, case PS-88123] from ana@paystream.example")
    assert note.body.endswith("A fix for code 51 ships in SDK 4.1.2.")
    [replied] = events(db, ticket.id, "vendor_replied")
    assert replied.data is not None
    assert (
        replied.data["vendor_case_id"],
        replied.data["response_seconds"],
        replied.data["within_target"],
    ) == (
        case["id"],
        90 * 60,
        True,
    )

    # A second answer threads in too; the first response stays as it was.
    clock.set(rome(2026, 3, 10, 9, 0))
    r = client.post(f"{CASES}/{case['id']}/replies", json={"body": "Released."}, headers=l3)
    assert (r.json()["first_response_at"], r.json()["response_seconds"]) == (
        stamped["first_response_at"],
        90 * 60,
    )
    second = events(db, ticket.id, "vendor_replied")[-1]
    assert second.data is not None and second.data["within_target"] is False and second.data["first"] is False


def test_the_vendor_answer_takes_the_held_ticket_back_to_open_so_the_owner_acts(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    sf.policy(db, sf.office_calendar(db), targets=[{"metric": "resolution", "minutes": 600}])
    vid = vendor(db, clock)
    ticket = l3_ticket(db, hd, clock)
    l3 = h(db, hd.users["l3"], clock)
    case = open_case(client, l3, ticket, vid)
    sla = client.get(f"/api/v1/tickets/{ticket.id}/sla", headers=l3).json()
    assert {t["metric"]: t["state"] for t in sla["timers"]}["resolution"] == "paused"

    clock.advance(minutes=30)
    r = client.post(f"{CASES}/{case['id']}/replies", json={"body": "Fixed on our side."}, headers=l3)
    assert r.status_code == 200, r.text
    db.expire_all()
    back = db.get(Ticket, ticket.id)
    assert back is not None and back.status == "open"
    sla = client.get(f"/api/v1/tickets/{ticket.id}/sla", headers=l3).json()
    assert {t["metric"]: t["state"] for t in sla["timers"]}["resolution"] == "running"


def test_a_case_recorded_without_moving_keeps_the_ticket_in_its_tier_and_status(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    vid = vendor(db, clock)
    ticket = l3_ticket(db, hd, clock)
    body = {"vendor_id": vid, "reference": "PS-1", "summary": "FYI only", "to_vendor_tier": False}
    r = client.post(
        f"/api/v1/tickets/T-{ticket.id}/vendor-cases", json=body, headers=h(db, hd.users["l3"], clock)
    )
    assert r.status_code == 201, r.text
    db.expire_all()
    kept = db.get(Ticket, ticket.id)
    assert kept is not None and (kept.tier_id, kept.status) == (hd.tiers["L3"], ticket.status)
    assert events(db, ticket.id, "escalated") == []


def test_a_late_vendor_reply_is_marked_outside_the_target(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    vid = vendor(db, clock, calendar_id=sf.office_calendar(db))
    ticket = l3_ticket(db, hd, clock)
    clock.set(rome(2026, 3, 6, 17, 0))
    l3 = h(db, hd.users["l3"], clock)
    case = open_case(client, l3, ticket, vid)
    clock.set(rome(2026, 3, 9, 11, 0))
    r = client.post(f"{CASES}/{case['id']}/replies", json={"body": "Looking into it."}, headers=l3)
    assert (r.json()["response_seconds"], r.json()["breached"]) == (180 * 60, True)
    [replied] = events(db, ticket.id, "vendor_replied")
    assert replied.data is not None and replied.data["within_target"] is False


def test_vendor_performance_counts_answers_within_target_and_open_overdue_cases(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    vid = vendor(db, clock, response_target_minutes=60)  # 24/7
    l3 = h(db, hd.users["l3"], clock)
    url = f"{VENDORS}/{vid}/performance"
    empty = client.get(url, headers=l3).json()
    assert empty == {
        "vendor_id": vid,
        "cases": 0,
        "answered": 0,
        "answered_within_target": 0,
        "median_response_minutes": None,
        "open_overdue": 0,
    }

    ids = []
    for n in range(5):
        ids.append(open_case(client, l3, l3_ticket(db, hd, clock), vid, f"PS-{n}")["id"])
    for case_id, minutes in ((ids[0], 20), (ids[1], 40), (ids[2], 90)):
        clock.advance(minutes=minutes)
        client.post(f"{CASES}/{case_id}/replies", json={"body": "answer"}, headers=l3)
        clock.advance(minutes=-minutes)
    clock.advance(minutes=61)
    r = client.post(f"{CASES}/{ids[4]}/close", headers=l3)  # closed unanswered: not overdue
    assert r.status_code == 200 and r.json()["closed_at"] == iso(clock.now())
    problem(client.post(f"{CASES}/{ids[4]}/close", headers=l3), 409)

    assert client.get(url, headers=l3).json() == {
        "vendor_id": vid,
        "cases": 5,
        "answered": 3,
        "answered_within_target": 2,
        "median_response_minutes": 40.0,
        "open_overdue": 1,
    }
    problem(client.get(f"{VENDORS}/999999/performance", headers=l3), 404)


# --- the webhook --------------------------------------------------------------------------------------
def test_the_webhook_threads_a_signed_answer_and_refuses_a_bad_or_missing_signature(
    client: TestClient, app: FastAPI, db: Session, clock: FrozenClock, settings: Settings
) -> None:
    hd = f.helpdesk(db)
    vid = vendor(db, clock)
    ticket = l3_ticket(db, hd, clock)
    case = open_case(client, h(db, hd.users["l3"], clock), ticket, vid)
    raw = json.dumps({"vendor_key": "paystream", "reference": "PS-88123", "body": "Fixed in 4.1.2"}).encode()
    problem(client.post(WEBHOOK, content=raw, headers={"X-Tierdesk-Signature": sign(raw)}), 503)

    app.state.settings = settings.model_copy(update={"engineering_webhook_secret": SECRET})
    problem(client.post(WEBHOOK, content=raw), 401)
    problem(client.post(WEBHOOK, content=raw, headers={"X-Tierdesk-Signature": sign(raw, "wrong")}), 401)
    problem(client.post(WEBHOOK, content=raw, headers={"X-Tierdesk-Signature": sign(raw + b" ")}), 401)
    assert events(db, ticket.id, "vendor_replied") == []

    clock.advance(minutes=30)
    r = client.post(WEBHOOK, content=raw, headers={"X-Tierdesk-Signature": sign(raw)})
    assert r.status_code == 200, r.text
    assert (r.json()["id"], r.json()["response_seconds"], r.json()["breached"]) == (case["id"], 1800, False)
    [replied] = events(db, ticket.id, "vendor_replied")
    assert (
        replied.actor_kind == "system" and replied.data is not None and replied.data["within_target"] is True
    )
    note = messages(db, ticket.id)[-1]
    assert (note.kind, note.author_kind) == ("internal", "system")
    assert note.body == "[Vendor PayStream, case PS-88123]\n\nFixed in 4.1.2"

    unknown = json.dumps({"vendor_key": "paystream", "reference": "PS-1", "body": "?"}).encode()
    problem(client.post(WEBHOOK, content=unknown, headers={"X-Tierdesk-Signature": sign(unknown)}), 404)
    bad = json.dumps({"vendor_key": "paystream", "reference": "PS-88123"}).encode()
    body = problem(client.post(WEBHOOK, content=bad, headers={"X-Tierdesk-Signature": sign(bad)}), 422)
    assert body["errors"][0]["field"] == "body"
