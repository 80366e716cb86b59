"""The clock: APScheduler runs a pass every interval; all state lives in the database."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.app import AllyBot
from scheduler.planner import run_pass

logger = logging.getLogger(__name__)


def start_clock(bot: AllyBot, *, interval_seconds: float = 60.0) -> AsyncIOScheduler:
    """Start a pass now and then every interval; a pass never overlaps itself."""

    async def tick() -> None:
        try:
            await run_pass(bot, now=datetime.now(UTC))
        except Exception:
            logger.exception("scheduler pass failed")

    clock = AsyncIOScheduler(timezone=UTC)
    clock.add_job(
        tick,
        "interval",
        seconds=interval_seconds,
        next_run_time=datetime.now(UTC),
        max_instances=1,
        coalesce=True,
        id="pass",
    )
    clock.start()
    return clock
