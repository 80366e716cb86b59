"""Commitment reminders: on the morning a promise is due, and when it is overdue (the first
working morning after, once more three working days later, then never again)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, String, cast, or_
from sqlalchemy.ext.asyncio import AsyncSession

from bot.blocks.commitments import build_reminder_blocks
from bot.i18n import N_, _
from bot.models import Commitment, Nudge, Person
from bot.services import commitments
from bot.workdays import add_working_days
from scheduler.kinds import (
    NudgeKind,
    PlanContext,
    Rendered,
    due_for_owner,
    insert_planned,
    insert_planned_returning,
    register,
)

DUE = "commitment_due"
OVERDUE = "commitment_overdue"
MAX_OVERDUE = 2
OVERDUE_GAP_WORKING_DAYS = 3


def _owners_due(ctx: PlanContext, kind: str) -> Select[Any]:
    return due_for_owner(
        ctx,
        team_col=Commitment.team_id,
        user_col=Commitment.owner_id,
        kind=kind,
        subject=cast(Commitment.id, String),
    ).where(
        Commitment.status == "open",
        or_(
            Commitment.next_nudge_day.is_(None),
            Commitment.next_nudge_day <= ctx.clocks.c.local_day,
        ),
    )


async def plan_due(session: AsyncSession, ctx: PlanContext) -> int:
    """The morning of the due day, unless the promise was made that same day."""
    c = ctx.clocks
    due = _owners_due(ctx, DUE).where(
        Commitment.due_day == c.c.local_day, Commitment.created_day < Commitment.due_day
    )
    return await insert_planned(session, due, ctx.now)


async def plan_overdue(session: AsyncSession, ctx: PlanContext) -> int:
    """Working mornings after the due day, at most twice, three working days apart."""
    c = ctx.clocks
    overdue = _owners_due(ctx, OVERDUE).where(
        Commitment.due_day < c.c.local_day, Commitment.overdue_count < MAX_OVERDUE
    )
    planned = await insert_planned_returning(session, overdue, ctx.now)
    for subject, day in planned:
        commitment = await session.get(Commitment, int(subject))
        if commitment is not None:
            commitment.overdue_count += 1
            commitment.next_nudge_day = add_working_days(day, OVERDUE_GAP_WORKING_DAYS)
    await session.flush()
    return len(planned)


async def render(
    session: AsyncSession, nudge: Nudge, person: Person, record: bool
) -> Rendered | None:
    commitment = await session.get(Commitment, int(nudge.subject))
    if commitment is None or commitment.status != "open":
        return None  # closed since it was planned: nothing to remind
    parties = [
        p.user_id for p in await commitments.parties_of(session, commitment_id=commitment.id)
    ]
    overdue = nudge.kind == OVERDUE
    # Translators: notification lines; {promise} is what the person promised, as they wrote it
    text = (
        _("Overdue: {promise}", promise=commitment.text)
        if overdue
        else _("Due today: {promise}", promise=commitment.text)
    )
    return Rendered(
        text=text,
        blocks=build_reminder_blocks(commitment, parties, person.tz, overdue=overdue),
    )


register(NudgeKind(name=OVERDUE, order=10, plan=plan_overdue, render=render, title=N_("Overdue")))
register(NudgeKind(name=DUE, order=20, plan=plan_due, render=render, title=N_("Due today")))
