"""The portal's category page lists articles under their section headings, in section
order with articles without a section last, and only what the reader may see."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests import factories as f
from tests.kb import factories as kbf
from tests.kb.test_pages import sign_in
from tierdesk.core.clock import FrozenClock
from tierdesk.core.security import ANONYMOUS, SYSTEM, Actor, Role
from tierdesk.kb import service as kb
from tierdesk.kb.models import Article, Visibility
from tierdesk.kb.schemas import ArticlePatch, CategoryIn, SectionIn


def _place(db: Session, clock: FrozenClock, article: Article, section_id: int | None) -> None:
    kb.update_article(db, SYSTEM, article.id, ArticlePatch(section_id=section_id), clock.now())


def test_articles_are_grouped_by_section_in_section_order_with_unsectioned_ones_last(
    db: Session, clock: FrozenClock
) -> None:
    billing = kb.create_category(db, SYSTEM, CategoryIn(name="Billing", slug="billing"), clock.now())
    later = kb.create_section(db, SYSTEM, SectionIn(category="billing", name="Invoices", position=2))
    first = kb.create_section(db, SYSTEM, SectionIn(category="billing", name="Refunds", position=1))
    kb.create_section(db, SYSTEM, SectionIn(category="billing", name="Empty", position=0))
    loose = kbf.article(db, clock.now(), "Loose article", "Text.", category="billing")
    invoice = kbf.article(db, clock.now(), "Invoice dates", "Text.", category="billing")
    refund = kbf.article(db, clock.now(), "Refund timing", "Text.", category="billing")
    _place(db, clock, invoice, later.id)
    _place(db, clock, refund, first.id)
    shelves = kb.category_shelves(db, ANONYMOUS, billing, "en")
    assert [(s.name, [a.title for a in s.articles]) for s in shelves] == [
        ("Refunds", ["Refund timing"]),
        ("Invoices", ["Invoice dates"]),
        (None, ["Loose article"]),
    ]
    assert loose.section_id is None


def test_customers_never_see_internal_drafts_or_another_organizations_articles_on_the_shelves(
    db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    billing = kb.create_category(db, SYSTEM, CategoryIn(name="Billing", slug="billing"), clock.now())
    secret = kb.create_section(db, SYSTEM, SectionIn(category="billing", name="Staff notes"))
    public = kbf.article(db, clock.now(), "Public", "Text.", category="billing")
    internal = kbf.article(
        db, clock.now(), "Internal", "Text.", category="billing", visibility=Visibility.internal
    )
    _place(db, clock, internal, secret.id)
    kbf.article(db, clock.now(), "Draft", "Text.", category="billing", draft=True)
    acme = kbf.article(
        db,
        clock.now(),
        "Acme only",
        "Text.",
        category="billing",
        visibility=Visibility.organization,
        organization_id=hd.orgs["acme"],
    )
    alice = Actor(
        user_id=hd.users["alice"], role=Role.customer, scopes=frozenset(), organization_id=hd.orgs["acme"]
    )
    globex = Actor(user_id=None, role=Role.customer, scopes=frozenset(), organization_id=hd.orgs["globex"])
    staff = Actor(user_id=hd.users["l1"], role=Role.agent, scopes=frozenset())

    def titles(actor: Actor) -> set[str]:
        return {a.title for s in kb.category_shelves(db, actor, billing, "en") for a in s.articles}

    assert titles(ANONYMOUS) == {"Public"}
    assert titles(globex) == {"Public"}
    assert titles(alice) == {"Public", "Acme only"}
    # Staff read internal articles on the portal too, but drafts only in the editor.
    assert titles(staff) == {"Public", "Acme only", "Internal"}
    # A section whose only article is internal does not appear for customers at all.
    assert [s.name for s in kb.category_shelves(db, alice, billing, "en")] == [None]
    assert public.id and acme.id


def test_a_big_section_shows_its_newest_articles_and_pages_through_the_rest(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    billing = kb.create_category(db, SYSTEM, CategoryIn(name="Billing", slug="billing"), clock.now())
    refunds = kb.create_section(db, SYSTEM, SectionIn(category="billing", name="Refunds"))
    for i in range(5):
        clock.advance(minutes=1)
        art = kbf.article(db, clock.now(), f"Refund case {i}", "Text.", category="billing")
        _place(db, clock, art, refunds.id)
    shelves = kb.category_shelves(db, ANONYMOUS, billing, "en", per_section=2)
    assert [a.title for a in shelves[0].articles] == ["Refund case 4", "Refund case 3"]
    assert shelves[0].more is not None
    page2 = kb.section_articles(db, ANONYMOUS, billing, refunds.id, "en", shelves[0].more, limit=2)
    assert [a.title for a in page2.articles] == ["Refund case 2", "Refund case 1"]
    page3 = kb.section_articles(db, ANONYMOUS, billing, refunds.id, "en", page2.more, limit=2)
    assert [a.title for a in page3.articles] == ["Refund case 0"] and page3.more is None
    section_page = client.get("/help/categories/billing", params={"section": refunds.id})
    assert section_page.status_code == 200 and "Refund case 0" in section_page.text


def test_the_category_page_shows_section_headings_and_refuses_bad_section_addresses(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    f.helpdesk(db)
    kb.create_category(db, SYSTEM, CategoryIn(name="Billing", slug="billing"), clock.now())
    kb.create_category(db, SYSTEM, CategoryIn(name="Accounts", slug="accounts"), clock.now())
    refunds = kb.create_section(db, SYSTEM, SectionIn(category="billing", name="Refunds"))
    other = kb.create_section(db, SYSTEM, SectionIn(category="accounts", name="Logins"))
    _place(db, clock, kbf.article(db, clock.now(), "Refund timing", "Text.", category="billing"), refunds.id)
    kbf.article(db, clock.now(), "Loose article", "Text.", category="billing")
    kbf.article(
        db, clock.now(), "Internal trick", "Text.", category="billing", visibility=Visibility.internal
    )
    page = client.get("/help/categories/billing")
    assert page.status_code == 200
    assert '<h2 id="section-title-1">Refunds</h2>' in page.text
    assert "Other articles" in page.text and "Internal trick" not in page.text
    assert page.text.index("Refund timing") < page.text.index("Loose article")
    assert client.get("/help/categories/billing", params={"section": "none"}).status_code == 200
    assert client.get("/help/categories/billing", params={"section": other.id}).status_code == 404
    assert client.get("/help/categories/billing", params={"section": "x'--"}).status_code == 404
    assert (
        client.get("/help/categories/billing", params={"section": "none", "cursor": "bogus"}).status_code
        == 422
    )
    sign_in(client, "l1@desk.example.com")
    assert "Internal trick" in client.get("/help/categories/billing").text
