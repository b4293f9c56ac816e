"""Pages speak the reader's language: profile first, then Accept-Language; concurrent
requests in different languages never mix."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests import factories as f
from tierdesk.accounts.models import User


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match
    return match.group(1)


def test_the_sign_in_page_follows_the_browsers_language(client: TestClient) -> None:
    ja = client.get("/login", headers={"Accept-Language": "ja-JP,ja;q=0.9,en;q=0.5"})
    assert '<html lang="ja">' in ja.text and "メールアドレス" in ja.text and "パスワード" in ja.text
    zh = client.get("/login", headers={"Accept-Language": "zh-CN"})
    assert '<html lang="zh-Hans">' in zh.text and "电子邮件地址" in zh.text
    it = client.get("/login", headers={"Accept-Language": "it"})
    assert "Accedi" in it.text
    other = client.get("/login", headers={"Accept-Language": "fr-FR, de"})
    assert '<html lang="en">' in other.text and "E-mail address" in other.text


def test_a_wrong_password_is_reported_in_the_readers_language(client: TestClient, db: Session) -> None:
    f.helpdesk(db)
    page = client.get("/login", headers={"Accept-Language": "it"})
    r = client.post(
        "/login",
        data={"email": "l1@desk.example.com", "password": "wrong password!", "csrf": _csrf(page.text)},
        headers={"Accept-Language": "it"},
    )
    assert r.status_code == 401
    assert "Indirizzo e-mail o password errati." in r.text


def test_the_profile_language_wins_over_the_browser_once_signed_in(client: TestClient, db: Session) -> None:
    hd = f.helpdesk(db)
    user = db.get(User, hd.users["carol"])
    assert user is not None
    user.language = "ja"
    db.flush()
    page = client.get("/login", headers={"Accept-Language": "it"})
    client.post(
        "/login",
        data={"email": "carol@cust.example.com", "password": f.PASSWORD, "csrf": _csrf(page.text)},
    )
    home = client.get("/", headers={"Accept-Language": "it"}, follow_redirects=True)
    assert home.status_code == 200
    assert '<html lang="ja">' in home.text and "ログアウト" in home.text


def test_concurrent_requests_in_different_languages_never_mix(app: FastAPI) -> None:
    expected = {"ja": "パスワード", "zh": "密码", "it": "Password", "en": "Password"}
    title = {"ja": "ログイン", "zh": "登录", "it": "Accedi", "en": "Sign in"}

    async def run() -> list[tuple[str, str]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:

            async def one(code: str) -> tuple[str, str]:
                r = await http.get("/login", headers={"Accept-Language": code})
                return code, r.text

            return await asyncio.gather(*(one(code) for code in list(expected) * 10))

    # In a thread of its own: after the browser tests, Playwright's sync API keeps an event
    # loop running in the main thread, where asyncio.run() refuses to start another.
    with ThreadPoolExecutor(max_workers=1) as pool:
        results = pool.submit(asyncio.run, run()).result()
    for code, html in results:
        assert expected[code] in html and f"<h1>{title[code]}</h1>" in html, code
