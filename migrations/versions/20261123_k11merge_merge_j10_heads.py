"""merge the five j10 branches: configuration generation, ticket search, dashboard indexes,
KB search vectors and the SLA time-box index

All five were built side by side from i9merge; one head again, so `alembic revision` works
without naming a parent.

Revision ID: k11merge
Revises: j10cfg, j10search, j10dash, j10kb, j10sla
Create Date: 2026-11-23 02:25:00
"""

from collections.abc import Sequence

revision: str = "k11merge"
down_revision: str | None = ("j10cfg", "j10search", "j10dash", "j10kb", "j10sla")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
