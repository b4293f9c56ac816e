"""merge swarms and vendors

Revision ID: g7merge
Revises: e5swarm, f6vendor
Create Date: 2026-11-22 21:03:16.003961
"""

from collections.abc import Sequence

revision: str = "g7merge"
down_revision: str | None = ("e5swarm", "f6vendor")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
