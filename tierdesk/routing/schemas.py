"""Routing rules at the edge, and the vocabulary their conditions are written in.

Every check that needs no database happens here, so a supervisor gets all the mistakes of
a rule in one 422 (unknown field, an operator that does not apply to it, a value of the
wrong type). Checks that need the database (do the tier and team keys exist?) are in the
service.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tierdesk.core.tags import clean_tags
from tierdesk.routing.models import Stage


class Op(StrEnum):
    eq = "eq"
    ne = "ne"
    in_ = "in"
    not_in = "not_in"
    contains = "contains"
    exists = "exists"
    gt = "gt"
    lt = "lt"


class Kind(StrEnum):
    text = "text"
    boolean = "boolean"
    tags = "tags"  # a list of words
    flag = "flag"  # a free-form JSON value from customer/organization flags


# The fields a condition may name: field -> (kind, attribute of service.RoutingFacts).
FIELDS: dict[str, tuple[Kind, str]] = {
    "ticket.category": (Kind.text, "category"),
    "ticket.priority": (Kind.text, "priority"),
    "ticket.channel": (Kind.text, "channel"),
    "ticket.language": (Kind.text, "language"),
    "ticket.tags": (Kind.tags, "tags"),
    "ticket.subject": (Kind.text, "subject"),
    "ticket.tier": (Kind.text, "tier_key"),
    "ticket.has_incident": (Kind.boolean, "has_incident"),
    "customer.vip": (Kind.boolean, "customer_vip"),
    "customer.language": (Kind.text, "customer_language"),
    "organization.strategic": (Kind.boolean, "org_strategic"),
    "organization.plan": (Kind.text, "org_plan"),
    "organization.segment": (Kind.text, "org_segment"),
    "organization.has_dedicated_team": (Kind.boolean, "org_has_dedicated_team"),
}
# customer.flags.<name> and organization.flags.<name> read one key of the flags object.
FLAG_PREFIXES: dict[str, str] = {"customer.flags.": "customer_flags", "organization.flags.": "org_flags"}
_FLAG_NAME = re.compile(r"^[A-Za-z0-9_-]{1,60}$")

OPS_BY_KIND: dict[Kind, tuple[Op, ...]] = {
    Kind.text: (Op.eq, Op.ne, Op.in_, Op.not_in, Op.contains, Op.exists),
    Kind.boolean: (Op.eq, Op.ne, Op.exists),
    Kind.tags: (Op.contains, Op.in_, Op.not_in, Op.exists),
    Kind.flag: tuple(Op),
}
_KIND_WORDS = {
    Kind.text: "text",
    Kind.boolean: "true or false",
    Kind.tags: "a list of tags",
    Kind.flag: "a flag",
}

# Mirrors tickets.models.Priority. The tickets domain calls routing (decide), so routing
# does not import tickets; keep the two lists equal.
PRIORITIES = ("urgent", "high", "normal", "low")
Priority = Literal["urgent", "high", "normal", "low"]
DEDICATED = "@dedicated"

Name = Annotated[str, Field(min_length=1, max_length=100)]
Position = Annotated[int, Field(ge=0, le=1_000_000)]
TierKey = Annotated[str, Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9_-]+$")]
TeamTarget = Annotated[
    str,
    Field(
        min_length=1,
        max_length=40,
        pattern=r"^(@dedicated|[a-z0-9_-]+)$",
        description='A team key, or "@dedicated" for the organization\'s dedicated team.',
    ),
]


def resolve_field(name: str) -> tuple[Kind, str, str | None] | None:
    """(kind, RoutingFacts attribute, flag name or None) for a field a condition may
    name; None when the field is not on the allow-list."""
    if name in FIELDS:
        kind, attr = FIELDS[name]
        return kind, attr, None
    for prefix, attr in FLAG_PREFIXES.items():
        if name.startswith(prefix) and _FLAG_NAME.match(name[len(prefix) :]):
            return Kind.flag, attr, name[len(prefix) :]
    return None


def known_fields() -> list[str]:
    return [*FIELDS, *(f"{p}<name>" for p in FLAG_PREFIXES)]


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text '{value[:40]}'"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_scalar(field: str, kind: Kind, op: Op, value: Any) -> None:
    if kind is Kind.boolean:
        if not isinstance(value, bool):
            raise ValueError(f"{field} is true or false, so '{op}' needs true or false, not {_show(value)}")
    elif kind in (Kind.text, Kind.tags):
        if not isinstance(value, str) or not value:
            raise ValueError(f"{field} is {_KIND_WORDS[kind]}, so '{op}' needs text, not {_show(value)}")
        if len(value) > 250:
            raise ValueError(f"{field}: values are at most 250 characters")
        if field == "ticket.priority" and value not in PRIORITIES:
            raise ValueError(f"ticket.priority is one of {', '.join(PRIORITIES)}, not '{value}'")
    elif not isinstance(value, str | int | float | bool):
        raise ValueError(f"{field}: '{op}' needs text, a number or true/false, not {_show(value)}")


def check_value(field: str, kind: Kind, op: Op, value: Any) -> Any:
    """The value to store for (field, op), or ValueError with a sentence a supervisor reads."""
    if op is Op.exists:
        if value is None:
            return True
        if not isinstance(value, bool):
            raise ValueError(f"'exists' takes true, false or no value, not {_show(value)}")
        return value
    if op in (Op.gt, Op.lt):
        if not _is_number(value):
            raise ValueError(f"'{op}' compares numbers, so its value must be a number, not {_show(value)}")
        return value
    if op is Op.contains:
        if not isinstance(value, str) or not value:
            raise ValueError(
                f"'contains' looks for a piece of text, so its value must be text, not {_show(value)}"
            )
        return value
    if op in (Op.in_, Op.not_in):
        if not isinstance(value, list) or not value:
            raise ValueError(
                f'\'{op}\' needs a non-empty list of values, e.g. ["fraud", "chargeback"], not {_show(value)}'
            )
        if len(value) > 200:
            raise ValueError(f"'{op}' takes at most 200 values")
        for item in value:
            _check_scalar(field, kind, op, item)
        return value
    _check_scalar(field, kind, op, value)
    return value


class Condition(BaseModel):
    """One test on a fact of the ticket, its customer or its organization."""

    model_config = ConfigDict(extra="forbid")
    field: str = Field(max_length=100, description="e.g. ticket.category, organization.flags.region")
    op: Op
    value: Any = None

    @field_validator("field")
    @classmethod
    def _known(cls, value: str) -> str:
        if resolve_field(value) is None:
            raise ValueError(f"unknown field '{value}'; a condition may name {', '.join(known_fields())}")
        return value

    @model_validator(mode="after")
    def _check(self) -> Condition:
        # Pydantic runs this only once field and op are valid on their own.
        resolved = resolve_field(self.field)
        if resolved is None:
            raise ValueError(f"unknown field '{self.field}'")
        kind = resolved[0]
        if self.op not in OPS_BY_KIND[kind]:
            allowed = ", ".join(op.value for op in OPS_BY_KIND[kind])
            raise ValueError(
                f"'{self.op}' does not apply to {self.field} ({_KIND_WORDS[kind]}); use one of: {allowed}"
            )
        self.value = check_value(self.field, kind, self.op, self.value)
        return self

    def stored(self) -> dict[str, Any]:
        return {"field": self.field, "op": self.op.value, "value": self.value}


class Actions(BaseModel):
    """Where a matching ticket goes. At least one action."""

    model_config = ConfigDict(extra="forbid")
    tier: TierKey | None = Field(default=None, description="Tier key, e.g. L3.")
    team: TeamTarget | None = None
    priority: Priority | None = None
    add_tags: list[str] | None = Field(default=None, max_length=30)

    _tags = field_validator("add_tags")(clean_tags)

    @model_validator(mode="after")
    def _at_least_one(self) -> Actions:
        if not self.stored():
            raise ValueError("a rule needs at least one action: tier, team, priority or add_tags")
        return self

    def stored(self) -> dict[str, Any]:
        out = self.model_dump(exclude_none=True)
        if not out.get("add_tags"):
            out.pop("add_tags", None)
        return out


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    position: Position | None = Field(
        default=None, description="Lower runs first. Default: after the last rule of the stage."
    )
    enabled: bool = True
    stage: Stage = Stage.create
    conditions: list[Condition] = Field(
        default_factory=list, max_length=50, description="All must hold; an empty list always holds."
    )
    actions: Actions
    stop: bool = Field(default=True, description="Stop evaluating further rules once this one matches.")


class RulePatch(BaseModel):
    """Fields not sent stay as they are; conditions and actions are replaced whole."""

    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    position: Position | None = None
    enabled: bool | None = None
    stage: Stage | None = None
    conditions: list[Condition] | None = Field(default=None, max_length=50)
    actions: Actions | None = None
    stop: bool | None = None


class RuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    position: int
    enabled: bool
    stage: str
    conditions: list[dict[str, Any]]
    actions: dict[str, Any]
    stop: bool
    created_at: datetime
    updated_at: datetime


Short = Annotated[str, Field(max_length=60)]


class FactsIn(BaseModel):
    """The facts of a ticket as the rules see them (the dry run's body)."""

    model_config = ConfigDict(extra="forbid")
    stage: Stage = Stage.create
    category: Short | None = None
    priority: Priority | None = None
    channel: Short | None = None
    language: Short | None = None
    tags: list[Short] = Field(default_factory=list, max_length=30)
    subject: str = Field(default="", max_length=250)
    tier_key: Short | None = Field(default=None, description="The ticket's current tier, e.g. L1.")
    has_incident: bool = False
    customer_vip: bool = False
    customer_language: Short | None = None
    customer_flags: dict[str, Any] = Field(default_factory=dict)
    org_strategic: bool = False
    org_plan: Short | None = None
    org_segment: Short | None = None
    org_flags: dict[str, Any] = Field(default_factory=dict)
    org_dedicated_team_id: int | None = None


class DecisionOut(BaseModel):
    tier_id: int | None
    tier_key: str | None
    team_id: int | None
    team_key: str | None
    priority: str | None
    add_tags: list[str]
    rule_ids: list[int]
    reasons: list[str]
