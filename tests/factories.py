"""Factories shared by the domain tests: a small helpdesk built through the services."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from tierdesk.accounts import service as accounts
from tierdesk.accounts.schemas import TokenIn, UserIn
from tierdesk.core.security import SYSTEM, Actor, Role, Scope
from tierdesk.customers import service as customers
from tierdesk.customers.schemas import CustomerIn, OrganizationIn
from tierdesk.tickets import service as tickets
from tierdesk.tickets.models import Ticket
from tierdesk.tickets.schemas import TicketCreate
from tierdesk.tiers import service as tiers
from tierdesk.tiers.schemas import AgentWorkIn, TeamIn, TierIn

PASSWORD = "correct horse battery"


def ladder(db: Session) -> dict[str, int]:
    """The default L0-L4 ladder; returns key -> id."""
    spec = [
        ("L0", "Self-service", 0, None, True, False, False),
        ("L1", "Front line", 1, 15, False, False, True),
        ("L2", "Specialists", 2, 30, False, False, False),
        ("L3", "Experts", 3, None, False, False, False),
        ("L4", "Vendor", 4, None, False, True, False),
    ]
    out = {}
    for key, name, level, box, self_service, vendor, default in spec:
        tier = tiers.create_tier(
            db,
            SYSTEM,
            TierIn(
                key=key,
                name=name,
                level=level,
                time_box_minutes=box,
                self_service=self_service,
                vendor=vendor,
                is_default=default,
            ),
        )
        out[key] = tier.id
    return out


def team(db: Session, key: str, kind: str = "general", need_to_know: bool = False) -> int:
    return tiers.create_team(
        db, SYSTEM, TeamIn(key=key, name=key.title(), kind=kind, need_to_know=need_to_know)
    ).id  # type: ignore[arg-type]


def staff(
    db: Session, email: str, role: Role, tier_ids: list[int] | None = None, team_ids: list[int] | None = None
) -> int:
    work = AgentWorkIn(tier_ids=tier_ids or [], team_ids=team_ids or [])
    return accounts.create_user(
        db, SYSTEM, UserIn(email=email, name=email.split("@")[0], role=role, password=PASSWORD, work=work)
    ).id


def customer_login(db: Session, email: str, organization_id: int | None = None) -> tuple[int, int]:
    """Returns (user_id, customer_id)."""
    cust = customers.create_customer(
        db, SYSTEM, CustomerIn(name=email.split("@")[0], email=email, organization_id=organization_id)
    )
    user = accounts.create_user(
        db,
        SYSTEM,
        UserIn(email=email, name=cust.name, role=Role.customer, password=PASSWORD, customer_id=cust.id),
    )
    return user.id, cust.id


def organization(db: Session, name: str, shared: bool = False, strategic: bool = False) -> int:
    return customers.create_organization(
        db, SYSTEM, OrganizationIn(name=name, shared_tickets=shared, strategic=strategic)
    ).id


def actor(db: Session, user_id: int) -> Actor:
    found = accounts.actor_for_user_id(db, user_id)
    assert found is not None
    return found


def token(
    db: Session, user_id: int, now: datetime, scopes: tuple[Scope, ...] = (Scope.read, Scope.write)
) -> str:
    _, secret = accounts.create_token(
        db, SYSTEM, TokenIn(name="test", scopes=list(scopes)), now, for_user_id=user_id
    )
    return secret


def ticket(db: Session, who: Actor, now: datetime, **fields: object) -> Ticket:
    data = {"subject": "Cannot log in", "description": "It says my password is wrong."} | fields
    return tickets.create_ticket(db, who, TicketCreate(**data), now)  # type: ignore[arg-type]


@dataclass
class Helpdesk:
    """A small shop: the ladder, fraud (need-to-know) and billing teams, one person per role."""

    tiers: dict[str, int]
    teams: dict[str, int]
    users: dict[str, int] = field(default_factory=dict)
    customers: dict[str, int] = field(default_factory=dict)
    orgs: dict[str, int] = field(default_factory=dict)


def helpdesk(db: Session) -> Helpdesk:
    hd = Helpdesk(tiers=ladder(db), teams={})
    hd.teams["fraud"] = team(db, "fraud", "fraud", need_to_know=True)
    hd.teams["billing"] = team(db, "billing", "billing")
    hd.orgs["acme"] = organization(db, "Acme", shared=True, strategic=True)
    hd.orgs["globex"] = organization(db, "Globex")
    hd.users["l1"] = staff(db, "l1@desk.example.com", Role.agent, [hd.tiers["L1"]])
    hd.users["l2"] = staff(db, "l2@desk.example.com", Role.agent, [hd.tiers["L2"]])
    hd.users["l3"] = staff(db, "l3@desk.example.com", Role.agent, [hd.tiers["L3"]])
    hd.users["fraud"] = staff(db, "fraud@desk.example.com", Role.specialist, [], [hd.teams["fraud"]])
    hd.users["supervisor"] = staff(
        db, "sup@desk.example.com", Role.supervisor, [hd.tiers["L1"], hd.tiers["L2"]]
    )
    hd.users["admin"] = staff(db, "admin@desk.example.com", Role.admin)
    for name, org in (("alice", "acme"), ("bob", "acme"), ("carol", None)):
        uid, cid = customer_login(db, f"{name}@cust.example.com", hd.orgs[org] if org else None)
        hd.users[name] = uid
        hd.customers[name] = cid
    db.flush()
    return hd
