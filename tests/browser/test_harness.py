"""The harness itself: a real server, real Chromium, real sign-in for each kind of persona."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser.conftest import PHONE, PageFactory
from tests.browser.support import assert_no_horizontal_overflow


def test_an_agent_signs_in_through_the_login_form_and_lands_on_a_page_with_their_name(
    login: PageFactory,
) -> None:
    page: Any = login("l1.giulia")
    assert "Giulia Romano" in page.content()


def test_a_wrong_password_keeps_the_person_on_the_sign_in_page_with_an_error(
    anonymous_page: PageFactory, server: Any
) -> None:
    page = anonymous_page()
    page.goto("/login")
    page.fill("#email", server.email("noah.turner"))
    page.fill("#password", "not the password")
    page.locator("form[action='/login'] button[type=submit]").click()
    assert page.locator("[role=alert]").is_visible()
    assert page.url.endswith("/login")


def test_the_sign_in_page_fits_a_phone_screen(anonymous_page: PageFactory, shots: Path) -> None:
    page = anonymous_page(viewport=PHONE)
    page.goto("/login")
    assert_no_horizontal_overflow(page)
    desktop = anonymous_page()
    desktop.goto("/login")
    desktop.screenshot(path=str(shots / "login.png"))
