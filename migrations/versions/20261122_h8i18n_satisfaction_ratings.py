"""satisfaction ratings (CSAT from the customer portal)

Revision ID: h8i18n
Revises: g7merge
Create Date: 2026-11-22 22:20:00.000000

Users already carry a profile `language` and `timezone` (foundation), so the i18n work
needs no column; this revision adds the CSAT table the portal writes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tierdesk.core.db

revision: str = "h8i18n"
down_revision: str | None = "g7merge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "satisfaction_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.String(length=2000), nullable=False),
        sa.Column("tier_id", sa.Integer(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("rated_at", tierdesk.core.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name=op.f("ck_satisfaction_ratings_score")),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_satisfaction_ratings_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_satisfaction_ratings_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tier_id"], ["tiers.id"], name=op.f("fk_satisfaction_ratings_tier_id_tiers"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_satisfaction_ratings_team_id_teams"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["users.id"],
            name=op.f("fk_satisfaction_ratings_assignee_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_satisfaction_ratings")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_satisfaction_ratings_ticket_id")),
    )
    with op.batch_alter_table("satisfaction_ratings", schema=None) as batch_op:
        batch_op.create_index("ix_satisfaction_ratings_rated", ["rated_at", "id"], unique=False)
        batch_op.create_index(
            "ix_satisfaction_ratings_tier_rated", ["tier_id", "rated_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_satisfaction_ratings_assignee_rated", ["assignee_id", "rated_at", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("satisfaction_ratings", schema=None) as batch_op:
        batch_op.drop_index("ix_satisfaction_ratings_assignee_rated")
        batch_op.drop_index("ix_satisfaction_ratings_tier_rated")
        batch_op.drop_index("ix_satisfaction_ratings_rated")
    op.drop_table("satisfaction_ratings")
