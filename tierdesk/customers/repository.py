"""All queries of the customers domain."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, bindparam, select
from sqlalchemy.orm import Session

from tierdesk.core.driver_read import DriverSelect
from tierdesk.customers.models import Customer, Organization


def organizations(db: Session) -> list[Organization]:
    return list(db.scalars(select(Organization).order_by(Organization.name)))


def organization_by_name(db: Session, name: str) -> Organization | None:
    return db.scalars(select(Organization).where(Organization.name == name)).first()


def customer_by_email(db: Session, email: str) -> Customer | None:
    return db.scalars(select(Customer).where(Customer.email == email.lower())).first()


def customers_page(
    db: Session, after_id: int | None, limit: int, organization_id: int | None, email: str | None
) -> list[Customer]:
    stmt = select(Customer).order_by(Customer.id).limit(limit)
    if after_id is not None:
        stmt = stmt.where(Customer.id > after_id)
    if organization_id is not None:
        stmt = stmt.where(Customer.organization_id == organization_id)
    if email is not None:
        stmt = stmt.where(Customer.email == email.lower())
    return list(db.scalars(stmt))


# Core, on the session's connection, or on the driver in a core.driver_read scope: every new
# ticket reads its requester, and an ORM load (identity map, instance state) cost several
# times the query itself (docs/performance.md).
_customers = Customer.__table__.c
_REQUESTER = DriverSelect(
    select(
        _customers.id, _customers.organization_id, _customers.language, _customers.vip, _customers.flags
    ).where(_customers.id == bindparam("id"))
)


def requester_row(db: Session, customer_id: int) -> Row[int, int | None, str, bool, Any] | None:
    """id, organization_id, language, vip and flags of a customer, or None (a Row, or a
    named tuple of the same fields when read on the driver)."""
    row: Row[int, int | None, str, bool, Any] | None = _REQUESTER.first(db, {"id": customer_id})
    return row
