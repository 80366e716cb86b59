"""Conduct tips: weekly (the first working day of the week, at the start of the window)
or daily, to people who use allybot and have not turned tips off."""

from __future__ import annotations

from sqlalchemy import case, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import i18n
from bot.blocks.nudges import build_tip_blocks
from bot.i18n import N_, _
from bot.models import Nudge, Person, Workspace
from bot.services import tips
from scheduler.kinds import NudgeKind, PlanContext, Rendered, insert_planned, register
from scheduler.zones import deliverable

KIND = "tip"


async def plan(session: AsyncSession, ctx: PlanContext) -> int:
    """Everyone due a tip now, in one INSERT … SELECT."""
    c = ctx.clocks
    daily = Person.tips_cadence == "daily"
    due = (
        select(
            Person.team_id,
            Person.user_id,
            literal(KIND),
            literal(KIND),
            case((daily, c.c.day), else_=c.c.week),
            c.c.local_day,
            case((daily, c.c.local_day), else_=c.c.week_end),
        )
        .join(c, c.c.tz == Person.tz)
        .join(Workspace, Workspace.team_id == Person.team_id)
        .where(
            deliverable(c, ctx.now),
            Person.tips_cadence.in_(("daily", "weekly")),
            Person.engaged_at.is_not(None),
        )
    )
    if ctx.team_id:
        due = due.where(Person.team_id == ctx.team_id)
    return await insert_planned(session, due, ctx.now)


async def render_group(
    session: AsyncSession, items: list[tuple[Nudge, Person, str]], record: bool
) -> dict[int, Rendered | None]:
    """Each item's tip (chosen and recorded on first use, for the whole group at once), in
    its reader's language."""
    picked = await tips.pick_for_nudges(session, [entry[0] for entry in items], record=record)
    out: dict[int, Rendered | None] = {}
    for nudge, _person, language in items:
        tip, shown = picked[nudge.id]
        with i18n.speaking(language):
            text = tip.shown()
            out[nudge.id] = Rendered(
                # Translators: a notification line; {tip} is the tip itself
                text=_("Tip: {tip}", tip=text),
                blocks=build_tip_blocks(
                    title=tips.library().title(tip.category),
                    text=text,
                    shown_id=shown.id if shown else 0,
                ),
            )
    return out


async def render(
    session: AsyncSession, nudge: Nudge, person: Person, record: bool
) -> Rendered | None:
    """One item alone, in the language being spoken."""
    return (await render_group(session, [(nudge, person, i18n.language())], record))[nudge.id]


register(
    NudgeKind(
        name=KIND,
        order=100,
        plan=plan,
        render=render,
        render_group=render_group,
        title=N_("Conduct tip"),
    )
)
