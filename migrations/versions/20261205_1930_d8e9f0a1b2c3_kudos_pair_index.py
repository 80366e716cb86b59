"""kudos by pair: whether someone ever recognised someone is one index look-up (give-back)

Revision ID: d8e9f0a1b2c3
Revises: b4c5d6e7f8a9
Create Date: 2026-12-05 19:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "d8e9f0a1b2c3"
down_revision: str | None = "b4c5d6e7f8a9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_kudos_pair", "kudos", ["team_id", "giver_id", "receiver_id"])


def downgrade() -> None:
    op.drop_index("ix_kudos_pair", table_name="kudos")
