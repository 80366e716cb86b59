"""A database that already holds a workspace's history, for `end_to_end.py --seed-kudos`.

allybot should cost the same per kudos whether its database is empty or holds a year of
kudos: every statement on the path after the ack is bounded and indexed. To measure it, one
template per backend is migrated and filled once with plain bulk INSERT … SELECT statements
(no ORM, no Slack), then copied for each run that wants history (PostgreSQL `CREATE DATABASE
… TEMPLATE`, a file copy for SQLite), so every run starts from the same rows.

The history lives in the workspace the seeded runs' load is sent to (`TEAM`): `people`
people (`UH0000000`…), and `kudos` kudos among them spread evenly over the year before
yesterday, each posted and DMed, from `source_key` `seed:<i>`. The load's own givers and
receivers are not among them (they are new to allybot, as in the empty run), and none of
the history falls on today, so no daily limit or DM budget is touched by it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
TEAM = "THISTORY"
CHANNEL = "CHISTORY"
ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo")

# $1 team, $2 people. Python-side defaults of the model are spelled out here.
PG_PEOPLE = """
INSERT INTO people (team_id, user_id, name, tz, is_bot, deleted, is_admin, is_owner, external,
    tips_cadence, opted_out, kudos_private, profile_refreshed_at, created_at)
SELECT $1, 'UH' || lpad(i::text, 7, '0'), 'person ' || i,
    (ARRAY['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Tokyo'])[1 + i % 4],
    false, false, false, false, false, 'weekly', false, false,
    now() - interval '30 days', now() - interval '400 days'
FROM generate_series(0, $2 - 1) AS i
"""

# $1 team, $2 first i, $3 last i (exclusive), $4 kudos in all, $5 people, $6 channel.
PG_KUDOS = """
INSERT INTO kudos (team_id, giver_id, receiver_id, channel_id, text, tags, source, source_key,
    created_at, post_channel_id, post_ts, announced_at, notified_at)
SELECT $1, 'UH' || lpad(g::text, 7, '0'), 'UH' || lpad(((g + 1 + i % ($5 - 1)) % $5)::text, 7, '0'),
    $6, 'thanks for the calm release, history ' || i || ' #teamwork', '["teamwork"]'::json,
    'command', 'seed:' || i, ts, $6, (1700000000 + i)::text || '.000100', ts, ts
FROM (
    SELECT i, (i * 7919) % $5 AS g,
        now() - interval '366 days' + (interval '365 days' * i / $4) AS ts
    FROM generate_series($2::bigint, $3::bigint - 1) AS i
) AS s
"""

SQLITE_PEOPLE = """
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < :people)
INSERT INTO people (team_id, user_id, name, tz, is_bot, deleted, is_admin, is_owner, external,
    tips_cadence, opted_out, kudos_private, profile_refreshed_at, created_at)
SELECT :team, 'UH' || substr('0000000' || i, -7), 'person ' || i,
    CASE i % 4 WHEN 0 THEN 'UTC' WHEN 1 THEN 'Europe/Berlin' WHEN 2 THEN 'America/New_York'
        ELSE 'Asia/Tokyo' END,
    0, 0, 0, 0, 0, 'weekly', 0, 0,
    strftime('%Y-%m-%d %H:%M:%S.000000', 'now', '-30 days'),
    strftime('%Y-%m-%d %H:%M:%S.000000', 'now', '-400 days')
FROM n
"""

SQLITE_KUDOS = """
WITH RECURSIVE n(i) AS (SELECT :first UNION ALL SELECT i + 1 FROM n WHERE i + 1 < :last),
s AS (
    SELECT i, (i * 7919) % :people AS g,
        strftime('%Y-%m-%d %H:%M:%S.000000',
            CAST(strftime('%s', 'now', '-366 days') AS INTEGER) + (i * 31536000) / :kudos,
            'unixepoch') AS ts
    FROM n
)
INSERT INTO kudos (team_id, giver_id, receiver_id, channel_id, text, tags, source, source_key,
    created_at, post_channel_id, post_ts, announced_at, notified_at)
SELECT :team, 'UH' || substr('0000000' || g, -7),
    'UH' || substr('0000000' || ((g + 1 + i % (:people - 1)) % :people), -7),
    :channel, 'thanks for the calm release, history ' || i || ' #teamwork', '["teamwork"]',
    'command', 'seed:' || i, ts, :channel, (1700000000 + i) || '.000100', ts, ts
FROM s
"""

CHUNK = 200_000


def note(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def migrate(database_url: str, env: dict[str, str]) -> None:
    """The schema allybot expects, by its own `allybot migrate`."""
    subprocess.run(
        [sys.executable, "-m", "allybot.cli", "migrate"],
        cwd=ROOT,
        env={**env, "DATABASE_URL": database_url},
        check=True,
        capture_output=True,
    )


async def seed_postgres(url: str, kudos: int, people: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(PG_PEOPLE, TEAM, people)
        for first in range(0, kudos, CHUNK):
            last = min(kudos, first + CHUNK)
            await conn.execute(PG_KUDOS, TEAM, first, last, kudos, people, CHANNEL)
            note(f"  seeded {last:,} of {kudos:,} kudos")
        # As autovacuum would have done long before on a database with this history.
        await conn.execute("VACUUM ANALYZE people")
        await conn.execute("VACUUM ANALYZE kudos")
    finally:
        await conn.close()


def seed_sqlite(path: str, kudos: int, people: int) -> None:
    conn = sqlite3.connect(path)
    try:
        with conn:
            conn.execute(SQLITE_PEOPLE, {"team": TEAM, "people": people})
        for first in range(0, kudos, CHUNK):
            last = min(kudos, first + CHUNK)
            params = {
                "team": TEAM,
                "channel": CHANNEL,
                "first": first,
                "last": last,
                "kudos": kudos,
                "people": people,
            }
            with conn:
                conn.execute(SQLITE_KUDOS, params)
            note(f"  seeded {last:,} of {kudos:,} kudos")
    finally:
        conn.close()


class Templates:
    """One seeded template per backend, made on first use and copied for each run."""

    def __init__(self, kudos: int, people: int, postgres_url: str, tmp: Path) -> None:
        self.kudos, self.people = kudos, people
        self.postgres_url = postgres_url
        self.tmp = tmp
        self.seconds: dict[str, float] = {}  # how long each backend's seeding took
        self._made: dict[str, str] = {}

    async def _make(self, database: str, env: dict[str, str]) -> str:
        if database in self._made:
            return self._made[database]
        note(f"seeding {database}: {self.kudos:,} kudos, {self.people:,} people")
        started = time.monotonic()
        if database == "sqlite":
            path = str(self.tmp / "history.db")
            await asyncio.to_thread(migrate, f"sqlite:///{path}", env)
            await asyncio.to_thread(seed_sqlite, path, self.kudos, self.people)
            made = path
        else:
            made = f"allybot_history_{os.getpid()}_{uuid.uuid4().hex[:8]}"
            admin = await asyncpg.connect(self.postgres_url)
            try:
                await admin.execute(f'CREATE DATABASE "{made}"')
            finally:
                await admin.close()
            self._made[database] = made  # dropped by close(), even if seeding fails
            url = f"{self.postgres_url.rsplit('/', 1)[0]}/{made}"
            await asyncio.to_thread(migrate, url, env)
            await seed_postgres(url, self.kudos, self.people)
        self.seconds[database] = time.monotonic() - started
        note(f"seeded {database} in {self.seconds[database]:.1f} s")
        self._made[database] = made
        return made

    @contextlib.asynccontextmanager
    async def copy(self, database: str, env: dict[str, str]) -> AsyncIterator[str]:
        """A database URL holding a copy of the template, gone on the way out."""
        made = await self._make(database, env)
        if database == "sqlite":
            with tempfile.TemporaryDirectory(dir=self.tmp) as d:
                await asyncio.to_thread(shutil.copyfile, made, f"{d}/bench.db")
                yield f"sqlite:///{d}/bench.db"
            return
        name = f"allybot_e2e_hist_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(self.postgres_url)
        try:
            await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{made}"')
        finally:
            await admin.close()
        try:
            yield f"{self.postgres_url.rsplit('/', 1)[0]}/{name}"
        finally:
            admin = await asyncpg.connect(self.postgres_url)
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await admin.close()

    async def close(self) -> None:
        made = self._made.pop("postgresql", None)
        if made is None:
            return
        admin = await asyncpg.connect(self.postgres_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{made}" WITH (FORCE)')
        finally:
            await admin.close()
