"""One scheduler pass: plan what is due at an instant from the database, then send it."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

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
    """Every kind plans what is due now; a key planned before is never planned again.

    On PostgreSQL the kinds planned from the day's look (`NudgeKind.looks`) plan in a
    transaction of their own beside the others', on a second connection: a first pass
    aggregates weeks of kudos and moves hundreds of thousands of allies, each a statement
    that keeps one of the database's cores busy, and the two halves share no rows (their
    keys differ by kind), as two replicas planning at once share none. Each half commits
    when it is done; when one fails, the other is stopped if still planning, and the pass
    raises the error. SQLite has one writer: there they plan in turn, in one transaction.
    """
    result = PassResult()
    async with bot.db.session() as session:
        clocks = await clocks_now(session, now, team_id=team_id)
        if not clocks:
            return result, None
        postgresql = dialect_of(session) == "postgresql"
        ctx = PlanContext.at(now, clocks, team_id=team_id, arrays=postgresql)
        every = kinds.all_kinds()
        if not postgresql:
            await _plan_kinds(session, ctx, every, result)
            result.expired = await outbox.expire_old(session, today_utc=now.date())
    if postgresql:
        # Each half commits when it is done, as a replica's pass does: one left open until
        # the other ends would hold its locks for it, and a transaction waiting on those
        # (an erase) while holding what the other half waits on would wait for ever, a
        # deadlock PostgreSQL cannot see.

        async def lane(plan_these: list[kinds.NudgeKind], *, expire: bool) -> None:
            async with bot.db.session() as own:
                await _tune(own)
                await _plan_kinds(own, ctx, plan_these, result)
                if expire:
                    result.expired = await outbox.expire_old(own, today_utc=now.date())

        beside = [kind for kind in every if kind.looks]
        try:
            async with asyncio.TaskGroup() as lanes:
                if beside:
                    lanes.create_task(lane(beside, expire=False))
                lanes.create_task(lane([k for k in every if not k.looks], expire=True))
        except ExceptionGroup as failed:  # the first to fail; the other was stopped
            raise failed.exceptions[0] from failed
    # In bundle order, whichever finished first.
    result.planned = {k.name: result.planned[k.name] for k in every}
    result.plan_seconds = {k.name: result.plan_seconds[k.name] for k in every}
    return result, ctx


async def _tune(session: AsyncSession) -> None:
    """PostgreSQL: planning sorts and aggregates hundreds of thousands of rows: in memory,
    not on disk, and without JIT compiling first (it costs more than it saves here). For
    this transaction only."""
    await session.execute(text("SET LOCAL work_mem = '64MB'"))
    await session.execute(text("SET LOCAL jit = off"))
    await session.execute(text(CUSTOM_PLANS))


async def _plan_kinds(
    session: AsyncSession, ctx: PlanContext, plan_these: list[kinds.NudgeKind], result: PassResult
) -> None:
    """Each of `plan_these` plans in turn in `session`'s transaction, counted and timed."""
    for kind in plan_these:
        started = time.perf_counter()
        count = await kind.plan(session, ctx)
        result.plan_seconds[kind.name] = elapsed = time.perf_counter() - started
        result.planned[kind.name] = count
        NUDGES_PLANNED.labels(kind.name).inc(count)
        PLAN_SECONDS.labels(kind.name).observe(elapsed)


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
