"""Newcomers in the daily message: the newcomer's welcome (on their first working morning)
and each welcomer's private heads-up, once per newcomer (the period is fixed)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.blocks.newcomers import (
    build_welcome_blocks,
    build_welcomer_blocks,
    welcome_text,
    welcomer_text,
)
from bot.i18n import N_
from bot.models import IntroMatchMember, Newcomer, Nudge, Person, Workspace
from bot.services.intros import history
from bot.services.newcomers import WELCOME, WELCOMER
from scheduler.kinds import NudgeKind, PlanContext, Rendered, insert_planned, register
from scheduler.zones import deliverable

# A welcome not delivered within this long (a long leave, a pause) is not sent late.
FRESH = timedelta(days=14)


async def plan(session: AsyncSession, ctx: PlanContext) -> int:
    """Newcomers whose first working morning has come, in one INSERT … SELECT."""
    c = ctx.clocks
    due = (
        select(
            Newcomer.team_id,
            Newcomer.user_id,
            literal(WELCOME),
            literal(WELCOME),
            literal(WELCOME),
            c.c.local_day,
            c.c.local_day,
        )
        .join(Person, and_(Person.team_id == Newcomer.team_id, Person.user_id == Newcomer.user_id))
        .join(c, c.c.tz == Person.tz)
        .join(Workspace, Workspace.team_id == Newcomer.team_id)
        .where(
            deliverable(c, ctx.now),
            Newcomer.welcome_at <= ctx.now,
            Newcomer.welcome_at > ctx.now - FRESH,
            Workspace.welcome_newcomers.is_(True),
        )
    )
    if ctx.team_id:
        due = due.where(Newcomer.team_id == ctx.team_id)
    return await insert_planned(session, due, ctx.now)


async def plan_welcomers(session: AsyncSession, ctx: PlanContext) -> int:
    """Each welcomer of a newcomer, told once, at their next deliverable moment."""
    c = ctx.clocks
    due = (
        select(
            Newcomer.team_id,
            IntroMatchMember.user_id,
            literal(WELCOMER),
            Newcomer.user_id,
            literal(WELCOME),
            c.c.local_day,
            c.c.local_day,
        )
        .join(IntroMatchMember, IntroMatchMember.match_id == Newcomer.match_id)
        .join(
            Person,
            and_(Person.team_id == Newcomer.team_id, Person.user_id == IntroMatchMember.user_id),
        )
        .join(c, c.c.tz == Person.tz)
        .join(Workspace, Workspace.team_id == Newcomer.team_id)
        .where(
            deliverable(c, ctx.now),
            IntroMatchMember.user_id != Newcomer.user_id,
            Newcomer.joined_at > ctx.now - FRESH,
            Workspace.welcome_newcomers.is_(True),
        )
    )
    if ctx.team_id:
        due = due.where(Newcomer.team_id == ctx.team_id)
    return await insert_planned(session, due, ctx.now)


async def render(
    session: AsyncSession, nudge: Nudge, person: Person, record: bool
) -> Rendered | None:
    return Rendered(text=welcome_text(), blocks=build_welcome_blocks())


async def render_welcomer(
    session: AsyncSession, nudge: Nudge, person: Person, record: bool
) -> Rendered | None:
    row = await session.get(Newcomer, (nudge.team_id, nudge.subject))
    if row is None or row.match_id is None:
        return None  # the newcomer erased their data, or left: nothing to tell
    others = [
        u
        for u in await history.members_of(session, match_id=row.match_id)
        if u not in (row.user_id, person.user_id)
    ]
    return Rendered(
        text=welcomer_text(row.user_id),
        blocks=build_welcomer_blocks(newcomer_id=row.user_id, others=others, at=row.welcome_at),
    )


register(NudgeKind(name=WELCOME, order=5, plan=plan, render=render, title=N_("Welcome")))
register(
    NudgeKind(
        name=WELCOMER, order=6, plan=plan_welcomers, render=render_welcomer, title=N_("A newcomer")
    )
)
