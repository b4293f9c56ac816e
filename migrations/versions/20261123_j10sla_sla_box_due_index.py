"""SLA scheduler: a partial index on due, unfired time-in-tier timers

The scheduler claims time-box breaches (each escalates its ticket) in their own batch of
50. That claim filtered ix_sla_timers_due on metric = 'time_in_tier', so with 100,000
first responses overdue it read all 100,000 rows on every tick to find no time box: most
of a 1,000-target batch's cost. This index holds only running, unfired time boxes; a
fired one leaves it.

Revision ID: j10sla
Revises: i9merge
Create Date: 2026-11-23 01:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "j10sla"
down_revision: str | None = "i9merge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BOX_DUE = (
    "metric = 'time_in_tier' AND fired_at IS NULL AND paused_at IS NULL AND met_at IS NULL "
    "AND cancelled_at IS NULL"
)


def upgrade() -> None:
    with op.batch_alter_table("sla_timers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sla_timers_box_due",
            ["due_at"],
            unique=False,
            sqlite_where=sa.text(BOX_DUE),
            postgresql_where=sa.text(BOX_DUE),
        )


def downgrade() -> None:
    with op.batch_alter_table("sla_timers", schema=None) as batch_op:
        batch_op.drop_index("ix_sla_timers_box_due")
