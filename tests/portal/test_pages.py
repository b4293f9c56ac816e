"""The customer portal: open a ticket with attachments, see only what is yours (or your
organization's when it shares), read the public conversation only, reply, rate."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests import factories as f
from tierdesk.core.clock import FrozenClock
from tierdesk.tickets import service as tickets
from tierdesk.tickets.models import MessageKind, Status
from tierdesk.tickets.schemas import MessageCreate, TicketPatch

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "form has no CSRF field"
    return match.group(1)


def _sign_in(client: TestClient, email: str, language: str = "en") -> str:
    page = client.get("/login")
    r = client.post(
        "/login",
        data={"email": email, "password": f.PASSWORD, "csrf": _csrf(page.text)},
        headers={"Accept-Language": language},
    )
    assert r.status_code == 200, r.text
    return _csrf(client.get("/portal").text)


def _error_for(html: str, field: str) -> str:
    match = re.search(rf'<p class="error field-error" id="{field}-error">([^<]*)</p>', html)
    return match.group(1) if match else ""


def test_a_customer_signing_in_lands_on_their_tickets(client: TestClient, db: Session) -> None:
    f.helpdesk(db)
    _sign_in(client, "carol@cust.example.com")
    home = client.get("/")
    assert home.url.path == "/portal" and "My tickets" in home.text


def test_a_customer_opens_a_ticket_with_an_attachment(client: TestClient, db: Session) -> None:
    hd = f.helpdesk(db)
    csrf = _sign_in(client, "carol@cust.example.com")
    r = client.post(
        "/portal/new",
        data={
            "subject": "Parcel never arrived",
            "description": "Order 4411, shipped a week ago.",
            "csrf": csrf,
        },
        files=[("attachments", ("receipt.png", PNG, "image/png"))],
    )
    assert r.status_code == 200 and "/portal/tickets/T-" in str(r.url)
    assert "Parcel never arrived" in r.text and "Order 4411" in r.text and "receipt.png" in r.text
    assert "We received your request" in r.text
    assert "We received your request" not in client.get(str(r.url)).text  # shown once, not on reload
    ticket_id = int(str(r.url).split("T-")[1].split("?")[0])
    carol = f.actor(db, hd.users["carol"])
    ticket = tickets.get_ticket(db, carol, ticket_id)
    assert (ticket.channel, ticket.requester_id) == ("web", hd.customers["carol"])
    assert [a.filename for a in tickets.list_attachments(db, carol, ticket_id)] == ["receipt.png"]
    link = re.search(r'href="(/api/v1/tickets/T-\d+/attachments/\d+)"', r.text)
    assert link, "the page links the file"
    download = client.get(link.group(1))  # the session cookie is enough to read
    assert download.status_code == 200 and download.content == PNG


def test_a_new_ticket_without_subject_shows_the_error_next_to_the_field_and_saves_nothing(
    client: TestClient, db: Session
) -> None:
    hd = f.helpdesk(db)
    csrf = _sign_in(client, "carol@cust.example.com")
    r = client.post("/portal/new", data={"subject": " ", "description": "Help", "csrf": csrf})
    assert r.status_code == 422
    assert _error_for(r.text, "subject") == "This field is required."
    assert 'id="subject"' in r.text and 'aria-invalid="true" aria-describedby="subject-error"' in r.text
    assert ">Help</textarea>" in r.text  # what was typed is kept
    rows, _ = tickets.list_tickets(
        db, f.actor(db, hd.users["carol"]), tickets.TicketFilter(), "-created_at", None, 5
    )
    assert rows == []


def test_a_program_cannot_be_attached_and_nothing_is_created(client: TestClient, db: Session) -> None:
    hd = f.helpdesk(db)
    csrf = _sign_in(client, "carol@cust.example.com")
    r = client.post(
        "/portal/new",
        data={"subject": "See file", "description": "Attached", "csrf": csrf},
        files=[("attachments", ("setup.exe", b"MZ\x90\x00" + b"\x00" * 32, "application/octet-stream"))],
    )
    assert r.status_code == 422
    assert "setup.exe" in _error_for(r.text, "attachments")
    rows, _ = tickets.list_tickets(
        db, f.actor(db, hd.users["carol"]), tickets.TicketFilter(), "-created_at", None, 5
    )
    assert rows == []


def test_a_form_without_the_csrf_token_is_refused(client: TestClient, db: Session) -> None:
    hd = f.helpdesk(db)
    _sign_in(client, "carol@cust.example.com")
    r = client.post("/portal/new", data={"subject": "Forged", "description": "x", "csrf": "forged"})
    assert r.status_code == 403
    rows, _ = tickets.list_tickets(
        db, f.actor(db, hd.users["carol"]), tickets.TicketFilter(), "-created_at", None, 5
    )
    assert rows == []


def test_the_ticket_page_shows_public_replies_but_never_internal_notes(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    ticket = f.ticket(db, f.actor(db, hd.users["carol"]), clock.now(), subject="Refund please")
    l1 = f.actor(db, hd.users["l1"])
    tickets.add_message(db, l1, ticket.id, MessageCreate(body="We are on it."), clock.now())
    tickets.add_message(
        db,
        l1,
        ticket.id,
        MessageCreate(body="SECRET: customer looks like a chargeback risk", kind=MessageKind.internal),
        clock.now(),
    )
    _sign_in(client, "carol@cust.example.com")
    page = client.get(f"/portal/tickets/T-{ticket.id}")
    assert page.status_code == 200
    assert "We are on it." in page.text and "Support team" in page.text
    assert "SECRET" not in page.text and "chargeback" not in page.text


def test_a_stranger_gets_not_found_for_someone_elses_ticket(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    ticket = f.ticket(db, f.actor(db, hd.users["alice"]), clock.now(), subject="Acme invoice")
    csrf = _sign_in(client, "carol@cust.example.com")
    page = client.get(f"/portal/tickets/T-{ticket.id}")
    assert page.status_code == 404 and "Acme invoice" not in page.text
    assert "text/html" in page.headers["content-type"]
    r = client.post(f"/portal/tickets/T-{ticket.id}/reply", data={"body": "hi", "csrf": csrf})
    assert r.status_code == 404
    assert client.get("/portal/tickets/not-a-number").status_code == 404


def test_a_b2b_contact_sees_the_organizations_tickets_when_it_shares_them(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)  # Acme shares tickets between alice and bob
    f.ticket(db, f.actor(db, hd.users["alice"]), clock.now(), subject="Alice asks about SSO")
    f.ticket(db, f.actor(db, hd.users["bob"]), clock.now(), subject="Bob asks about invoices")
    _sign_in(client, "bob@cust.example.com")
    mine = client.get("/portal")
    assert "Bob asks about invoices" in mine.text and "Alice asks about SSO" not in mine.text
    org = client.get("/portal?scope=organization")
    assert "Bob asks about invoices" in org.text and "Alice asks about SSO" in org.text
    assert "asked by a colleague" in org.text


def test_a_contact_of_an_organization_that_does_not_share_sees_only_their_own(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)  # Globex does not share tickets
    f.customer_login(db, "dave@globex.example.com", hd.orgs["globex"])
    erin_user, _ = f.customer_login(db, "erin@globex.example.com", hd.orgs["globex"])
    theirs = f.ticket(db, f.actor(db, erin_user), clock.now(), subject="Erin asks privately")
    _sign_in(client, "dave@globex.example.com")
    org = client.get("/portal?scope=organization&state=all")
    assert "My organization" not in org.text and "Erin asks privately" not in org.text
    assert client.get(f"/portal/tickets/T-{theirs.id}").status_code == 404


def test_the_list_pages_with_a_cursor_and_filters_by_state(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    carol = f.actor(db, hd.users["carol"])
    ids = []
    for n in range(23):
        clock.advance(minutes=1)
        ids.append(f.ticket(db, carol, clock.now(), subject=f"Question number {n:02d}").id)
    tickets.update_ticket(
        db, f.actor(db, hd.users["l1"]), ids[0], TicketPatch(status=Status.solved), clock.now()
    )
    _sign_in(client, "carol@cust.example.com")
    first = client.get("/portal")
    assert "Question number 22" in first.text and "Question number 03" in first.text
    assert "Question number 02" not in first.text and "Question number 00" not in first.text
    older = re.search(r'rel="next" href="([^"]+)"', first.text)
    assert older
    second = client.get(older.group(1).replace("&amp;", "&"))
    assert "Question number 02" in second.text and "Question number 01" in second.text
    assert "Question number 00" not in second.text  # solved: not in "open"
    solved = client.get("/portal?state=solved")
    assert "Question number 00" in solved.text and "Question number 01" not in solved.text


def test_the_customer_replies_and_rates_a_solved_ticket(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    ticket = f.ticket(db, f.actor(db, hd.users["carol"]), clock.now())
    csrf = _sign_in(client, "carol@cust.example.com")
    r = client.post(f"/portal/tickets/T-{ticket.id}/reply", data={"body": "Any news?", "csrf": csrf})
    assert r.status_code == 200 and "Any news?" in r.text
    assert "How did we do?" not in r.text  # not solved yet: nothing to rate
    tickets.update_ticket(
        db, f.actor(db, hd.users["l1"]), ticket.id, TicketPatch(status=Status.solved), clock.now()
    )
    page = client.get(f"/portal/tickets/T-{ticket.id}")
    assert "How did we do?" in page.text
    bad = client.post(
        f"/portal/tickets/T-{ticket.id}/rating", data={"score": "9", "comment": "", "csrf": csrf}
    )
    assert bad.status_code == 422 and _error_for(bad.text, "score") == "Choose a rating from 1 to 5."
    ok = client.post(
        f"/portal/tickets/T-{ticket.id}/rating", data={"score": "5", "comment": "Thanks!", "csrf": csrf}
    )
    assert ok.status_code == 200 and "You rated this answer 5 out of 5." in ok.text


def test_a_colleague_sees_a_shared_solved_ticket_but_gets_no_rating_form(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    ticket = f.ticket(db, f.actor(db, hd.users["alice"]), clock.now())
    tickets.update_ticket(
        db, f.actor(db, hd.users["l1"]), ticket.id, TicketPatch(status=Status.solved), clock.now()
    )
    csrf = _sign_in(client, "bob@cust.example.com")
    page = client.get(f"/portal/tickets/T-{ticket.id}")
    assert page.status_code == 200 and 'name="score"' not in page.text
    r = client.post(f"/portal/tickets/T-{ticket.id}/rating", data={"score": "1", "csrf": csrf})
    assert r.status_code == 403


def test_staff_are_sent_to_their_workspace_and_anonymous_visitors_to_sign_in(
    client: TestClient, db: Session
) -> None:
    f.helpdesk(db)
    r = client.get("/portal", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    page = client.get("/login")
    client.post(
        "/login", data={"email": "l1@desk.example.com", "password": f.PASSWORD, "csrf": _csrf(page.text)}
    )
    r = client.get("/portal/new", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_the_portal_speaks_the_customers_profile_language(client: TestClient, db: Session) -> None:
    from tierdesk.accounts.models import User

    hd = f.helpdesk(db)
    user = db.get(User, hd.users["carol"])
    assert user is not None
    user.language = "ja"
    db.flush()
    _sign_in(client, "carol@cust.example.com")
    page = client.get("/portal/new", headers={"Accept-Language": "it"})
    assert '<html lang="ja">' in page.text and "件名" in page.text


def test_the_requester_marks_their_ticket_solved_and_is_offered_the_rating(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    ticket = f.ticket(db, f.actor(db, hd.users["alice"]), clock.now())
    csrf = _sign_in(client, "alice@cust.example.com")
    assert "My problem is solved" in client.get(f"/portal/tickets/T-{ticket.id}").text
    r = client.post(f"/portal/tickets/T-{ticket.id}/solved", data={"csrf": csrf})
    assert r.status_code == 200 and "Glad it is solved" in r.text and 'name="score"' in r.text
    alice = f.actor(db, hd.users["alice"])
    db.expire_all()  # the request wrote through its own session
    assert tickets.get_ticket(db, alice, ticket.id).status == "solved"
    changes = [
        e for e in tickets.list_events(db, f.actor(db, hd.users["l1"]), ticket.id) if e.field == "status"
    ]
    assert changes[-1].new == "solved" and changes[-1].actor_customer_id == hd.customers["alice"]


def test_a_colleague_cannot_mark_someone_elses_ticket_solved(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    ticket = f.ticket(db, f.actor(db, hd.users["alice"]), clock.now())
    csrf = _sign_in(client, "bob@cust.example.com")
    assert "My problem is solved" not in client.get(f"/portal/tickets/T-{ticket.id}").text
    assert client.post(f"/portal/tickets/T-{ticket.id}/solved", data={"csrf": csrf}).status_code == 403
    forged = client.post(f"/portal/tickets/T-{ticket.id}/solved", data={"csrf": "forged"})
    assert forged.status_code == 403
    db.expire_all()
    assert tickets.get_ticket(db, f.actor(db, hd.users["alice"]), ticket.id).status == "new"
