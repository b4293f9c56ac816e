from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests import factories as f
from tierdesk.core.clock import FrozenClock
from tierdesk.core.errors import Conflict, Forbidden, NotFound
from tierdesk.tickets import service
from tierdesk.tickets.models import TicketEvent
from tierdesk.tickets.schemas import ImportRequest, LinkCreate, MessageCreate, TicketCreate, TicketPatch


def kinds(db: Session, ticket_id: int) -> list[tuple[str, str | None, str | None, str | None]]:
    rows = db.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id))
    return [(e.kind, e.field, e.old, e.new) for e in rows]


def test_every_change_appends_one_event_per_field_with_who_and_why(db: Session, clock: FrozenClock) -> None:
    hd = f.helpdesk(db)
    agent = f.actor(db, hd.users["supervisor"])
    t = f.ticket(db, agent, clock.now(), requester_id=hd.customers["carol"])
    clock.advance(minutes=3)
    service.update_ticket(
        db,
        agent,
        t.id,
        TicketPatch(priority="high", tier_id=hd.tiers["L2"], tags=["vip"], reason="angry customer"),
        clock.now(),
    )
    events = kinds(db, t.id)
    assert events[0][0] == "created"
    assert ("field_changed", "priority", "normal", "high") in events
    assert ("field_changed", "tier", str(hd.tiers["L1"]), str(hd.tiers["L2"])) in events
    assert ("field_changed", "tags", "", "vip") in events
    last = db.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == t.id).order_by(TicketEvent.id.desc())
    ).first()
    assert (
        last is not None and last.reason == "angry customer" and last.actor_user_id == hd.users["supervisor"]
    )
    assert last.at == clock.now()


def test_closed_ticket_cannot_be_reopened_but_solved_one_can(db: Session, clock: FrozenClock) -> None:
    hd = f.helpdesk(db)
    agent = f.actor(db, hd.users["l1"])
    t = f.ticket(db, agent, clock.now(), requester_id=hd.customers["carol"])
    service.update_ticket(db, agent, t.id, TicketPatch(status="solved"), clock.now())
    service.update_ticket(db, agent, t.id, TicketPatch(status="open"), clock.now())
    assert t.reopen_count == 1 and t.solved_at is None
    assert kinds(db, t.id)[-1] == ("reopened", "status", "solved", "open")
    service.update_ticket(db, agent, t.id, TicketPatch(status="solved"), clock.now())
    service.update_ticket(db, agent, t.id, TicketPatch(status="closed"), clock.now())
    with pytest.raises(Conflict, match="closed"):
        service.update_ticket(db, agent, t.id, TicketPatch(status="open"), clock.now())


def test_new_ticket_cannot_jump_to_closed(db: Session, clock: FrozenClock) -> None:
    hd = f.helpdesk(db)
    agent = f.actor(db, hd.users["l1"])
    t = f.ticket(db, agent, clock.now(), requester_id=hd.customers["carol"])
    with pytest.raises(Conflict, match="new ticket cannot become closed"):
        service.update_ticket(db, agent, t.id, TicketPatch(status="closed"), clock.now())
    assert t.status == "new"


def test_first_public_agent_reply_stamps_first_response_and_opens_the_ticket(
    db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    agent = f.actor(db, hd.users["l1"])
    t = f.ticket(db, agent, clock.now(), requester_id=hd.customers["carol"])
    clock.advance(minutes=5)
    service.add_message(db, agent, t.id, MessageCreate(body="Looking into it", kind="internal"), clock.now())
    assert t.first_responded_at is None
    clock.advance(minutes=2)
    service.add_message(db, agent, t.id, MessageCreate(body="Try resetting", status="pending"), clock.now())
    assert t.first_responded_at == clock.now()
    assert t.status == "pending"
    assert [k[0] for k in kinds(db, t.id)] == [
        "created",
        "internal_note",
        "public_reply",
        "first_response",
        "field_changed",
    ]


def test_customer_reply_reopens_a_solved_ticket(db: Session, clock: FrozenClock) -> None:
    hd = f.helpdesk(db)
    agent = f.actor(db, hd.users["l1"])
    carol = f.actor(db, hd.users["carol"])
    t = f.ticket(db, carol, clock.now())
    service.add_message(db, agent, t.id, MessageCreate(body="Fixed", status="solved"), clock.now())
    clock.advance(hours=1)
    service.add_message(db, carol, t.id, MessageCreate(body="Still broken"), clock.now())
    assert t.status == "open" and t.reopen_count == 1
    assert ("reopened", "status", "solved", "open") in kinds(db, t.id)


def test_customers_cannot_route_or_write_internal_notes(db: Session, clock: FrozenClock) -> None:
    hd = f.helpdesk(db)
    carol = f.actor(db, hd.users["carol"])
    with pytest.raises(Forbidden, match="tier_id"):
        service.create_ticket(db, carol, TicketCreate(subject="x", tier_id=hd.tiers["L3"]), clock.now())
    t = f.ticket(db, carol, clock.now())
    with pytest.raises(Forbidden):
        service.add_message(db, carol, t.id, MessageCreate(body="psst", kind="internal"), clock.now())
    with pytest.raises(Forbidden):
        service.update_ticket(db, carol, t.id, TicketPatch(priority="urgent"), clock.now())


def test_counters_follow_status_and_tier_moves(db: Session, clock: FrozenClock) -> None:
    hd = f.helpdesk(db)
    sup = f.actor(db, hd.users["supervisor"])

    def count(status: str, tier: str) -> int:
        counts = {(s, t): n for s, t, n in service.status_counts(db)}
        return counts.get((status, hd.tiers[tier]), 0)

    t = f.ticket(db, sup, clock.now(), requester_id=hd.customers["carol"])
    assert count("new", "L1") == 1
    service.update_ticket(db, sup, t.id, TicketPatch(tier_id=hd.tiers["L2"], status="open"), clock.now())
    db.expire_all()
    assert (count("new", "L1"), count("new", "L2"), count("open", "L2")) == (0, 0, 1)


def test_merge_closes_the_source_and_leaves_a_trail_on_both(db: Session, clock: FrozenClock) -> None:
    hd = f.helpdesk(db)
    agent = f.actor(db, hd.users["l1"])
    a = f.ticket(db, agent, clock.now(), requester_id=hd.customers["carol"])
    b = f.ticket(db, agent, clock.now(), requester_id=hd.customers["carol"])
    service.merge(db, agent, a.id, b.id, "same problem", clock.now())
    assert a.status == "closed" and a.merged_into_id == b.id
    assert kinds(db, a.id)[-1][0] == "merged"
    assert kinds(db, b.id)[-1][0] == "merged"
    notes = service.list_messages(db, agent, b.id)
    assert any(f"T-{a.id}" in m.body and m.kind == "internal" for m in notes)


def test_engineering_bug_link_is_recorded_and_removable(db: Session, clock: FrozenClock) -> None:
    hd = f.helpdesk(db)
    agent = f.actor(db, hd.users["l3"])
    t = f.ticket(
        db,
        f.actor(db, hd.users["admin"]),
        clock.now(),
        requester_id=hd.customers["carol"],
        tier_id=hd.tiers["L3"],
    )
    link = service.add_link(
        db, agent, t.id, LinkCreate(kind="engineering_bug", external_key="ENG-231"), clock.now()
    )
    service.remove_link(db, agent, t.id, link.id, clock.now())
    assert [k[:2] for k in kinds(db, t.id)[-2:]] == [
        ("link_added", "engineering_bug"),
        ("link_removed", "engineering_bug"),
    ]
    with pytest.raises(ValidationError, match="needs target_ticket_id"):
        LinkCreate(kind="related")  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        service.add_link(db, agent, t.id, LinkCreate(kind="related", target_ticket_id=999_999), clock.now())


def test_import_keeps_history_and_is_idempotent(db: Session, clock: FrozenClock) -> None:
    hd = f.helpdesk(db)
    admin = f.actor(db, hd.users["admin"])
    payload = {
        "source": "zendesk",
        "tickets": [
            {
                "external_id": "zd-1",
                "subject": "请求退款",
                "status": "solved",
                "language": "zh",
                "requester": {"email": "li@cust.example.com", "name": "李"},
                "organization": "Initech",
                "tier_key": "L2",
                "tags": ["refund"],
                "created_at": "2025-01-02T03:04:05Z",
                "solved_at": "2025-01-03T03:04:05Z",
                "messages": [
                    {"body": "我要退款", "author_kind": "customer", "created_at": "2025-01-02T03:04:05Z"}
                ],
                "events": [
                    {
                        "kind": "field_changed",
                        "field": "status",
                        "old": "open",
                        "new": "solved",
                        "at": "2025-01-03T03:04:05Z",
                    }
                ],
            }
        ],
    }
    result = service.import_tickets(db, admin, ImportRequest.model_validate(payload), clock.now())
    assert result.created == 1
    tid = result.ticket_ids[0]
    assert [k[0] for k in kinds(db, tid)] == ["created", "field_changed", "imported"]
    again = service.import_tickets(db, admin, ImportRequest.model_validate(payload), clock.now())
    assert (again.created, again.skipped_existing) == (0, 1)
    with pytest.raises(Forbidden):
        service.import_tickets(
            db, f.actor(db, hd.users["supervisor"]), ImportRequest.model_validate(payload), clock.now()
        )
