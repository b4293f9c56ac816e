"""JSON API for organizations and customers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from tierdesk.customers import service
from tierdesk.customers.schemas import (
    CustomerIn,
    CustomerOut,
    CustomerPage,
    CustomerPatch,
    OrganizationIn,
    OrganizationOut,
    OrganizationPatch,
)
from tierdesk.web.deps import DB, CurrentActor, TxRoute

router = APIRouter(prefix="/api/v1", route_class=TxRoute)


@router.get("/organizations", tags=["customers"])
def list_organizations(db: DB, actor: CurrentActor) -> list[OrganizationOut]:
    return [OrganizationOut.model_validate(o) for o in service.list_organizations(db, actor)]


@router.post("/organizations", tags=["customers"], status_code=201)
def create_organization(data: OrganizationIn, db: DB, actor: CurrentActor) -> OrganizationOut:
    return OrganizationOut.model_validate(service.create_organization(db, actor, data))


@router.get("/organizations/{org_id}", tags=["customers"])
def get_organization(org_id: int, db: DB, actor: CurrentActor) -> OrganizationOut:
    return OrganizationOut.model_validate(service.get_organization(db, actor, org_id))


@router.patch("/organizations/{org_id}", tags=["customers"])
def update_organization(org_id: int, data: OrganizationPatch, db: DB, actor: CurrentActor) -> OrganizationOut:
    return OrganizationOut.model_validate(service.update_organization(db, actor, org_id, data))


@router.delete("/organizations/{org_id}", tags=["customers"], status_code=204)
def delete_organization(org_id: int, db: DB, actor: CurrentActor) -> Response:
    service.delete_organization(db, actor, org_id)
    return Response(status_code=204)


@router.get("/customers", tags=["customers"], summary="Customers by id, keyset-paginated")
def list_customers(
    db: DB,
    actor: CurrentActor,
    organization_id: int | None = None,
    email: Annotated[str | None, Query(max_length=320)] = None,
    after_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CustomerPage:
    rows = service.list_customers(db, actor, after_id, limit + 1, organization_id, email)
    more = len(rows) > limit
    rows = rows[:limit]
    return CustomerPage(
        items=[CustomerOut.model_validate(c) for c in rows],
        next_cursor=str(rows[-1].id) if more and rows else None,
    )


@router.post("/customers", tags=["customers"], status_code=201)
def create_customer(data: CustomerIn, db: DB, actor: CurrentActor) -> CustomerOut:
    return CustomerOut.model_validate(service.create_customer(db, actor, data))


@router.get("/customers/{customer_id}", tags=["customers"])
def get_customer(customer_id: int, db: DB, actor: CurrentActor) -> CustomerOut:
    return CustomerOut.model_validate(service.get_customer(db, actor, customer_id))


@router.patch("/customers/{customer_id}", tags=["customers"])
def update_customer(customer_id: int, data: CustomerPatch, db: DB, actor: CurrentActor) -> CustomerOut:
    return CustomerOut.model_validate(service.update_customer(db, actor, customer_id, data))


@router.delete("/customers/{customer_id}", tags=["customers"], status_code=204)
def delete_customer(customer_id: int, db: DB, actor: CurrentActor) -> Response:
    service.delete_customer(db, actor, customer_id)
    return Response(status_code=204)
