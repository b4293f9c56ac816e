"""JSON API: GET /api/v1/tickets/search (mounted before /api/v1/tickets/{ref})."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from tierdesk.search import service
from tierdesk.search.schemas import SearchHitOut, SearchPageOut
from tierdesk.search.service import Filters
from tierdesk.tickets.models import Status
from tierdesk.web.deps import DB, CurrentActor, TxRoute

router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"], route_class=TxRoute)


@router.get(
    "/search",
    summary="Search tickets by keyword",
    description=(
        "Tickets you may read whose subject, description or public replies (and, for staff, internal "
        "notes) hold every word of `q`. Words match in any form (stems: 'refunds' finds 'refunded'), "
        "Chinese and Japanese text without spaces is matched by character pairs, a single CJK "
        "character matches too. Newest first by default (keyset: pass `next_cursor` back as "
        "`cursor`), or `order=relevance`. Each result carries an escaped snippet with the matches "
        "in `<mark>`. Customers see their own (and their organization's shared) tickets and never "
        "match internal notes; need-to-know tickets appear only to their team. The index follows "
        "changes within seconds (the worker drains the search queue)."
    ),
    response_model=SearchPageOut,
)
def search_tickets(
    db: DB,
    actor: CurrentActor,
    q: Annotated[str, Query(description=f"The words to find, at most {service.MAX_QUERY_CHARS} characters")],
    status: Annotated[list[Status] | None, Query(description="Repeat for several")] = None,
    tier_id: int | None = None,
    team_id: int | None = None,
    assignee_id: int | None = None,
    requester_id: int | None = None,
    organization_id: int | None = None,
    order: Literal["newest", "relevance"] = "newest",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_LIMIT)] = 25,
) -> SearchPageOut:
    flt = Filters(
        status=[s.value for s in status] if status else None,
        tier_id=tier_id,
        team_id=team_id,
        assignee_id=assignee_id,
        requester_id=requester_id,
        organization_id=organization_id,
    )
    page = service.search_tickets(db, actor, q, flt, limit=limit, cursor=cursor, order=order)
    items = [
        SearchHitOut(
            id=h.ticket_id,
            ref=h.ref,
            subject=h.subject,
            status=h.status,
            priority=h.priority,
            tier_id=h.tier_id,
            tier=h.tier,
            created_at=h.created_at,
            updated_at=h.updated_at,
            snippet=h.snippet,
            in_internal_note=h.in_internal_note,
        )
        for h in page.items
    ]
    return SearchPageOut(items=items, next_cursor=page.next_cursor)
