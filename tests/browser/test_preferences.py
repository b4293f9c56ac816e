"""Anyone switches their own language and time zone; every page follows at once."""

from __future__ import annotations

from pathlib import Path

from tests.browser.conftest import PageFactory


def test_a_specialist_switches_the_ui_to_italian_from_the_user_menu(login: PageFactory, shots: Path) -> None:
    page = login("fraud.emma")  # English profile; no other browser test signs in as her
    page.goto("/preferences")
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_label("Language").select_option("it")
    page.get_by_label("Time zone").fill("Europe/Rome")
    page.get_by_role("button", name="Save").click()
    assert page.locator("html").get_attribute("lang") == "it"
    assert page.get_by_role("status").inner_text().startswith("Salvato.")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(shots / "preferences.png"))
    page.get_by_label("Lingua").select_option("en")
    page.get_by_role("button", name="Salva").click()
    assert page.locator("html").get_attribute("lang") == "en"
