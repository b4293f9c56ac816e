"""The embeddable help widget in a real browser, on a customer's page served from another
origin and site (http://localhost:<port> embedding the desk at http://127.0.0.1:<port>): the
floating Help button opens the widget iframe, the visitor asks, sees the answer and says it
solved the problem. Cross-site, so the desk's SameSite=Lax session cookie is never sent."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from tests.browser.conftest import PageFactory, Server
from tests.kb import factories as kbf
from tierdesk.kb.models import Category, SelfServiceSession

QUESTION = "how many parsecs does the kessel widget run take"


@pytest.fixture
def host_site(server: Server) -> Iterator[str]:
    """A tiny customer website on another port and host name that embeds widget.js."""
    html = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Acme shop</title></head>"
        "<body style='font-family:sans-serif'><h1>Acme shop</h1><p>Welcome to our shop.</p>"
        f"<script src='{server.url}/static/widget.js' defer></script></body></html>"
    ).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(html)))
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def test_a_visitor_on_another_site_opens_the_widget_asks_and_marks_it_solved(
    anonymous_page: PageFactory, server: Server, host_site: str, shots: Path
) -> None:
    with server.db() as db:
        kbf.article(
            db,
            datetime.now(UTC),
            "The Kessel widget run",
            "The Kessel widget run takes twelve parsecs on a good day.",
            category=_any_category(db),
        )
        db.commit()
    page = anonymous_page()
    page.goto(host_site)
    button = page.get_by_role("button", name="Help")
    assert button.get_attribute("aria-expanded") == "false"
    button.focus()
    page.keyboard.press("Enter")  # keyboard accessible
    assert button.get_attribute("aria-expanded") == "true"
    widget = page.frame_locator("#tierdesk-widget-frame")
    widget.locator("#kb-question").fill(QUESTION)
    widget.get_by_role("button", name="Ask").click()
    widget.get_by_text("twelve parsecs").wait_for()
    link = widget.get_by_role("link", name="Read the whole article")
    assert link.get_attribute("target") == "_blank"
    page.screenshot(path=str(shots / "kb-widget-answer.png"))
    widget.get_by_role("button", name="Yes, thank you").click()
    widget.get_by_text("Glad we could help!").wait_for()
    with server.db(write=False) as db:
        last = db.query(SelfServiceSession).order_by(SelfServiceSession.id.desc()).first()
        assert last is not None and last.outcome == "solved"
        assert any(t.get("question") == QUESTION for t in last.transcript)
    button.click()  # the same button closes it
    assert widget.locator("body").is_hidden()
    assert button.get_attribute("aria-expanded") == "false"


def _any_category(db: Session) -> str:
    category = db.query(Category).order_by(Category.id).first()
    assert category is not None, "the demo has help-center categories"
    return str(category.slug)
