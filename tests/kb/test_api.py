from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests import factories as f
from tests.kb import factories as kbf
from tierdesk.core.clock import FrozenClock
from tierdesk.kb.models import Visibility

TIME_BOX_ZH = (
    "一级工单的时间盒",
    "一级（L1）工单处理超过十五分钟仍未解决时，必须升级到二级专家。二级在三十分钟内处理，三级没有时间限制。",
)
TIME_BOX_IT = (
    "Tempi massimi per livello",
    "Un ticket di primo livello che richiede più di 15 minuti viene escalato al secondo livello. "
    "Il secondo livello lavora al massimo 30 minuti.",
)
TIME_BOX_EN = (
    "Tier time boxes",
    "An L1 ticket that needs more than 15 minutes escalates to L2. L2 works 30 minutes or less.",
)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_agent_writes_an_article_and_anonymous_search_finds_it(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    token = f.token(db, hd.users["l1"], clock.now())
    created = client.post(
        "/api/v1/kb/articles",
        json={
            "title": "Reset your password",
            "body": "Open **Settings**, choose *Security* and press Reset password.",
            "locale": "en",
            "category": "Accounts",
            "visibility": "public",
        },
        headers=auth(token),
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["id"] > 0 and body["status"] == "published"
    assert body["category"]["slug"] == "accounts"
    assert "<strong>Settings</strong>" in body["html"]

    found = client.get("/api/v1/kb/search", params={"q": "how do I reset my password", "locale": "en"})
    assert found.status_code == 200, found.text
    results = found.json()["results"]
    assert [r["id"] for r in results] == [body["id"]]
    assert set(results[0]) >= {"id", "title", "snippet", "score", "locale"}
    assert "<mark>" in results[0]["snippet"] and results[0]["locale"] == "en"


def test_chinese_query_without_spaces_finds_the_chinese_tier_time_box_article(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    kbf.article(db, clock.now(), "Refund policy", "Refunds are paid within 14 days.")
    zh = kbf.article(db, clock.now(), *TIME_BOX_ZH, locale="zh", category="tiers")
    kbf.article(db, clock.now(), "退款政策", "退款在十四天内退回原支付方式。", locale="zh")
    results = client.get("/api/v1/kb/search", params={"q": "一级工单多久要升级", "locale": "zh"}).json()[
        "results"
    ]
    assert results[0]["id"] == zh.id
    assert results[0]["locale"] == "zh"
    assert "<mark>" in results[0]["snippet"]


def test_italian_query_finds_the_italian_translation(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    en = kbf.article(db, clock.now(), *TIME_BOX_EN, category="tiers")
    kbf.translate(db, clock.now(), en.id, "it", *TIME_BOX_IT)
    kbf.article(db, clock.now(), "Rimborsi", "I rimborsi arrivano entro 14 giorni.", locale="it")
    results = client.get(
        "/api/v1/kb/search", params={"q": "dopo quanti minuti un ticket viene escalato?", "locale": "it"}
    ).json()["results"]
    assert results[0]["id"] == en.id and results[0]["locale"] == "it"


def test_a_one_character_chinese_query_matches(client: TestClient, db: Session, clock: FrozenClock) -> None:
    zh = kbf.article(db, clock.now(), "退款政策", "退款在十四天内退回。", locale="zh")
    results = client.get("/api/v1/kb/search", params={"q": "退", "locale": "zh"}).json()["results"]
    assert [r["id"] for r in results] == [zh.id]


def test_search_falls_back_to_the_default_locale(client: TestClient, db: Session, clock: FrozenClock) -> None:
    en = kbf.article(db, clock.now(), "Export invoices as PDF", "Invoices can be exported as PDF files.")
    results = client.get("/api/v1/kb/search", params={"q": "invoices pdf", "locale": "ja"}).json()["results"]
    assert [(r["id"], r["locale"]) for r in results] == [(en.id, "en")]


def test_title_matches_rank_above_body_matches(client: TestClient, db: Session, clock: FrozenClock) -> None:
    body_only = kbf.article(db, clock.now(), "Account settings", "You can change the invoice address here.")
    titled = kbf.article(db, clock.now(), "Invoice address", "Change it under account settings.")
    results = client.get("/api/v1/kb/search", params={"q": "invoice address"}).json()["results"]
    assert [r["id"] for r in results] == [titled.id, body_only.id]


def test_visibility_is_enforced_in_search_and_reads(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    public = kbf.article(db, clock.now(), "Refund basics", "How refunds work for everyone.")
    internal = kbf.article(
        db,
        clock.now(),
        "Refund exceptions",
        "Refund exceptions for agents only.",
        visibility=Visibility.internal,
    )
    acme = kbf.article(
        db,
        clock.now(),
        "Refund terms for Acme",
        "Acme refund terms.",
        visibility=Visibility.organization,
        organization_id=hd.orgs["acme"],
    )
    draft = kbf.article(db, clock.now(), "Refund draft", "Refund draft text.", draft=True)

    def ids(headers: dict[str, str] | None = None) -> set[int]:
        res = client.get("/api/v1/kb/search", params={"q": "refund", "limit": 20}, headers=headers or {})
        return {r["id"] for r in res.json()["results"]}

    assert ids() == {public.id}
    alice = f.token(db, hd.users["alice"], clock.now())  # Acme customer
    carol = f.token(db, hd.users["carol"], clock.now())  # no organization
    agent = f.token(db, hd.users["l1"], clock.now())
    assert ids(auth(alice)) == {public.id, acme.id}
    assert ids(auth(carol)) == {public.id}
    assert ids(auth(agent)) == {public.id, internal.id, acme.id}
    for hidden in (internal.id, acme.id, draft.id):
        assert client.get(f"/api/v1/kb/articles/{hidden}", headers=auth(carol)).status_code == 404
    assert client.get(f"/api/v1/kb/articles/{acme.id}", headers=auth(alice)).status_code == 200
    assert client.get(f"/api/v1/kb/articles/{draft.id}", headers=auth(agent)).json()["status"] == "draft"


def test_customers_and_anonymous_callers_cannot_write_articles(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    article = {"title": "x", "body": "y", "locale": "en", "category": "c", "visibility": "public"}
    assert client.post("/api/v1/kb/articles", json=article).status_code == 401
    alice = f.token(db, hd.users["alice"], clock.now())
    res = client.post("/api/v1/kb/articles", json=article, headers=auth(alice))
    assert res.status_code == 403 and res.headers["content-type"] == "application/problem+json"


def test_editing_the_source_marks_translations_outdated_and_keeps_revisions_with_a_diff(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    token = f.token(db, hd.users["l2"], clock.now())
    art = client.post(
        "/api/v1/kb/articles",
        json={
            "title": "Time boxes",
            "body": "L1 has 15 minutes.",
            "locale": "en",
            "category": "tiers",
            "visibility": "public",
        },
        headers=auth(token),
    ).json()
    url = f"/api/v1/kb/articles/{art['id']}"
    it = client.put(
        f"{url}/translations/it", json={"title": "Tempi", "body": "L1 ha 15 minuti."}, headers=auth(token)
    )
    assert it.status_code == 200 and it.json()["outdated"] is False
    clock.advance(minutes=5)
    client.put(
        f"{url}/translations/en",
        json={"title": "Time boxes", "body": "L1 has 20 minutes."},
        headers=auth(token),
    )
    assert client.get(url, params={"locale": "it"}, headers=auth(token)).json()["outdated"] is True
    revisions = client.get(f"{url}/revisions", params={"locale": "en"}, headers=auth(token)).json()
    assert len(revisions) == 2 and revisions[0]["author_user_id"] == hd.users["l2"]
    diff = client.get(f"{url}/revisions/{revisions[0]['id']}/diff", headers=auth(token)).json()["diff"]
    assert "-L1 has 15 minutes." in diff and "+L1 has 20 minutes." in diff
    # The new text is what search finds now.
    found = client.get("/api/v1/kb/search", params={"q": "20 minutes", "locale": "en"}).json()["results"]
    assert "<mark>20</mark>" in found[0]["snippet"]
    client.put(
        f"{url}/translations/it", json={"title": "Tempi", "body": "L1 ha 20 minuti."}, headers=auth(token)
    )
    assert client.get(url, params={"locale": "it"}, headers=auth(token)).json()["outdated"] is False


def test_draft_articles_are_found_only_after_publishing(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    token = f.token(db, hd.users["l1"], clock.now())
    art = client.post(
        "/api/v1/kb/articles",
        json={
            "title": "Two-factor login",
            "body": "Use an authenticator app.",
            "locale": "en",
            "category": "accounts",
            "visibility": "public",
            "draft": True,
        },
        headers=auth(token),
    ).json()
    assert art["status"] == "draft"
    assert client.get("/api/v1/kb/search", params={"q": "authenticator"}).json()["results"] == []
    published = client.post(f"/api/v1/kb/articles/{art['id']}/publish", headers=auth(token))
    assert published.json()["status"] == "published"
    assert [
        r["id"] for r in client.get("/api/v1/kb/search", params={"q": "authenticator"}).json()["results"]
    ] == [art["id"]]
    client.post(f"/api/v1/kb/articles/{art['id']}/unpublish", headers=auth(token))
    assert client.get("/api/v1/kb/search", params={"q": "authenticator"}).json()["results"] == []


def test_scripts_and_iframes_are_never_stored_or_rendered(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    token = f.token(db, hd.users["l1"], clock.now())
    art = client.post(
        "/api/v1/kb/articles",
        json={
            "title": "Safe <b>title</b>",
            "body": "Hello <script>alert(1)</script><iframe src='https://evil.example'></iframe> "
            "[click](javascript:alert(2)) <img src=x onerror=alert(3)>",
            "locale": "en",
            "category": "c",
            "visibility": "public",
        },
        headers=auth(token),
    ).json()
    stored = art["body"].lower()
    assert all(bad not in stored for bad in ("<script", "alert(1)", "<iframe", "javascript:", "onerror"))
    assert "[click]" in stored
    assert "<script" not in art["html"] and "javascript:" not in art["html"] and "onerror" not in art["html"]
    results = client.get("/api/v1/kb/search", params={"q": "hello"}).json()["results"]
    assert "<b>" not in results[0]["snippet"]


def test_bad_input_gets_clear_problems_never_a_500(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    token = f.token(db, hd.users["l1"], clock.now())
    draft = kbf.article(db, clock.now(), "Draft", "Not yet.", draft=True)
    published = kbf.article(db, clock.now(), "Live", "Live text.")
    cases = [
        client.get("/api/v1/kb/search", params={"q": ""}),
        client.get("/api/v1/kb/search", params={"q": "   "}),
        client.get("/api/v1/kb/search", params={"q": "x" * 2000}),
        client.get("/api/v1/kb/search", params={"q": "refund", "locale": "xx"}),
        client.put(
            f"/api/v1/kb/articles/{published.id}/translations/klingon",
            json={"title": "t", "body": "b"},
            headers=auth(token),
        ),
        client.post(
            "/api/v1/kb/articles",
            json={"title": "t", "body": "b", "locale": "fr", "category": "c", "visibility": "public"},
            headers=auth(token),
        ),
        client.post("/api/v1/kb/articles/999999/votes", json={"helpful": True}),
        client.post(f"/api/v1/kb/articles/{draft.id}/votes", json={"helpful": True}, headers=auth(token)),
        client.post(f"/api/v1/kb/articles/{draft.id}/votes", json={"helpful": True}),
    ]
    statuses = [c.status_code for c in cases]
    assert statuses == [422, 422, 422, 422, 422, 422, 404, 409, 404], [c.text for c in cases]
    for c in cases:
        assert c.headers["content-type"] == "application/problem+json"
        assert c.json()["detail"]
    assert "not published" in cases[7].json()["detail"]
    # A long query within the limit is searched by its first terms, not refused.
    long = client.get("/api/v1/kb/search", params={"q": "live " * 190})
    assert long.status_code == 200 and long.json()["results"][0]["id"] == published.id


def test_votes_count_once_per_person_and_take_a_comment(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    art = kbf.article(db, clock.now(), "Live", "Live text.")
    alice = f.token(db, hd.users["alice"], clock.now())
    url = f"/api/v1/kb/articles/{art.id}/votes"
    assert client.post(url, json={"helpful": True}, headers=auth(alice)).json()["helpful_count"] == 1
    again = client.post(
        url, json={"helpful": False, "comment": "Step 3 is wrong"}, headers=auth(alice)
    ).json()
    assert (again["helpful_count"], again["unhelpful_count"]) == (0, 1)
    anon = client.post(url, json={"helpful": True}).json()
    assert (anon["helpful_count"], anon["unhelpful_count"]) == (1, 1)


def test_views_are_counted_and_search_analytics_show_top_zero_and_clicks(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    art = kbf.article(db, clock.now(), "Change the invoice address", "Billing settings hold the address.")
    first = client.get("/api/v1/kb/search", params={"q": "Invoice address"}).json()
    client.get("/api/v1/kb/search", params={"q": "invoice  ADDRESS"})
    client.get("/api/v1/kb/search", params={"q": "quantum teleport"})
    read = client.get(f"/api/v1/kb/articles/{art.id}", params={"search_id": first["search_id"]})
    assert read.json()["view_count"] == 1
    agent = f.token(db, hd.users["supervisor"], clock.now())
    stats = client.get("/api/v1/kb/analytics/search", headers=auth(agent)).json()
    assert stats["searches"] == 3 and stats["with_click"] == 1 and stats["zero_result_searches"] == 1
    assert stats["top_queries"][0] == {"query": "invoice address", "count": 2, "clicks": 1}
    assert stats["zero_result_queries"] == [{"query": "quantum teleport", "count": 1, "clicks": 0}]
    assert client.get("/api/v1/kb/analytics/search").status_code == 401


def test_faq_lists_featured_entries_per_locale_with_fallback(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    token = f.token(db, hd.users["l1"], clock.now())
    kbf.article(db, clock.now(), "Anything", "Text.", category="billing")
    for i in range(12):
        res = client.post(
            "/api/v1/kb/faq",
            json={
                "category": "billing",
                "question": f"Q{i}?",
                "answer": "A.",
                "featured": True,
                "position": i,
            },
            headers=auth(token),
        )
        assert res.status_code == 201, res.text
    featured = client.get("/api/v1/kb/faq", params={"featured": True, "locale": "ja"}).json()
    assert [e["question"] for e in featured] == [f"Q{i}?" for i in range(10)]


def test_suggestions_match_what_is_typed_without_logging_searches(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    art = kbf.article(db, clock.now(), "Refund policy", "Refunds take up to 14 days.")
    res = client.get("/api/v1/kb/suggest", params={"q": "I want a refund for my order", "locale": "en"})
    assert res.status_code == 200 and [r["id"] for r in res.json()] == [art.id]
    assert client.get("/api/v1/kb/suggest", params={"q": "  "}).json() == []
    fragment = client.get("/help/suggest", params={"q": "refund"})
    assert fragment.status_code == 200 and f"/help/articles/{art.id}" in fragment.text
    # The portal's new-ticket form sends its subject field as typed.
    typed = client.get("/help/suggest", params={"subject": "Where is my refund"})
    assert f"/help/articles/{art.id}" in typed.text
    sup = f.token(db, hd.users["supervisor"], clock.now())
    assert client.get("/api/v1/kb/analytics/search", headers=auth(sup)).json()["searches"] == 0


def test_a_solved_ticket_becomes_a_draft_article_without_internal_notes(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    from tierdesk.tickets import service as tickets
    from tierdesk.tickets.models import MessageKind, Status
    from tierdesk.tickets.schemas import MessageCreate, TicketPatch

    hd = f.helpdesk(db)
    agent = f.actor(db, hd.users["l1"])
    ticket = f.ticket(
        db, agent, clock.now(), subject="Export stuck at 99%", requester_id=hd.customers["carol"]
    )
    token = f.token(db, hd.users["l1"], clock.now())
    early = client.post(
        "/api/v1/kb/articles/from-ticket", json={"ticket": ticket.number}, headers=auth(token)
    )
    assert early.status_code == 409
    tickets.add_message(
        db,
        agent,
        ticket.id,
        MessageCreate(body="Customer seems upset", kind=MessageKind.internal),
        clock.now(),
    )
    tickets.add_message(
        db, agent, ticket.id, MessageCreate(body="Clear the browser cache and export again."), clock.now()
    )
    tickets.update_ticket(db, agent, ticket.id, TicketPatch(status=Status.solved), clock.now())
    res = client.post("/api/v1/kb/articles/from-ticket", json={"ticket": ticket.number}, headers=auth(token))
    assert res.status_code == 201, res.text
    body = res.json()
    assert body["status"] == "draft" and body["visibility"] == "internal"
    assert body["title"] == "Export stuck at 99%" and "Clear the browser cache" in body["body"]
    assert "upset" not in body["body"]
    alice = f.token(db, hd.users["alice"], clock.now())
    assert (
        client.post(
            "/api/v1/kb/articles/from-ticket", json={"ticket": ticket.number}, headers=auth(alice)
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/api/v1/kb/articles/from-ticket", json={"ticket": "nope"}, headers=auth(token)
        ).status_code
        == 404
    )


def test_a_chinese_query_on_an_english_page_still_finds_the_chinese_article(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    kbf.article(db, clock.now(), *TIME_BOX_EN, category="tiers")
    zh = kbf.article(db, clock.now(), *TIME_BOX_ZH, locale="zh", category="tiers")
    for params in ({"q": "一级工单多久要升级", "locale": "en"}, {"q": "一级工单多久要升级"}):
        results = client.get("/api/v1/kb/search", params=params).json()["results"]
        assert results[0]["id"] == zh.id and results[0]["locale"] == "zh", params


def test_more_bad_input_is_refused_clearly(client: TestClient, db: Session, clock: FrozenClock) -> None:
    hd = f.helpdesk(db)
    agent = f.token(db, hd.users["l1"], clock.now())
    alice = f.token(db, hd.users["alice"], clock.now())
    bob = f.token(db, hd.users["bob"], clock.now())
    kbf.article(db, clock.now(), "Refund policy", "Refunds take 14 days.")
    org_without_id = client.post(
        "/api/v1/kb/articles",
        json={"title": "t", "body": "b", "locale": "en", "category": "c", "visibility": "organization"},
        headers=auth(agent),
    )
    only_scripts = client.post(
        "/api/v1/kb/articles",
        json={
            "title": "t",
            "body": "<script>x</script>",
            "locale": "en",
            "category": "c",
            "visibility": "public",
        },
        headers=auth(agent),
    )
    session = client.post(
        "/api/v1/answers", json={"question": "refund", "locale": "en"}, headers=auth(alice)
    ).json()
    foreign = client.post(
        f"/api/v1/answers/{session['session']}/feedback", json={"solved": True}, headers=auth(bob)
    )
    cases = [
        (org_without_id, 422),
        (only_scripts, 422),
        (client.get("/api/v1/kb/faq", params={"locale": "xx"}), 422),
        (client.post("/api/v1/kb/articles/1/votes", json={"helpful": True, "locale": "xx"}), 422),
        (client.get("/api/v1/kb/articles", params={"category": "nope"}), 404),
        (client.get("/api/v1/kb/articles", params={"cursor": "garbage"}), 422),
        (foreign, 404),
        (client.get("/help/categories/nope"), 404),
    ]
    for res, status in cases:
        assert res.status_code == status, (res.request.url, res.text)
    # Nothing half-written: the refused articles left no category behind.
    assert [c["slug"] for c in client.get("/api/v1/kb/categories").json()] == ["general"]
