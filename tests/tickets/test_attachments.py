from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests import factories as f
from tierdesk.core.clock import FrozenClock

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_customer_attaches_a_screenshot_and_the_agent_downloads_it(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    t = f.ticket(db, f.actor(db, hd.users["carol"]), clock.now())
    carol = {"Authorization": f"Bearer {f.token(db, hd.users['carol'], clock.now())}"}
    agent = {"Authorization": f"Bearer {f.token(db, hd.users['l1'], clock.now())}"}
    r = client.post(
        f"/api/v1/tickets/{t.id}/attachments", files={"file": ("screen.png", PNG, "image/png")}, headers=carol
    )
    assert r.status_code == 201, r.text
    att = r.json()
    assert att["size"] == len(PNG) and att["content_type"] == "image/png"
    got = client.get(f"/api/v1/tickets/{t.id}/attachments/{att['id']}", headers=agent)
    assert got.status_code == 200 and got.content == PNG
    assert got.headers["x-content-type-options"] == "nosniff"


def test_renamed_program_and_unknown_types_are_refused(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    t = f.ticket(db, f.actor(db, hd.users["carol"]), clock.now())
    h = {"Authorization": f"Bearer {f.token(db, hd.users['l1'], clock.now())}"}
    fake_png = client.post(
        f"/api/v1/tickets/{t.id}/attachments",
        files={"file": ("cat.png", b"MZ\x90\x00" * 10, "image/png")},
        headers=h,
    )
    assert fake_png.status_code == 422 and "program" in fake_png.json()["detail"]
    exe = client.post(
        f"/api/v1/tickets/{t.id}/attachments",
        files={"file": ("setup.exe", b"hello", "application/x-msdownload")},
        headers=h,
    )
    assert exe.status_code == 422 and "not accepted" in exe.json()["detail"]


def test_attachment_over_the_size_limit_gets_413(client: TestClient, db: Session, clock: FrozenClock) -> None:
    hd = f.helpdesk(db)
    t = f.ticket(db, f.actor(db, hd.users["carol"]), clock.now())
    h = {"Authorization": f"Bearer {f.token(db, hd.users['l1'], clock.now())}"}
    r = client.post(
        f"/api/v1/tickets/{t.id}/attachments",
        files={"file": ("big.txt", b"a" * (64 * 1024 + 1), "text/plain")},
        headers=h,
    )
    assert r.status_code == 413


def test_internal_attachment_is_hidden_from_the_customer(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    t = f.ticket(db, f.actor(db, hd.users["carol"]), clock.now())
    agent = {"Authorization": f"Bearer {f.token(db, hd.users['l1'], clock.now())}"}
    carol = {"Authorization": f"Bearer {f.token(db, hd.users['carol'], clock.now())}"}
    att = client.post(
        f"/api/v1/tickets/{t.id}/attachments",
        files={"file": ("notes.txt", b"fraud score 0.9", "text/plain")},
        data={"internal": "true"},
        headers=agent,
    ).json()
    assert client.get(f"/api/v1/tickets/{t.id}/attachments", headers=carol).json() == []
    assert client.get(f"/api/v1/tickets/{t.id}/attachments/{att['id']}", headers=carol).status_code == 404
