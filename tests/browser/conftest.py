"""Browser-test harness: a real `tierdesk serve` and Debian's Chromium driven by Playwright.

Session fixtures (see tests/browser/README.md for examples):

- `server` — one `tierdesk serve` process on a free port, against a fresh temporary SQLite
  database that is migrated (`alembic upgrade heads`) and loaded with the demo
  (`tierdesk.demo.seed`), whatever TIERDESK_DATABASE_URL says. `server.url`, `server.email(local)`
  (demo e-mail from its local part, e.g. "l1.yuki" or "noah.turner") and `server.db()` (a
  session on the same database, to prepare data, commit it yourself; `server.db(write=False)`
  to look things up).
- `browser` — headless Chromium at /usr/bin/chromium (never a downloaded browser). When it is
  missing the browser tests skip, unless TIERDESK_REQUIRE_BROWSER=1 (set by .ci/run): then
  they fail.
- `login` (function scope) — `login("l1.yuki")` returns a Playwright `Page` signed in as that
  demo persona through the real /login form, in a fresh browser context (own cookies).
  Keyword arguments: `locale="ja-JP"` (sent as Accept-Language), `viewport=(390, 844)`.
- `anonymous_page` (function scope) — `anonymous_page(locale=..., viewport=...)`, not signed in.
- `shots` (function scope) — the directory for screenshots: $TIERDESK_SCREENSHOTS when set
  (`make screenshots` sets docs/screenshots), else the test's temporary directory.

Every page records failed requests and browser console errors; a test fails if the server
answered 500 to any of them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tierdesk.core.db import Database
from tierdesk.core.migrate import upgrade
from tierdesk.demo import seed

CHROMIUM = Path(os.environ.get("TIERDESK_CHROMIUM", "/usr/bin/chromium"))
REQUIRE = os.environ.get("TIERDESK_REQUIRE_BROWSER") == "1"
PASSWORD = seed.DEMO_PASSWORD
PHONE = (390, 844)


def _skip_or_fail(reason: str) -> None:
    if REQUIRE:
        pytest.fail(f"{reason} (TIERDESK_REQUIRE_BROWSER=1)", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    database_url: str
    logins: dict[str, str]  # e-mail local part -> e-mail
    log: Path
    _database: Database | None = field(default=None, repr=False)

    def email(self, local: str) -> str:
        """Demo e-mail address from its local part ("admin", "l1.yuki", "hanako.sato")."""
        return self.logins[local]

    def db(self, write: bool = True) -> Any:
        """A session on the server's database; use it as a context manager (`with
        server.db() as db:`), commit yourself. A write session takes SQLite's write lock at
        its first statement and holds it until it ends, so keep it short, never across
        browser steps (the server would wait on it); `write=False` for lookups."""
        if self._database is None:
            self._database = Database(self.database_url)
        return self._database.session(write=write)


def _wait_until_up(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"tierdesk serve exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)  # polling a real process coming up, not a test waiting on time
    raise RuntimeError(f"tierdesk serve did not come up on {url}:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if not CHROMIUM.exists():
        _skip_or_fail(f"{CHROMIUM} is missing (apt-get install chromium)")
    root = tmp_path_factory.mktemp("browser")
    database_url = f"sqlite:///{root / 'tierdesk.db'}"
    upgrade(database_url)
    database = Database(database_url)
    with database.session(write=True) as db:
        created = seed.load_demo(db, datetime.now(UTC))
        db.commit()
    database.dispose()
    assert created
    logins = {email.split("@")[0]: email for email, _ in created}
    port = _free_port()
    env = {
        **os.environ,
        "TIERDESK_DATABASE_URL": database_url,
        "TIERDESK_ATTACHMENTS_DIR": str(root / "attachments"),
        "TIERDESK_SECRET_KEY": "browser-tests-secret",
        "TIERDESK_LOG_LEVEL": "WARNING",
        "TIERDESK_LOGIN_MAX_FAILURES": "1000",
    }
    log = root / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tierdesk.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    srv = Server(url=f"http://127.0.0.1:{port}", database_url=database_url, logins=logins, log=log)
    try:
        _wait_until_up(srv.url, proc, log)
        yield srv
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if srv._database is not None:
            srv._database.dispose()


@pytest.fixture(scope="session")
def browser(server: Server) -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the dev extra installs it
        _skip_or_fail("playwright is not installed (pip install -e '.[dev]')")
        raise
    pw = sync_playwright().start()
    try:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True)
    except Exception as exc:
        pw.stop()
        _skip_or_fail(f"Chromium at {CHROMIUM} did not start: {exc}")
        raise
    yield chromium
    chromium.close()
    pw.stop()


PageFactory = Callable[..., Any]


@pytest.fixture
def anonymous_page(server: Server, browser: Any) -> Iterator[PageFactory]:
    contexts: list[Any] = []
    server_errors: list[str] = []

    def make(locale: str = "en-GB", viewport: tuple[int, int] = (1280, 800)) -> Any:
        context = browser.new_context(
            base_url=server.url,
            locale=locale,
            viewport={"width": viewport[0], "height": viewport[1]},
            extra_http_headers={"Accept-Language": locale},
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on(
            "response",
            lambda r: (
                server_errors.append(f"{r.status} {r.request.method} {r.url}") if r.status >= 500 else None
            ),
        )
        return page

    yield make
    for context in contexts:
        context.close()
    assert not server_errors, f"the server answered 5xx: {server_errors}"


@pytest.fixture
def login(server: Server, anonymous_page: PageFactory) -> PageFactory:
    def sign_in(local: str, locale: str = "en-GB", viewport: tuple[int, int] = (1280, 800)) -> Any:
        page = anonymous_page(locale=locale, viewport=viewport)
        page.goto("/login")
        page.fill("#email", server.email(local))
        page.fill("#password", PASSWORD)
        page.locator("form[action='/login'] button[type=submit]").click()
        page.wait_for_url(lambda url: not url.endswith("/login"))
        return page

    return sign_in


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    out = Path(os.environ.get("TIERDESK_SCREENSHOTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    return out
