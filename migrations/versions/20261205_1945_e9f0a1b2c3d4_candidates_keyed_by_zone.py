"""suggestion candidates keyed by their zone too: one look (workspace, zone, local day) can
never store a key another look stored, so a look inserts without ON CONFLICT (half the cost)

The candidates are a day's cache: the table is made again empty and the day's looks are
forgotten with it, so the next pass looks again at every zone.

Revision ID: e9f0a1b2c3d4
Revises: d8e9f0a1b2c3
Create Date: 2026-12-05 19:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e9f0a1b2c3d4"
down_revision: str | None = "d8e9f0a1b2c3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _candidates(*key: str) -> None:
    op.drop_table("suggestion_candidates")
    op.execute(sa.text("DELETE FROM suggestion_looks"))
    op.create_table(
        "suggestion_candidates",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("tz", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint(*key, name=op.f("pk_suggestion_candidates")),
    )


def upgrade() -> None:
    _candidates("team_id", "kind", "local_day", "tz", "user_id", "subject")


def downgrade() -> None:
    _candidates("team_id", "kind", "local_day", "user_id", "subject")
