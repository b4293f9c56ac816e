"""The L4 vendor workflow. The only entry point other domains may use.

1. A supervisor keeps the vendor directory: contact, the vendor's response target (business
   minutes) and its support-hours calendar (none: 24/7).
2. Staff who can see a ticket open a case with a vendor, giving the vendor's case number.
   The case stores its deadline (opened + target in business time on the vendor calendar);
   the ticket gets a `vendor_escalated` event and an internal note about the hand-off.
   The ticket's tier is not changed here (move it to L4 with the escalation API).
3. The vendor's answer threads back into the ticket as an internal note prefixed
   "[Vendor <name>, case <reference>]", pasted by staff or sent by the vendor's system to
   the signed webhook. Each answer records `vendor_replied` with the response time; the
   first one stamps the case (first_response_at, business seconds, late or not).
4. Performance per vendor: cases, answered, answered within target, median response,
   open cases overdue now.

Every ticket change goes through the tickets service. Services flush, never commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from statistics import median

from sqlalchemy.orm import Session

from tierdesk.core import crud
from tierdesk.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from tierdesk.core.security import SYSTEM, Actor, Scope, require_staff, require_supervisor
from tierdesk.core.webhooks import SIGNATURE_HEADER, parse_signed
from tierdesk.escalation import service as escalation
from tierdesk.escalation.schemas import EscalateIn, Handoff
from tierdesk.sla.calendar import BusinessCalendar, add_business_time, business_time_between
from tierdesk.tickets import service as tickets
from tierdesk.tickets.models import EventKind, MessageKind, Status, Ticket
from tierdesk.tickets.schemas import MessageCreate, TicketPatch
from tierdesk.tiers import service as tiers
from tierdesk.vendors import repository as repo
from tierdesk.vendors.models import Vendor, VendorCase
from tierdesk.vendors.schemas import (
    VendorCaseIn,
    VendorCaseOut,
    VendorIn,
    VendorOut,
    VendorPatch,
    VendorPerformanceOut,
    VendorReplyIn,
    VendorWebhookIn,
)

__all__ = ["SIGNATURE_HEADER"]

_ALWAYS_OPEN = BusinessCalendar.always_open("UTC")


# --- helpers ---------------------------------------------------------------------------------
def _require_write(actor: Actor) -> None:
    require_staff(actor)
    if not actor.can(Scope.write):
        raise Forbidden("This API token is read-only; create one with the write scope.")


def _require_supervisor_write(actor: Actor) -> None:
    require_supervisor(actor)
    if not actor.can(Scope.write):
        raise Forbidden("This API token is read-only; create one with the write scope.")


def _vendor(db: Session, vendor_id: int) -> Vendor:
    found = repo.vendor(db, vendor_id)
    if found is None:
        raise NotFound(f"Vendor {vendor_id} does not exist.")
    return found


def _check_calendar(db: Session, calendar_id: int | None) -> None:
    if calendar_id is not None and not tiers.calendar_exists(db, calendar_id):
        raise InvalidInput(f"Calendar {calendar_id} does not exist.", field="calendar_id")


def _calendar(db: Session, vendor: Vendor) -> BusinessCalendar:
    """The vendor's support hours; 24/7 without a calendar (or with one that never opens)."""
    row = tiers.calendar_by_id(db, vendor.calendar_id) if vendor.calendar_id is not None else None
    if row is None or not any(row.hours.values() if row.hours else ()):
        return _ALWAYS_OPEN
    return BusinessCalendar.from_data(row.timezone, row.hours, row.holidays or [])


def _case_out(case: VendorCase, vendor: Vendor, now: datetime) -> VendorCaseOut:
    breached = case.breached
    if case.first_response_at is None:
        breached = case.closed_at is None and now > case.due_at
    return VendorCaseOut(
        id=case.id,
        ticket_id=case.ticket_id,
        vendor_id=vendor.id,
        vendor_key=vendor.key,
        vendor_name=vendor.name,
        reference=case.reference,
        summary=case.summary,
        opened_by_user_id=case.opened_by_user_id,
        opened_at=case.opened_at,
        due_at=case.due_at,
        first_response_at=case.first_response_at,
        response_seconds=case.response_seconds,
        breached=breached,
        closed_at=case.closed_at,
    )


def _visible_case(db: Session, actor: Actor, case_id: int) -> VendorCase:
    """The case, if the actor may see its ticket; 404 otherwise (naming nothing)."""
    case = repo.case(db, case_id, for_update=True)
    missing = NotFound(f"Vendor case {case_id} does not exist or you may not see it.")
    if case is None:
        raise missing
    try:
        tickets.get_ticket(db, actor, case.ticket_id)
    except NotFound:
        raise missing from None
    return case


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


# --- vendors ---------------------------------------------------------------------------------
def list_vendors(db: Session, actor: Actor) -> list[VendorOut]:
    require_staff(actor)
    return [VendorOut.model_validate(v) for v in repo.vendors(db)]


def get_vendor(db: Session, actor: Actor, vendor_id: int) -> VendorOut:
    require_staff(actor)
    return VendorOut.model_validate(_vendor(db, vendor_id))


def create_vendor(db: Session, actor: Actor, data: VendorIn, now: datetime) -> VendorOut:
    _require_supervisor_write(actor)
    _check_calendar(db, data.calendar_id)
    if repo.vendor_by_key(db, data.key) is not None:
        raise Conflict(f"A vendor with key '{data.key}' already exists.")
    vendor = Vendor(**data.model_dump(), created_at=now)
    db.add(vendor)
    crud.flush_or_conflict(db, f"Vendor {data.key}")
    return VendorOut.model_validate(vendor)


def update_vendor(db: Session, actor: Actor, vendor_id: int, patch: VendorPatch) -> VendorOut:
    """Open cases keep the deadline they were opened with; new cases use the new target."""
    _require_supervisor_write(actor)
    vendor = _vendor(db, vendor_id)
    if "calendar_id" in patch.model_fields_set:
        _check_calendar(db, patch.calendar_id)
    crud.apply_patch(vendor, patch)
    crud.flush_or_conflict(db, f"Vendor {vendor.key}")
    return VendorOut.model_validate(vendor)


def delete_vendor(db: Session, actor: Actor, vendor_id: int) -> None:
    """Refused (409) once the vendor has cases: their history stays."""
    _require_supervisor_write(actor)
    crud.delete_or_conflict(db, _vendor(db, vendor_id), "Vendor")


def performance(db: Session, actor: Actor, vendor_id: int, now: datetime) -> VendorPerformanceOut:
    require_staff(actor)
    vendor = _vendor(db, vendor_id)
    counts = repo.counts(db, vendor.id, now)
    seconds = repo.response_seconds(db, vendor.id)
    return VendorPerformanceOut(
        vendor_id=vendor.id,
        cases=counts.cases,
        answered=counts.answered,
        answered_within_target=counts.answered_within_target,
        median_response_minutes=round(median(seconds) / 60, 1) if seconds else None,
        open_overdue=counts.open_overdue,
    )


# --- cases -----------------------------------------------------------------------------------
def list_ticket_cases(db: Session, actor: Actor, ticket_id: int, now: datetime) -> list[VendorCaseOut]:
    """The ticket's vendor cases, oldest first (staff who may see the ticket; 404 otherwise)."""
    require_staff(actor)
    ticket = tickets.get_ticket(db, actor, ticket_id)
    out = []
    for case in repo.cases_for_ticket(db, ticket.id):
        out.append(_case_out(case, _vendor(db, case.vendor_id), now))
    return out


def open_case(db: Session, actor: Actor, ticket_id: int, data: VendorCaseIn, now: datetime) -> VendorCaseOut:
    """Hand the ticket to a vendor: the case with its deadline, a `vendor_escalated` event and
    an internal note on the ticket. A ticket the caller may not see answers 404."""
    _require_write(actor)
    ticket = tickets.get_ticket(db, actor, ticket_id, for_update=True)
    vendor = repo.vendor(db, data.vendor_id)
    if vendor is None:
        raise InvalidInput(f"Vendor {data.vendor_id} does not exist.", field="vendor_id")
    existing = repo.case_by_reference(db, vendor.id, data.reference)
    if existing is not None:
        raise Conflict(
            f"{vendor.name} case {data.reference} is already tracked (vendor case {existing.id}); "
            "post the vendor's answers to it instead."
        )
    if data.to_vendor_tier:
        _move_to_vendor_tier(db, actor, ticket, vendor, data.reference, now)
    due = add_business_time(now, timedelta(minutes=vendor.response_target_minutes), _calendar(db, vendor))
    case = VendorCase(
        ticket_id=ticket.id,
        vendor_id=vendor.id,
        reference=data.reference,
        opened_by_user_id=actor.user_id,
        opened_at=now,
        due_at=due,
        breached=False,
        summary=data.summary,
    )
    db.add(case)
    crud.flush_or_conflict(db, f"{vendor.name} case {data.reference}")
    tickets.record_event(
        db,
        actor,
        ticket.id,
        EventKind.vendor_escalated,
        now,
        data={
            "vendor": vendor.key,
            "vendor_case_id": case.id,
            "reference": data.reference,
            "due_at": due.isoformat(),
        },
        reason=f"case {data.reference} opened with {vendor.name}",
    )
    note = (
        f"Escalated to vendor {vendor.name} ({vendor.contact_email}), their case {data.reference}. "
        f"Response target {vendor.response_target_minutes} business minutes: due {_when(due)}.\n\n"
        f"{data.summary}"
    )
    tickets.add_message(db, actor, ticket.id, MessageCreate(body=note, kind=MessageKind.internal), now)
    if data.to_vendor_tier and ticket.status not in _NOT_HELD:
        # on_hold pauses the customer SLA while the vendor works (the SLA engine does it on
        # the status change); the vendor's first answer takes the ticket back to open.
        tickets.update_ticket(
            db,
            actor,
            ticket.id,
            TicketPatch(status=Status.on_hold, reason=f"waiting on vendor {vendor.name}: {data.reference}"),
            now,
        )
    return _case_out(case, vendor, now)


_NOT_HELD = frozenset({Status.on_hold.value, Status.pending.value, Status.solved.value, Status.closed.value})


def _move_to_vendor_tier(
    db: Session, actor: Actor, ticket: Ticket, vendor: Vendor, reference: str, now: datetime
) -> None:
    """L4 is the vendor: the ticket moves there as an escalation with a hand-off (prefilled
    from its timeline, like any escalation), keeping an owner inside the company — the
    current assignee, else the person opening the case — so it never sits in nobody's queue."""
    vendor_tier = next((t for t in tiers.all_tiers(db) if t.vendor and t.enabled), None)
    current = tiers.tier_by_id(db, ticket.tier_id) if ticket.tier_id else None
    if vendor_tier is None or ticket.tier_id == vendor_tier.id:
        return
    if current is not None and current.level >= vendor_tier.level:
        return
    if ticket.assignee_id is None and actor.user_id is not None:
        tickets.update_ticket(
            db,
            actor,
            ticket.id,
            TicketPatch(assignee_id=actor.user_id, reason=f"owns vendor case {reference}"),
            now,
        )
    draft = escalation.draft(db, actor, ticket.id)
    request = EscalateIn(
        to_tier_id=vendor_tier.id,
        reason=f"Vendor case {reference} opened with {vendor.name}"[:1000],
        handoff=Handoff(problem=draft.problem, tried=draft.tried, impact=draft.impact),
        keep_assignee=True,
    )
    try:
        escalation.escalate(db, actor, ticket.id, request, now)
    except Forbidden as exc:
        raise Forbidden(
            f"Your role may not move T-{ticket.id} to {vendor_tier.key} ({exc.detail}) Open the case with "
            '"to_vendor_tier": false to keep the ticket in its tier, or ask a supervisor.'
        ) from exc


def _thread_reply(
    db: Session, actor: Actor, case: VendorCase, body: str, from_email: str | None, now: datetime
) -> VendorCaseOut:
    vendor = _vendor(db, case.vendor_id)
    seconds = int(business_time_between(case.opened_at, now, _calendar(db, vendor)).total_seconds())
    within = now <= case.due_at
    first = case.first_response_at is None
    if first:
        case.first_response_at = now
        case.response_seconds = seconds
        case.breached = not within
        ticket = tickets.get_ticket(db, actor, case.ticket_id)
        if ticket.status == Status.on_hold.value:
            # The vendor answered: back to open, so the owner acts on it (SLA clocks resume).
            tickets.update_ticket(
                db,
                actor,
                ticket.id,
                TicketPatch(status=Status.open, reason=f"{vendor.name} answered case {case.reference}"),
                now,
            )
    sender = f" from {from_email}" if from_email else ""
    text = f"[Vendor {vendor.name}, case {case.reference}]{sender}\n\n{body}"
    message = tickets.add_message(
        db, actor, case.ticket_id, MessageCreate(body=text, kind=MessageKind.internal), now
    )
    tickets.record_event(
        db,
        actor,
        case.ticket_id,
        EventKind.vendor_replied,
        now,
        data={
            "vendor_case_id": case.id,
            "response_seconds": seconds,
            "within_target": within,
            "first": first,
            "message_id": message.id,
        },
    )
    db.flush()
    return _case_out(case, vendor, now)


def add_reply(db: Session, actor: Actor, case_id: int, data: VendorReplyIn, now: datetime) -> VendorCaseOut:
    """Staff paste the vendor's answer: it threads into the ticket as an internal note."""
    _require_write(actor)
    case = _visible_case(db, actor, case_id)
    return _thread_reply(db, actor, case, data.body, data.from_email, now)


def close_case(db: Session, actor: Actor, case_id: int, now: datetime) -> VendorCaseOut:
    _require_write(actor)
    case = _visible_case(db, actor, case_id)
    if case.closed_at is not None:
        raise Conflict(f"Vendor case {case.id} was already closed at {case.closed_at.isoformat()}.")
    case.closed_at = now
    db.flush()
    return _case_out(case, _vendor(db, case.vendor_id), now)


def receive_webhook(
    db: Session, secret: str | None, body: bytes, signature: str | None, now: datetime
) -> VendorCaseOut:
    """A vendor's system sends its answer. Signed like the engineering webhook (same secret,
    HMAC-SHA256 of the raw body); the answer is threaded in as the system."""
    data = parse_signed(secret, body, signature, VendorWebhookIn, "vendor")
    vendor = repo.vendor_by_key(db, data.vendor_key)
    case = None if vendor is None else repo.case_by_reference(db, vendor.id, data.reference, for_update=True)
    if case is None:
        raise NotFound(f"No vendor case {data.reference[:100]} for vendor '{data.vendor_key}'.")
    return _thread_reply(db, SYSTEM, case, data.body, data.from_email, now)
