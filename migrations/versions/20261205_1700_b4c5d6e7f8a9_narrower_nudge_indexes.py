"""narrower nudge indexes: a planned nudge (no message yet, any kind but check-ins) goes
into four indexes, not six

Revision ID: b4c5d6e7f8a9
Revises: a3b4c5d6e7f8
Create Date: 2026-12-05 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b4c5d6e7f8a9"
down_revision: str | None = "a3b4c5d6e7f8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ATTACHED = sa.text("message_id IS NOT NULL")
CHECKINS = sa.text("kind = 'checkin'")


def upgrade() -> None:
    op.drop_index("ix_nudges_message", table_name="nudges")
    op.create_index(
        "ix_nudges_message",
        "nudges",
        ["message_id"],
        postgresql_where=ATTACHED,
        sqlite_where=ATTACHED,
    )
    op.drop_index("ix_nudges_kind_planned", table_name="nudges")
    op.create_index(
        "ix_nudges_checkins_planned",
        "nudges",
        ["planned_at"],
        postgresql_where=CHECKINS,
        sqlite_where=CHECKINS,
    )


def downgrade() -> None:
    op.drop_index("ix_nudges_checkins_planned", table_name="nudges")
    op.create_index("ix_nudges_kind_planned", "nudges", ["kind", "planned_at"])
    op.drop_index("ix_nudges_message", table_name="nudges")
    op.create_index("ix_nudges_message", "nudges", ["message_id"])
