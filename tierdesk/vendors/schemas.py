"""Vendors and vendor cases at the edge: every check that needs no database happens here."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def _normalize_key(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _check_key(value: str) -> str:
    if not 1 <= len(value) <= 40 or not _KEY.match(value):
        raise ValueError(
            f"'{value[:40]}' is not a vendor key: use up to 40 lower-case letters, digits, - and _, e.g. paystream"
        )
    return value


VendorKey = Annotated[str, BeforeValidator(_normalize_key), AfterValidator(_check_key)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Notes = Annotated[str, Field(max_length=5000)]
# Up to a year of minutes: a target longer than that is a typo.
TargetMinutes = Annotated[int, Field(ge=1, le=525_600)]
Reference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Body = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100_000)]


def _lower(value: str | None) -> str | None:
    return value.lower() if value else value


class VendorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: VendorKey = Field(
        description="A short lower-case slug, e.g. paystream (the webhook names the vendor by it)."
    )
    name: Name
    contact_email: EmailStr = Field(description="Where cases are opened with the vendor.")
    response_target_minutes: TargetMinutes = Field(
        description="The vendor's own response target, in business minutes on its calendar."
    )
    calendar_id: int | None = Field(
        default=None, description="The vendor's support hours; none means the target runs 24/7."
    )
    notes: Notes = ""

    _email = field_validator("contact_email")(_lower)


class VendorPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    contact_email: EmailStr | None = None
    response_target_minutes: TargetMinutes | None = None
    calendar_id: int | None = Field(default=None, description="Send null to make the target run 24/7.")
    notes: Notes | None = None

    _email = field_validator("contact_email")(_lower)

    @model_validator(mode="after")
    def _something(self) -> VendorPatch:
        if not self.model_fields_set:
            raise ValueError(
                "send at least one of name, contact_email, response_target_minutes, calendar_id, notes"
            )
        for name in ("name", "contact_email", "response_target_minutes", "notes"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class VendorOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    key: str
    name: str
    contact_email: str
    response_target_minutes: int
    calendar_id: int | None
    notes: str
    created_at: datetime


class VendorCaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    vendor_id: int = Field(ge=1)
    reference: Reference = Field(description="The vendor's case number, e.g. PS-88123.")
    summary: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)] = Field(
        description="What was handed to the vendor (goes into the ticket's internal note)."
    )
    to_vendor_tier: bool = Field(
        default=True,
        description=(
            "Move the ticket to the vendor tier (L4) with a hand-off and put it on hold (SLA paused) "
            "until the vendor answers; the opener becomes the assignee if there is none. "
            "false: record the case only."
        ),
    )


class VendorReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: Body = Field(description="The vendor's answer, as they wrote it.")
    from_email: EmailStr | None = Field(default=None, description="Who at the vendor answered.")

    _email = field_validator("from_email")(_lower)


class VendorWebhookIn(BaseModel):
    """What a vendor's system sends. Extra fields are ignored so a vendor may send more."""

    model_config = ConfigDict(extra="ignore")
    vendor_key: VendorKey
    reference: Reference
    body: Body
    from_email: EmailStr | None = None

    _email = field_validator("from_email")(_lower)


class VendorCaseOut(BaseModel):
    id: int
    ticket_id: int
    vendor_id: int
    vendor_key: str
    vendor_name: str
    reference: str
    summary: str
    opened_by_user_id: int | None
    opened_at: datetime
    due_at: datetime
    first_response_at: datetime | None
    response_seconds: int | None = Field(
        description="Business seconds (vendor calendar) to the first answer."
    )
    breached: bool = Field(
        description="Answered after due_at, or (not answered yet) due_at has passed and the case is open."
    )
    closed_at: datetime | None


class VendorPerformanceOut(BaseModel):
    vendor_id: int
    cases: int
    answered: int
    answered_within_target: int
    median_response_minutes: float | None = Field(
        description="Business minutes to the first answer; none without answers."
    )
    open_overdue: int = Field(description="Open, unanswered cases past their due time now.")
