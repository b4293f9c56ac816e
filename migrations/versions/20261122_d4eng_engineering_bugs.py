"""engineering bugs

Revision ID: d4eng
Revises: c3routing
Create Date: 2026-11-22 22:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tierdesk.core.db

revision: str = "d4eng"
down_revision: str | None = "c3routing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "engineering_bugs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=250), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("owner_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", tierdesk.core.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", tierdesk.core.db.UTCDateTime(), nullable=False),
        sa.Column("fixed_at", tierdesk.core.db.UTCDateTime(), nullable=True),
        sa.Column("fix_note", sa.Text(), nullable=False),
        sa.Column("verified_at", tierdesk.core.db.UTCDateTime(), nullable=True),
        sa.Column("verified_by_user_id", sa.Integer(), nullable=True),
        sa.Column("verify_note", sa.Text(), nullable=False),
        sa.Column("announced_at", tierdesk.core.db.UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'in_progress', 'fixed', 'verified', 'wont_fix')",
            name=op.f("ck_engineering_bugs_status"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_user_id"],
            ["users.id"],
            name=op.f("fk_engineering_bugs_owner_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["verified_by_user_id"],
            ["users.id"],
            name=op.f("fk_engineering_bugs_verified_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engineering_bugs")),
        sa.UniqueConstraint("key", name=op.f("uq_engineering_bugs_key")),
    )
    with op.batch_alter_table("engineering_bugs", schema=None) as batch_op:
        # The list filters on status, newest first.
        batch_op.create_index(
            "ix_engineering_bugs_status_created", ["status", "created_at", "id"], unique=False
        )

    op.create_table(
        "engineering_bug_tickets",
        sa.Column("bug_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("linked_at", tierdesk.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bug_id"],
            ["engineering_bugs.id"],
            name=op.f("fk_engineering_bug_tickets_bug_id_engineering_bugs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_engineering_bug_tickets_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("bug_id", "ticket_id", name=op.f("pk_engineering_bug_tickets")),
    )
    with op.batch_alter_table("engineering_bug_tickets", schema=None) as batch_op:
        # "Which bugs does this ticket wait on" (and the ticket's cascade delete).
        batch_op.create_index("ix_engineering_bug_tickets_ticket", ["ticket_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("engineering_bug_tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_engineering_bug_tickets_ticket")
    op.drop_table("engineering_bug_tickets")
    with op.batch_alter_table("engineering_bugs", schema=None) as batch_op:
        batch_op.drop_index("ix_engineering_bugs_status_created")
    op.drop_table("engineering_bugs")
