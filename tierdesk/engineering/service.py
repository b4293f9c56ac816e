"""The L3 -> engineering workflow. The only entry point other domains may use.

1. An agent links an engineering bug (the tracker's key, URL and status) to one or many
   tickets. Each ticket gets an `engineering_bug` link and, while engineering still works on
   the bug, goes on hold ("waiting on engineering: ENG-231"), which pauses its SLA clocks.
2. The bug is marked fixed (PATCH, or the tracker's signed webhook). The owner and the
   assignees of the linked tickets get a "verify the fix" notification; each linked ticket
   gets an `engineering_fixed` event.
3. The owner, an L3 agent or a supervisor verifies the fix (`fix_verified` events).
4. Only then may they answer every linked customer at once with one public reply, which
   also solves (or sets pending) the tickets. All or nothing: if the caller may not see one
   of the linked tickets, nothing is sent.

Every ticket change goes through the tickets service (so it appends ticket events and
drives the SLA timers). Services flush, never commit: the request is one transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from tierdesk.accounts import service as accounts
from tierdesk.core import crud
from tierdesk.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from tierdesk.core.security import SYSTEM, Actor, Scope, require_staff
from tierdesk.core.webhooks import SIGNATURE_HEADER, parse_signed
from tierdesk.engineering import repository as repo
from tierdesk.engineering.models import TRANSITIONS, WAITING, BugStatus, EngineeringBug
from tierdesk.engineering.schemas import (
    AnnounceIn,
    AnnounceOut,
    BugCreate,
    BugDetail,
    BugOut,
    BugPatch,
    VerifyIn,
    WebhookIn,
    WebhookOut,
)
from tierdesk.notifications import service as notifications
from tierdesk.tickets import service as tickets
from tierdesk.tickets.models import EventKind, LinkKind, Status, Ticket
from tierdesk.tickets.schemas import LinkCreate, MessageCreate, TicketPatch
from tierdesk.tiers import service as tiers

__all__ = ["SIGNATURE_HEADER"]

EXPERT_LEVEL = 3  # the L3 tier of the ladder: experts who work with engineering
# A ticket in one of these states is not put on hold when it is linked.
_NOT_HELD = frozenset({Status.on_hold.value, Status.solved.value, Status.closed.value})


# --- helpers ---------------------------------------------------------------------------------
def _require_write(actor: Actor) -> None:
    require_staff(actor)
    if not actor.can(Scope.write):
        raise Forbidden("This API token is read-only; create one with the write scope.")


def _bug(db: Session, key: str, for_update: bool = False) -> EngineeringBug:
    key = key.strip().upper()
    bug = repo.bug_by_key(db, key, for_update=for_update)
    if bug is None:
        raise NotFound(f"Engineering bug {key[:40]} does not exist.")
    return bug


def _visible(db: Session, actor: Actor, ticket_id: int) -> Ticket | None:
    try:
        return tickets.get_ticket(db, actor, ticket_id)
    except NotFound:
        return None


def _detail(db: Session, actor: Actor, bug: EngineeringBug) -> BugDetail:
    # One primary-key lookup per linked ticket through the tickets service's visibility
    # rules; a bug has a handful of tickets, rarely hundreds.
    visible = [tid for tid in repo.ticket_ids(db, bug.id) if _visible(db, actor, tid) is not None]
    return BugDetail(**BugOut.model_validate(bug).model_dump(), ticket_ids=visible)


def _closes_the_loop(db: Session, actor: Actor, bug: EngineeringBug) -> None:
    """Verifying and announcing: the bug's owner, an L3 agent or a supervisor."""
    if actor.is_supervisor or (actor.user_id is not None and actor.user_id == bug.owner_user_id):
        return
    if any(t.level == EXPERT_LEVEL and t.id in actor.tier_ids for t in tiers.all_tiers(db)):
        return
    raise Forbidden(
        f"Only the owner of {bug.key}, an L3 agent or a supervisor may verify its fix and answer its customers."
    )


def _record(
    db: Session,
    actor: Actor,
    bug: EngineeringBug,
    kind: EventKind,
    reason: str,
    data: dict[str, object],
    now: datetime,
) -> list[Ticket]:
    """Append `kind` to every linked ticket; return the tickets.

    A bug's change reaches every linked ticket, also those the actor may not see (an L3
    agent marks fixed a bug an L1 agent linked): those events are recorded as system
    events, with who acted in their data.
    """
    payload = {"bug": bug.key, "by_user_id": actor.user_id, **data}
    out = []
    for ticket_id in repo.ticket_ids(db, bug.id):
        who = actor if _visible(db, actor, ticket_id) is not None else SYSTEM
        out.append(tickets.record_event(db, who, ticket_id, kind, now, data=payload, reason=reason))
    return out


def _notify_people(
    db: Session, bug: EngineeringBug, linked: list[Ticket], kind: str, body: str, now: datetime
) -> None:
    """The owner once (about the bug: they may not see every linked ticket), and each
    assignee of a linked ticket once per ticket (they see it), unless they are the owner."""
    notifications.notify(db, [bug.owner_user_id], kind, None, body, now)
    for ticket in linked:
        if ticket.assignee_id is not None and ticket.assignee_id != bug.owner_user_id:
            notifications.notify(db, [ticket.assignee_id], kind, ticket.id, body, now)


def _linked_tickets(db: Session, bug: EngineeringBug) -> list[Ticket]:
    return [tickets.get_ticket(db, SYSTEM, tid) for tid in repo.ticket_ids(db, bug.id)]


def _set_status(db: Session, actor: Actor, bug: EngineeringBug, new: BugStatus, now: datetime) -> bool:
    """Move the bug to `new` with its consequences; False when it already was there."""
    old = BugStatus(bug.status)
    if new == old:
        return False
    if new not in TRANSITIONS[old]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[old])) or "nothing (it is final)"
        raise InvalidInput(
            f"{bug.key} is {old.value} and cannot become {new.value}; from {old.value} it can go to: {allowed}.",
            field="status",
        )
    bug.status = new.value
    bug.updated_at = now
    if new == BugStatus.fixed:
        bug.fixed_at = now
        linked = _record(
            db, actor, bug, EventKind.engineering_fixed, f"{bug.key} is fixed", {"note": bug.fix_note}, now
        )
        _notify_people(
            db,
            bug,
            linked,
            "verify_fix",
            f"{bug.key} is fixed: verify the fix before answering the customers",
            now,
        )
    elif new == BugStatus.open:  # a regression: the fix did not hold
        bug.fixed_at = None
        notifications.notify(
            db,
            [bug.owner_user_id],
            "bug_reopened",
            None,
            f"{bug.key} is open again: the fix did not hold",
            now,
        )
    elif new == BugStatus.wont_fix:
        _notify_people(
            db,
            bug,
            _linked_tickets(db, bug),
            "wont_fix",
            f"{bug.key} will not be fixed: answer the customers waiting on it",
            now,
        )
    db.flush()
    return True


def _link(db: Session, actor: Actor, bug: EngineeringBug, ticket_id: int, now: datetime) -> None:
    ticket = tickets.get_ticket(db, actor, ticket_id)  # strangers get 404
    if repo.is_linked(db, bug.id, ticket.id):
        raise Conflict(f"T-{ticket.id} is already linked to {bug.key}.")
    tickets.add_link(
        db,
        actor,
        ticket.id,
        LinkCreate(kind=LinkKind.engineering_bug, external_key=bug.key, url=bug.url),
        now,
    )
    repo.add_ticket(db, bug.id, ticket.id, now)
    if BugStatus(bug.status) in WAITING and ticket.status not in _NOT_HELD:
        # on_hold pauses the SLA timers (the SLA engine does it on the status change).
        tickets.update_ticket(
            db,
            actor,
            ticket.id,
            TicketPatch(status=Status.on_hold, reason=f"waiting on engineering: {bug.key}"),
            now,
        )
    if bug.owner_user_id is None:
        bug.owner_user_id = actor.user_id
    bug.updated_at = now
    db.flush()


# --- reads -------------------------------------------------------------------------------------
def list_bugs(db: Session, actor: Actor, status: BugStatus | None, limit: int) -> list[EngineeringBug]:
    """Newest first. Staff only (customers never learn bug keys)."""
    require_staff(actor)
    return repo.bugs(db, status, limit)


def get_bug(db: Session, actor: Actor, key: str) -> BugDetail:
    """The bug with the linked tickets the actor may see."""
    require_staff(actor)
    return _detail(db, actor, _bug(db, key))


# --- changes ------------------------------------------------------------------------------------
def create_bug(db: Session, actor: Actor, data: BugCreate, now: datetime) -> BugDetail:
    """File a bug (owner: `owner_user_id`, else the caller) and link `ticket_ids` to it.
    A ticket the caller may not see refuses the whole call (404)."""
    _require_write(actor)
    owner = data.owner_user_id if data.owner_user_id is not None else actor.user_id
    if data.owner_user_id is not None and not accounts.user_exists(db, data.owner_user_id, staff_only=True):
        raise InvalidInput(f"Agent {data.owner_user_id} does not exist.", field="owner_user_id")
    if repo.bug_by_key(db, data.key) is not None:
        raise Conflict(
            f"{data.key} already exists; link tickets to it with POST /api/v1/engineering/bugs/{data.key}/tickets."
        )
    bug = EngineeringBug(
        key=data.key,
        title=data.title,
        url=data.url,
        status=BugStatus.open.value,
        owner_user_id=owner,
        created_at=now,
        updated_at=now,
        fix_note="",
        verify_note="",
    )
    db.add(bug)
    crud.flush_or_conflict(db, f"Engineering bug {data.key}")
    for ticket_id in dict.fromkeys(data.ticket_ids):
        _link(db, actor, bug, ticket_id, now)
    return _detail(db, actor, bug)


def link_ticket(db: Session, actor: Actor, key: str, ticket_id: int, now: datetime) -> BugDetail:
    """Link one more ticket: an `engineering_bug` link on the ticket, and the ticket on
    hold while engineering works on the bug (not once it is fixed, verified or won't be)."""
    _require_write(actor)
    bug = _bug(db, key, for_update=True)
    _link(db, actor, bug, ticket_id, now)
    return _detail(db, actor, bug)


def update_bug(db: Session, actor: Actor, key: str, patch: BugPatch, now: datetime) -> BugDetail:
    """Change title, URL, fix note and/or status (allowed moves: `models.TRANSITIONS`)."""
    _require_write(actor)
    bug = _bug(db, key, for_update=True)
    if patch.title is not None:
        bug.title = patch.title
    if patch.url is not None:
        bug.url = patch.url
    if patch.fix_note is not None:
        bug.fix_note = patch.fix_note  # before the status, so the fixed events carry it
    if patch.status is not None:
        _set_status(db, actor, bug, patch.status, now)
    bug.updated_at = now
    db.flush()
    return _detail(db, actor, bug)


def receive_webhook(
    db: Session, secret: str | None, body: bytes, signature: str | None, now: datetime
) -> WebhookOut:
    """A tracker reports a bug's status. The signature is checked over the raw body before
    anything is parsed; the change is made as the system. Repeating a status changes nothing
    (trackers retry), so a delivery may safely arrive twice."""
    data = parse_signed(secret, body, signature, WebhookIn, "engineering")
    bug = _bug(db, data.key, for_update=True)
    if data.status == BugStatus.fixed and bug.status == BugStatus.verified.value:
        # A late or repeated "fixed" after support verified the fix: already true.
        return WebhookOut(key=bug.key, status=bug.status, changed=False)
    if data.note is not None and data.note != bug.fix_note:
        bug.fix_note = data.note
        bug.updated_at = now
    changed = _set_status(db, SYSTEM, bug, data.status, now)
    db.flush()
    return WebhookOut(key=bug.key, status=bug.status, changed=changed)


def verify(db: Session, actor: Actor, key: str, data: VerifyIn, now: datetime) -> BugDetail:
    """Confirm the fix works (owner, L3 agent or supervisor; the bug must be fixed): stamps
    who and when, and appends `fix_verified` to every linked ticket."""
    _require_write(actor)
    bug = _bug(db, key, for_update=True)
    _closes_the_loop(db, actor, bug)
    if bug.status != BugStatus.fixed.value:
        raise Conflict(f"{bug.key} is {bug.status}; only a fixed bug can be verified.")
    bug.status = BugStatus.verified.value
    bug.verified_at = now
    bug.verified_by_user_id = actor.user_id
    bug.verify_note = data.note
    bug.updated_at = now
    _record(db, actor, bug, EventKind.fix_verified, f"{bug.key}: fix verified", {"note": data.note}, now)
    db.flush()
    return _detail(db, actor, bug)


def announce(db: Session, actor: Actor, key: str, data: AnnounceIn, now: datetime) -> AnnounceOut:
    """Answer every linked customer with the same public reply, as the caller, and set the
    tickets to `data.status` (a solved ticket keeps its status). Closed tickets are skipped.

    Refused unless the fix is verified (409), and only once per bug (409), so customers
    never get the message twice. All or nothing: if the caller may not see one of the linked
    tickets the whole call is refused with 404, naming none, before anything is written.
    """
    _require_write(actor)
    bug = _bug(db, key, for_update=True)
    _closes_the_loop(db, actor, bug)
    if bug.status != BugStatus.verified.value:
        raise Conflict(f"{bug.key} is {bug.status}: verify the fix first (POST …/verify).")
    if bug.announced_at is not None:
        raise Conflict(
            f"{bug.key} was already announced at {bug.announced_at.isoformat()}; answer later tickets one by one."
        )
    ticket_ids = repo.ticket_ids(db, bug.id)
    if not ticket_ids:
        raise Conflict(f"No tickets are linked to {bug.key}; there is nobody to answer.")
    linked = [_visible(db, actor, tid) for tid in ticket_ids]
    if any(t is None for t in linked):
        raise NotFound(
            f"Some tickets linked to {bug.key} do not exist or you may not see them; "
            "nothing was sent. Ask a supervisor to announce the fix."
        )
    answered: list[int] = []
    skipped: list[int] = []
    target = Status(data.status)
    for ticket in (t for t in linked if t is not None):
        if ticket.status == Status.closed.value:
            skipped.append(ticket.id)
            continue
        status = None if ticket.status == Status.solved.value else target
        tickets.add_message(db, actor, ticket.id, MessageCreate(body=data.body, status=status), now)
        answered.append(ticket.id)
    bug.announced_at = now
    bug.updated_at = now
    db.flush()
    return AnnounceOut(answered=answered, skipped_closed=skipped)
