"""The agent's search page (/desk/search) and the search field in the workspace header."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests import factories as f
from tests.workspace.test_pages import sign_in
from tierdesk.core.clock import FrozenClock
from tierdesk.core.security import SYSTEM
from tierdesk.search import service as search


def test_an_agent_searches_from_the_header_and_pages_through_highlighted_results(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    ids = []
    for n in range(30):
        clock.advance(minutes=1)
        ids.append(f.ticket(db, SYSTEM, clock.now(), subject=f"Payment failed #{n}",
                            description="The <b>card</b> was declined.", requester_id=hd.customers["carol"],
                            tier_id=hd.tiers["L1"]).id)  # fmt: skip
    search.drain_queue(db, clock.now())
    sign_in(client, "l1@desk.example.com")
    mine = client.get("/desk/mine").text
    assert 'action="/desk/search"' in mine  # the header's search field
    r = client.get("/desk/search", params={"q": "declined card"})
    assert r.status_code == 200
    assert f"T-{ids[-1]}" in r.text and f"T-{ids[4]}" not in r.text  # newest 25 first
    assert "<mark>declined</mark>" in r.text and "&lt;b&gt;" in r.text and "<b>card" not in r.text
    assert 'rel="next"' in r.text
    nxt = r.text.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    r2 = client.get(nxt)
    assert r2.status_code == 200 and f"T-{ids[0]}" in r2.text and f"T-{ids[-1]}" not in r2.text


def test_a_bad_search_comes_back_next_to_the_field_and_customers_are_kept_out(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    f.helpdesk(db)
    sign_in(client, "l1@desk.example.com")
    r = client.get("/desk/search", params={"q": "!!!"})
    assert r.status_code == 422 and "no letters or digits" in r.text
    r = client.get("/desk/search", params={"q": "card", "cursor": "bogus"})
    assert r.status_code == 422 and "cursor is not valid" in r.text
    client.post("/logout")
    client.cookies.clear()
    sign_in_customer = client.get("/desk/search", params={"q": "card"}, follow_redirects=False)
    assert sign_in_customer.status_code == 303
