"""intros that fit teams: the profile fields naming a person's team and location, the
shared-channel threshold, each member's way of meeting, and the profile values read

Revision ID: f2a3b4c5d6e7
Revises: e1f2a3b4c5d6
Create Date: 2026-12-05 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.db import UTCDateTime

revision: str = "f2a3b4c5d6e7"
down_revision: str | None = "e1f2a3b4c5d6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("workspaces") as batch:
        batch.add_column(sa.Column("intros_team_field", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("intros_location_field", sa.String(length=100), nullable=True))
        batch.add_column(
            sa.Column("intros_shared_channels", sa.Integer(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("intro_members") as batch:
        batch.add_column(
            sa.Column("meet_mode", sa.String(length=16), server_default="remote", nullable=False)
        )
        batch.add_column(sa.Column("location", sa.String(length=100), nullable=True))
    op.create_table(
        "intro_profiles",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("team_value", sa.String(length=200), nullable=True),
        sa.Column("location_value", sa.String(length=200), nullable=True),
        sa.Column("read_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "user_id", name=op.f("pk_intro_profiles")),
    )


def downgrade() -> None:
    op.drop_table("intro_profiles")
    with op.batch_alter_table("intro_members") as batch:
        batch.drop_column("location")
        batch.drop_column("meet_mode")
    with op.batch_alter_table("workspaces") as batch:
        batch.drop_column("intros_shared_channels")
        batch.drop_column("intros_location_field")
        batch.drop_column("intros_team_field")
