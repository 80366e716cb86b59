"""dashboard_sessions

Browsers signed in to the web dashboard with Sign in with Slack.

Revision ID: 70f9fc1d744c
Revises: f1a2b3c4d5e6
Create Date: 2026-12-05 08:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db

revision: str = "70f9fc1d744c"
down_revision: str | None = "f1a2b3c4d5e6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dashboard_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("enterprise_id", sa.String(length=32), nullable=True),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("admin_checked_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_dashboard_sessions")),
    )
    op.create_index(
        "ix_dashboard_sessions_person", "dashboard_sessions", ["team_id", "user_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_dashboard_sessions_person", table_name="dashboard_sessions")
    op.drop_table("dashboard_sessions")
