"""JSON API for L4 vendors: the directory under /api/v1/vendors, a ticket's vendor cases, the
vendor's answers (pasted by staff or sent to the signed webhook) and closing a case."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header

from tierdesk.tickets import service as tickets
from tierdesk.vendors import service
from tierdesk.vendors.schemas import (
    VendorCaseIn,
    VendorCaseOut,
    VendorIn,
    VendorOut,
    VendorPatch,
    VendorPerformanceOut,
    VendorReplyIn,
)
from tierdesk.web.deps import DB, AppSettings, CurrentActor, Now, TxRoute, raw_body

router = APIRouter(prefix="/api/v1", tags=["vendors"], route_class=TxRoute)


# --- the directory ---------------------------------------------------------------------------------
@router.get("/vendors", summary="Vendors, by name (staff)")
def list_vendors(db: DB, actor: CurrentActor) -> list[VendorOut]:
    return service.list_vendors(db, actor)


@router.post("/vendors", status_code=201, summary="Add a vendor (supervisors)")
def create_vendor(data: VendorIn, db: DB, actor: CurrentActor, now: Now) -> VendorOut:
    return service.create_vendor(db, actor, data, now)


@router.get("/vendors/{vendor_id}", summary="A vendor (staff)")
def get_vendor(vendor_id: int, db: DB, actor: CurrentActor) -> VendorOut:
    return service.get_vendor(db, actor, vendor_id)


@router.patch("/vendors/{vendor_id}", summary="Change a vendor (supervisors; open cases keep their deadline)")
def update_vendor(vendor_id: int, data: VendorPatch, db: DB, actor: CurrentActor) -> VendorOut:
    return service.update_vendor(db, actor, vendor_id, data)


@router.delete("/vendors/{vendor_id}", status_code=204, summary="Remove a vendor without cases (supervisors)")
def delete_vendor(vendor_id: int, db: DB, actor: CurrentActor) -> None:
    service.delete_vendor(db, actor, vendor_id)


@router.get("/vendors/{vendor_id}/performance", summary="Response times against the vendor's own target")
def performance(vendor_id: int, db: DB, actor: CurrentActor, now: Now) -> VendorPerformanceOut:
    return service.performance(db, actor, vendor_id, now)


# --- cases -----------------------------------------------------------------------------------------
@router.get("/tickets/{ref}/vendor-cases", summary="The ticket's vendor cases, oldest first")
def list_ticket_cases(ref: str, db: DB, actor: CurrentActor, now: Now) -> list[VendorCaseOut]:
    return service.list_ticket_cases(db, actor, tickets.parse_ref(ref), now)


@router.post(
    "/tickets/{ref}/vendor-cases",
    status_code=201,
    summary="Open a case with a vendor (the vendor's reference; an internal note on the ticket)",
)
def open_case(ref: str, data: VendorCaseIn, db: DB, actor: CurrentActor, now: Now) -> VendorCaseOut:
    return service.open_case(db, actor, tickets.parse_ref(ref), data, now)


# The body is read raw (for the signature), so its shape is described here for the docs.
_WEBHOOK_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["vendor_key", "reference", "body"],
                "properties": {
                    "vendor_key": {"type": "string", "example": "paystream"},
                    "reference": {"type": "string", "example": "PS-88123"},
                    "body": {"type": "string", "maxLength": 100000},
                    "from_email": {"type": "string", "format": "email"},
                },
            }
        }
    },
}


@router.post(
    "/vendor-cases/webhook",
    summary="A vendor's system sends its answer (signed with X-Tierdesk-Signature: sha256=<hex>)",
    openapi_extra={"requestBody": _WEBHOOK_BODY},
)
def webhook(
    body: Annotated[bytes, Depends(raw_body)],
    db: DB,
    settings: AppSettings,
    now: Now,
    signature: Annotated[str | None, Header(alias=service.SIGNATURE_HEADER)] = None,
) -> VendorCaseOut:
    return service.receive_webhook(db, settings.engineering_webhook_secret, body, signature, now)


@router.post("/vendor-cases/{case_id}/replies", summary="Thread the vendor's answer into the ticket")
def add_reply(case_id: int, data: VendorReplyIn, db: DB, actor: CurrentActor, now: Now) -> VendorCaseOut:
    return service.add_reply(db, actor, case_id, data, now)


@router.post("/vendor-cases/{case_id}/close", summary="Close a vendor case")
def close_case(case_id: int, db: DB, actor: CurrentActor, now: Now) -> VendorCaseOut:
    return service.close_case(db, actor, case_id, now)
