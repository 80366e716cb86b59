"""intros

Revision ID: b7c1e2d3a4f5
Revises: 9559f43a0a81
Create Date: 2026-11-26 15:30:00
"""

from collections.abc import Sequence

revision: str = "b7c1e2d3a4f5"
down_revision: str | None = "9559f43a0a81"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
