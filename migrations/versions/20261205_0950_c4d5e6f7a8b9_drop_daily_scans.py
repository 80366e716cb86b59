"""drop daily scans: give-back and breadth aggregate on every pass again

The once-a-day look (revision 5e1d2c3b4a69) planned the same nudges but made each pass slower
at scale (benchmarks/README.md, planner), so its tables go.

Revision ID: c4d5e6f7a8b9
Revises: c5d6e7f8a9b0
Create Date: 2026-12-05 09:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c4d5e6f7a8b9"
down_revision: str | None = "c5d6e7f8a9b0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_table("daily_candidates")
    op.drop_table("daily_scans")


def downgrade() -> None:
    op.create_table(
        "daily_scans",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("tz", sa.String(length=64), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "scope", "tz", "local_day", name=op.f("pk_daily_scans")),
    )
    op.create_table(
        "daily_candidates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daily_candidates")),
        sa.UniqueConstraint(
            "kind", "local_day", "team_id", "user_id", "subject", name="uq_daily_candidates"
        ),
    )
