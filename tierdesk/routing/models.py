"""Skip-tier routing rules: ordered, supervisor-editable data that sends a ticket past the
normal ladder (straight to a team or tier) when it is created or escalated."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tierdesk.core.clock import utcnow
from tierdesk.core.db import Base, JSONType, UTCDateTime


class Stage(StrEnum):
    create = "create"  # a new ticket is being filed
    escalate = "escalate"  # someone escalates a ticket out of its current tier


class RoutingRule(Base):
    """One rule: when every condition holds, apply the actions.

    `conditions` is a list of {"field", "op", "value"}; `actions` is an object with any of
    "tier", "team", "priority", "add_tags". Both are validated by `schemas.RuleIn` before
    they are stored; evaluation (`service.matches`) still treats anything it does not
    understand as "does not match", so a hand-edited row can never route by accident.
    """

    __tablename__ = "routing_rules"
    __table_args__ = (
        # decide() reads "enabled rules of a stage, in order" on every create/escalation:
        # one range scan of this index, already sorted.
        Index("ix_routing_rules_stage_enabled_position", "stage", "enabled", "position", "id"),
        CheckConstraint("stage IN ('create', 'escalate')", name="stage"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # Lower first; ties are broken by id (older first).
    position: Mapped[int] = mapped_column(Integer, default=0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    stage: Mapped[str] = mapped_column(String(10), default=Stage.create.value)
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    actions: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # Stop evaluating further rules once this one matched.
    stop: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
