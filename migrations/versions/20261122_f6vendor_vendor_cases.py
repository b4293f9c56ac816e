"""vendors and vendor cases

Revision ID: f6vendor
Revises: d4eng
Create Date: 2026-11-22 23:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tierdesk.core.db

revision: str = "f6vendor"
down_revision: str | None = "d4eng"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "vendors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("contact_email", sa.String(length=254), nullable=False),
        sa.Column("response_target_minutes", sa.Integer(), nullable=False),
        sa.Column("calendar_id", sa.Integer(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_at", tierdesk.core.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint("response_target_minutes > 0", name=op.f("ck_vendors_response_target_positive")),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["calendars.id"],
            name=op.f("fk_vendors_calendar_id_calendars"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vendors")),
        sa.UniqueConstraint("key", name=op.f("uq_vendors_key")),
    )

    op.create_table(
        "vendor_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("opened_by_user_id", sa.Integer(), nullable=True),
        sa.Column("opened_at", tierdesk.core.db.UTCDateTime(), nullable=False),
        sa.Column("due_at", tierdesk.core.db.UTCDateTime(), nullable=False),
        sa.Column("first_response_at", tierdesk.core.db.UTCDateTime(), nullable=True),
        sa.Column("response_seconds", sa.Integer(), nullable=True),
        sa.Column("breached", sa.Boolean(), nullable=False),
        sa.Column("closed_at", tierdesk.core.db.UTCDateTime(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_vendor_cases_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"], ["vendors.id"], name=op.f("fk_vendor_cases_vendor_id_vendors")
        ),
        sa.ForeignKeyConstraint(
            ["opened_by_user_id"],
            ["users.id"],
            name=op.f("fk_vendor_cases_opened_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vendor_cases")),
        sa.UniqueConstraint("vendor_id", "reference", name="uq_vendor_cases_vendor_reference"),
    )
    with op.batch_alter_table("vendor_cases", schema=None) as batch_op:
        # A ticket's cases, oldest first (and the ticket's cascade delete).
        batch_op.create_index("ix_vendor_cases_ticket_opened", ["ticket_id", "opened_at", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("vendor_cases", schema=None) as batch_op:
        batch_op.drop_index("ix_vendor_cases_ticket_opened")
    op.drop_table("vendor_cases")
    op.drop_table("vendors")
