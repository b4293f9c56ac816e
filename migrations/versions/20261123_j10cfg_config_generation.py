"""config generation: one row whose token changes with every configuration write

Revision ID: j10cfg
Revises: i9merge
Create Date: 2026-11-23 01:10:00

Processes keep read-mostly configuration (tiers, calendars, SLA policies, routing rules,
who a token or a login is) in memory, keyed by this token (core/memo.py `shared`). Every
transaction that writes configuration sets a new random token in the same transaction, so
the next request of every process reads its configuration afresh.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "j10cfg"
down_revision: str | None = "i9merge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "config_generation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_config_generation")),
    )
    op.bulk_insert(table, [{"id": 1, "token": "initial"}])


def downgrade() -> None:
    op.drop_table("config_generation")
