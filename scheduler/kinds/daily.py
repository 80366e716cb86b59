"""Kinds whose condition is an aggregate over many kudos (give-back, breadth) look once per
zone and local day instead of on every pass: the first pass of a zone's day stores who is due
as candidates for that day, and every pass plans the candidates who may be messaged now.

Someone who becomes due later in the day is found on their next local day.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, and_, delete, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import insert_for
from bot.models import Person, Workspace
from bot.planner_models import DailyCandidate, DailyScan
from scheduler.kinds import PlanContext, insert_planned
from scheduler.zones import deliverable

KEEP_DAYS = 2  # a zone's local day is never more than a day behind UTC's

# Given the zones to look at, selects (team_id, user_id, subject, local_day) of who is due.
ScanFn = Callable[[PlanContext, list[str]], Select[Any]]


async def plan_daily(session: AsyncSession, ctx: PlanContext, kind: str, scan: ScanFn) -> int:
    """Scan the zones not yet scanned today, then plan today's candidates who may be
    messaged now; returns how many were planned."""
    await _scan_pending(session, ctx, kind, scan)
    c = ctx.clocks
    cand = DailyCandidate
    due = (
        select(
            cand.team_id,
            cand.user_id,
            literal(kind),
            cand.subject,
            c.c.quarter,
            c.c.local_day,
            c.c.local_day,
        )
        .join(Person, and_(Person.team_id == cand.team_id, Person.user_id == cand.user_id))
        .join(c, and_(c.c.tz == Person.tz, c.c.local_day == cand.local_day))
        .join(Workspace, Workspace.team_id == cand.team_id)
        .where(cand.kind == kind, Person.engaged_at.is_not(None), deliverable(c, ctx.now))
    )
    if ctx.team_id:
        due = due.where(cand.team_id == ctx.team_id)
    return await insert_planned(session, due, ctx.now)


async def _scan_pending(session: AsyncSession, ctx: PlanContext, kind: str, scan: ScanFn) -> None:
    scope = ctx.team_id or ""  # a pass narrowed to one workspace scans only that one
    days = ctx.local_days
    if not days:
        return
    done = set(
        (
            await session.execute(
                select(DailyScan.tz, DailyScan.local_day).where(
                    DailyScan.kind == kind,
                    DailyScan.scope == scope,
                    DailyScan.local_day >= min(days.values()),
                )
            )
        ).all()
    )
    pending = sorted(tz for tz, day in days.items() if (tz, day) not in done)
    if not pending:
        return
    found = scan(ctx, pending).add_columns(literal(kind).label("kind"))
    await session.execute(
        insert_for(session, DailyCandidate)
        .from_select(["team_id", "user_id", "subject", "local_day", "kind"], found)
        .on_conflict_do_nothing(
            index_elements=["kind", "local_day", "team_id", "user_id", "subject"]
        )
    )
    await session.execute(
        insert_for(session, DailyScan)
        .values([{"kind": kind, "scope": scope, "tz": tz, "local_day": days[tz]} for tz in pending])
        .on_conflict_do_nothing(index_elements=["kind", "scope", "tz", "local_day"])
    )
    old = ctx.now.date() - timedelta(days=KEEP_DAYS)
    await session.execute(
        delete(DailyCandidate).where(DailyCandidate.kind == kind, DailyCandidate.local_day < old)
    )
    await session.execute(
        delete(DailyScan).where(DailyScan.kind == kind, DailyScan.local_day < old)
    )
