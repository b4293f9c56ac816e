from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from tierdesk.core.security import Role, Scope
from tierdesk.tiers.schemas import AgentWorkIn, AgentWorkOut, check_timezone

Password = Annotated[str, Field(min_length=10, max_length=200, description="At least 10 characters.")]


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: EmailStr
    name: Annotated[str, Field(min_length=1, max_length=200)]
    role: Role
    password: Password | None = None
    language: Annotated[str, Field(min_length=2, max_length=10)] = "en"
    timezone: str = "UTC"
    customer_id: int | None = Field(
        default=None, description="For role=customer: the customer record this login is."
    )
    work: AgentWorkIn | None = Field(
        default=None, description="Tiers, teams, skills and capacity (staff only)."
    )

    _tz = field_validator("timezone")(check_timezone)

    @field_validator("email")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    role: Role | None = None
    password: Password | None = None
    language: Annotated[str, Field(min_length=2, max_length=10)] | None = None
    timezone: str | None = None
    is_active: bool | None = None
    work: AgentWorkIn | None = None

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        return None if value is None else check_timezone(value)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    email: str
    name: str
    role: str
    language: str
    timezone: str
    is_active: bool
    customer_id: int | None
    work: AgentWorkOut | None = None


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=100)]
    scopes: list[Scope] = Field(default_factory=lambda: [Scope.read, Scope.write], min_length=1)
    expires_at: datetime | None = None


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="Shown once. Send it as 'Authorization: Bearer <token>'.")


class MeOut(BaseModel):
    user: UserOut
    scopes: list[str]
    tier_ids: list[int]
    team_ids: list[int]
