"""suggestion looks: give-back and breadth candidates found once per workspace, zone and
local day, and planned from there by every pass of that day

Revision ID: a3b4c5d6e7f8
Revises: f2a3b4c5d6e7
Create Date: 2026-12-05 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.db import UTCDateTime

revision: str = "a3b4c5d6e7f8"
down_revision: str | None = "f2a3b4c5d6e7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "suggestion_looks",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("tz", sa.String(length=64), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("looked_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "tz", "local_day", name=op.f("pk_suggestion_looks")),
    )
    op.create_table(
        "suggestion_candidates",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("tz", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint(
            "team_id",
            "kind",
            "local_day",
            "user_id",
            "subject",
            name=op.f("pk_suggestion_candidates"),
        ),
    )


def downgrade() -> None:
    op.drop_table("suggestion_candidates")
    op.drop_table("suggestion_looks")
