"""One scheduler pass: plan what is due at an instant from the database, then send it."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import text

from bot.dashboard import signin
from bot.db import dialect_of
from bot.metrics import NUDGES_PLANNED, PLAN_SECONDS
from bot.runtime import AllyBot
from bot.services import dm_budget, inbound
from scheduler import kinds, outbox
from scheduler.digest import plan_digests
from scheduler.kinds import PlanContext
from scheduler.kinds.intros import IntrosResult, run_intros
from scheduler.sender import SendResult, finish_kudos_edits, send_due
from scheduler.zones import CUSTOM_PLANS, clocks_now

logger = logging.getLogger(__name__)


@dataclass
class PassResult:
    recovered: int = 0
    planned: dict[str, int] = field(default_factory=dict)
    plan_seconds: dict[str, float] = field(default_factory=dict)
    expired: int = 0
    sent: SendResult = field(default_factory=SendResult)
    digests: int = 0  # planned this pass
    purged: int = 0
    intros: IntrosResult = field(default_factory=IntrosResult)
    kudos_posts: int = 0


async def plan(
    bot: AllyBot, *, now: datetime, team_id: str | None = None
) -> tuple[PassResult, PlanContext | None]:
    """Every kind plans what is due now; a key planned before is never planned again."""
    result = PassResult()
    async with bot.db.session() as session:
        clocks = await clocks_now(session, now, team_id=team_id)
        if not clocks:
            return result, None
        postgresql = dialect_of(session) == "postgresql"
        if postgresql:
            # Planning sorts and aggregates hundreds of thousands of rows: in memory, not on
            # disk, and without JIT compiling first (it costs more than it saves here). For
            # this transaction only.
            await session.execute(text("SET LOCAL work_mem = '64MB'"))
            await session.execute(text("SET LOCAL jit = off"))
            await session.execute(text(CUSTOM_PLANS))
        ctx = PlanContext.at(now, clocks, team_id=team_id, arrays=postgresql)
        for kind in kinds.all_kinds():
            started = time.perf_counter()
            count = await kind.plan(session, ctx)
            result.plan_seconds[kind.name] = elapsed = time.perf_counter() - started
            result.planned[kind.name] = count
            NUDGES_PLANNED.labels(kind.name).inc(count)
            PLAN_SECONDS.labels(kind.name).observe(elapsed)
        result.expired = await outbox.expire_old(session, today_utc=now.date())
    return result, ctx


async def run_pass(bot: AllyBot, *, now: datetime, team_id: str | None = None) -> PassResult:
    """Finish deliveries a crashed process left, plan, send everything due through the one
    sender, and forget old dedup keys.

    `team_id` narrows planning and sending to one workspace (for tests and previews).
    """
    recovered = await bot.inbox.recover(now=now)
    result, ctx = await plan(bot, now=now, team_id=team_id)
    result.recovered = recovered
    # Matching writes the round's group posts and the notices to people left out: before
    # sending, so this pass sends them.
    result.intros = await run_intros(bot, now=now, team_id=team_id)
    async with bot.db.session() as session:
        result.digests = await plan_digests(session, now=now, team_id=team_id)
    clocks = ctx.clocks if ctx is not None else None
    result.sent = await send_due(bot, clocks=clocks, now=now, team_id=team_id)
    result.kudos_posts = await finish_kudos_edits(bot, now=now)
    async with bot.db.session() as session:
        result.purged = await inbound.retain(session, now=now)
        await dm_budget.purge_ledger(session, before=now - dm_budget.KEEP_LEDGER)
        await signin.purge_expired(session, now=now)
    await bot.db.optimize()  # SQLite, hourly: statistics follow the tables as they grow
    if any(result.planned.values()) or result.sent.sent or result.sent.failed:
        logger.info(
            "pass: planned %s, sent %d, retry %d, failed %d",
            result.planned,
            result.sent.sent,
            result.sent.retry,
            result.sent.failed,
        )
    return result
