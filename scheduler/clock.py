"""The clock: APScheduler runs a pass every interval; all state lives in the database."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.runtime import AllyBot
from scheduler.planner import run_pass

logger = logging.getLogger(__name__)


class Clock:
    """A pass now and then every interval, never overlapping itself.

    The pass runs in a task of its own: APScheduler cancels its running jobs when it shuts
    down, and a pass cancelled mid-send would leave posts in flight for another replica to
    resend; `stop` waits for it instead.
    """

    def __init__(self, bot: AllyBot, *, interval_seconds: float) -> None:
        self.bot = bot
        self._pass: asyncio.Task[None] | None = None
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.scheduler.add_job(
            self._tick,
            "interval",
            seconds=interval_seconds,
            next_run_time=datetime.now(UTC),
            max_instances=1,
            coalesce=True,
            id="pass",
        )

    async def _tick(self) -> None:
        if self.bot.stopping.is_set():
            return
        self._pass = asyncio.create_task(self._run())
        with contextlib.suppress(asyncio.CancelledError):  # the scheduler stopping: `stop`
            await asyncio.shield(self._pass)  # waits for the pass itself

    async def _run(self) -> None:
        try:
            await run_pass(self.bot, now=datetime.now(UTC))
        except Exception:
            logger.exception("scheduler pass failed")

    async def stop(self, *, timeout: float) -> bool:
        """Tick no more and wait for the pass under way; False if it outlasted `timeout`."""
        self.scheduler.shutdown(wait=False)
        if self._pass is None or self._pass.done():
            return True
        done, _ = await asyncio.wait({self._pass}, timeout=timeout)
        return bool(done)


def start_clock(bot: AllyBot, *, interval_seconds: float = 60.0) -> Clock:
    """Start a pass now and then every interval."""
    clock = Clock(bot, interval_seconds=interval_seconds)
    clock.scheduler.start()
    return clock
