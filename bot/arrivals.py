"""Waking idle processes when a delivery is recorded, by any process: PostgreSQL LISTEN.

On PostgreSQL, recording deliveries notifies CHANNEL in the recording transaction
(bot.services.inbound.record_many), so listeners hear of it once it commits, once per
transaction. A worker (work after the ack) and a process watching for dead processes' work
listen on one connection of their own per process, and wake at once. They still look on
their own now and then, in case a notification was missed: every POLL_LISTENING seconds
while listening (once a notification the connection sent itself came back), every POLL
seconds otherwise. SQLite has no
notifications: a worker wakes on its `serve`'s signal (allybot.workers) and looks every POLL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from bot.db import Database

logger = logging.getLogger(__name__)

CHANNEL = "allybot_inbound"
POLL = 2.0  # seconds between looks with nothing to wake a process up
POLL_LISTENING = 30.0  # while listening: only for a notification lost with its connection
PING_EVERY = 60.0  # a connection cut without a word (no FIN) shows itself on a ping
RECONNECT_AFTER = 1.0  # doubled after each failed attempt, up to POLL_LISTENING
# A new listening connection notifies itself and counts as listening (the slow poll) only
# once that comes back: through a pooler that does not pass notifications on (PgBouncer in
# transaction mode) it never does, and subscribers keep looking every POLL.
PROBE_SECONDS = 5.0
LISTENER_NAME = {"application_name": "allybot arrivals"}


async def wait_any(*events: asyncio.Event, timeout: float) -> None:
    """Return when any of the events is set, or after `timeout` seconds."""
    waits = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()


class Arrivals:
    """This process's ear for new deliveries: one LISTEN connection (PostgreSQL), shared by
    whoever subscribes, open while anyone does."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.listening = False
        self._events: set[asyncio.Event] = set()
        self._task: asyncio.Task[None] | None = None

    @property
    def poll_seconds(self) -> float:
        """How long a subscriber may wait before looking on its own."""
        return POLL_LISTENING if self.listening else POLL

    @contextlib.asynccontextmanager
    async def subscribed(self) -> AsyncIterator[asyncio.Event]:
        """An event set whenever a delivery may have been recorded (clear it before looking)."""
        event = asyncio.Event()
        self._events.add(event)
        if self.db.dialect == "postgresql" and (self._task is None or self._task.done()):
            self._task = asyncio.create_task(self._listen())
        try:
            yield event
        finally:
            self._events.discard(event)
            if not self._events and self._task is not None:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
                self._task = None

    def _arrived(self, *_: Any) -> None:
        for event in self._events:
            event.set()

    async def _listen(self) -> None:
        """Listen until cancelled; make the connection again whenever it is lost."""
        _, params = self.db.engine.dialect.create_connect_args(self.db.engine.url)
        # Named, so it can be told apart in pg_stat_activity.
        params["server_settings"] = {**params.get("server_settings", {}), **LISTENER_NAME}
        delay = RECONNECT_AFTER
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(**params)
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _conn, lost=lost: lost.set())
                probe, heard = f"probe {uuid.uuid4().hex}", asyncio.Event()

                def arrived(
                    _c: object,
                    _pid: int,
                    _channel: str,
                    payload: str,
                    probe: str = probe,
                    heard: asyncio.Event = heard,
                ) -> None:
                    if payload == probe:
                        heard.set()
                    self._arrived()

                await conn.add_listener(CHANNEL, arrived)
                await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, probe)
                delay = RECONNECT_AFTER
                self._arrived()  # what was recorded while nobody listened
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(heard.wait(), PROBE_SECONDS)
                if heard.is_set():
                    self.listening = True
                else:
                    logger.warning("notifications do not come back: looking every %g s", POLL)
                while not lost.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), PING_EVERY)
                    if not lost.is_set():
                        await asyncio.wait_for(conn.execute("SELECT 1"), PING_EVERY / 2)
                logger.warning("lost the connection that listens for new deliveries")
            except Exception:  # the database down or refusing: polling covers meanwhile
                logger.warning(
                    "cannot listen for new deliveries; trying again in %g s", delay, exc_info=True
                )
            finally:
                self.listening = False
                if conn is not None:
                    conn.terminate()
            await asyncio.sleep(delay)
            delay = min(delay * 2, POLL_LISTENING)
