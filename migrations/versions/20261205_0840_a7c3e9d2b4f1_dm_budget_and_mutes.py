"""dm budget and mutes

The DMs one person causes allybot to send another (`person_dms`, counted per pair and the
recipient's local day against the workspace's `daily_dm_budget`), private mutes, and no
message text left in ended deliveries.

Revision ID: a7c3e9d2b4f1
Revises: a7b8c9d0e1f2
Create Date: 2026-12-05 08:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db

revision: str = "a7c3e9d2b4f1"
down_revision: str | None = "a7b8c9d0e1f2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "person_dms",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("sender_id", sa.String(length=32), nullable=False),
        sa.Column("recipient_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_dms")),
        sa.UniqueConstraint("team_id", "recipient_id", "key", name="uq_person_dms_key"),
    )
    with op.batch_alter_table("person_dms", schema=None) as batch_op:
        batch_op.create_index(
            "ix_person_dms_pair_day",
            ["team_id", "sender_id", "recipient_id", "local_day"],
            unique=False,
        )
        batch_op.create_index("ix_person_dms_sender", ["team_id", "sender_id"], unique=False)
    op.create_table(
        "mutes",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("muted_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "user_id", "muted_id", name=op.f("pk_mutes")),
    )
    with op.batch_alter_table("mutes", schema=None) as batch_op:
        batch_op.create_index("ix_mutes_muted", ["team_id", "muted_id"], unique=False)
    with op.batch_alter_table("workspaces", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("daily_dm_budget", sa.Integer(), server_default="5", nullable=False)
        )
    # The delivery log keeps a payload only while its work is pending; older versions kept
    # those of failed deliveries for good.
    op.execute("UPDATE inbound SET payload = NULL WHERE status <> 'pending'")


def downgrade() -> None:
    with op.batch_alter_table("workspaces", schema=None) as batch_op:
        batch_op.drop_column("daily_dm_budget")
    with op.batch_alter_table("mutes", schema=None) as batch_op:
        batch_op.drop_index("ix_mutes_muted")
    op.drop_table("mutes")
    with op.batch_alter_table("person_dms", schema=None) as batch_op:
        batch_op.drop_index("ix_person_dms_sender")
        batch_op.drop_index("ix_person_dms_pair_day")
    op.drop_table("person_dms")
