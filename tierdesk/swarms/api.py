"""JSON API for swarms under /api/v1/tickets/{ref}/swarm (staff only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import TypeAdapter, ValidationError

from tierdesk.core.errors import InvalidInput
from tierdesk.swarms import service
from tierdesk.swarms.schemas import (
    CloseIn,
    InviteIn,
    PostIn,
    PostOut,
    SkillKeys,
    SuggestionsOut,
    SwarmOut,
    SwarmStart,
)
from tierdesk.tickets import service as tickets
from tierdesk.web.deps import DB, CurrentActor, Now, TxRoute

router = APIRouter(prefix="/api/v1/tickets", tags=["swarms"], route_class=TxRoute)
Ref = Annotated[str, "T-1042 or 1042"]
_SKILLS: TypeAdapter[list[str]] = TypeAdapter(SkillKeys)


@router.get("/{ref}/swarm", summary="The ticket's swarm: members, contributions and (for them) the thread")
def get_swarm(ref: Ref, db: DB, actor: CurrentActor) -> SwarmOut:
    return service.get_swarm(db, actor, tickets.parse_ref(ref))


@router.post("/{ref}/swarm", status_code=201, summary="Start a swarm: keep the ticket, pull colleagues in")
def start(ref: Ref, data: SwarmStart, db: DB, actor: CurrentActor, now: Now) -> SwarmOut:
    return service.start(db, actor, tickets.parse_ref(ref), data, now)


@router.get(
    "/{ref}/swarm/suggestions",
    summary="Colleagues with the skills who are on shift, not offline and under capacity",
)
def suggestions(
    ref: Ref,
    db: DB,
    actor: CurrentActor,
    now: Now,
    skills: Annotated[str, Query(max_length=1000, description="Comma-separated skill keys")],
) -> SuggestionsOut:
    try:
        keys = _SKILLS.validate_python(skills)
    except ValidationError as exc:
        raise InvalidInput(exc.errors()[0]["msg"].removeprefix("Value error, "), field="skills") from exc
    return service.suggestions(db, actor, tickets.parse_ref(ref), keys, now)


@router.post("/{ref}/swarm/invite", summary="Invite colleagues (owner or supervisor)")
def invite(ref: Ref, data: InviteIn, db: DB, actor: CurrentActor, now: Now) -> SwarmOut:
    return service.invite(db, actor, tickets.parse_ref(ref), data.user_ids, now)


@router.post("/{ref}/swarm/join", summary="Accept your invitation")
def join(ref: Ref, db: DB, actor: CurrentActor, now: Now) -> SwarmOut:
    return service.join(db, actor, tickets.parse_ref(ref), now)


@router.post("/{ref}/swarm/leave", status_code=204, summary="Leave (or decline) the swarm")
def leave(ref: Ref, db: DB, actor: CurrentActor, now: Now) -> Response:
    service.leave(db, actor, tickets.parse_ref(ref), now)
    return Response(status_code=204)


@router.post("/{ref}/swarm/posts", status_code=201, summary="Post in the internal swarm thread")
def add_post(ref: Ref, data: PostIn, db: DB, actor: CurrentActor, now: Now) -> PostOut:
    return service.add_post(db, actor, tickets.parse_ref(ref), data.body, now)


@router.post("/{ref}/swarm/close", summary="End the swarm (owner or supervisor); the ticket keeps its status")
def close(ref: Ref, data: CloseIn, db: DB, actor: CurrentActor, now: Now) -> SwarmOut:
    return service.close(db, actor, tickets.parse_ref(ref), data.outcome, now)
