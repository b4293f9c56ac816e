from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from tierdesk.customers.models import Segment
from tierdesk.tiers.schemas import check_timezone

LANGS = ("en", "zh", "ja", "it")
Language = Annotated[str, Field(min_length=2, max_length=10, pattern=r"^[a-z]{2}(-[A-Za-z]{2,4})?$")]


class OrganizationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=200)]
    domain: str | None = Field(default=None, max_length=200)
    plan: Annotated[str, Field(min_length=1, max_length=50)] = "standard"
    segment: Segment = Segment.smb
    strategic: bool = False
    dedicated_team_id: int | None = None
    account_owner_id: int | None = None
    shared_tickets: bool = False
    calendar_id: int | None = Field(
        default=None, description="Own coverage hours (e.g. 24/7) overriding SLA calendars."
    )
    flags: dict[str, Any] = Field(
        default_factory=dict, description="Free-form flags routing and proactive service read."
    )
    notes: str = Field(default="", max_length=4000)


class OrganizationPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    domain: str | None = Field(default=None, max_length=200)
    plan: Annotated[str, Field(min_length=1, max_length=50)] | None = None
    segment: Segment | None = None
    strategic: bool | None = None
    dedicated_team_id: int | None = None
    account_owner_id: int | None = None
    shared_tickets: bool | None = None
    calendar_id: int | None = None
    flags: dict[str, Any] | None = None
    notes: str | None = Field(default=None, max_length=4000)


class OrganizationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    domain: str | None
    plan: str
    segment: str
    strategic: bool
    dedicated_team_id: int | None
    account_owner_id: int | None
    shared_tickets: bool
    calendar_id: int | None
    flags: dict[str, Any]
    notes: str


class CustomerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=200)]
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=50)
    organization_id: int | None = None
    language: Language = "en"
    timezone: str = "UTC"
    vip: bool = False
    flags: dict[str, Any] = Field(default_factory=dict)

    _tz = field_validator("timezone")(check_timezone)

    @field_validator("email")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        return value.lower() if value else value


class CustomerPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=50)
    organization_id: int | None = None
    language: Language | None = None
    timezone: str | None = None
    vip: bool | None = None
    flags: dict[str, Any] | None = None

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        return None if value is None else check_timezone(value)

    @field_validator("email")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        return value.lower() if value else value


class CustomerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    email: str | None
    phone: str | None
    organization_id: int | None
    language: str
    timezone: str
    vip: bool
    flags: dict[str, Any]


class CustomerPage(BaseModel):
    items: list[CustomerOut]
    next_cursor: str | None
