"""merge the knowledge base (h8kb) and the portal's languages and ratings (h8i18n)

Both branched from g7merge while they were built side by side; one head again, so
`alembic revision` works without naming a parent.

Revision ID: i9merge
Revises: h8i18n, h8kb
Create Date: 2026-11-23 00:10:00
"""

from collections.abc import Sequence

revision: str = "i9merge"
down_revision: str | None = ("h8i18n", "h8kb")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
