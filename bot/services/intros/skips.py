"""Skipping one intros round: the heads-up the working day before a round, and each
member's answer to it (Skip this round / I'm in), kept per person and round day.

The heads-up is a nudge in the member's daily message, planned on their own working day
before the round's pairing day; `build_pool` leaves out whoever skips that day's round,
that round only. Once the round is made, an answer changes nothing and is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import i18n
from bot.db import dialect_of, insert_for
from bot.i18n import _
from bot.models import IntroMember, IntroRound, IntroSkip, Workspace
from bot.services.intros.rules import (
    ROUND_HOUR,
    IntrosError,
    in_cadence,
    in_pool,
    next_round_day,
    paused,
    period_of,
    zone,
)

HEADS_UP = "intro_heads_up"  # the nudge kind of the heads-up
SKIP, IN = "skip", "in"


@dataclass(frozen=True)
class RoundChoice:
    """The upcoming round as one member sees it: its day, and their answer if any."""

    round_day: date
    channel_id: str
    choice: str | None


def heads_up_day(round_day: date) -> date:
    """The working day (Monday to Friday) before the round's day."""
    day = round_day - timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def is_round_day(workspace: Workspace, day: date) -> bool:
    """Whether the workspace pairs on `day` (its pairing weekday, in a week of its cadence)."""
    return in_cadence(workspace, day) and day.weekday() == workspace.intros_day


def round_start(workspace: Workspace, day: date) -> datetime:
    """When the round of `day` starts: 09:00 in the workspace's zone."""
    return datetime(day.year, day.month, day.day, ROUND_HOUR, tzinfo=zone(workspace.timezone))


def current_round_day(workspace: Workspace, now: datetime) -> date:
    """The pairing day of the round due at `now` (this week's, in the workspace's zone)."""
    local = now.astimezone(zone(workspace.timezone)).date()
    return local - timedelta(days=local.weekday()) + timedelta(days=workspace.intros_day)


async def round_made(
    session: AsyncSession, *, team_id: str, round_day: date, lock: bool = False
) -> bool:
    """Whether the round of that day was matched, given up, or is being matched (claimed):
    too late to answer. With `lock` (PostgreSQL), the round's row stays locked until the
    caller commits, so a claim waits for an answer recorded meanwhile and its pool sees it.
    """
    stmt = select(IntroRound.status, IntroRound.claim_token).where(
        IntroRound.team_id == team_id, IntroRound.period == period_of(round_day)
    )
    if lock and dialect_of(session) == "postgresql":
        stmt = stmt.with_for_update()
    row = (await session.execute(stmt)).first()
    return row is not None and (row.status != "pending" or row.claim_token is not None)


async def choice_of(
    session: AsyncSession, *, team_id: str, user_id: str, round_day: date
) -> str | None:
    row = await session.get(IntroSkip, (team_id, user_id, round_day))
    return row.choice if row is not None else None


async def skipping(session: AsyncSession, *, team_id: str, round_day: date) -> set[str]:
    """Who skips the round of that day."""
    stmt = select(IntroSkip.user_id).where(
        IntroSkip.team_id == team_id, IntroSkip.round_day == round_day, IntroSkip.choice == SKIP
    )
    return set((await session.execute(stmt)).scalars())


async def choose(
    session: AsyncSession,
    *,
    team_id: str,
    user_id: str,
    round_day: date,
    skip: bool,
    now: datetime,
) -> str:
    """Record Skip this round / I'm in for that round day; pressing again, or a retry,
    leaves the same answer. Refused (nothing changes) once the round is made, for a day
    that is not a round of the workspace, or for someone not in intros."""
    workspace = await session.get(Workspace, team_id)
    if workspace is None or not workspace.intros_channel_id:
        raise IntrosError(_("Intros aren't set up in this workspace any more."))
    if not is_round_day(workspace, round_day):
        raise IntrosError(_("That button doesn't belong to an intros round."))
    if await round_made(session, team_id=team_id, round_day=round_day, lock=True):
        raise IntrosError(
            _(
                "Too late: the intros round of {day} is already made. "
                "A skip is for one round only, so you're in the next one as usual.",
                day=i18n.format_skeleton(round_day, "MMMEd"),
            )
        )
    member = await session.get(IntroMember, (team_id, user_id))
    if not in_pool(workspace, member.status if member else None):
        raise IntrosError(_("You're not in intros: `/ally intros join` first."))

    choice = SKIP if skip else IN
    stmt = insert_for(session, IntroSkip).values(
        team_id=team_id, user_id=user_id, round_day=round_day, choice=choice, chosen_at=now
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["team_id", "user_id", "round_day"],
            set_={"choice": choice, "chosen_at": now},
        )
    )
    if member is not None:
        member.last_active_at = now  # an answer to intros: not inactive
    await session.flush()
    return choice


async def upcoming(
    session: AsyncSession, *, team_id: str, user_id: str, now: datetime
) -> RoundChoice | None:
    """The next round and the person's answer, for Home; None when they are not in it
    (intros not set up, not in the pool, left, or paused through it)."""
    workspace = await session.get(Workspace, team_id)
    if workspace is None or not workspace.intros_channel_id:
        return None
    member = await session.get(IntroMember, (team_id, user_id))
    if not in_pool(workspace, member.status if member else None):
        return None
    day = next_round_day(workspace, now)
    if member is not None and paused(member.paused_until, round_start(workspace, day)):
        return None
    if await round_made(session, team_id=team_id, round_day=day):
        return None
    choice = await choice_of(session, team_id=team_id, user_id=user_id, round_day=day)
    return RoundChoice(round_day=day, channel_id=workspace.intros_channel_id, choice=choice)
