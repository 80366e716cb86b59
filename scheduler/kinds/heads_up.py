"""The heads-up before an intros round, in each member's daily message on their own working
day before the pairing day: Skip this round / I'm in (bot/services/intros/skips.py).

Planned per workspace whose round is near, in one INSERT … SELECT of its members whose
local day is the heads-up day; the key (person, kind, round day) makes it once per round.
Members are found from allybot's own records (no Slack call in planning): see `_in_intros`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.blocks.heads_up import build_heads_up_blocks, heads_up_text
from bot.i18n import N_
from bot.models import IntroMatchMember, IntroMember, IntroRound, Nudge, Person, Workspace
from bot.services.intros import skips
from bot.services.intros.rules import JOINED, LEFT, in_pool, next_round_day
from bot.services.newcomers import WELCOME_PERIOD
from scheduler.kinds import NudgeKind, PlanContext, Rendered, insert_planned, register
from scheduler.zones import deliverable


def _in_intros(workspace: Workspace) -> Any:
    """Who allybot knows to be in the workspace's intros without asking Slack: those who
    joined; in opt-out mode everyone who has not left and either used intros or was placed
    in a round (a welcome intro is not one). Use with `people` outer-joined to their
    `intro_members` row."""
    if workspace.intros_mode != "opt_out":
        return IntroMember.status == JOINED
    placed = (
        select(IntroMatchMember.id)
        .join(IntroRound, IntroRound.id == IntroMatchMember.round_id)
        .where(
            IntroMatchMember.team_id == Person.team_id,
            IntroMatchMember.user_id == Person.user_id,
            IntroRound.period.not_like(WELCOME_PERIOD + "%"),
        )
        .exists()
    )
    return and_(
        or_(IntroMember.status.is_(None), IntroMember.status != LEFT),
        or_(IntroMember.user_id.is_not(None), placed),
    )


async def plan(session: AsyncSession, ctx: PlanContext) -> int:
    """Heads-ups due now: members whose local day is the working day before their
    workspace's next round, at a moment they may be messaged."""
    stmt = select(Workspace).where(
        Workspace.intros_channel_id.is_not(None), Workspace.uninstalled_at.is_(None)
    )
    if ctx.team_id:
        stmt = stmt.where(Workspace.team_id == ctx.team_id)
    planned = 0
    for workspace in list((await session.execute(stmt)).scalars()):
        round_day = next_round_day(workspace, ctx.now)
        notice = skips.heads_up_day(round_day)
        if abs((notice - ctx.now.date()).days) > 1:  # nobody's local day is it
            continue
        planned += await insert_planned(
            session, _due(ctx, workspace, round_day=round_day, notice=notice), ctx.now
        )
    return planned


def _due(ctx: PlanContext, workspace: Workspace, *, round_day: date, notice: date) -> Any:
    c = ctx.clocks
    team_id = workspace.team_id
    start = skips.round_start(workspace, round_day)
    return (
        select(
            Person.team_id,
            Person.user_id,
            literal(skips.HEADS_UP),
            literal(round_day.isoformat()),
            literal(round_day.isoformat()),
            c.c.local_day,
            c.c.local_day,
        )
        .join(c, c.c.tz == Person.tz)
        .join(Workspace, Workspace.team_id == Person.team_id)
        .outerjoin(
            IntroMember,
            and_(IntroMember.team_id == Person.team_id, IntroMember.user_id == Person.user_id),
        )
        .where(
            Person.team_id == team_id,
            deliverable(c, ctx.now),
            c.c.local_day == notice,
            _in_intros(workspace),
            or_(IntroMember.paused_until.is_(None), IntroMember.paused_until <= start),
        )
    )


async def render(
    session: AsyncSession, nudge: Nudge, person: Person, record: bool
) -> Rendered | None:
    """Nothing once the person left intros or the round was made (a late message)."""
    round_day = date.fromisoformat(nudge.subject)
    workspace = await session.get(Workspace, nudge.team_id)
    if workspace is None or not workspace.intros_channel_id:
        return None
    member = await session.get(IntroMember, (nudge.team_id, person.user_id))
    if not in_pool(workspace, member.status if member else None):
        return None
    if await skips.round_made(session, team_id=nudge.team_id, round_day=round_day):
        return None
    choice = await skips.choice_of(
        session, team_id=nudge.team_id, user_id=person.user_id, round_day=round_day
    )
    return Rendered(
        text=heads_up_text(round_day),
        blocks=build_heads_up_blocks(
            round_day=round_day, channel_id=workspace.intros_channel_id, choice=choice
        ),
    )


register(
    NudgeKind(name=skips.HEADS_UP, order=89, plan=plan, render=render, title=N_("Intros heads-up"))
)
