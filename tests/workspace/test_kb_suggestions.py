"""The agent's ticket page suggests help-center articles that match the ticket; public ones
can be linked into the reply, internal ones are for the agent; a solved ticket can become
a draft article (knowledge-centred practice)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests import factories as f
from tests.kb.factories import article
from tests.workspace.test_pages import new_ticket, sign_in
from tierdesk.core.clock import FrozenClock
from tierdesk.core.security import SYSTEM
from tierdesk.kb import service as kb
from tierdesk.kb.models import Visibility
from tierdesk.tickets import service as tickets
from tierdesk.tickets.schemas import MessageCreate, TicketPatch


@pytest.fixture
def hd(db: Session) -> f.Helpdesk:
    return f.helpdesk(db)


def test_the_ticket_page_suggests_matching_articles_and_only_public_ones_can_go_into_a_reply(
    client: TestClient, db: Session, hd: f.Helpdesk, clock: FrozenClock
) -> None:
    public = article(
        db, clock.now(), "Reset your password", "Open Settings, then Security, then Reset password."
    )
    internal = article(
        db,
        clock.now(),
        "Password reset for locked accounts",
        "Unlock the account in the admin console first; never tell the customer about it.",
        visibility=Visibility.internal,
    )
    article(db, clock.now(), "Shipping to Italy", "Parcels to Italy take three days.")
    t = new_ticket(
        db, hd, clock, subject="Cannot reset my password", description="The reset mail never comes."
    )
    sign_in(client, "l1@desk.example.com")

    page = client.get(f"/tickets/T-{t.id}").text
    placeholder = page[page.index('id="articles"') : page.index('id="links"')]
    # The page itself does no KB search: the card loads after it (HTMX), or through a link.
    assert f'hx-get="/tickets/T-{t.id}/articles"' in placeholder and 'hx-trigger="load"' in placeholder
    assert "Reset your password" not in placeholder
    assert f'href="/tickets/T-{t.id}?articles=1#articles"' in placeholder
    without_js = client.get(f"/tickets/T-{t.id}?articles=1").text
    inline = without_js[without_js.index('id="articles"') : without_js.index('id="links"')]

    fragment = client.get(f"/tickets/T-{t.id}/articles")
    assert fragment.status_code == 200 and "<html" not in fragment.text
    for panel in (fragment.text, inline):
        _check_panel(panel, public.id, internal.id)


def test_the_articles_card_is_for_staff_who_may_see_the_ticket(
    client: TestClient, db: Session, hd: f.Helpdesk, clock: FrozenClock
) -> None:
    t = new_ticket(db, hd, clock, subject="Cannot reset my password")
    assert client.get(f"/tickets/T-{t.id}/articles").status_code == 404  # signed out
    sign_in(client, "l1@desk.example.com")
    assert client.get("/tickets/T-99999999/articles").status_code == 404
    assert client.get("/tickets/nonsense/articles").status_code == 404


def _check_panel(panel: str, public_id: int, internal_id: int) -> None:
    assert "Reset your password" in panel and "Password reset for locked accounts" in panel
    assert "Shipping to Italy" not in panel
    inserts = re.findall(r'data-insert-link="([^"]+)"', panel)
    assert len(inserts) == 1 and inserts[0].startswith("Reset your password: http")
    assert f"/help/articles/{public_id}" in inserts[0]
    assert f"/help/articles/{internal_id}" not in " ".join(inserts)
    assert "internal" in panel


def test_a_solved_ticket_becomes_a_draft_article_from_its_page(
    client: TestClient, db: Session, hd: f.Helpdesk, clock: FrozenClock
) -> None:
    t = new_ticket(db, hd, clock, subject="How do I export invoices?", description="I need a CSV.")
    agent = f.actor(db, hd.users["l1"])
    tickets.add_message(db, agent, t.id, MessageCreate(body="Billing, Invoices, Export CSV."), clock.now())
    csrf = sign_in(client, "l1@desk.example.com")
    open_page = client.get(f"/tickets/T-{t.id}").text
    assert "/kb-draft" not in open_page  # only solved tickets

    tickets.update_ticket(db, SYSTEM, t.id, TicketPatch(status="solved"), clock.now())
    assert "/kb-draft" in client.get(f"/tickets/T-{t.id}").text
    r = client.post(f"/tickets/T-{t.id}/kb-draft", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/kb/manage/")
    draft = kb.get_article_for_edit(db, agent, int(r.headers["location"].rsplit("/", 1)[1]), lock=False)
    assert draft.status == "draft"

    forged = client.post(f"/tickets/T-{t.id}/kb-draft", data={"csrf": "nope"}, follow_redirects=False)
    assert forged.status_code == 403
