"""The floor for benchmarks/end_to_end.py: the least work any kudos bot on Bolt must do.

A bare Bolt ``AsyncApp`` served by Bolt's own aiohttp app, Bolt's defaults otherwise, with a
single ``/kudos`` listener that

1. records the command's ``trigger_id`` under a unique key in the database (so a retry of
   the same command does nothing), then acks;
2. in a task it owns: ``users.info`` for the receiver (cached in memory), one INSERT of the
   kudos, ``chat.postMessage`` in the channel, ``chat.postMessage`` to the receiver, one
   UPDATE marking the kudos done.

Nothing else: no limits, no tags, no Home, no recovery. It is not a product; it is the price
of the I/O every kudos bot pays, three statements in three transactions per kudos.

    python benchmarks/floor_bot.py --port 0 --database-url sqlite:///x.db

prints ``floor serving on http://HOST:PORT`` and serves until SIGTERM or SIGINT. It reads
``SLACK_BOT_TOKEN``, ``SLACK_SIGNING_SECRET`` and ``SLACK_API_URL`` like allybot does, and
``DATABASE_URL`` when ``--database-url`` is not given. Its tables (``floor_received``,
``floor_kudos``) are made on start.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
from datetime import UTC, datetime
from typing import Any, Protocol

import aiosqlite
import asyncpg
from aiohttp import web
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")

TABLES = (
    "CREATE TABLE IF NOT EXISTS floor_received (trigger_id TEXT PRIMARY KEY)",
    "CREATE TABLE IF NOT EXISTS floor_kudos (trigger_id TEXT PRIMARY KEY, giver_id TEXT,"
    " receiver_id TEXT, channel_id TEXT, text TEXT, created_at TEXT, done INTEGER DEFAULT 0)",
)


class Store(Protocol):
    async def received(self, trigger_id: str) -> bool: ...
    async def insert(self, row: tuple[str, str, str, str, str, str]) -> None: ...
    async def done(self, trigger_id: str) -> None: ...
    async def close(self) -> None: ...


class SqliteStore:
    """One aiosqlite connection in autocommit: each statement is its own transaction."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn

    @classmethod
    async def open(cls, path: str) -> SqliteStore:
        conn = await aiosqlite.connect(path, isolation_level=None, timeout=30)
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=NORMAL")
        for sql in TABLES:
            await conn.execute(sql)
        return cls(conn)

    async def received(self, trigger_id: str) -> bool:
        cur = await self.conn.execute(
            "INSERT INTO floor_received (trigger_id) VALUES (?) ON CONFLICT DO NOTHING",
            (trigger_id,),
        )
        return cur.rowcount == 1

    async def insert(self, row: tuple[str, str, str, str, str, str]) -> None:
        await self.conn.execute(
            "INSERT INTO floor_kudos (trigger_id, giver_id, receiver_id, channel_id, text,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            row,
        )

    async def done(self, trigger_id: str) -> None:
        await self.conn.execute(
            "UPDATE floor_kudos SET done = 1 WHERE trigger_id = ?", (trigger_id,)
        )

    async def close(self) -> None:
        await self.conn.close()


class PostgresStore:
    """An asyncpg pool; each statement is its own transaction."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @classmethod
    async def open(cls, dsn: str) -> PostgresStore:
        # Its statements leave no session state, so skip the reset query asyncpg runs (as a
        # transaction of its own) every time a connection goes back to the pool.
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=10, reset=_no_reset)
        for sql in TABLES:
            await pool.execute(sql)
        return cls(pool)

    async def received(self, trigger_id: str) -> bool:
        status = await self.pool.execute(
            "INSERT INTO floor_received (trigger_id) VALUES ($1) ON CONFLICT DO NOTHING",
            trigger_id,
        )
        return bool(status == "INSERT 0 1")

    async def insert(self, row: tuple[str, str, str, str, str, str]) -> None:
        await self.pool.execute(
            "INSERT INTO floor_kudos (trigger_id, giver_id, receiver_id, channel_id, text,"
            " created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            *row,
        )

    async def done(self, trigger_id: str) -> None:
        await self.pool.execute("UPDATE floor_kudos SET done = 1 WHERE trigger_id = $1", trigger_id)

    async def close(self) -> None:
        await self.pool.close()


async def _no_reset(_conn: asyncpg.Connection) -> None:
    return None


async def open_store(url: str) -> Store:
    if url.startswith("sqlite"):
        return await SqliteStore.open(url.split(":///", 1)[1])
    return await PostgresStore.open(url.replace("postgresql+asyncpg://", "postgresql://"))


def build_app(store: Store) -> AsyncApp:
    """Bolt's defaults and one `/kudos` listener; the work after the ack in owned tasks."""
    client = AsyncWebClient(
        token=os.environ["SLACK_BOT_TOKEN"],
        base_url=os.environ.get("SLACK_API_URL", "https://slack.com/api/"),
    )
    app = AsyncApp(client=client, signing_secret=os.environ["SLACK_SIGNING_SECRET"])
    names: dict[str, str] = {}  # users.info, cached in memory
    tasks: set[asyncio.Task[None]] = set()

    async def name_of(user_id: str) -> str:
        if user_id not in names:
            resp = await client.users_info(user=user_id)
            names[user_id] = str(resp["user"].get("real_name") or resp["user"]["name"])
        return names[user_id]

    async def work(body: dict[str, Any]) -> None:
        trigger_id, giver, channel = body["trigger_id"], body["user_id"], body["channel_id"]
        receiver = MENTION.search(body["text"])
        if receiver is None:
            return
        receiver_id = receiver.group(1)
        name = await name_of(receiver_id)
        reason = MENTION.sub("", body["text"]).strip()
        now = datetime.now(UTC).isoformat()
        await store.insert((trigger_id, giver, receiver_id, channel, reason, now))
        await client.chat_postMessage(
            channel=channel, text=f"<@{giver}> gave kudos to <@{receiver_id}>: {reason}"
        )
        await client.chat_postMessage(
            channel=receiver_id, text=f"Hi {name}, <@{giver}> gave you kudos: {reason}"
        )
        await store.done(trigger_id)

    @app.command("/kudos")
    async def kudos(ack: AsyncAck, body: dict[str, Any]) -> None:
        new = await store.received(body["trigger_id"])
        await ack()
        if new:
            task = asyncio.create_task(work(body))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    return app


async def serve(host: str, port: int, database_url: str) -> None:
    store = await open_store(database_url)
    runner = web.AppRunner(build_app(store).web_app(path="/slack/events"), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024)
    await site.start()
    bound = runner.addresses[0][1] if runner.addresses else port
    print(f"floor serving on http://{host}:{bound}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        await store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The least-work Bolt kudos bot.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("--database-url or DATABASE_URL is required")
    asyncio.run(serve(args.host, args.port, args.database_url))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
