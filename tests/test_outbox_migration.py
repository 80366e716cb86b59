"""The migration to one outbox keeps what the three old tables held: daily messages (with
their ids, which nudges point at), intros group posts and weekly digests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from bot.db import Database, UTCDateTime
from bot.migrate import alembic_config, upgrade
from bot.models import Nudge, OutboxMessage
from tests.conftest import new_database

OUTBOX = "0b7e5c1d9a24"
# The revision the outbox migration follows, whatever that is now.
BEFORE = ScriptDirectory.from_config(alembic_config()).get_revision(OUTBOX).down_revision
T = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _table(name: str, *columns: tuple[str, sa.types.TypeEngine[object] | None]) -> sa.Table:
    return sa.table(name, *(sa.column(c, kind) for c, kind in columns))


WHEN = UTCDateTime()
DAILY = _table(
    "daily_messages",
    ("id", None),
    ("team_id", None),
    ("user_id", None),
    ("local_day", sa.Date()),
    ("status", None),
    ("claim_token", None),
    ("lease_until", WHEN),
    ("attempts", None),
    ("channel_id", None),
    ("ts", None),
    ("created_at", WHEN),
    ("sending_at", WHEN),
    ("sent_at", WHEN),
)
NUDGES = _table(
    "nudges",
    ("team_id", None),
    ("user_id", None),
    ("kind", None),
    ("subject", None),
    ("period", None),
    ("local_day", sa.Date()),
    ("status", None),
    ("message_id", None),
    ("planned_at", WHEN),
)
ROUNDS = _table(
    "intro_rounds",
    ("id", None),
    ("team_id", None),
    ("period", None),
    ("channel_id", None),
    ("group_size", None),
    ("seed", None),
    ("status", None),
    ("attempts", None),
    ("planned_at", WHEN),
    ("pool_size", None),
    ("matched", None),
    ("left_out", None),
)
MATCHES = _table(
    "intro_matches",
    ("id", None),
    ("round_id", None),
    ("team_id", None),
    ("size", None),
    ("starter_id", None),
    ("channel_id", None),
    ("created_at", WHEN),
)
POSTS = _table(
    "intro_posts",
    ("match_id", None),
    ("team_id", None),
    ("kind", None),
    ("due_at", WHEN),
    ("status", None),
    ("lease_until", WHEN),
    ("attempts", None),
    ("channel_id", None),
    ("ts", None),
    ("error", None),
    ("sent_at", WHEN),
)
DIGESTS = _table(
    "digests",
    ("team_id", None),
    ("week", None),
    ("channel_id", None),
    ("status", None),
    ("ts", None),
    ("created_at", WHEN),
)


def _seed(connection: Connection) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, str(BEFORE))
    day = date(2026, 12, 1)
    connection.execute(
        sa.insert(DAILY),
        [
            {
                "id": 41,
                "team_id": "T1",
                "user_id": "U1",
                "local_day": day,
                "status": "sent",
                "claim_token": "a",
                "lease_until": T,
                "attempts": 1,
                "channel_id": "D1",
                "ts": "1.1",
                "created_at": T,
                "sending_at": T,
                "sent_at": T,
            },
            {
                "id": 42,
                "team_id": "T1",
                "user_id": "U2",
                "local_day": day,
                "status": "claimed",
                "claim_token": "b",
                "lease_until": T,
                "attempts": 2,
                "channel_id": None,
                "ts": None,
                "created_at": T,
                "sending_at": None,
                "sent_at": None,
            },
        ],
    )
    connection.execute(
        sa.insert(NUDGES),
        [
            {
                "team_id": "T1",
                "user_id": "U2",
                "kind": "tip",
                "subject": "tip",
                "period": "d",
                "local_day": day,
                "status": "planned",
                "message_id": 42,
                "planned_at": T,
            }
        ],
    )
    connection.execute(
        sa.insert(ROUNDS),
        [
            {
                "id": 7,
                "team_id": "T1",
                "period": "2026-W49",
                "channel_id": "C1",
                "group_size": 2,
                "seed": 1,
                "status": "matched",
                "attempts": 1,
                "planned_at": T,
                "pool_size": 2,
                "matched": 2,
                "left_out": 0,
            }
        ],
    )
    connection.execute(
        sa.insert(MATCHES),
        [
            {
                "id": 9,
                "round_id": 7,
                "team_id": "T1",
                "size": 2,
                "starter_id": "s",
                "channel_id": "G1",
                "created_at": T,
            }
        ],
    )
    connection.execute(
        sa.insert(POSTS),
        [
            {
                "match_id": 9,
                "team_id": "T1",
                "kind": "intro",
                "due_at": T,
                "status": "sent",
                "lease_until": None,
                "attempts": 1,
                "channel_id": "G1",
                "ts": "2.2",
                "error": None,
                "sent_at": T,
            },
            {
                "match_id": 9,
                "team_id": "T1",
                "kind": "followup",
                "due_at": T + timedelta(days=7),
                "status": "pending",
                "lease_until": None,
                "attempts": 0,
                "channel_id": None,
                "ts": None,
                "error": None,
                "sent_at": None,
            },
        ],
    )
    connection.execute(
        sa.insert(DIGESTS),
        [
            {
                "team_id": "T1",
                "week": "2026-W48",
                "channel_id": "C2",
                "status": "posted",
                "ts": "3.3",
                "created_at": T,
            },
            {
                "team_id": "T1",
                "week": "2026-W49",
                "channel_id": "C2",
                "status": "empty",
                "ts": None,
                "created_at": T,
            },
        ],
    )


async def test_the_outbox_keeps_every_message_the_old_tables_held(
    backend: str, tmp_path: Path
) -> None:
    async with new_database(backend, tmp_path) as url:
        db = Database(url)
        try:
            async with db.engine.connect() as conn:
                await conn.run_sync(_seed)
                await conn.commit()
            await upgrade(db)
            async with db.session() as session:
                rows = (await session.execute(sa.select(OutboxMessage))).scalars().all()
                by_key = {(r.kind, r.subject or r.user_id): r for r in rows}
                nudge = (await session.execute(sa.select(Nudge))).scalar_one()
            assert sorted(by_key) == [
                ("daily", "U1"),
                ("daily", "U2"),
                ("digest", "2026-W48"),
                ("digest", "2026-W49"),
                ("followup", "9"),
                ("intro", "9"),
            ]
            sent, claimed = by_key["daily", "U1"], by_key["daily", "U2"]
            assert (sent.id, sent.status, sent.ts, sent.local_day) == (
                41,
                "sent",
                "1.1",
                date(2026, 12, 1),
            )
            assert (claimed.id, claimed.status, claimed.attempts) == (42, "pending", 2)
            assert nudge.message_id == 42  # nudges still point at their daily message
            intro, follow_up = by_key["intro", "9"], by_key["followup", "9"]
            assert (intro.status, intro.ts, intro.channel_id) == ("sent", "2.2", "G1")
            assert follow_up.status == "pending"
            assert follow_up.lease_until == T + timedelta(days=7)  # not taken before it is due
            assert (by_key["digest", "2026-W48"].status, by_key["digest", "2026-W48"].ts) == (
                "sent",
                "3.3",
            )
            assert by_key["digest", "2026-W49"].status == "cancelled"
            # New rows get new ids: the sequence moved past the kept ones.
            async with db.session() as session:
                session.add(
                    OutboxMessage(team_id="T1", kind="digest", subject="2026-W50", lease_until=T)
                )
                await session.flush()
                assert (
                    max(r.id for r in (await session.execute(sa.select(OutboxMessage))).scalars())
                    > 42
                )
        finally:
            await db.dispose()
