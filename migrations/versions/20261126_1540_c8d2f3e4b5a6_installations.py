"""installations

Revision ID: c8d2f3e4b5a6
Revises: b7c1e2d3a4f5
Create Date: 2026-11-26 15:40:00
"""

from collections.abc import Sequence

revision: str = "c8d2f3e4b5a6"
down_revision: str | None = "b7c1e2d3a4f5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
