"""Keyword search over tickets: what an agent or a customer finds, and what they never do."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests import factories as f
from tierdesk.core.clock import FrozenClock
from tierdesk.core.config import get_settings
from tierdesk.core.db import Database
from tierdesk.core.errors import Forbidden, InvalidInput
from tierdesk.core.migrate import upgrade
from tierdesk.core.security import SYSTEM
from tierdesk.search import service as search
from tierdesk.search import tasks
from tierdesk.search.models import SearchQueue, TicketSearchDoc
from tierdesk.tickets import service as tickets
from tierdesk.tickets.models import MessageKind
from tierdesk.tickets.schemas import MessageCreate, TicketPatch

API = "/api/v1/tickets/search"


def found(db: Session, actor, q: str, **kw) -> list[int]:  # type: ignore[no-untyped-def]
    return [h.ticket_id for h in search.search_tickets(db, actor, q, **kw).items]


@pytest.fixture
def hd(db: Session):  # type: ignore[no-untyped-def]
    return f.helpdesk(db)


def test_a_chinese_query_without_spaces_finds_the_chinese_ticket_and_one_character_matches_too(
    db: Session, clock: FrozenClock, hd: f.Helpdesk
) -> None:
    zh = f.ticket(
        db, SYSTEM, clock.now(), subject="申请退款", description="我上个月的订单还没有收到退款，请帮忙处理。",
        requester_id=hd.customers["carol"], language="zh",
    ).id  # fmt: skip
    ja = f.ticket(
        db, SYSTEM, clock.now(), subject="ログインできません", description="パスワードを再設定しても入れません。",
        requester_id=hd.customers["carol"], language="ja",
    ).id  # fmt: skip
    en = f.ticket(
        db, SYSTEM, clock.now(), subject="Refund please", description="My password no longer works.",
        requester_id=hd.customers["carol"],
    ).id  # fmt: skip
    search.drain_queue(db, clock.now())
    admin = f.actor(db, hd.users["admin"])
    assert found(db, admin, "收到退款") == [zh]
    assert found(db, admin, "订单退款") == [zh]
    assert found(db, admin, "退") == [zh]  # one character still matches
    assert found(db, admin, "パスワード") == [ja]
    assert found(db, admin, "ＰＡＳＳＷＯＲＤ") == [en]  # NFKC: full-width Latin is plain ASCII
    assert found(db, admin, "退款 订单 没有收到") == [zh]


def test_english_and_italian_words_match_in_any_form(db: Session, clock: FrozenClock, hd: f.Helpdesk) -> None:
    en = f.ticket(
        db, SYSTEM, clock.now(), subject="Refunds for duplicated invoices",
        description="We were charged twice.", requester_id=hd.customers["carol"],
    ).id  # fmt: skip
    it = f.ticket(
        db, SYSTEM, clock.now(), subject="Rimborso della fattura",
        description="Ho pagato due volte le fatture di marzo.", requester_id=hd.customers["carol"], language="it",
    ).id  # fmt: skip
    search.drain_queue(db, clock.now())
    admin = f.actor(db, hd.users["admin"])
    assert found(db, admin, "refunded invoice") == [en]
    assert found(db, admin, "INVOICING") == [en]
    assert found(db, admin, "fatture") == [it]
    assert found(db, admin, "rimborsi fattura") == [it]
    assert found(db, admin, "refund fattura") == []  # every word must match


def test_a_customer_never_finds_another_customers_ticket_nor_internal_note_text(
    db: Session, clock: FrozenClock, hd: f.Helpdesk
) -> None:
    carol_t = f.ticket(
        db, SYSTEM, clock.now(), subject="Printer jammed", requester_id=hd.customers["carol"]
    ).id
    alice_t = f.ticket(
        db, SYSTEM, clock.now(), subject="Printer offline", requester_id=hd.customers["alice"]
    ).id
    tickets.add_message(
        db, SYSTEM, carol_t, MessageCreate(body="Suspect chargeback fraud, zebracode", kind=MessageKind.internal),
        clock.now(),
    )  # fmt: skip
    search.drain_queue(db, clock.now())
    carol = f.actor(db, hd.users["carol"])
    assert found(db, carol, "printer") == [carol_t]
    assert found(db, carol, "zebracode") == []
    assert found(db, carol, "printer zebracode") == []
    page = search.search_tickets(db, carol, "printer")
    assert "zebracode" not in page.items[0].snippet and not page.items[0].in_internal_note
    # Staff match the note, and the snippet says where the words come from.
    assert found(db, f.actor(db, hd.users["l2"]), "zebracode") == []  # an L1 ticket: not L2's
    admin = f.actor(db, hd.users["admin"])
    hit = search.search_tickets(db, admin, "zebracode").items[0]
    assert hit.ticket_id == carol_t and hit.in_internal_note
    assert "<mark>zebracode</mark>" in hit.snippet
    assert found(db, admin, "printer") == [alice_t, carol_t]  # newest first
    # Filters a customer may not use are refused, as on the ticket list.
    with pytest.raises(Forbidden):
        search.search_tickets(db, carol, "printer", search.Filters(tier_id=hd.tiers["L1"]))


def test_a_need_to_know_fraud_ticket_is_found_by_its_team_only(
    db: Session, clock: FrozenClock, hd: f.Helpdesk
) -> None:
    fraud_t = f.ticket(
        db, SYSTEM, clock.now(), subject="Stolen card used", requester_id=hd.customers["carol"],
        tier_id=hd.tiers["L1"], team_id=hd.teams["fraud"],
    ).id  # fmt: skip
    search.drain_queue(db, clock.now())
    for who, expected in (("fraud", [fraud_t]), ("admin", [fraud_t]), ("l1", []), ("supervisor", [])):
        assert found(db, f.actor(db, hd.users[who]), "stolen card") == expected, who


def test_a_reply_becomes_searchable_when_the_worker_drains_the_queue(
    db: Session, clock: FrozenClock, hd: f.Helpdesk
) -> None:
    tid = f.ticket(db, SYSTEM, clock.now(), subject="Cannot export", requester_id=hd.customers["carol"]).id
    tasks.index_queued(db, clock.now())
    admin = f.actor(db, hd.users["admin"])
    assert found(db, admin, "spreadsheet") == []
    tickets.add_message(
        db, SYSTEM, tid, MessageCreate(body="Try the spreadsheet export instead."), clock.now()
    )
    assert db.scalar(select(SearchQueue.ticket_id).where(SearchQueue.ticket_id == tid)) == tid
    assert found(db, admin, "spreadsheet") == []  # not yet: the queue is drained by the worker
    assert tasks.index_queued(db, clock.now()) >= 1
    assert found(db, admin, "spreadsheet") == [tid]
    assert db.scalar(select(SearchQueue.id).where(SearchQueue.ticket_id == tid)) is None
    # A new subject is queued too; the old words stop matching.
    tickets.update_ticket(db, SYSTEM, tid, TicketPatch(subject="Export to CSV fails"), clock.now())
    tasks.index_queued(db, clock.now())
    assert found(db, admin, "csv") == [tid]
    assert found(db, admin, "cannot export") == []


def test_newest_first_pages_with_a_cursor_and_relevance_order_is_offered(
    db: Session, clock: FrozenClock, hd: f.Helpdesk
) -> None:
    ids = []
    for n in range(5):
        clock.advance(minutes=1)
        body = "wifi " * (n + 1)
        ids.append(f.ticket(db, SYSTEM, clock.now(), subject=f"Router {n}", description=body,
                            requester_id=hd.customers["carol"]).id)  # fmt: skip
    search.drain_queue(db, clock.now())
    admin = f.actor(db, hd.users["admin"])
    seen, cursor = [], None
    for _ in range(5):
        page = search.search_tickets(db, admin, "wifi", limit=2, cursor=cursor)
        seen += [h.ticket_id for h in page.items]
        cursor = page.next_cursor
        if not cursor:
            break
    assert seen == ids[::-1]
    ranked = search.search_tickets(db, admin, "wifi router", order="relevance", limit=3)
    assert len(ranked.items) == 3 and ranked.next_cursor
    rest = search.search_tickets(
        db, admin, "wifi router", order="relevance", limit=3, cursor=ranked.next_cursor
    )
    assert {h.ticket_id for h in ranked.items + rest.items} == set(ids)


def test_snippets_escape_stored_markup(db: Session, clock: FrozenClock, hd: f.Helpdesk) -> None:
    f.ticket(db, SYSTEM, clock.now(), subject="Widget broken",
             description='<script>alert("x")</script> the widget <b>crashes</b>',
             requester_id=hd.customers["carol"])  # fmt: skip
    search.drain_queue(db, clock.now())
    hit = search.search_tickets(db, f.actor(db, hd.users["admin"]), "crashes").items[0]
    assert "<script>" not in hit.snippet and "&lt;script&gt;" in hit.snippet
    assert "<mark>crashes</mark>" in hit.snippet and "<b>" not in hit.snippet


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"q": ""}, "Type something"),
        ({"q": "x" * 2000}, "at most 500"),
        ({"q": "?!… ——"}, "no letters or digits"),
        ({"q": "the"}, "very common words"),
        ({"q": "printer", "cursor": "not-a-cursor"}, "cursor is not valid"),
        ({"q": "printer", "cursor": "WyJuZXciLCAiMSJd"}, "cursor is not valid"),  # ["new", "1"]
        ({"q": "printer", "limit": 0}, ""),
        ({"q": "printer", "order": "oldest"}, ""),
    ],
)
def test_bad_search_input_answers_422_problem_json(
    client: TestClient, db: Session, clock: FrozenClock, hd: f.Helpdesk, params: dict, words: str
) -> None:
    headers = {"Authorization": f"Bearer {f.token(db, hd.users['l1'], clock.now())}"}
    r = client.get(API, params=params, headers=headers)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert words in r.text


def test_the_search_endpoint_answers_with_results_and_is_not_taken_for_a_ticket_ref(
    client: TestClient, db: Session, clock: FrozenClock, hd: f.Helpdesk
) -> None:
    tid = f.ticket(db, SYSTEM, clock.now(), subject="Invoice missing", requester_id=hd.customers["alice"],
                   tier_id=hd.tiers["L1"]).id  # fmt: skip
    search.drain_queue(db, clock.now())
    headers = {"Authorization": f"Bearer {f.token(db, hd.users['l1'], clock.now())}"}
    r = client.get(API, params={"q": "invoice", "status": "new", "limit": 10}, headers=headers)
    assert r.status_code == 200, r.text
    [item] = r.json()["items"]
    assert item["ref"] == f"T-{tid}" and item["tier"] and "<mark>Invoice</mark>" in item["snippet"]
    r = client.get(API, params={"q": "invoice", "status": "solved"}, headers=headers)
    assert r.json()["items"] == []
    assert client.get(API, params={"q": "invoice"}).status_code == 401
    operation = client.get("/api/openapi.json").json()["paths"]["/api/v1/tickets/search"]["get"]
    assert operation["summary"] == "Search tickets by keyword"


def test_reindex_command_rebuilds_the_index_from_every_ticket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'reindex.db'}"
    upgrade(url)
    database = Database(url)
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with database.session(write=True) as db:
        hd = f.helpdesk(db)
        tid = f.ticket(db, SYSTEM, now, subject="Thermostat rattles", requester_id=hd.customers["carol"]).id
        db.query(SearchQueue).delete()  # as if the queue were lost: only a reindex can help
        db.commit()
        assert found(db, f.actor(db, hd.users["admin"]), "thermostat") == []
    database.dispose()
    monkeypatch.setenv("TIERDESK_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        from tierdesk.cli import app

        result = CliRunner().invoke(app, ["search", "reindex", "--batch", "100"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "indexed 1 tickets" in result.output
    database = Database(url)
    with database.session() as db:
        assert found(db, f.actor(db, hd.users["admin"]), "thermostat") == [tid]
        assert db.scalar(select(TicketSearchDoc.ticket_id)) == tid
    database.dispose()


def test_a_query_word_matches_in_english_or_italian_form_and_a_cjk_run_by_characters_and_pairs() -> None:
    assert search.query_groups("refunds") == [["refund", "refunds"]]
    assert search.query_groups("订单退款") == [["订"], ["单"], ["退"], ["款"], ["订单", "单退", "退款"]]
    assert search.query_groups("退") == [["退"]]
    with pytest.raises(InvalidInput):
        search.query_groups("   ")
