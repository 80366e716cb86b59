"""indexes and storage for the planner and the report

Revision ID: e4f5a6b7c8d9
Revises: d9e3a4b5c6f7
Create Date: 2026-11-26 16:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "e4f5a6b7c8d9"
down_revision: str | None = "d9e3a4b5c6f7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Each planning pass moves the next reminder of many allies: room on each page lets
        # PostgreSQL update them in place (HOT) instead of touching every index.
        op.execute("ALTER TABLE allies SET (fillfactor = 80)")
    with op.batch_alter_table("nudges", schema=None) as batch_op:
        batch_op.create_index("ix_nudges_kind_planned", ["kind", "planned_at"], unique=False)
    with op.batch_alter_table("kudos", schema=None) as batch_op:
        batch_op.create_index(
            "ix_kudos_team_created",
            ["team_id", "created_at"],
            unique=False,
            postgresql_include=["giver_id", "receiver_id", "channel_id"],
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE allies RESET (fillfactor)")
    with op.batch_alter_table("kudos", schema=None) as batch_op:
        batch_op.drop_index("ix_kudos_team_created")
    with op.batch_alter_table("nudges", schema=None) as batch_op:
        batch_op.drop_index("ix_nudges_kind_planned")
