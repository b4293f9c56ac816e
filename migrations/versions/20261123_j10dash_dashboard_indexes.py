"""supervisor dashboard: partial indexes for solved events and breached, unmet SLA targets

"Solved per day" reads only status changes to solved (not every field change), and
"breached and not yet met" reads only fired, still-open SLA targets, so both figures cost
what the desk did, not the size of ticket_events or sla_timers.

Revision ID: j10dash
Revises: i9merge
Create Date: 2026-11-23 01:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "j10dash"
down_revision: str | None = "i9merge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SOLVED_EVENT = "field = 'status' AND new = 'solved'"
BREACHED_OPEN = "fired_at IS NOT NULL AND met_at IS NULL AND cancelled_at IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ticket_events_solved",
            ["at"],
            unique=False,
            sqlite_where=sa.text(SOLVED_EVENT),
            postgresql_where=sa.text(SOLVED_EVENT),
        )
    with op.batch_alter_table("sla_timers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sla_timers_breached",
            ["tier_id", "metric"],
            unique=False,
            sqlite_where=sa.text(BREACHED_OPEN),
            postgresql_where=sa.text(BREACHED_OPEN),
        )


def downgrade() -> None:
    with op.batch_alter_table("sla_timers", schema=None) as batch_op:
        batch_op.drop_index("ix_sla_timers_breached")
    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_events_solved")
