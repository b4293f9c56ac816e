from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests import factories as f
from tierdesk.accounts import service as accounts
from tierdesk.accounts.models import User
from tierdesk.core.clock import FrozenClock
from tierdesk.core.security import Scope


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "form has no CSRF field"
    return match.group(1)


def test_passwords_are_stored_as_argon2_hashes(db: Session) -> None:
    hd = f.helpdesk(db)
    user = db.get(User, hd.users["l1"])
    assert user is not None and user.password_hash is not None
    assert user.password_hash.startswith("$argon2id$")
    assert f.PASSWORD not in user.password_hash


def test_agent_signs_in_with_the_form_and_sees_their_home_page(client: TestClient, db: Session) -> None:
    f.helpdesk(db)
    page = client.get("/login")
    assert page.status_code == 200
    r = client.post(
        "/login",
        data={"email": "L1@desk.example.com", "password": f.PASSWORD, "csrf": _csrf(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/"
    home = client.get("/")
    assert home.status_code == 200 and "l1 (agent)" in home.text


def test_sign_in_without_the_csrf_token_is_refused(client: TestClient, db: Session) -> None:
    f.helpdesk(db)
    client.get("/login")
    r = client.post("/login", data={"email": "l1@desk.example.com", "password": f.PASSWORD, "csrf": "forged"})
    assert r.status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 303


def test_sixth_wrong_password_is_throttled_even_with_the_right_one(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    f.helpdesk(db)
    csrf = _csrf(client.get("/login").text)
    for _ in range(5):
        r = client.post(
            "/login", data={"email": "l1@desk.example.com", "password": "wrong password!", "csrf": csrf}
        )
        assert r.status_code == 401
        assert "Wrong e-mail address or password" in r.text
    r = client.post("/login", data={"email": "l1@desk.example.com", "password": f.PASSWORD, "csrf": csrf})
    assert r.status_code == 429
    clock.advance(minutes=16)
    r = client.post(
        "/login",
        data={"email": "l1@desk.example.com", "password": f.PASSWORD, "csrf": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303


def test_cookie_session_api_writes_need_the_csrf_header(client: TestClient, db: Session) -> None:
    hd = f.helpdesk(db)
    csrf = _csrf(client.get("/login").text)
    client.post("/login", data={"email": "l1@desk.example.com", "password": f.PASSWORD, "csrf": csrf})
    home_csrf = _csrf(client.get("/").text)
    body = {"subject": "Phone call", "requester_id": hd.customers["carol"]}
    assert client.post("/api/v1/tickets", json=body).status_code == 403
    assert client.post("/api/v1/tickets", json=body, headers={"X-CSRF-Token": home_csrf}).status_code == 201
    assert client.get("/api/v1/me").json()["user"]["email"] == "l1@desk.example.com"


def test_read_only_token_cannot_write(client: TestClient, db: Session, clock: FrozenClock) -> None:
    hd = f.helpdesk(db)
    token = f.token(db, hd.users["l1"], clock.now(), scopes=(Scope.read,))
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/tickets", headers=headers).status_code == 200
    r = client.post(
        "/api/v1/tickets", json={"subject": "x", "requester_id": hd.customers["carol"]}, headers=headers
    )
    assert r.status_code == 403 and "read-only" in r.json()["detail"]


def test_revoked_expired_and_forged_tokens_get_401(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    token = f.token(db, hd.users["l1"], clock.now())
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    forged = token[:-4] + "AAAA"
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    token_id = client.get("/api/v1/tokens", headers=headers).json()[0]["id"]
    assert client.delete(f"/api/v1/tokens/{token_id}", headers=headers).status_code == 204
    r = client.get("/api/v1/me", headers=headers)
    assert r.status_code == 401 and "revoked" in r.json()["detail"]
    assert r.headers["www-authenticate"] == "Bearer"


def test_token_expiry_is_enforced(client: TestClient, db: Session, clock: FrozenClock) -> None:
    from tierdesk.accounts.schemas import TokenIn

    hd = f.helpdesk(db)
    agent = f.actor(db, hd.users["l1"])
    _, token = accounts.create_token(
        db, agent, TokenIn(name="short", expires_at=clock.now() + timedelta(hours=1)), clock.now()
    )
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    clock.advance(hours=2)
    assert client.get("/api/v1/me", headers=headers).json()["detail"] == "This API token has expired."


def test_tokens_are_stored_hashed(db: Session, clock: FrozenClock) -> None:
    from tierdesk.accounts.models import ApiToken

    hd = f.helpdesk(db)
    token = f.token(db, hd.users["l1"], clock.now())
    rows = db.query(ApiToken).all()
    assert rows and all(token not in (r.token_hash + r.lookup) for r in rows)


def test_anonymous_api_call_gets_401_problem(client: TestClient) -> None:
    r = client.get("/api/v1/tickets")
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
