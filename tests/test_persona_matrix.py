"""Persona x ticket authorization matrix, end to end over the JSON API.

Ten personas (anonymous, three customers, five kinds of staff) meet five tickets placed so
that every visibility rule of `tickets.repository.visibility` is exercised once:

    ticket      requester      tier  team   assignee     who may see it (besides admin)
    alice_l1    alice (acme)   L1    -      supervisor   alice, bob (acme shares), l1, supervisor
    carol_l2    carol (no org) L2    -      -            carol, l2, supervisor
    bob_l3      bob (acme)     L3    -      -            alice, bob, l3, supervisor
    fraud_l1    dave (globex)  L1    fraud  -            fraud (need-to-know: not l1, not supervisor)
    globex_l4   erin (globex)  L4    -      l3           l3 (assigned), supervisor

Every ticket carries an internal note, a public reply, an internal attachment (uploaded
through the API by an agent) and a public one. Every text that belongs to a ticket holds a
marker, and *every* response any persona receives in this module is scanned for the markers
of tickets that persona may not see, and (for customers) for internal notes and internal
attachments of any ticket. So a leak is caught whichever endpoint it comes from.

The expected outcome is the explicit `VISIBLE` table below; the parametrized tests are
generated from it, one test id per persona x ticket cell.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests import factories as f
from tierdesk.accounts import service as accounts
from tierdesk.accounts.schemas import UserIn
from tierdesk.core.clock import FrozenClock
from tierdesk.core.security import SYSTEM, Role
from tierdesk.customers import service as customers
from tierdesk.customers.schemas import CustomerIn
from tierdesk.search import service as search
from tierdesk.tickets import service as tickets
from tierdesk.tickets.models import MessageKind
from tierdesk.tickets.schemas import LinkCreate, MessageCreate, TicketCustomerOut, TicketPatch

API = "/api/v1"

# --- the personas and the tickets --------------------------------------------------------------
ANONYMOUS = "anonymous"
CUSTOMERS = ("alice", "bob", "carol")
STAFF = ("l1", "l2", "l3", "fraud", "supervisor", "admin")
PERSONAS = (ANONYMOUS, *CUSTOMERS, *STAFF)


@dataclass(frozen=True)
class Spec:
    requester: str  # a customer key: alice, bob, carol (with logins), dave, erin (globex, no login)
    tier: str
    team: str | None
    assignee: str | None
    tags: tuple[str, ...]
    priority: str
    status: str  # after the fixture's history
    internal_uploader: str  # an agent who may see the ticket
    public_uploader: str  # the requester if they can sign in, else the admin


TICKETS: dict[str, Spec] = {
    "alice_l1": Spec("alice", "L1", None, "supervisor", ("vip", "login"), "normal", "open", "l1", "alice"),
    "carol_l2": Spec("carol", "L2", None, None, ("invoice",), "low", "pending", "l2", "carol"),
    "bob_l3": Spec("bob", "L3", None, None, ("outage",), "urgent", "solved", "l3", "bob"),
    "fraud_l1": Spec("dave", "L1", "fraud", None, ("chargeback",), "high", "new", "fraud", "admin"),
    "globex_l4": Spec("erin", "L4", None, "l3", ("vendor",), "normal", "open", "l3", "admin"),
}
NEED_TO_KNOW = frozenset({"fraud"})  # teams whose tickets other staff know exist, nothing more
ORGANIZATION_OF = {"alice": "acme", "bob": "acme", "carol": None, "dave": "globex", "erin": "globex"}

ALL = frozenset(TICKETS)
# THE MATRIX: persona -> the tickets they may see. Everything else must be invisible.
VISIBLE: dict[str, frozenset[str]] = {
    ANONYMOUS: frozenset(),
    "alice": frozenset({"alice_l1", "bob_l3"}),  # her own, plus acme's (acme shares tickets)
    "bob": frozenset({"alice_l1", "bob_l3"}),  # same organization as alice
    "carol": frozenset({"carol_l2"}),  # no organization: her own only
    "l1": frozenset({"alice_l1"}),  # fraud_l1 is at L1 too, but fraud is need-to-know
    "l2": frozenset({"carol_l2"}),
    "l3": frozenset({"bob_l3", "globex_l4"}),  # globex_l4 sits at L4 but is assigned to l3
    "fraud": frozenset({"fraud_l1"}),  # through the team; the specialist has no tier
    "supervisor": ALL - {"fraud_l1"},  # all but need-to-know teams they are not in
    "admin": ALL,
    # Not one of the matrix personas: erin gets a login in one test only, to show that an
    # organization that does not share tickets (globex) keeps its contacts apart.
    "erin": frozenset({"globex_l4"}),
}
CELLS = [pytest.param(p, t, id=f"{p}-{t}") for p in PERSONAS for t in TICKETS]

STAFF_ONLY_FIELDS = frozenset({"tier_id", "team_id", "assignee_id", "tags"})
CUSTOMER_FIELDS = frozenset(TicketCustomerOut.model_fields)
CUSTOMER_EVENT_KINDS = frozenset({"created", "reopened"})
CUSTOMER_EVENT_FIELDS = frozenset({"status", "subject"})


def sees(persona: str, ticket: str) -> bool:
    return ticket in VISIBLE[persona]


def denied(persona: str, ticket: str | None = None) -> int:
    """What a caller gets for a ticket they may not see: 401 if anonymous; 403 for staff
    outside a need-to-know team that holds it (they may know it exists, nothing more);
    else 404."""
    if persona == ANONYMOUS:
        return 401
    if ticket is not None and persona in STAFF and TICKETS[ticket].team in NEED_TO_KNOW:
        return 403
    return 404


# --- markers: every text of a ticket is recognisable in any response body -----------------------
def subject(key: str) -> str:
    return f"Help needed subject[{key}]"


def description(key: str) -> str:
    return f"Details description[{key}]"


def note(key: str) -> str:
    return f"internal-note[{key}] staff only: check the chargeback history"


def reply(key: str) -> str:
    return f"public-reply[{key}] we are looking into it"


def internal_file(key: str) -> str:
    return f"staff-only-{key}.txt"


def internal_content(key: str) -> bytes:
    return f"staff-only-content[{key}]".encode()


def public_file(key: str) -> str:
    return f"public-{key}.txt"


def public_content(key: str) -> bytes:
    return f"public-content[{key}]".encode()


def markers_hidden_from(persona: str) -> list[str]:
    hidden: list[str] = []
    for key in TICKETS:
        if not sees(persona, key):
            hidden += [subject(key), description(key), reply(key), public_file(key)]
            hidden += [public_content(key).decode()]
        if not sees(persona, key) or persona not in STAFF:
            hidden += [f"internal-note[{key}]", internal_file(key), internal_content(key).decode()]
    return hidden


# --- the world ---------------------------------------------------------------------------------------
@dataclass
class World:
    client: TestClient
    ids: dict[str, int]  # ticket key -> id
    headers: dict[str, dict[str, str]]  # persona -> Authorization header
    customer_ids: dict[str, int]  # alice, bob, carol, dave, erin -> customer id
    user_ids: dict[str, int]
    org_ids: dict[str, int]
    tier_ids: dict[str, int]
    team_ids: dict[str, int]
    attachments: dict[str, dict[str, int]]  # ticket key -> {"internal": id, "public": id}

    def call(self, persona: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One API request as `persona`; fails on a 500 or on any marker the persona may not see."""
        r = self.client.request(method, API + path, headers=self.headers[persona], **kwargs)
        assert r.status_code < 500, f"{persona} {method} {path} -> {r.status_code}: {r.text[:300]}"
        leaked = [m for m in markers_hidden_from(persona) if m in r.text]
        assert not leaked, f"{persona} {method} {path} -> {r.status_code} leaks {leaked}: {r.text[:600]}"
        return r

    def get(self, persona: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.call(persona, "GET", path, **kwargs)

    def upload(self, persona: str, key: str, name: str, content: bytes, internal: bool) -> httpx.Response:
        return self.call(
            persona,
            "POST",
            f"/tickets/{self.ids[key]}/attachments",
            files={"file": (name, content, "text/plain")},
            data={"internal": "true" if internal else "false"},
        )

    def key_of(self, ticket_id: int) -> str:
        return next(k for k, v in self.ids.items() if v == ticket_id)

    def snapshot(self, key: str) -> tuple[Any, ...]:
        """What the admin sees of a ticket: proves a refused change changed nothing."""
        tid = self.ids[key]
        t = self.get("admin", f"/tickets/{tid}").json()
        return (
            t["priority"],
            t["status"],
            t["updated_at"],
            len(self.get("admin", f"/tickets/{tid}/messages").json()),
            len(self.get("admin", f"/tickets/{tid}/attachments").json()),
            len(self.get("admin", f"/tickets/{tid}/events").json()),
            len(self.get("admin", f"/tickets/{tid}/links").json()),
        )


@pytest.fixture
def world(client: TestClient, db: Session, clock: FrozenClock) -> Iterator[World]:
    hd = f.helpdesk(db)
    customer_ids = dict(hd.customers)
    for name in ("dave", "erin"):
        customer_ids[name] = customers.create_customer(
            db,
            SYSTEM,
            CustomerIn(name=name, email=f"{name}@globex.example.com", organization_id=hd.orgs["globex"]),
        ).id
    headers: dict[str, dict[str, str]] = {ANONYMOUS: {}}
    for persona in (*CUSTOMERS, *STAFF):
        headers[persona] = {"Authorization": f"Bearer {f.token(db, hd.users[persona], clock.now())}"}

    ids: dict[str, int] = {}
    for key, spec in TICKETS.items():
        clock.advance(minutes=5)
        routed = key != "alice_l1"  # alice's ticket starts at L0 and is routed by hand below
        ids[key] = f.ticket(
            db,
            SYSTEM,
            clock.now(),
            subject=subject(key),
            description=description(key),
            requester_id=customer_ids[spec.requester],
            tier_id=hd.tiers[spec.tier if routed else "L0"],
            team_id=hd.teams[spec.team] if spec.team else None,
            assignee_id=hd.users[spec.assignee] if spec.assignee and routed else None,
            tags=list(spec.tags),
            priority=spec.priority,
        ).id

    # alice_l1: staff-only history (tier move, assignment, link), a note, replies both ways.
    l1 = f.actor(db, hd.users["l1"])
    clock.advance(minutes=1)
    tickets.update_ticket(
        db,
        SYSTEM,
        ids["alice_l1"],
        TicketPatch(tier_id=hd.tiers["L1"], assignee_id=hd.users["supervisor"], reason="routing"),
        clock.now(),
    )
    tickets.add_link(
        db,
        SYSTEM,
        ids["alice_l1"],
        LinkCreate(kind="related", target_ticket_id=ids["bob_l3"], note="same outage?"),
        clock.now(),
    )
    alice = f.actor(db, hd.users["alice"])
    for key, spec in TICKETS.items():
        clock.advance(minutes=1)
        author = l1 if key == "alice_l1" else SYSTEM
        tickets.add_message(
            db, author, ids[key], MessageCreate(body=note(key), kind=MessageKind.internal), clock.now()
        )
        if spec.status != "new":
            clock.advance(minutes=1)
            status = spec.status if spec.status in ("pending", "solved") else None
            tickets.add_message(
                db, author, ids[key], MessageCreate(body=reply(key), status=status), clock.now()
            )
    clock.advance(minutes=1)
    tickets.add_message(db, alice, ids["alice_l1"], MessageCreate(body="Thanks, still broken."), clock.now())
    db.flush()

    w = World(
        client=client,
        ids=ids,
        headers=headers,
        customer_ids=customer_ids,
        user_ids=dict(hd.users),
        org_ids=dict(hd.orgs),
        tier_ids=dict(hd.tiers),
        team_ids=dict(hd.teams),
        attachments={},
    )
    # Attachments go through the API (multipart), the internal one by an agent of the ticket.
    for key, spec in TICKETS.items():
        clock.advance(minutes=1)
        inner = w.upload(spec.internal_uploader, key, internal_file(key), internal_content(key), True)
        assert inner.status_code == 201, inner.text
        outer = w.upload(spec.public_uploader, key, public_file(key), public_content(key), False)
        assert outer.status_code == 201, outer.text
        w.attachments[key] = {"internal": inner.json()["id"], "public": outer.json()["id"]}
    for key, spec in TICKETS.items():  # the fixture built what the table describes
        t = w.get("admin", f"/tickets/{ids[key]}").json()
        assert (t["status"], t["priority"], tuple(t["tags"])) == (spec.status, spec.priority, spec.tags)
    clock.advance(minutes=1)
    db.commit()  # what the fixture wrote through services, as a request commits it (counters)
    yield w


def page_through(
    w: World, persona: str, params: dict[str, Any], sort: str = "-created_at", limit: int = 2
) -> list[int]:
    """Every ticket id of a list, following next_cursor with tiny pages."""
    seen: list[int] = []
    cursor: str | None = None
    for _ in range(20):
        query = {**params, "limit": limit, "sort": sort} | ({"cursor": cursor} if cursor else {})
        r = w.get(persona, "/tickets", params=query)
        assert r.status_code == 200, r.text
        page = r.json()
        for item in page["items"]:
            if persona in CUSTOMERS:
                assert set(item) <= CUSTOMER_FIELDS, f"{persona} gets staff-only fields in a list"
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            return seen
    raise AssertionError("the list never ended")


# --- read ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("persona", "ticket"), CELLS)
def test_persona_reads_a_ticket_only_if_they_may_see_it(world: World, persona: str, ticket: str) -> None:
    tid = world.ids[ticket]
    for ref in (str(tid), f"T-{tid}", f"t-{tid}"):
        r = world.get(persona, f"/tickets/{ref}")
        if not sees(persona, ticket):
            assert r.status_code == denied(persona, ticket), (
                f"{persona} reads {ticket}: {r.status_code} {r.text}"
            )
            continue
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["id"], body["subject"]) == (tid, subject(ticket))
        if persona in CUSTOMERS:
            assert set(body) <= CUSTOMER_FIELDS
            assert not STAFF_ONLY_FIELDS & set(body)
        else:
            assert body["tier_id"] == world.tier_ids[TICKETS[ticket].tier]
            assert body["tags"] == list(TICKETS[ticket].tags)


# --- timeline, messages, events, attachments -------------------------------------------------------
@pytest.mark.parametrize(("persona", "ticket"), CELLS)
def test_persona_reads_a_tickets_history_only_if_they_may_see_it(
    world: World, persona: str, ticket: str
) -> None:
    tid = world.ids[ticket]
    att = world.attachments[ticket]
    paths = [f"/tickets/{tid}/{part}" for part in ("timeline", "messages", "events", "attachments")]
    downloads = [
        f"/tickets/{tid}/attachments/{att['internal']}",
        f"/tickets/{tid}/attachments/{att['public']}",
    ]
    if not sees(persona, ticket):
        for path in paths + downloads:
            r = world.get(persona, path)
            assert r.status_code == denied(persona, ticket), f"{persona} GET {path}: {r.status_code} {r.text}"
        return

    timeline, messages, events, attachments = (world.get(persona, p) for p in paths)
    for r in (timeline, messages, events, attachments):
        assert r.status_code == 200, r.text
    message_kinds = {m["kind"] for m in messages.json()}
    event_kinds = [e["kind"] for e in events.json()]
    entries = timeline.json()["entries"]
    assert {e["message"]["id"] for e in entries if e["type"] == "message"} == {
        m["id"] for m in messages.json()
    }
    assert {e["event"]["id"] for e in entries if e["type"] == "event"} == {e["id"] for e in events.json()}
    attachment_ids = {a["id"] for a in attachments.json()}
    public = world.get(persona, downloads[1])
    assert public.status_code == 200 and public.content == public_content(ticket)
    internal = world.get(persona, downloads[0])
    if persona in CUSTOMERS:
        assert message_kinds <= {"public"}
        for e in events.json():
            assert e["kind"] in CUSTOMER_EVENT_KINDS or (
                e["kind"] == "field_changed" and e["field"] in CUSTOMER_EVENT_FIELDS
            ), f"{persona} sees a staff-only event on {ticket}: {e}"
        assert attachment_ids == {att["public"]}
        assert internal.status_code == 404, (
            f"{persona} downloads an internal attachment: {internal.status_code}"
        )
    else:
        assert message_kinds == ({"internal", "public"} if TICKETS[ticket].status != "new" else {"internal"})
        assert note(ticket) in messages.text
        assert "internal_note" in event_kinds and "attachment_added" in event_kinds
        assert attachment_ids == {att["internal"], att["public"]}
        assert internal.status_code == 200 and internal.content == internal_content(ticket)


# --- modify ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("persona", "ticket"), CELLS)
def test_persona_changes_a_ticket_only_if_they_may_see_it(world: World, persona: str, ticket: str) -> None:
    tid = world.ids[ticket]
    priority = "low" if TICKETS[ticket].priority == "high" else "high"
    before = world.snapshot(ticket)

    def patch() -> httpx.Response:
        return world.call(persona, "PATCH", f"/tickets/{tid}", json={"priority": priority})

    def post(kind: str) -> httpx.Response:
        body = {"body": f"{kind} message by {persona}", "kind": kind}
        return world.call(persona, "POST", f"/tickets/{tid}/messages", json=body)

    def upload(internal: bool) -> httpx.Response:
        return world.upload(persona, ticket, f"by-{persona}.txt", b"hello", internal)

    if not sees(persona, ticket):
        for name, attempt in (
            ("PATCH priority", patch),
            ("public reply", lambda: post("public")),
            ("internal note", lambda: post("internal")),
            ("public upload", lambda: upload(False)),
            ("internal upload", lambda: upload(True)),
        ):
            r = attempt()
            assert r.status_code == denied(persona, ticket), (
                f"{persona} {name} on {ticket}: {r.status_code} {r.text}"
            )
        assert world.snapshot(ticket) == before, f"a refused change by {persona} changed {ticket}"
        return

    if persona in CUSTOMERS:
        # Sees the ticket, but these are staff actions: 403 (404 would also not leak).
        for name, attempt in (
            ("PATCH priority", patch),
            ("internal note", lambda: post("internal")),
            ("internal upload", lambda: upload(True)),
        ):
            r = attempt()
            assert r.status_code in (403, 404), f"{persona} {name} on {ticket}: {r.status_code} {r.text}"
        assert world.snapshot(ticket) == before, f"a refused change by {persona} changed {ticket}"
        r = post("public")
        assert r.status_code == 201, r.text
        assert r.json()["kind"] == "public"
        assert upload(False).status_code == 201
        r = world.call(persona, "PATCH", f"/tickets/{tid}", json={"status": "solved"})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "solved" and set(r.json()) <= CUSTOMER_FIELDS
        return

    r = patch()
    assert r.status_code == 200, r.text
    assert r.json()["priority"] == priority
    for kind in ("public", "internal"):
        r = post(kind)
        assert r.status_code == 201, r.text
        assert r.json()["kind"] == kind
    for internal in (False, True):
        r = upload(internal)
        assert r.status_code == 201, r.text
        assert r.json()["internal"] is internal


# --- list and search --------------------------------------------------------------------------------
@pytest.mark.parametrize("persona", PERSONAS)
def test_persona_sees_exactly_the_tickets_they_should(world: World, persona: str) -> None:
    if persona == ANONYMOUS:
        assert world.get(persona, "/tickets").status_code == 401
        return
    for sort in ("-created_at", "created_at", "-updated_at"):
        ids = page_through(world, persona, {}, sort)
        assert len(ids) == len(set(ids)), f"{persona}: a ticket appears twice with sort {sort}"
        assert {world.key_of(i) for i in ids} == VISIBLE[persona], f"{persona} with sort {sort}"


Search = tuple[str, Callable[[World], dict[str, Any]], Callable[[Spec], bool]]


def _by_requester(c: str) -> Search:
    return (f"requester={c}", lambda w: {"requester_id": w.customer_ids[c]}, lambda s: s.requester == c)


def _by_organization(o: str, status: str | None = None) -> Search:
    def params(w: World) -> dict[str, Any]:
        return {"organization_id": w.org_ids[o]} | ({"status": status} if status else {})

    def matches(s: Spec) -> bool:
        return ORGANIZATION_OF[s.requester] == o and status in (None, s.status)

    return (f"organization={o}" + (f"&status={status}" if status else ""), params, matches)


def _by_field(name: str, value: str) -> Search:
    """tag, status or priority: a query parameter named like the Spec field."""
    field = "tags" if name == "tag" else name

    def matches(s: Spec) -> bool:
        got = getattr(s, field)
        return value in got if isinstance(got, tuple) else bool(got == value)

    return (f"{name}={value}", lambda w: {name: value}, matches)


def _by_routing(name: str, key: str) -> Search:
    """tier, team or assignee: staff-only filters."""

    def params(w: World) -> dict[str, Any]:
        ids = {"tier": w.tier_ids, "team": w.team_ids, "assignee": w.user_ids}[name]
        return {f"{name}_id": ids[key]}

    return (f"{name}={key}", params, lambda s: getattr(s, name) == key)


def _searches(kind: str) -> list[Search]:
    """(label, query parameters, which tickets match) for one kind of filter."""
    if kind == "requester-organization":
        return [
            *(_by_requester(c) for c in ORGANIZATION_OF),
            _by_organization("acme"),
            _by_organization("globex"),
            _by_organization("globex", status="new"),
        ]
    if kind == "tag":
        tags = sorted({t for s in TICKETS.values() for t in s.tags} | {"no-such-tag"})
        return [_by_field("tag", t) for t in tags]
    if kind == "status-priority":
        both: Search = (
            "status=new&status=open",
            lambda w: {"status": ["new", "open"]},
            lambda s: s.status in ("new", "open"),
        )
        return [
            *(_by_field("status", st) for st in ("new", "open", "pending", "solved", "closed")),
            both,
            *(_by_field("priority", p) for p in ("urgent", "high", "normal", "low")),
        ]
    assert kind == "routing"
    unassigned: Search = ("unassigned", lambda w: {"unassigned": "true"}, lambda s: s.assignee is None)
    return [
        *(_by_routing("tier", t) for t in ("L0", "L1", "L2", "L3", "L4")),
        *(_by_routing("team", t) for t in ("fraud", "billing")),
        *(_by_routing("assignee", u) for u in ("l3", "supervisor", "fraud")),
        unassigned,
    ]


SEARCH_KINDS = ("requester-organization", "tag", "status-priority", "routing")


@pytest.mark.parametrize("kind", SEARCH_KINDS)
@pytest.mark.parametrize("persona", PERSONAS)
def test_search_filters_never_show_a_persona_more_than_they_may_see(
    world: World, persona: str, kind: str
) -> None:
    for label, params, matches in _searches(kind):
        if persona == ANONYMOUS:
            r = world.get(persona, "/tickets", params=params(world))
            assert r.status_code == 401, f"anonymous {label}: {r.status_code}"
            continue
        staff_only_filter = kind in ("tag", "routing")
        if persona in CUSTOMERS and staff_only_filter:
            # Tags and routing are hidden from customers: refusing the filter is right (whether
            # a filter that is accepted reveals them is the probing test's business).
            r = world.get(persona, "/tickets", params=params(world))
            if r.status_code in (403, 422):
                continue
        found = {world.key_of(i) for i in page_through(world, persona, params(world), limit=100)}
        assert found <= VISIBLE[persona], f"{persona} {label} leaks {found - VISIBLE[persona]}"
        if persona in CUSTOMERS and staff_only_filter:
            continue
        expected = {k for k in VISIBLE[persona] if matches(TICKETS[k])}
        assert found == expected, f"{persona} {label}"


@pytest.mark.parametrize("persona", PERSONAS)
def test_keyword_search_finds_only_what_the_persona_may_see_and_notes_for_staff_only(
    world: World, db: Session, clock: FrozenClock, persona: str
) -> None:
    search.drain_queue(db, clock.now())  # what the worker does after the fixture's changes
    for q, expected in (
        ("help needed", VISIBLE[persona]),  # every subject
        ("details description", VISIBLE[persona]),  # every description
        ("chargeback history", VISIBLE[persona] if persona in STAFF else frozenset()),  # every note
        ("staff only help", VISIBLE[persona] if persona in STAFF else frozenset()),  # note + subject
    ):
        for order in ("newest", "relevance"):
            r = world.get(persona, "/tickets/search", params={"q": q, "limit": 100, "order": order})
            if persona == ANONYMOUS:
                assert r.status_code == 401
                continue
            assert r.status_code == 200, r.text
            found = {world.key_of(item["id"]) for item in r.json()["items"]}
            assert found == expected, f"{persona} searching {q!r} ({order})"


# --- customers and internal material --------------------------------------------------------------
@pytest.mark.parametrize("persona", CUSTOMERS)
def test_internal_notes_never_reach_customers(world: World, persona: str) -> None:
    # A note added through the API after the fact, on a ticket the customer can see.
    staff = "l1" if sees(persona, "alice_l1") else "l2"
    target = "alice_l1" if staff == "l1" else "carol_l2"
    late_note = f"internal-note[{target}] added later: do not tell the customer"
    r = world.call(
        staff, "POST", f"/tickets/{world.ids[target]}/messages", json={"body": late_note, "kind": "internal"}
    )
    assert r.status_code == 201, r.text
    # Every ticket read endpoint, every ticket (world.call rejects any body holding a note
    # or an internal attachment's name or content).
    bodies: list[str] = []
    for key, tid in world.ids.items():
        for part in ("", "/timeline", "/messages", "/events", "/attachments", "/links"):
            bodies.append(world.get(persona, f"/tickets/{tid}{part}").text)
        for att_id in world.attachments[key].values():
            bodies.append(world.get(persona, f"/tickets/{tid}/attachments/{att_id}").text)
    for params in ({}, {"status": "open"}, {"organization_id": world.org_ids["acme"]}, {"tag": "vip"}):
        bodies.append(world.get(persona, "/tickets", params=params).text)
    assert not any("internal-note[" in b or "staff-only-" in b for b in bodies)
    assert not any(late_note in b for b in bodies)


@pytest.mark.parametrize("persona", CUSTOMERS)
def test_customer_event_history_does_not_reveal_tier_team_assignee_or_tags(
    world: World, persona: str
) -> None:
    """The customer representation omits tier, team, assignee and tags; the events a
    customer may see must not hand them over either (e.g. in the `created` event's data)."""
    for key in sorted(VISIBLE[persona]):
        tid = world.ids[key]
        events = world.get(persona, f"/tickets/{tid}/events").json()
        timeline = world.get(persona, f"/tickets/{tid}/timeline").json()["entries"]
        for e in events + [t["event"] for t in timeline if t["type"] == "event"]:
            exposed = STAFF_ONLY_FIELDS & set(e.get("data") or {})
            assert not exposed, (
                f"{persona} sees {sorted(exposed)} in the {e['kind']} event of {key}: {e['data']}"
            )
            assert e["field"] in (None, *CUSTOMER_EVENT_FIELDS), (
                f"{persona} sees a {e['field']} change on {key}"
            )


@pytest.mark.parametrize("persona", CUSTOMERS)
def test_customers_cannot_probe_staff_only_fields_through_list_filters(world: World, persona: str) -> None:
    """Filtering on a hidden field would reveal it: refuse it (403/422) or ignore it."""
    everything = sorted(page_through(world, persona, {}))
    for params in (
        {"tier_id": world.tier_ids["L1"]},
        {"team_id": world.team_ids["fraud"]},
        {"assignee_id": world.user_ids["supervisor"]},
    ):
        r = world.get(persona, "/tickets", params=params)
        assert r.status_code in (403, 422), f"{persona} filters by {params}: {r.status_code}"
    probes: list[dict[str, Any]] = [{"unassigned": "true"}, {"unassigned": "false"}]
    probes += [{"tag": tag} for key in sorted(VISIBLE[persona]) for tag in TICKETS[key].tags]
    leaks = []
    for params in probes:
        r = world.get(persona, "/tickets", params=params)
        if r.status_code in (403, 422):
            continue
        got = sorted(page_through(world, persona, params))
        if got != everything:
            leaks.append(f"{params} -> {sorted(world.key_of(i) for i in got)}")
    assert not leaks, (
        f"{persona} learns staff-only data by filtering (all their tickets: "
        f"{sorted(world.key_of(i) for i in everything)}): " + "; ".join(leaks)
    )


@pytest.mark.parametrize("persona", CUSTOMERS)
def test_customers_cannot_read_another_customers_record(world: World, persona: str) -> None:
    own = world.get(persona, f"/customers/{world.customer_ids[persona]}")
    assert own.status_code == 200 and own.json()["id"] == world.customer_ids[persona]
    for other, cid in world.customer_ids.items():
        if other == persona:
            continue
        r = world.get(persona, f"/customers/{cid}")
        assert r.status_code == 404, f"{persona} reads customer {other}: {r.status_code} {r.text}"
        assert f"{other}@" not in r.text
    own_org = ORGANIZATION_OF[persona]
    for org, oid in world.org_ids.items():
        r = world.get(persona, f"/organizations/{oid}")
        if org == own_org:
            assert r.status_code == 200
        else:
            assert r.status_code == 404, f"{persona} reads organization {org}: {r.status_code}"


@pytest.mark.parametrize("persona", CUSTOMERS)
def test_customers_cannot_list_users_organizations_or_customers(world: World, persona: str) -> None:
    others = [c for c in world.customer_ids if c != persona]
    for path in ("/users", "/organizations", "/customers", "/users?role=customer"):
        r = world.get(persona, path)
        assert r.status_code in (403, 404), f"{persona} GET {path}: {r.status_code}"
        assert not any(f"{c}@" in r.text for c in others) and "@desk.example.com" not in r.text
    for name, uid in world.user_ids.items():
        if name != persona:
            r = world.get(persona, f"/users/{uid}")
            assert r.status_code in (403, 404), f"{persona} GET /users/{uid} ({name}): {r.status_code}"


def test_contacts_of_an_organization_that_does_not_share_see_only_their_own_tickets(
    world: World, db: Session, clock: FrozenClock
) -> None:
    user = accounts.create_user(
        db,
        SYSTEM,
        UserIn(
            email="erin@globex.example.com",
            name="erin",
            role=Role.customer,
            password=f.PASSWORD,
            customer_id=world.customer_ids["erin"],
        ),
    )
    world.headers["erin"] = {"Authorization": f"Bearer {f.token(db, user.id, clock.now())}"}
    ids = page_through(world, "erin", {})
    assert {world.key_of(i) for i in ids} == VISIBLE["erin"]
    found = page_through(world, "erin", {"organization_id": world.org_ids["globex"]})
    assert {world.key_of(i) for i in found} == VISIBLE["erin"]
    for key, tid in world.ids.items():
        for part in ("", "/timeline", "/messages", "/events", "/attachments"):
            r = world.get("erin", f"/tickets/{tid}{part}")
            expected = 200 if key in VISIBLE["erin"] else 404
            assert r.status_code == expected, f"erin GET {part or 'ticket'} of {key}: {r.status_code}"
        r = world.call("erin", "POST", f"/tickets/{tid}/messages", json={"body": "any news?"})
        assert r.status_code == (201 if key in VISIBLE["erin"] else 404), f"erin replies on {key}"


def test_anonymous_callers_get_401_from_every_endpoint(world: World) -> None:
    tid = world.ids["alice_l1"]
    att = world.attachments["alice_l1"]["public"]
    paths = [
        "/me",
        "/tickets",
        f"/tickets/{tid}",
        f"/tickets/{tid}/timeline",
        f"/tickets/{tid}/messages",
        f"/tickets/{tid}/events",
        f"/tickets/{tid}/attachments",
        f"/tickets/{tid}/attachments/{att}",
        f"/tickets/{tid}/links",
        "/users",
        f"/users/{world.user_ids['alice']}",
        "/organizations",
        f"/organizations/{world.org_ids['acme']}",
        "/customers",
        f"/customers/{world.customer_ids['alice']}",
        "/dashboard",
    ]
    got = {path: world.get(ANONYMOUS, path).status_code for path in paths}
    wrong = {path: status for path, status in got.items() if status != 401}
    assert not wrong, f"anonymous GETs answered without asking to sign in: {wrong}"


# --- the supervisor dashboard: figures, never tickets ------------------------------------------------
@pytest.mark.parametrize("persona", PERSONAS)
def test_only_supervisors_and_admins_read_the_dashboard_and_it_names_no_ticket(
    world: World, persona: str
) -> None:
    r = world.get(persona, "/dashboard")  # every response is scanned for other tickets' markers
    expected = {ANONYMOUS: 401, "supervisor": 200, "admin": 200}.get(persona, 403)
    assert r.status_code == expected, f"{persona} GET /dashboard: {r.status_code}"
    if expected == 200:
        counts = {row["tier"]: row["total"] for row in r.json()["tickets"]}
        # Counts cover every unsolved ticket, the need-to-know one included (a number, not a ticket).
        assert counts["L1"] == 2 and counts["L2"] == 1 and counts.get("L4") == 1
        assert not any(marker in r.text for marker in ("T-", "subject"))


# --- staff-only endpoints: links and merge ----------------------------------------------------------
@pytest.mark.parametrize("persona", PERSONAS)
def test_links_and_merges_answer_404_for_tickets_the_persona_may_not_see(world: World, persona: str) -> None:
    visible = sorted(VISIBLE[persona])
    before = {key: world.snapshot(key) for key in TICKETS}
    wrong: list[str] = []
    for key, tid in world.ids.items():
        links = world.get(persona, f"/tickets/{tid}/links")
        add = world.call(
            persona,
            "POST",
            f"/tickets/{tid}/links",
            json={"kind": "engineering_bug", "external_key": "ENG-1"},
        )
        if persona in STAFF and sees(persona, key):
            assert links.status_code == 200, links.text
            assert add.status_code == 201, add.text
            continue  # merging two visible tickets would change the world: see below
        into = next((world.ids[v] for v in visible if v != key), world.ids["carol_l2"])
        if into == tid:
            into = world.ids["alice_l1"]
        merge = world.call(persona, "POST", f"/tickets/{tid}/merge", json={"into_ticket_id": into})
        expected = {403, 404} if sees(persona, key) else {denied(persona, key)}
        for what, r in (("list links", links), ("add a link", add), ("merge", merge)):
            if r.status_code not in expected:
                wrong.append(f"{what} on {key}: {r.status_code} (expected {sorted(expected)})")
    for key in TICKETS:
        if not (persona in STAFF and sees(persona, key)):
            assert world.snapshot(key) == before[key], f"{persona} changed {key} through links or merge"
    # A visible ticket merged into a hidden one: the hidden target is "not found".
    for key in visible:
        for hidden in sorted(ALL - VISIBLE[persona]):
            r = world.call(
                persona,
                "POST",
                f"/tickets/{world.ids[key]}/merge",
                json={"into_ticket_id": world.ids[hidden]},
            )
            expected = {denied(persona, hidden)} if persona in STAFF else {403, 404}
            if r.status_code not in expected:
                wrong.append(
                    f"merge {key} into hidden {hidden}: {r.status_code} (expected {sorted(expected)})"
                )
            assert world.get("admin", f"/tickets/{world.ids[key]}").json()["status"] == TICKETS[key].status
    assert not wrong, f"{persona}: " + "; ".join(wrong)
