from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests import factories as f
from tierdesk.core.clock import FrozenClock


def bearer(db: Session, user_id: int, clock: FrozenClock) -> dict[str, str]:
    return {"Authorization": f"Bearer {f.token(db, user_id, clock.now())}"}


def test_healthz_answers_ok(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_every_response_carries_a_request_id_and_echoes_a_given_one(client: TestClient) -> None:
    assert len(client.get("/healthz").headers["x-request-id"]) == 32
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"


def test_pages_may_not_be_framed_by_other_sites_except_the_help_widget(client: TestClient) -> None:
    for path in ("/login", "/help", "/healthz"):
        r = client.get(path)
        assert r.headers["content-security-policy"] == "frame-ancestors 'self'", path
        assert r.headers["x-frame-options"] == "SAMEORIGIN", path
    widget = client.get("/help/widget")
    assert widget.status_code == 200
    assert widget.headers["content-security-policy"] == "frame-ancestors *"
    assert "x-frame-options" not in widget.headers


def test_metrics_expose_latency_histogram_and_tickets_by_status_and_tier(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    f.ticket(db, f.actor(db, hd.users["l1"]), clock.now(), requester_id=hd.customers["carol"])
    db.commit()  # as a request would: the counters are written at commit
    client.get("/healthz")
    text = client.get("/metrics").text
    assert (
        'tierdesk_http_request_duration_seconds_bucket{le="0.001",method="GET",route="/healthz",status="200"}'
        in text
    )
    assert 'tierdesk_tickets{status="new",tier="L1"} 1.0' in text


def test_oversized_body_is_refused_with_413_problem(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    big = {"subject": "x", "description": "a" * 300_000, "requester_id": hd.customers["carol"]}
    r = client.post(
        "/api/v1/tickets",
        content=json.dumps(big),
        headers={**bearer(db, hd.users["l1"], clock), "content-type": "application/json"},
    )
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"
    assert "limit" in r.json()["detail"]


def test_malformed_json_and_wrong_types_get_422_with_field_messages(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    h = {**bearer(db, hd.users["l1"], clock), "content-type": "application/json"}
    r = client.post("/api/v1/tickets", content=b"{not json", headers=h)
    assert r.status_code == 422 and r.json()["errors"]
    r = client.post(
        "/api/v1/tickets", json={"subject": "x", "priority": "whenever", "tags": ["bad tag!"]}, headers=h
    )
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"priority", "tags"} <= fields


def test_unknown_route_wrong_method_and_bad_cursor_are_problems_not_500s(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    h = bearer(db, hd.users["l1"], clock)
    assert client.get("/api/v1/nowhere", headers=h).status_code == 404
    assert client.put("/api/v1/tickets", headers=h).status_code == 405
    r = client.get("/api/v1/tickets", params={"cursor": "garbage"}, headers=h)
    assert r.status_code == 422 and "cursor" in r.json()["detail"]
    assert client.get("/api/v1/tickets/T-abc", headers=h).status_code == 404
    assert client.get("/api/v1/tickets/99999999", headers=h).status_code == 404


def test_openapi_documents_the_ticket_endpoints(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    assert "/api/v1/tickets" in spec["paths"]
    assert "/api/v1/tickets/{ref}/timeline" in spec["paths"]
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and "/api/openapi.json" in docs.text


def test_the_openapi_document_is_built_outside_the_serving_process_and_is_the_apps_own(
    client: TestClient,
) -> None:
    served = client.get("/api/openapi.json")
    assert served.status_code == 200 and served.headers["content-type"] == "application/json"
    app = client.app
    # Served from a child process's build: this process resolved no schema of its own.
    assert app.openapi_schema is None  # type: ignore[attr-defined]
    assert served.json() == app.openapi()  # type: ignore[attr-defined]
    assert "/api/openapi.json" not in served.json()["paths"]


def test_creating_a_ticket_refuses_a_body_it_cannot_read_as_every_route_does(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    """POST /api/v1/tickets is served without FastAPI's request handling (web/deps.py
    `served_by`): it must refuse bad bodies with the same 422 problems, and strangers with
    401."""
    hd = f.helpdesk(db)
    h = bearer(db, hd.users["l1"], clock)
    good = json.dumps({"subject": "Printer", "requester_id": hd.customers["carol"]}).encode()
    missing = client.post("/api/v1/tickets", headers=h)
    assert missing.status_code == 422
    assert missing.json()["errors"] == [{"field": "body", "message": "is required"}]
    not_json = client.post("/api/v1/tickets", content=good, headers={**h, "content-type": "text/plain"})
    assert not_json.status_code == 422 and not_json.headers["content-type"] == "application/problem+json"
    broken = client.post(
        "/api/v1/tickets", content=b'{"subject": ', headers={**h, "content-type": "application/json"}
    )
    assert broken.status_code == 422
    assert broken.json()["errors"][0]["message"] == "the body is not valid JSON"
    nested = client.post(
        "/api/v1/tickets",
        json={"subject": "Printer", "requester": {"email": "not an address"}},
        headers=h,
    )
    assert nested.status_code == 422 and nested.json()["errors"][0]["field"] == "requester.email"
    stranger = client.post("/api/v1/tickets", content=good, headers={"content-type": "application/json"})
    assert stranger.status_code == 401
    ok = client.post(
        "/api/v1/tickets", content=good, headers={**h, "content-type": "application/json; charset=utf-8"}
    )
    assert ok.status_code == 201 and ok.json()["subject"] == "Printer"


def test_the_openapi_document_still_describes_the_create_body(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    body = spec["paths"]["/api/v1/tickets"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/TicketCreate"}
    assert "subject" in spec["components"]["schemas"]["TicketCreate"]["properties"]
