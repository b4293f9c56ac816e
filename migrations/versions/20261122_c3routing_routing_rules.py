"""routing rules

Revision ID: c3routing
Revises: b2sla
Create Date: 2026-11-22 21:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tierdesk.core.db

revision: str = "c3routing"
down_revision: str | None = "b2sla"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "routing_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("stage", sa.String(length=10), nullable=False),
        sa.Column(
            "conditions",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "actions",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("stop", sa.Boolean(), nullable=False),
        sa.Column("created_at", tierdesk.core.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", tierdesk.core.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint("stage IN ('create', 'escalate')", name=op.f("ck_routing_rules_stage")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_rules")),
        sa.UniqueConstraint("name", name=op.f("uq_routing_rules_name")),
    )
    with op.batch_alter_table("routing_rules", schema=None) as batch_op:
        # decide() reads "enabled rules of a stage, in order" on every create/escalation.
        batch_op.create_index(
            "ix_routing_rules_stage_enabled_position", ["stage", "enabled", "position", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("routing_rules", schema=None) as batch_op:
        batch_op.drop_index("ix_routing_rules_stage_enabled_position")
    op.drop_table("routing_rules")
