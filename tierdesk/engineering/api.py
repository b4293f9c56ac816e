"""JSON API for engineering bugs under /api/v1/engineering, and the trackers' webhook."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query

from tierdesk.engineering import service
from tierdesk.engineering.models import BugStatus
from tierdesk.engineering.schemas import (
    AnnounceIn,
    AnnounceOut,
    BugCreate,
    BugDetail,
    BugOut,
    BugPatch,
    TicketLinkIn,
    VerifyIn,
    WebhookOut,
)
from tierdesk.web.deps import DB, AppSettings, CurrentActor, Now, TxRoute, raw_body

router = APIRouter(prefix="/api/v1/engineering", tags=["engineering"], route_class=TxRoute)
Key = Annotated[str, "The tracker's key, e.g. ENG-231"]


@router.get("/bugs", summary="Engineering bugs, newest first")
def list_bugs(
    db: DB,
    actor: CurrentActor,
    status: BugStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[BugOut]:
    return [BugOut.model_validate(b) for b in service.list_bugs(db, actor, status, limit)]


@router.post("/bugs", status_code=201, summary="File a bug and link tickets to it (they go on hold)")
def create_bug(data: BugCreate, db: DB, actor: CurrentActor, now: Now) -> BugDetail:
    return service.create_bug(db, actor, data, now)


@router.get("/bugs/{key}", summary="A bug with the linked tickets you may see")
def get_bug(key: Key, db: DB, actor: CurrentActor) -> BugDetail:
    return service.get_bug(db, actor, key)


@router.patch(
    "/bugs/{key}", summary="Change a bug's status (fixed: the owner is asked to verify), note, title, URL"
)
def update_bug(key: Key, data: BugPatch, db: DB, actor: CurrentActor, now: Now) -> BugDetail:
    return service.update_bug(db, actor, key, data, now)


@router.post("/bugs/{key}/tickets", summary="Link a ticket to the bug (it waits on engineering, SLA paused)")
def link_ticket(key: Key, data: TicketLinkIn, db: DB, actor: CurrentActor, now: Now) -> BugDetail:
    return service.link_ticket(db, actor, key, data.ticket_id, now)


@router.post("/bugs/{key}/verify", summary="Confirm the fix works (owner, L3 agent or supervisor)")
def verify(key: Key, data: VerifyIn, db: DB, actor: CurrentActor, now: Now) -> BugDetail:
    return service.verify(db, actor, key, data, now)


@router.post(
    "/bugs/{key}/announce",
    summary="Answer every linked customer with one public reply (verified fixes only; all or nothing)",
)
def announce(key: Key, data: AnnounceIn, db: DB, actor: CurrentActor, now: Now) -> AnnounceOut:
    return service.announce(db, actor, key, data, now)


# The body is read raw (for the signature), so its shape is described here for the docs.
_WEBHOOK_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["key", "status"],
                "properties": {
                    "key": {"type": "string", "example": "ENG-231"},
                    "status": {"type": "string", "enum": ["open", "in_progress", "fixed", "wont_fix"]},
                    "note": {"type": "string", "maxLength": 5000},
                },
            }
        }
    },
}


@router.post(
    "/webhook",
    summary="A tracker reports a bug's status (signed with X-Tierdesk-Signature: sha256=<hex>)",
    openapi_extra={"requestBody": _WEBHOOK_BODY},
)
def webhook(
    body: Annotated[bytes, Depends(raw_body)],
    db: DB,
    settings: AppSettings,
    now: Now,
    signature: Annotated[str | None, Header(alias=service.SIGNATURE_HEADER)] = None,
) -> WebhookOut:
    return service.receive_webhook(db, settings.engineering_webhook_secret, body, signature, now)
