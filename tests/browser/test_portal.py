"""The customer portal in a real browser: open a ticket, get an answer, reply, rate; the
same in Japanese; and a phone-sized screen where nothing runs off the side."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from tests.browser.conftest import PHONE, PageFactory, Server
from tests.browser.support import assert_no_horizontal_overflow
from tierdesk.accounts import service as accounts
from tierdesk.accounts.models import User
from tierdesk.customers.models import Customer
from tierdesk.tickets import service as tickets
from tierdesk.tickets.models import Status, Ticket
from tierdesk.tickets.schemas import MessageCreate

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _open_ticket(page: Any, subject: str, description: str, send: str = "Send") -> int:
    page.goto("/portal/new")
    page.locator("#subject").fill(subject)
    page.locator("#description").fill(description)
    page.locator("#attachments").set_input_files(
        files=[{"name": "screenshot.png", "mimeType": "image/png", "buffer": PNG}]
    )
    page.get_by_role("button", name=send).click()
    page.wait_for_url(re.compile(r"/portal/tickets/T-\d+"))
    return int(re.search(r"T-(\d+)", page.url).group(1))  # type: ignore[union-attr]


def _shoot(page: Any, path: Path) -> None:
    # Full-page shots from the top: a sticky header would otherwise sit where the page was scrolled.
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path), full_page=True)


def _agent_answers_and_solves(server: Server, ticket_id: int, answer: str) -> None:
    """An agent (the demo administrator) replies and marks the ticket solved, through the
    same service the workspace uses."""
    with server.db() as db:
        user = db.query(User).filter(User.email == server.email("admin")).one()
        agent = accounts.actor_for_user_id(db, user.id)
        now = datetime.now(UTC)
        tickets.add_message(db, agent, ticket_id, MessageCreate(body=answer, status=Status.solved), now)
        db.commit()


def test_a_customer_opens_a_ticket_in_the_portal(login: PageFactory, server: Server, shots: Path) -> None:
    page = login("noah.turner")
    assert page.url.endswith("/portal")
    page.screenshot(path=str(shots / "portal-list.png"))
    ticket_id = _open_ticket(page, "My parcel is lost", "Order 5512 left the depot ten days ago.")
    assert page.get_by_role("status").inner_text().startswith("Thank you")
    assert page.get_by_role("heading", level=1).inner_text() == "My parcel is lost"
    assert page.get_by_role("link", name="screenshot.png").is_visible()
    page.goto("/portal")
    assert page.get_by_role("link", name=re.compile("My parcel is lost")).is_visible()
    page.goto("/portal/new")
    page.screenshot(path=str(shots / "portal-new.png"))
    with server.db(write=False) as db:
        user = db.query(User).filter(User.email == server.email("noah.turner")).one()
        ticket = tickets.get_ticket(db, accounts.actor_for_user_id(db, user.id), ticket_id)  # type: ignore[arg-type]
        assert (ticket.channel, ticket.status, ticket.requester_id) == ("web", "new", user.customer_id)


def test_the_customer_replies_and_rates_a_solved_ticket(
    login: PageFactory, server: Server, shots: Path
) -> None:
    page = login("noah.turner")
    ticket_id = _open_ticket(page, "Refund for a broken kettle", "It stopped working after two days.")
    _agent_answers_and_solves(server, ticket_id, "We refunded order 7731; you will see it in 3 days.")
    page.reload()
    assert page.get_by_text("We refunded order 7731").is_visible()
    assert page.locator(".status").first.inner_text() == "Solved"
    _shoot(page, shots / "portal-ticket.png")
    page.get_by_label("4").check()
    page.get_by_label("Comment (optional)").fill("Quick refund, thank you.")
    page.get_by_role("button", name="Send rating").click()
    page.wait_for_url(re.compile(r"#rating$"))
    assert page.get_by_text("You rated this answer 4 out of 5.").is_visible()
    page.get_by_label("Your message").fill("One more thing: may I keep the kettle?")
    page.get_by_role("button", name="Send reply").click()
    page.wait_for_url(re.compile(rf"/portal/tickets/T-{ticket_id}"))
    assert page.get_by_text("may I keep the kettle?").is_visible()
    assert page.locator(".status").first.inner_text() == "In progress"  # the reply reopened it


def test_the_same_portal_flow_in_japanese(login: PageFactory, server: Server, shots: Path) -> None:
    page = login("hanako.sato", locale="ja-JP")  # a Japanese profile at Kitsune Logistics
    assert page.locator("html").get_attribute("lang") == "ja"
    assert page.get_by_role("heading", level=1).inner_text() == "自分のチケット"
    ticket_id = _open_ticket(
        page, "請求書の金額が違います", "請求書 INV-2026-118 の席数が多すぎます。", send="送信"
    )
    assert "受け付けました" in page.get_by_role("status").inner_text()
    _agent_answers_and_solves(server, ticket_id, "請求書を修正しました。")
    page.reload()
    assert page.locator(".status").first.inner_text() == "解決済み"
    assert page.get_by_role("heading", name="いかがでしたか？").is_visible()
    page.get_by_label("5").check()
    page.get_by_role("button", name="評価を送信").click()
    assert page.get_by_text("この回答を 5 段階中 5 と評価しました。").is_visible()
    _shoot(page, shots / "portal-ticket-ja.png")


def test_the_portal_fits_a_phone_screen(login: PageFactory, shots: Path) -> None:
    page = login("francesca.russo", viewport=PHONE)
    ticket_id = _open_ticket(
        page,
        "La prenotazione del ristorante non compare sul gestionale della reception",
        "Il numero di prenotazione BV-2026-000123456789 non si trova.",
        send="Invia",
    )
    for path, shot in (
        ("/portal", "portal-list-phone"),
        ("/portal/new", None),
        (f"/portal/tickets/T-{ticket_id}", "portal-ticket-phone"),
        ("/portal?state=all", None),
        ("/preferences", None),
    ):
        page.goto(path)
        assert_no_horizontal_overflow(page)
        if shot:
            _shoot(page, shots / f"{shot}.png")


def test_a_b2b_contact_sees_the_organizations_tickets(login: PageFactory, server: Server) -> None:
    page = login("hanako.sato", locale="ja-JP")  # Kitsune Logistics shares its tickets
    page.get_by_role("link", name="自分の組織").click()
    page.wait_for_url(re.compile(r"scope=organization"))
    assert page.get_by_role("heading", level=1).inner_text() == "自分の組織のチケット"
    with page.expect_navigation():  # count the rows of the new page, not of the one leaving
        page.get_by_role("link", name="すべて").click()
    listed = page.locator("ul.ticket-list li").count()
    with server.db(write=False) as db:
        hanako = db.query(User).filter(User.email == server.email("hanako.sato")).one()
        org = db.scalar(select(Customer.organization_id).where(Customer.id == hanako.customer_id))
        total = db.scalar(select(func.count()).where(Ticket.organization_id == org))
    assert listed == min(total, 20)
    assert page.get_by_text("同僚からの問い合わせ").first.is_visible()  # colleagues' tickets are marked


def test_articles_matching_the_subject_appear_while_the_customer_types(
    login: PageFactory, shots: Path
) -> None:
    page = login("noah.turner")
    page.goto("/portal/new")
    page.locator("#subject").press_sequentially("two-factor authentication", delay=20)
    suggestion = page.locator("#kb-suggestions").get_by_role("link", name="Turn on two-factor authentication")
    suggestion.wait_for(state="visible", timeout=10_000)  # debounced: after 400 ms of no typing
    page.screenshot(path=str(shots / "portal-new-suggestions.png"))
