from __future__ import annotations

import math
from typing import Any

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


def test_title_bounds_are_the_best_one_and_two_term_title_scores() -> None:
    # a: 2 positions, b and c: 1 each; 4 positions in all.
    assert search.title_bounds(["a", "b", "a", "c"]) == pytest.approx((2 / math.log(5), 3 / math.log(5)))
    assert search.title_bounds([]) == (0.0, 0.0)


def test_text_length_counts_positions_as_postgresql_stores_them() -> None:
    assert search.text_length(["a"], ["b", "a"]) == 3
    # Positions stop at 16383 and each lexeme keeps a position once.
    body = [f"t{i}" for i in range(16390)] + ["z", "z"]
    assert search.text_length([], body) == 16391
    assert search.tsvector_literal([], body).endswith("'z':16383B")


def test_postgres_title_only_search_by_bound_returns_what_ranking_every_title_returns(
    db: Session, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("kb_search_titles and its bounds exist on PostgreSQL only")
    from tierdesk.kb.models import Visibility

    words = ["account", "password", "reset", "billing", "export", "profile", "invoice"]
    for i in range(60):
        # Titles of 1-5 words, some repeating a word, a few internal: many equal scores.
        title = " ".join(words[(i * k + i // 7) % len(words)] for k in range(1 + i % 5))
        visibility = Visibility.internal if i % 9 == 0 else Visibility.public
        kbf.article(db, clock.now(), f"{title} {'account' * (i % 11 == 0)}", "Body.", visibility=visibility)
    backend = search.PostgresBackend()
    # Tiny fetch sizes so that the searches below settle on a first read, after reading
    # more, on a tie at the last bound, or rank every title.
    monkeypatch.setattr(search.PostgresBackend, "TITLE_FETCH", 3)
    monkeypatch.setattr(search.PostgresBackend, "TITLE_FETCH_GROWTH", 2)
    monkeypatch.setattr(search.PostgresBackend, "TITLE_FETCH_MAX", 12)
    outcomes: list[bool] = []
    real = search.PostgresBackend._titles_by_bound

    def spy(self: search.PostgresBackend, *args: Any) -> list[search.Hit] | None:
        hits = real(self, *args)
        outcomes.append(hits is not None)
        return hits

    monkeypatch.setattr(search.PostgresBackend, "_titles_by_bound", spy)
    for terms in (["account"], ["password"], ["export"], ["account", "password"], ["reset", "invoic"]):
        for limit in (1, 3, 10):
            for who in (service.audience(ANONYMOUS), service.audience(SYSTEM)):
                by_bound = backend.search(db, terms, ["en"], who, limit, title_only=True)
                every = backend._titles_all(db, *_title_filters(who, terms, limit))
                assert by_bound == every, (terms, limit, who)
                assert len(every) == limit
    # Both ways are taken: settled by the bounds, and handed to the full ranking.
    assert any(outcomes) and not all(outcomes)


def test_postgres_title_only_ties_go_to_the_oldest_title_even_when_a_higher_bound_is_read_first(
    db: Session, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("kb_search_titles and its bounds exist on PostgreSQL only")
    # All six score the same for "password"; the last two have the higher bound (a repeated
    # word), so they are read first, though the first four come before them by id.
    first = [kbf.article(db, clock.now(), "Password reset profile", "Body.").id for _ in range(4)]
    for _ in range(2):
        kbf.article(db, clock.now(), "Password billing billing", "Body.")
    monkeypatch.setattr(search.PostgresBackend, "TITLE_FETCH", 3)
    hits = search.PostgresBackend().search(db, ["password"], ["en"], service.audience(ANONYMOUS), 3, True)
    assert [h.article_id for h in hits] == first[:3]
    assert len({h.score for h in hits}) == 1


def test_postgres_search_ranks_titled_documents_first_yet_returns_what_ranking_every_match_returns(
    db: Session, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("the titled-first ranking is PostgreSQL's")
    long_body = "Walking " + " ".join(f"word{i}" for i in range(80)) + "."
    for i in range(3):
        kbf.article(db, clock.now(), f"Zebra notes {i}", long_body)  # titled, long: low score
    for _ in range(5):
        kbf.article(db, clock.now(), "Stripes", "Zebra zebra zebra.")  # body only, short: high
    for i in range(12):
        kbf.article(db, clock.now(), f"Zebra crossing {i}", "Cross here.")  # titled, short: highest
    for _ in range(4):
        kbf.article(db, clock.now(), "Savanna", "Zebra lion.")  # two terms in a short body
    backend = search.PostgresBackend()
    for who in (service.audience(ANONYMOUS), service.audience(SYSTEM)):
        for terms in (
            ["zebra"],
            ["zebra", "cross"],
            ["stripe"],
            ["zebra", "lion"],
            ["lion", "cross", "zebra"],
        ):
            for limit in (3, 12, 15, 20):
                found = backend.search(db, terms, ["en"], who, limit)
                # A weight B this high never lets the titled documents settle it alone.
                monkeypatch.setattr(search, "_WEIGHT_B", 1e9)
                every = backend.search(db, terms, ["en"], who, limit)
                monkeypatch.undo()
                assert found == every, (terms, limit)
    # The body-only documents do enter the top 15 (after the 12 short titled ones):
    top = backend.search(db, ["zebra"], ["en"], service.audience(ANONYMOUS), 15)
    assert sum(1 for h in top if h.score > top[-1].score) >= 12


def _title_filters(who: search.Audience, terms: list[str], limit: int) -> tuple[str, dict[str, Any]]:
    where, params = search._visibility_sql(who)
    filters = f"{search._locale_sql(['en'])}{where}".replace("d.", "v.")
    return filters, params | {
        "query": " | ".join(search._lexeme(t) for t in terms),
        "limit": limit,
        "locales": ["en"],
    }
