"""Everyone signed in chooses their own language and time zone; pages follow at once."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests import factories as f
from tierdesk.accounts import service as accounts
from tierdesk.accounts.models import User
from tierdesk.core.errors import InvalidInput


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match
    return match.group(1)


def _sign_in(client: TestClient, email: str) -> None:
    page = client.get("/login")
    client.post("/login", data={"email": email, "password": f.PASSWORD, "csrf": _csrf(page.text)})


def test_a_customer_switches_the_portal_to_italian_and_their_time_zone(
    client: TestClient, db: Session
) -> None:
    hd = f.helpdesk(db)
    _sign_in(client, "carol@cust.example.com")
    page = client.get("/preferences")
    assert (
        page.status_code == 200
        and '<label for="language">' in page.text
        and '<label for="timezone">' in page.text
    )
    r = client.post(
        "/preferences", data={"language": "it", "timezone": "Europe/Rome", "csrf": _csrf(page.text)}
    )
    assert r.status_code == 200 and '<html lang="it">' in r.text and "Salvato." in r.text
    user = db.get(User, hd.users["carol"])
    assert user is not None and (user.language, user.timezone) == ("it", "Europe/Rome")
    assert "I miei ticket" in client.get("/portal", headers={"Accept-Language": "ja"}).text


def test_an_unknown_time_zone_is_shown_next_to_its_field_and_nothing_changes(
    client: TestClient, db: Session
) -> None:
    hd = f.helpdesk(db)
    _sign_in(client, "l1@desk.example.com")
    page = client.get("/preferences")
    r = client.post(
        "/preferences", data={"language": "ja", "timezone": "Mars/Olympus", "csrf": _csrf(page.text)}
    )
    assert r.status_code == 422
    assert re.search(r'id="timezone-error">[^<]+Europe/Rome', r.text)
    assert 'value="Mars/Olympus"' in r.text
    user = db.get(User, hd.users["l1"])
    assert user is not None and (user.language, user.timezone) == ("en", "UTC")


def test_preferences_need_the_forms_csrf_token_and_a_signed_in_person(
    client: TestClient, db: Session
) -> None:
    hd = f.helpdesk(db)
    assert client.get("/preferences", follow_redirects=False).headers["location"] == "/login"
    _sign_in(client, "carol@cust.example.com")
    r = client.post("/preferences", data={"language": "zh", "timezone": "UTC", "csrf": "forged"})
    assert r.status_code == 403
    user = db.get(User, hd.users["carol"])
    assert user is not None and user.language == "en"


def test_only_offered_languages_are_accepted(db: Session) -> None:
    hd = f.helpdesk(db)
    with pytest.raises(InvalidInput) as err:
        accounts.set_preferences(db, f.actor(db, hd.users["l2"]), "de", "UTC")
    assert err.value.extra["field"] == "language"
