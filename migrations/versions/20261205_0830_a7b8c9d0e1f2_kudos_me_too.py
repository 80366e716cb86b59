"""kudos "me too": find a kudos by its post, and edit the post's count in place

Revision ID: a7b8c9d0e1f2
Revises: 70f9fc1d744c
Create Date: 2026-12-05 08:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.db import UTCDateTime

revision: str = "a7b8c9d0e1f2"
down_revision: str | None = "70f9fc1d744c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("kudos", schema=None) as batch_op:
        batch_op.create_index(
            "ix_kudos_post", ["team_id", "post_channel_id", "post_ts"], unique=False
        )
    op.create_table(
        "kudos_post_updates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("ts", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("claim_token", sa.String(length=36), nullable=True),
        sa.Column("lease_until", UTCDateTime(timezone=True), nullable=True),
        sa.Column("shown", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kudos_post_updates")),
        sa.UniqueConstraint("team_id", "channel_id", "ts", name="uq_kudos_post_updates_post"),
    )
    with op.batch_alter_table("kudos_post_updates", schema=None) as batch_op:
        batch_op.create_index(
            "ix_kudos_post_updates_status_due", ["status", "due_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("kudos_post_updates", schema=None) as batch_op:
        batch_op.drop_index("ix_kudos_post_updates_status_due")
    op.drop_table("kudos_post_updates")
    with op.batch_alter_table("kudos", schema=None) as batch_op:
        batch_op.drop_index("ix_kudos_post")
