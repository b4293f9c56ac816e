"""JSON API for users, the signed-in user, and API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from tierdesk.accounts import service
from tierdesk.accounts.schemas import MeOut, TokenCreated, TokenIn, TokenOut, UserIn, UserOut, UserPatch
from tierdesk.core.security import Role
from tierdesk.web.deps import DB, CurrentActor, Now, TxRoute

router = APIRouter(prefix="/api/v1", route_class=TxRoute)


@router.get("/me", tags=["accounts"], summary="Who am I, with my tiers, teams and token scopes")
def me(db: DB, actor: CurrentActor) -> MeOut:
    return service.me(db, actor)


@router.get("/users", tags=["accounts"], summary="Users (staff), keyset-paginated by id")
def list_users(
    db: DB,
    actor: CurrentActor,
    role: Role | None = None,
    after_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[UserOut]:
    return service.list_users(db, actor, after_id, limit, role)


@router.post("/users", tags=["accounts"], status_code=201, summary="Create a user (admin)")
def create_user(data: UserIn, db: DB, actor: CurrentActor) -> UserOut:
    return service.create_user(db, actor, data)


@router.get("/users/{user_id}", tags=["accounts"])
def get_user(user_id: int, db: DB, actor: CurrentActor) -> UserOut:
    return service.get_user(db, actor, user_id)


@router.patch(
    "/users/{user_id}",
    tags=["accounts"],
    summary="Change a user, their tiers, teams, skills, capacity (admin)",
)
def update_user(user_id: int, data: UserPatch, db: DB, actor: CurrentActor) -> UserOut:
    return service.update_user(db, actor, user_id, data)


@router.get("/tokens", tags=["accounts"], summary="My API tokens (never the secret)")
def list_tokens(db: DB, actor: CurrentActor) -> list[TokenOut]:
    return [TokenOut.model_validate(t) for t in service.list_tokens(db, actor)]


@router.post(
    "/tokens", tags=["accounts"], status_code=201, summary="Create an API token; the secret is shown once"
)
def create_token(data: TokenIn, db: DB, actor: CurrentActor, now: Now) -> TokenCreated:
    row, token = service.create_token(db, actor, data, now)
    return TokenCreated(**TokenOut.model_validate(row).model_dump(), token=token)


@router.delete("/tokens/{token_id}", tags=["accounts"], status_code=204)
def revoke_token(token_id: int, db: DB, actor: CurrentActor, now: Now) -> Response:
    service.revoke_token(db, actor, token_id, now)
    return Response(status_code=204)
