"""One scheduler pass: everything due at an instant, derived from the database."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.app import AllyBot
from bot.services import inbound

logger = logging.getLogger(__name__)

KEEP_DEDUP_KEYS = timedelta(days=7)


@dataclass(frozen=True)
class PassResult:
    recovered: int
    purged: int


async def run_pass(bot: AllyBot, *, now: datetime) -> PassResult:
    """Finish deliveries a crashed process left behind, then forget old dedup keys."""
    recovered = await bot.inbox.recover(now=now)
    async with bot.db.session() as session:
        purged = await inbound.purge_done(session, before=now - KEEP_DEDUP_KEYS)
    if recovered or purged:
        logger.info("pass: recovered %d deliveries, purged %d keys", recovered, purged)
    return PassResult(recovered=recovered, purged=purged)
