from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from tests import factories as f
from tierdesk.core.clock import FrozenClock
from tierdesk.core.security import ANONYMOUS, SYSTEM
from tierdesk.kb import answers, demo, service


def test_demo_help_center_has_four_languages_faq_and_measured_deflection(
    db: Session, clock: FrozenClock
) -> None:
    hd = f.helpdesk(db)
    carol = f.actor(db, hd.users["carol"])
    for days in (3, 9):
        f.ticket(db, carol, clock.now() - timedelta(days=days), subject="Card payment declined, what now?")
    ids = demo.load(db, clock.now())
    assert len(ids) >= 12
    found = service.find(db, ANONYMOUS, "一级工单多久要升级", "zh", 5)
    assert found[0].article_id == ids["tier-timebox"] and found[0].locale == "zh"
    assert service.find(db, ANONYMOUS, "quando un ticket passa al secondo livello", "it", 5)[0].locale == "it"
    assert len(service.list_faq(db, ANONYMOUS, "ja", None, True)) >= 2
    report = answers.deflection_report(db, SYSTEM, clock.now())
    assert report.settled_sessions > 50 and 0 < (report.rate or 0) < 1
    assert {row.label for row in report.by_category} >= {"Billing and refunds", "How support works"}
