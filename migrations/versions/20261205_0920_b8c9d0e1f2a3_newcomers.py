"""newcomers: welcome on the first working morning, volunteer welcomers, the admin's switch;
kudos_post_updates.updated_at, never read, dropped

Revision ID: b8c9d0e1f2a3
Revises: 5e1d2c3b4a69
Create Date: 2026-12-05 08:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.db import UTCDateTime

revision: str = "b8c9d0e1f2a3"
down_revision: str | None = "5e1d2c3b4a69"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("kudos_post_updates", schema=None) as batch_op:
        batch_op.drop_column("updated_at")
    with op.batch_alter_table("workspaces", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("welcome_newcomers", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
    with op.batch_alter_table("intro_members", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("welcomer", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "newcomers",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("joined_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("welcome_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("match_id", sa.Integer(), nullable=True),
        sa.Column("intro_rounds", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "user_id", name=op.f("pk_newcomers")),
    )
    with op.batch_alter_table("newcomers", schema=None) as batch_op:
        batch_op.create_index("ix_newcomers_welcome", ["status", "welcome_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("newcomers", schema=None) as batch_op:
        batch_op.drop_index("ix_newcomers_welcome")
    op.drop_table("newcomers")
    with op.batch_alter_table("intro_members", schema=None) as batch_op:
        batch_op.drop_column("welcomer")
    with op.batch_alter_table("workspaces", schema=None) as batch_op:
        batch_op.drop_column("welcome_newcomers")
    with op.batch_alter_table("kudos_post_updates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("updated_at", UTCDateTime(timezone=True), nullable=True))
