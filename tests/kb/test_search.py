from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.kb import factories as kbf
from tierdesk.core.clock import FrozenClock
from tierdesk.core.security import ANONYMOUS, SYSTEM
from tierdesk.kb import search, service
from tierdesk.kb.models import SearchTerm


def df(db: Session, term: str) -> int:
    return db.scalar(select(SearchTerm.df).where(SearchTerm.term == term)) or 0


def test_document_frequencies_follow_publishing_and_edits(db: Session, clock: FrozenClock) -> None:
    a = kbf.article(db, clock.now(), "Zebra crossing", "Zebra zebra account.")
    kbf.article(db, clock.now(), "Account", "Account settings.")
    assert (df(db, "zebra"), df(db, "account"), df(db, search.DOCS)) == (1, 2, 2)
    kbf.translate(db, clock.now(), a.id, "en", "Crossing", "Account only.")
    assert (df(db, "zebra"), df(db, "account"), df(db, search.DOCS)) == (0, 2, 2)
    service.unpublish(db, SYSTEM, a.id, clock.now())
    assert (df(db, "account"), df(db, search.DOCS)) == (1, 1)


def test_large_indexes_drop_terms_most_documents_contain(
    db: Session, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "PRUNE_FROM_DOCS", 5)
    monkeypatch.setattr(search, "COMMON_SHARE", 0.2)
    for i in range(9):
        kbf.article(db, clock.now(), f"Account topic {i}", "Your account and your profile settings.")
    zebra = kbf.article(db, clock.now(), "Zebra account", "Zebra account settings.")
    assert search.useful_terms(db, ["account", "zebra", "unknownword"]) == ["zebra"]
    # Every term common: the two rarest stay, so the query still finds something.
    assert search.plan(db, ["account", "set", "profil"]) == search.Plan(
        ["profil", "account"], title_only=True
    )
    # Only common terms: the articles titled with them.
    titled = service.find(db, ANONYMOUS, "account settings", "en", 20)
    assert {f.article_id for f in titled} == {zebra.id} | {
        f.article_id for f in titled if "Account topic" in f.title
    }
    assert all("ccount" in f.title for f in titled)
    found = service.find(db, ANONYMOUS, "zebra account", "en", 5)
    assert found[0].article_id == zebra.id
    assert "<mark>account</mark>" in found[0].snippet  # highlighting still marks every query term


def test_small_indexes_keep_every_term(db: Session, clock: FrozenClock) -> None:
    kbf.article(db, clock.now(), "Account", "Account.")
    assert search.useful_terms(db, ["account", "nothing"]) == ["account", "nothing"]


def test_tsvector_literal_escapes_quotes_and_weights_title_above_body() -> None:
    literal = search.tsvector_literal(["it's"], ["body", "it's"])
    assert literal == "'it''s':1A,3B 'body':2B"


def test_visible_results_are_found_even_when_hidden_ones_rank_above_them(
    db: Session, clock: FrozenClock
) -> None:
    from tierdesk.kb.models import Visibility

    for i in range(45):
        kbf.article(
            db, clock.now(), f"Refund refund {i}", "Refund refund refund.", visibility=Visibility.internal
        )
    public = kbf.article(db, clock.now(), "Billing questions", "Sometimes a refund is possible.")
    found = service.find(db, ANONYMOUS, "refund", "en", 1)
    assert [f.article_id for f in found] == [public.id]
    assert len(service.find(db, SYSTEM, "refund", "en", 50)) == 46
