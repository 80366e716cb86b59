"""workspace_default_window

Revision ID: d9e3a4b5c6f7
Revises: c8d2f3e4b5a6
Create Date: 2026-11-26 15:50:00
"""

from collections.abc import Sequence

revision: str = "d9e3a4b5c6f7"
down_revision: str | None = "c8d2f3e4b5a6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
