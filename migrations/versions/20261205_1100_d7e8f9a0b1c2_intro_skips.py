"""intro skips: a person's answer to a round's heads-up (Skip this round / I'm in), per
round day

Revision ID: d7e8f9a0b1c2
Revises: c4d5e6f7a8b9
Create Date: 2026-12-05 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.db import UTCDateTime

revision: str = "d7e8f9a0b1c2"
down_revision: str | None = "c4d5e6f7a8b9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "intro_skips",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("round_day", sa.Date(), nullable=False),
        sa.Column("choice", sa.String(length=8), nullable=False),
        sa.Column("chosen_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "user_id", "round_day", name=op.f("pk_intro_skips")),
    )
    with op.batch_alter_table("intro_skips", schema=None) as batch_op:
        batch_op.create_index("ix_intro_skips_round", ["team_id", "round_day"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("intro_skips", schema=None) as batch_op:
        batch_op.drop_index("ix_intro_skips_round")
    op.drop_table("intro_skips")
