from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests import factories as f
from tests.kb import factories as kbf
from tests.kb.test_api import TIME_BOX_EN, TIME_BOX_ZH, auth
from tierdesk.core.clock import FrozenClock
from tierdesk.core.security import SYSTEM
from tierdesk.kb import tasks
from tierdesk.tickets import service as tickets


def _kb(db: Session, clock: FrozenClock) -> dict[str, int]:
    out = {
        "timebox": kbf.article(db, clock.now(), *TIME_BOX_EN, category="tiers").id,
        "timebox_zh": kbf.article(db, clock.now(), *TIME_BOX_ZH, locale="zh", category="tiers").id,
        "refund": kbf.article(
            db,
            clock.now(),
            "Refund policy",
            "Refunds go back to the original payment method.\n\nRefunds take up to 14 days to arrive.",
            category="billing",
        ).id,
    }
    return out


def test_the_bot_answers_with_the_best_passage_its_article_and_a_confidence(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    kb = _kb(db, clock)
    res = client.post(
        "/api/v1/answers", json={"question": "How many days until my refund arrives?", "locale": "en"}
    )
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["answered"] is True and body["article"]["id"] == kb["refund"]
    assert body["passage"] == "Refunds take up to 14 days to arrive."
    assert 0.4 <= body["confidence"] <= 1.0
    assert body["session"]


def test_the_bot_answers_a_chinese_question_from_the_chinese_article(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    kb = _kb(db, clock)
    body = client.post("/api/v1/answers", json={"question": "一级工单多久要升级", "locale": "zh"}).json()
    assert body["answered"] is True and body["article"]["id"] == kb["timebox_zh"]


def test_the_bot_says_it_does_not_know_rather_than_guess(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    _kb(db, clock)
    for question in ("What is the weather in Paris tomorrow?", "Can I bring my dog to the concert?"):
        body = client.post("/api/v1/answers", json={"question": question, "locale": "en"}).json()
        assert body["answered"] is False, (question, body)
        assert body["article"] is None and body["passage"] is None
        assert "don't know" in body["message"]


def test_solved_records_a_deflection_that_shows_in_the_analytics(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    kb = _kb(db, clock)
    session = client.post(
        "/api/v1/answers", json={"question": "refund payment method", "locale": "en"}
    ).json()["session"]
    solved = client.post(f"/api/v1/answers/{session}/feedback", json={"solved": True})
    assert solved.status_code == 200 and solved.json()["outcome"] == "solved"
    again = client.post(
        f"/api/v1/answers/{session}/feedback", json={"solved": False, "email": "x@y.example.com"}
    )
    assert again.status_code == 409
    sup = f.token(db, hd.users["supervisor"], clock.now())
    report = client.get("/api/v1/kb/analytics/deflection", headers=auth(sup)).json()
    assert report["settled_sessions"] == 1 and report["deflected"] == 1 and report["rate"] == 1.0
    assert report["by_article"][0]["key"] == str(kb["refund"])
    assert report["by_category"][0]["label"] == "billing"
    assert report["by_week"][0]["key"] == "2026-W10"


def test_unsolved_hands_off_to_l1_with_the_transcript_and_articles_shown(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    kb = _kb(db, clock)
    alice = f.token(db, hd.users["alice"], clock.now())
    first = client.post(
        "/api/v1/answers",
        json={"question": "How long until my refund arrives?", "locale": "en"},
        headers=auth(alice),
    ).json()
    clock.advance(minutes=1)
    client.post(
        "/api/v1/answers",
        json={
            "question": "It has been 20 days, where is my refund?",
            "locale": "en",
            "session": first["session"],
        },
        headers=auth(alice),
    )
    res = client.post(
        f"/api/v1/answers/{first['session']}/feedback",
        json={"solved": False, "details": "Order 1234"},
        headers=auth(alice),
    )
    assert res.status_code == 200, res.text
    out = res.json()
    assert out["outcome"] == "handed_off" and out["ticket_number"].startswith("T-")
    agent = f.actor(db, hd.users["l1"])
    ticket = tickets.get_ticket(db, agent, out["ticket_id"])
    assert ticket.channel == "bot" and ticket.requester_id == hd.customers["alice"]
    assert ticket.tier_id == hd.tiers["L1"]  # L1 sees it
    assert "How long until my refund arrives?" in ticket.description
    assert "Refund policy" in ticket.description and "Order 1234" in ticket.description
    notes = [m for m in tickets.list_messages(db, agent, ticket.id) if m.kind == "internal"]
    assert len(notes) == 1
    assert "It has been 20 days" in notes[0].body and f"article {kb['refund']}" in notes[0].body
    # The customer sees the description but not the internal note.
    customer_view = client.get(f"/api/v1/tickets/{ticket.id}/messages", headers=auth(alice))
    assert all(m["kind"] == "public" for m in customer_view.json())


def test_anonymous_hand_off_needs_an_e_mail_address(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    f.helpdesk(db)
    _kb(db, clock)
    session = client.post("/api/v1/answers", json={"question": "refund", "locale": "en"}).json()["session"]
    missing = client.post(f"/api/v1/answers/{session}/feedback", json={"solved": False})
    assert missing.status_code == 422 and "e-mail" in missing.json()["detail"]
    ok = client.post(
        f"/api/v1/answers/{session}/feedback",
        json={"solved": False, "email": "dan@cust.example.com", "name": "Dan"},
    )
    assert ok.status_code == 200, ok.text
    ticket = tickets.get_ticket(db, SYSTEM, ok.json()["ticket_id"])
    assert ticket.channel == "bot"


def test_a_session_with_no_ticket_within_24_hours_counts_as_deflected_and_one_with_a_ticket_does_not(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    _kb(db, clock)
    alice = f.token(db, hd.users["alice"], clock.now())
    carol = f.token(db, hd.users["carol"], clock.now())
    client.post(
        "/api/v1/answers", json={"question": "refund payment method", "locale": "en"}, headers=auth(alice)
    )
    client.post(
        "/api/v1/answers", json={"question": "refund payment method", "locale": "en"}, headers=auth(carol)
    )
    clock.advance(hours=3)
    f.ticket(db, f.actor(db, hd.users["carol"]), clock.now(), subject="Still no refund")
    clock.advance(hours=20)
    assert tasks.settle_sessions(db, clock.now()) == 0  # not 24 hours yet
    clock.advance(hours=2)
    assert tasks.settle_sessions(db, clock.now()) == 2
    assert tasks.settle_sessions(db, clock.now()) == 0
    sup = f.token(db, hd.users["supervisor"], clock.now())
    report = client.get("/api/v1/kb/analytics/deflection", headers=auth(sup)).json()
    assert (report["settled_sessions"], report["deflected"], report["rate"]) == (2, 1, 0.5)


def test_unknown_sessions_and_bad_questions_get_clear_errors(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    _kb(db, clock)
    cases = [
        client.post("/api/v1/answers", json={"question": "", "locale": "en"}),
        client.post("/api/v1/answers", json={"question": "refund", "locale": "tlh"}),
        client.post("/api/v1/answers", json={"question": "refund", "session": "nope"}),
        client.post("/api/v1/answers/nope/feedback", json={"solved": True}),
    ]
    assert [c.status_code for c in cases] == [422, 422, 404, 404]
    long = client.post("/api/v1/answers", json={"question": "refund " * 500, "locale": "en"})
    assert long.status_code == 200
