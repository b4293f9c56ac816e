"""merge the two l12 branches: KB title bounds for PostgreSQL search (l12kbpg) and the KB
review state, FAQ order and translated category names (l12kbui)

Both were built side by side from k11merge; one head again, so `alembic revision` works
without naming a parent.

Revision ID: m13merge
Revises: l12kbpg, l12kbui
Create Date: 2026-11-23 05:10:00
"""

from collections.abc import Sequence

revision: str = "m13merge"
down_revision: str | None = ("l12kbpg", "l12kbui")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
