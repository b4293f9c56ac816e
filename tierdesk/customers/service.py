"""Organizations and customers. Staff read and create customers; supervisors manage
organizations; only administrators delete. A customer sees their own record only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from sqlalchemy import Row
from sqlalchemy.orm import Session

from tierdesk.core import crud
from tierdesk.core.errors import InvalidInput, NotFound
from tierdesk.core.memo import memoised, shared
from tierdesk.core.security import Actor, require_admin, require_signed_in, require_staff, require_supervisor
from tierdesk.customers import repository as repo
from tierdesk.customers.models import Customer, Organization
from tierdesk.customers.schemas import (
    CustomerIn,
    CustomerPatch,
    OrganizationIn,
    OrganizationPatch,
)


def list_organizations(db: Session, actor: Actor) -> list[Organization]:
    require_staff(actor)
    return repo.organizations(db)


def get_organization(db: Session, actor: Actor, org_id: int) -> Organization:
    require_signed_in(actor)
    if actor.is_customer and actor.organization_id == org_id:
        return crud.get_or_404(db, Organization, org_id, "Organization")
    if not actor.is_staff:
        raise NotFound(f"Organization {org_id} does not exist.")
    return crud.get_or_404(db, Organization, org_id, "Organization")


def create_organization(db: Session, actor: Actor, data: OrganizationIn) -> Organization:
    require_supervisor(actor)
    return crud.create_from(db, Organization, data, f"Organization '{data.name}'")


def update_organization(db: Session, actor: Actor, org_id: int, patch: OrganizationPatch) -> Organization:
    require_supervisor(actor)
    org = crud.get_or_404(db, Organization, org_id, "Organization")
    crud.apply_patch(org, patch)
    crud.flush_or_conflict(db, f"Organization '{org.name}'")
    return org


def delete_organization(db: Session, actor: Actor, org_id: int) -> None:
    require_admin(actor)
    crud.delete_or_conflict(db, crud.get_or_404(db, Organization, org_id, "Organization"), "Organization")


def organization_by_id(db: Session, org_id: int) -> Organization | None:
    return memoised(db, ("organization", org_id), lambda: db.get(Organization, org_id))


@dataclass(frozen=True)
class OrgFacts:
    """What routing and SLA read of an organization on every new ticket: an immutable copy
    kept per process until an organization changes (core/memo.py `shared`)."""

    id: int
    strategic: bool
    plan: str | None
    segment: str | None
    flags: Mapping[str, Any]
    dedicated_team_id: int | None
    calendar_id: int | None


def org_facts(db: Session, org_id: int) -> OrgFacts | None:
    def load() -> OrgFacts | None:
        org = db.get(Organization, org_id)
        if org is None:
            return None
        return OrgFacts(
            id=org.id,
            strategic=bool(org.strategic),
            plan=org.plan,
            segment=org.segment,
            flags=MappingProxyType(dict(org.flags or {})),
            dedicated_team_id=org.dedicated_team_id,
            calendar_id=org.calendar_id,
        )

    return shared(db, ("org_facts", org_id), load)


def list_customers(
    db: Session,
    actor: Actor,
    after_id: int | None,
    limit: int,
    organization_id: int | None,
    email: str | None,
) -> list[Customer]:
    require_staff(actor)
    return repo.customers_page(db, after_id, limit, organization_id, email)


def get_customer(db: Session, actor: Actor, customer_id: int) -> Customer:
    require_signed_in(actor)
    if actor.is_customer and actor.customer_id == customer_id:
        return crud.get_or_404(db, Customer, customer_id, "Customer")
    if not actor.is_staff:
        raise NotFound(f"Customer {customer_id} does not exist.")
    return crud.get_or_404(db, Customer, customer_id, "Customer")


def create_customer(db: Session, actor: Actor, data: CustomerIn) -> Customer:
    require_staff(actor)
    _check_org(db, data.organization_id)
    return crud.create_from(db, Customer, data, f"Customer {data.email or data.name}")


def update_customer(db: Session, actor: Actor, customer_id: int, patch: CustomerPatch) -> Customer:
    require_staff(actor)
    customer = crud.get_or_404(db, Customer, customer_id, "Customer")
    if "organization_id" in patch.model_fields_set:
        _check_org(db, patch.organization_id)
    crud.apply_patch(customer, patch)
    crud.flush_or_conflict(db, f"Customer {customer.id}")
    return customer


def delete_customer(db: Session, actor: Actor, customer_id: int) -> None:
    require_admin(actor)
    crud.delete_or_conflict(
        db,
        crud.get_or_404(db, Customer, customer_id, "Customer"),
        "Customer (a customer with tickets cannot be deleted)",
    )


@dataclass(frozen=True, slots=True)
class RequesterFacts:
    """What creating a ticket and routing it read of its requester."""

    id: int
    organization_id: int | None
    language: str
    vip: bool
    flags: Mapping[str, Any]


def requester_facts(db: Session, customer_id: int) -> RequesterFacts | None:
    """The requester's facts, read fresh with one indexed Core query (not an ORM load, not
    cached: customers are many and a per-process copy of each would grow with them)."""
    row = repo.requester_row(db, customer_id)
    return None if row is None else facts_of(row)


def facts_of(customer: Customer | Row[int, int | None, str, bool, Any]) -> RequesterFacts:
    """RequesterFacts of a customer already loaded (or just added), or of its row."""
    return RequesterFacts(
        customer.id, customer.organization_id, customer.language, bool(customer.vip), customer.flags or {}
    )


def customer_by_id(db: Session, customer_id: int) -> Customer | None:
    return memoised(db, ("customer", customer_id), lambda: db.get(Customer, customer_id))


def find_or_create_customer(
    db: Session, email: str, name: str | None = None, organization_id: int | None = None, language: str = "en"
) -> Customer:
    """The customer with this e-mail address, created on first contact (e-mail, import)."""
    existing = repo.customer_by_email(db, email)
    if existing is not None:
        return existing
    customer = Customer(
        name=name or email.split("@")[0],
        email=email.lower(),
        organization_id=organization_id,
        language=language,
    )
    db.add(customer)
    crud.flush_or_conflict(db, f"Customer {email}")
    return customer


def find_or_create_organization(db: Session, name: str) -> Organization:
    existing = repo.organization_by_name(db, name)
    if existing is not None:
        return existing
    org = Organization(name=name)
    db.add(org)
    crud.flush_or_conflict(db, f"Organization '{name}'")
    return org


def _check_org(db: Session, org_id: int | None) -> None:
    if org_id is not None and db.get(Organization, org_id) is None:
        raise InvalidInput(f"Organization {org_id} does not exist.", field="organization_id")
