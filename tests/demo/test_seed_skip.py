from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests import factories as f
from tierdesk.core.clock import FrozenClock
from tierdesk.core.security import Role
from tierdesk.demo import seed
from tierdesk.tickets.models import Ticket
from tierdesk.tiers import service as tiers


def test_demo_is_skipped_when_users_already_exist(db: Session, clock: FrozenClock) -> None:
    f.staff(db, "first.admin@example.com", Role.admin)

    assert seed.load_demo(db, clock.now(), only_if_empty=True) is None
    assert list(db.scalars(select(Ticket))) == []
    assert tiers.all_tiers(db) == []
