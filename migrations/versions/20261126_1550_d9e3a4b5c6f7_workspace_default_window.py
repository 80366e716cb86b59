"""workspace_default_window

A person's delivery window becomes optional: NULL follows the workspace's default window.
Rows holding exactly the old default (09:00-17:00), which nobody could tell apart from a
choice, follow the workspace default from now on; any other window stays the person's own.

Revision ID: d9e3a4b5c6f7
Revises: c8d2f3e4b5a6
Create Date: 2026-11-26 15:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d9e3a4b5c6f7"
down_revision: str | None = "c8d2f3e4b5a6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_DEFAULT = (9 * 60, 17 * 60)


def upgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.alter_column("window_start", existing_type=sa.INTEGER(), nullable=True)
        batch_op.alter_column("window_end", existing_type=sa.INTEGER(), nullable=True)
    op.execute(
        sa.text(
            "UPDATE people SET window_start = NULL, window_end = NULL "
            "WHERE window_start = :start AND window_end = :end"
        ).bindparams(start=OLD_DEFAULT[0], end=OLD_DEFAULT[1])
    )


def downgrade() -> None:
    for column in ("window_start", "window_end"):
        op.execute(
            sa.text(
                f"UPDATE people SET {column} = (SELECT w.{column} FROM workspaces w "
                f"WHERE w.team_id = people.team_id) WHERE {column} IS NULL"
            )
        )
        op.execute(
            sa.text(f"UPDATE people SET {column} = :fallback WHERE {column} IS NULL").bindparams(
                fallback=OLD_DEFAULT[0] if column == "window_start" else OLD_DEFAULT[1]
            )
        )
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.alter_column("window_end", existing_type=sa.INTEGER(), nullable=False)
        batch_op.alter_column("window_start", existing_type=sa.INTEGER(), nullable=False)
