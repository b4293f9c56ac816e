"""All queries of the vendors domain.

Vendors are a staff directory every staff member may read. Which *cases* a caller sees is
decided by the ticket they belong to (the tickets service's visibility rules), never here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from tierdesk.vendors.models import Vendor, VendorCase


def vendors(db: Session) -> list[Vendor]:
    return list(db.scalars(select(Vendor).order_by(Vendor.name, Vendor.id)))


def vendor(db: Session, vendor_id: int) -> Vendor | None:
    return db.get(Vendor, vendor_id)


def vendor_by_key(db: Session, key: str) -> Vendor | None:
    return db.scalars(select(Vendor).where(Vendor.key == key)).first()


def case(db: Session, case_id: int, for_update: bool = False) -> VendorCase | None:
    stmt = select(VendorCase).where(VendorCase.id == case_id)
    if for_update:
        # Replies serialize on the case row, so two first answers cannot both stamp it.
        stmt = stmt.with_for_update()
    return db.scalars(stmt).first()


def case_by_reference(
    db: Session, vendor_id: int, reference: str, for_update: bool = False
) -> VendorCase | None:
    stmt = select(VendorCase).where(VendorCase.vendor_id == vendor_id, VendorCase.reference == reference)
    if for_update:
        stmt = stmt.with_for_update()
    return db.scalars(stmt).first()


def cases_for_ticket(db: Session, ticket_id: int) -> list[VendorCase]:
    """Oldest first; one range scan of ix_vendor_cases_ticket_opened."""
    stmt = (
        select(VendorCase)
        .where(VendorCase.ticket_id == ticket_id)
        .order_by(VendorCase.opened_at, VendorCase.id)
    )
    return list(db.scalars(stmt))


@dataclass(frozen=True)
class Counts:
    cases: int
    answered: int
    answered_within_target: int
    open_overdue: int


def counts(db: Session, vendor_id: int, now: datetime) -> Counts:
    """One aggregate over the vendor's cases (the (vendor_id, reference) unique index)."""
    answered = VendorCase.first_response_at.is_not(None)
    stmt = select(
        func.count(),
        func.count().filter(answered),
        func.count().filter(and_(answered, VendorCase.breached.is_(False))),
        func.count().filter(
            VendorCase.first_response_at.is_(None), VendorCase.closed_at.is_(None), VendorCase.due_at < now
        ),
    ).where(VendorCase.vendor_id == vendor_id)
    row = db.execute(stmt).one()
    return Counts(*(int(v or 0) for v in row))


def response_seconds(db: Session, vendor_id: int) -> list[int]:
    """The stored response times of the vendor's answered cases, ascending."""
    stmt = (
        select(VendorCase.response_seconds)
        .where(VendorCase.vendor_id == vendor_id, VendorCase.response_seconds.is_not(None))
        .order_by(VendorCase.response_seconds)
    )
    return [v for v in db.scalars(stmt) if v is not None]
