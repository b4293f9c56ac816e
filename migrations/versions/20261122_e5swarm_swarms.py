"""swarms

Revision ID: e5swarm
Revises: d4eng
Create Date: 2026-11-22 23:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tierdesk.core.db

revision: str = "e5swarm"
down_revision: str | None = "d4eng"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "swarms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("owner_user_id", sa.Integer(), nullable=True),
        sa.Column("started_by_user_id", sa.Integer(), nullable=True),
        sa.Column(
            "skills",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("started_at", tierdesk.core.db.UTCDateTime(), nullable=False),
        sa.Column("closed_at", tierdesk.core.db.UTCDateTime(), nullable=True),
        sa.Column("outcome", sa.String(length=10), nullable=True),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('solved', 'closed', 'abandoned')",
            name=op.f("ck_swarms_outcome"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_swarms_ticket_id_tickets"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["owner_user_id"], ["users.id"], name=op.f("fk_swarms_owner_user_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["started_by_user_id"],
            ["users.id"],
            name=op.f("fk_swarms_started_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_swarms")),
    )
    with op.batch_alter_table("swarms", schema=None) as batch_op:
        # One open swarm per ticket; also the whole of what the closing job reads.
        batch_op.create_index(
            "ux_swarms_open_ticket",
            ["ticket_id"],
            unique=True,
            sqlite_where=sa.text("closed_at IS NULL"),
            postgresql_where=sa.text("closed_at IS NULL"),
        )
        batch_op.create_index("ix_swarms_ticket_started", ["ticket_id", "started_at", "id"], unique=False)

    op.create_table(
        "swarm_members",
        sa.Column("swarm_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("invited_by_user_id", sa.Integer(), nullable=True),
        sa.Column("invited_at", tierdesk.core.db.UTCDateTime(), nullable=False),
        sa.Column("joined_at", tierdesk.core.db.UTCDateTime(), nullable=True),
        sa.Column("left_at", tierdesk.core.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["swarm_id"], ["swarms.id"], name=op.f("fk_swarm_members_swarm_id_swarms"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_swarm_members_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_swarm_members_ticket_id_tickets"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["invited_by_user_id"],
            ["users.id"],
            name=op.f("fk_swarm_members_invited_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("swarm_id", "user_id", name=op.f("pk_swarm_members")),
    )
    with op.batch_alter_table("swarm_members", schema=None) as batch_op:
        # The tickets visibility rule: "tickets whose swarm I am in" for one user.
        batch_op.create_index(
            "ix_swarm_members_active_user",
            ["user_id", "ticket_id"],
            unique=False,
            sqlite_where=sa.text("left_at IS NULL"),
            postgresql_where=sa.text("left_at IS NULL"),
        )
        batch_op.create_index("ix_swarm_members_ticket", ["ticket_id"], unique=False)

    op.create_table(
        "swarm_posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("swarm_id", sa.Integer(), nullable=False),
        sa.Column("author_user_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", tierdesk.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["swarm_id"], ["swarms.id"], name=op.f("fk_swarm_posts_swarm_id_swarms"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["author_user_id"],
            ["users.id"],
            name=op.f("fk_swarm_posts_author_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_swarm_posts")),
    )
    with op.batch_alter_table("swarm_posts", schema=None) as batch_op:
        batch_op.create_index("ix_swarm_posts_swarm", ["swarm_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("swarm_posts", schema=None) as batch_op:
        batch_op.drop_index("ix_swarm_posts_swarm")
    op.drop_table("swarm_posts")
    with op.batch_alter_table("swarm_members", schema=None) as batch_op:
        batch_op.drop_index("ix_swarm_members_ticket")
        batch_op.drop_index("ix_swarm_members_active_user")
    op.drop_table("swarm_members")
    with op.batch_alter_table("swarms", schema=None) as batch_op:
        batch_op.drop_index("ix_swarms_ticket_started")
        batch_op.drop_index("ux_swarms_open_ticket")
    op.drop_table("swarms")
