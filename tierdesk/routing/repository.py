"""All queries of the routing domain."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tierdesk.routing.models import RoutingRule, Stage


def rules(db: Session, stage: Stage | None = None) -> list[RoutingRule]:
    """Every rule, in evaluation order (stage, position, id)."""
    stmt = select(RoutingRule).order_by(RoutingRule.stage, RoutingRule.position, RoutingRule.id)
    if stage is not None:
        stmt = stmt.where(RoutingRule.stage == stage.value)
    return list(db.scalars(stmt))


def enabled_rules(db: Session, stage: Stage) -> list[RoutingRule]:
    """The rules decide() evaluates: one range scan of ix_routing_rules_stage_enabled_position."""
    stmt = (
        select(RoutingRule)
        .where(RoutingRule.stage == stage.value, RoutingRule.enabled.is_(True))
        .order_by(RoutingRule.position, RoutingRule.id)
    )
    return list(db.scalars(stmt))


def last_position(db: Session, stage: Stage) -> int | None:
    return db.scalar(select(func.max(RoutingRule.position)).where(RoutingRule.stage == stage.value))
