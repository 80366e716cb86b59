"""one outbox: daily messages, intros group posts and digests are rows of one table

Revision ID: 0b7e5c1d9a24
Revises: b8c9d0e1f2a3
Create Date: 2026-12-05 09:00:00

Every message the scheduler sends becomes an `outbox` row that one sender claims, sends and
marks. Rows of `daily_messages` keep their ids (nudges point at them); `intro_posts` and
`digests` rows are copied with their state; the three old tables are then dropped.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import bot.db

revision: str = "0b7e5c1d9a24"
down_revision: str | None = "b8c9d0e1f2a3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DIGEST_STATUS = {"posted": "sent", "empty": "cancelled", "posting": "failed"}
DIGEST_ERROR = {"empty": "no kudos this week", "posting": "interrupted while posting"}


def _instant(value: object) -> datetime | None:
    """A stored instant as an aware UTC datetime (SQLite hands raw queries back as text)."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(moment, datetime)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _outbox() -> sa.Table:
    return sa.table(
        "outbox",
        *(
            sa.column(name)
            for name in (
                "team_id",
                "kind",
                "subject",
                "status",
                "claim_token",
                "lease_until",
                "attempts",
                "channel_id",
                "ts",
                "error",
                "created_at",
                "sending_at",
                "sent_at",
            )
        ),
    )


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=True),
        sa.Column("user_id", sa.String(length=32), nullable=True),
        sa.Column("local_day", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("claim_token", sa.String(length=36), nullable=True),
        sa.Column("lease_until", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=True),
        sa.Column("ts", sa.String(length=32), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sending_at", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("team_id", "user_id", "local_day", name="uq_outbox_day"),
        sa.UniqueConstraint("team_id", "kind", "subject", name="uq_outbox_subject"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_status_lease", ["status", "lease_until"], unique=False)

    bind = op.get_bind()
    # Daily messages keep their ids: nudges point at them. "claimed" is now "pending".
    op.execute(
        "INSERT INTO outbox (id, team_id, kind, subject, user_id, local_day, status, claim_token,"
        " lease_until, attempts, channel_id, ts, error, created_at, sending_at, sent_at)"
        " SELECT id, team_id, 'daily', NULL, user_id, local_day,"
        " CASE status WHEN 'claimed' THEN 'pending' ELSE status END, claim_token, lease_until,"
        " attempts, channel_id, ts, error, created_at, sending_at, sent_at FROM daily_messages"
    )
    if bind.dialect.name == "postgresql":
        op.execute(
            "SELECT setval(pg_get_serial_sequence('outbox', 'id'),"
            " COALESCE((SELECT MAX(id) FROM outbox), 0) + 1, false)"
        )
    outbox = _outbox()
    posts = bind.execute(
        sa.text(
            "SELECT match_id, team_id, kind, due_at, status, claim_token, lease_until, attempts,"
            " sending_at, channel_id, ts, error, sent_at FROM intro_posts ORDER BY id"
        )
    ).mappings()
    utc = bot.db.UTCDateTime()
    rows = []
    for p in posts:
        due = _instant(p["due_at"])
        lease = _instant(p["lease_until"])
        rows.append(
            {
                "team_id": p["team_id"],
                "kind": p["kind"],
                "subject": str(p["match_id"]),
                "status": p["status"],
                "claim_token": p["claim_token"],
                # A pending post is taken when it is due and nobody's lease holds it.
                "lease_until": max(d for d in (due, lease) if d is not None),
                "attempts": p["attempts"],
                "channel_id": p["channel_id"],
                "ts": p["ts"],
                "error": p["error"],
                "created_at": due,
                "sending_at": _instant(p["sending_at"]),
                "sent_at": _instant(p["sent_at"]),
            }
        )
    digests = bind.execute(
        sa.text("SELECT team_id, week, channel_id, status, ts, created_at FROM digests ORDER BY id")
    ).mappings()
    for d in digests:
        created = _instant(d["created_at"]) or datetime.now(UTC)
        rows.append(
            {
                "team_id": d["team_id"],
                "kind": "digest",
                "subject": d["week"],
                "status": DIGEST_STATUS.get(d["status"], d["status"]),
                "claim_token": None,
                "lease_until": created,
                "attempts": 1,
                "channel_id": d["channel_id"],
                "ts": d["ts"],
                "error": DIGEST_ERROR.get(d["status"]),
                "created_at": created,
                "sending_at": None,
                "sent_at": created if d["status"] == "posted" else None,
            }
        )
    if rows:
        typed = sa.table(
            "outbox",
            *(
                sa.column(c.name, utc if c.name.endswith(("_at", "_until")) else None)
                for c in outbox.columns
            ),
        )
        op.bulk_insert(typed, rows)

    with op.batch_alter_table("nudges", schema=None) as batch_op:
        batch_op.drop_constraint("fk_nudges_message_id_daily_messages", type_="foreignkey")
        batch_op.create_foreign_key(
            batch_op.f("fk_nudges_message_id_outbox"), "outbox", ["message_id"], ["id"]
        )
    with op.batch_alter_table("daily_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_daily_messages_status_lease")
    op.drop_table("daily_messages")
    with op.batch_alter_table("intro_posts", schema=None) as batch_op:
        batch_op.drop_index("ix_intro_posts_status_due")
    op.drop_table("intro_posts")
    op.drop_table("digests")


def downgrade() -> None:
    op.create_table(
        "digests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("week", sa.String(length=10), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("ts", sa.String(length=32), nullable=True),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digests")),
        sa.UniqueConstraint("team_id", "week", name="uq_digests_week"),
    )
    op.execute(
        "INSERT INTO digests (team_id, week, channel_id, status, ts, created_at)"
        " SELECT team_id, subject, COALESCE(channel_id, ''),"
        " CASE status WHEN 'sent' THEN 'posted' WHEN 'cancelled' THEN 'empty'"
        " ELSE 'posting' END, ts, created_at FROM outbox WHERE kind = 'digest'"
    )
    op.create_table(
        "intro_posts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("match_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("due_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("claim_token", sa.String(length=36), nullable=True),
        sa.Column("lease_until", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sending_at", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("channel_id", sa.String(length=32), nullable=True),
        sa.Column("ts", sa.String(length=32), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("sent_at", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["match_id"],
            ["intro_matches.id"],
            name=op.f("fk_intro_posts_match_id_intro_matches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intro_posts")),
        sa.UniqueConstraint("match_id", "kind", name="uq_intro_posts_kind"),
    )
    with op.batch_alter_table("intro_posts", schema=None) as batch_op:
        batch_op.create_index("ix_intro_posts_status_due", ["status", "due_at"], unique=False)
    op.execute(
        "INSERT INTO intro_posts (match_id, team_id, kind, due_at, status, claim_token,"
        " lease_until, attempts, sending_at, channel_id, ts, error, sent_at)"
        " SELECT CAST(subject AS INTEGER), team_id, kind, created_at, status, claim_token,"
        " lease_until, attempts, sending_at, channel_id, ts, error, sent_at FROM outbox"
        " WHERE kind IN ('intro', 'followup')"
        " AND CAST(subject AS INTEGER) IN (SELECT id FROM intro_matches)"
    )
    op.create_table(
        "daily_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("claim_token", sa.String(length=36), nullable=False),
        sa.Column("lease_until", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=True),
        sa.Column("ts", sa.String(length=32), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sending_at", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daily_messages")),
        sa.UniqueConstraint("team_id", "user_id", "local_day", name="uq_daily_messages_day"),
    )
    with op.batch_alter_table("daily_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_daily_messages_status_lease", ["status", "lease_until"], unique=False
        )
    op.execute(
        "INSERT INTO daily_messages (id, team_id, user_id, local_day, status, claim_token,"
        " lease_until, attempts, channel_id, ts, error, created_at, sending_at, sent_at)"
        " SELECT id, team_id, user_id, local_day,"
        " CASE status WHEN 'pending' THEN 'claimed' ELSE status END, COALESCE(claim_token, ''),"
        " lease_until, attempts, channel_id, ts, error, created_at, sending_at, sent_at"
        " FROM outbox WHERE kind = 'daily'"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "SELECT setval(pg_get_serial_sequence('daily_messages', 'id'),"
            " COALESCE((SELECT MAX(id) FROM daily_messages), 0) + 1, false)"
        )
    with op.batch_alter_table("nudges", schema=None) as batch_op:
        batch_op.drop_constraint("fk_nudges_message_id_outbox", type_="foreignkey")
        batch_op.create_foreign_key(
            batch_op.f("fk_nudges_message_id_daily_messages"),
            "daily_messages",
            ["message_id"],
            ["id"],
        )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_status_lease")
    op.drop_table("outbox")
