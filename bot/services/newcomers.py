"""Newcomers: a welcome on their first working morning and a first intro to volunteers.

When someone joins the workspace (Slack's `team_join`), or joins the intros channel without
being known to allybot's rounds (`member_joined_channel`), allybot records them once, picks
two or three people who volunteered as welcomers (`/ally intros welcome on`), and stores a
welcome intro for that morning: a match of its own (a one-off round), with its group post
and the usual "Did you meet?" a week later. The welcome DM and each welcomer's private
heads-up are nudges the planner finds from this state (scheduler/kinds/welcome.py).
"""

from __future__ import annotations

import secrets
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import insert_for
from bot.models import (
    IntroMatch,
    IntroMatchMember,
    IntroMember,
    IntroRound,
    Kudos,
    Newcomer,
    Person,
    Workspace,
)
from bot.services.intros.history import count_pairs
from bot.services.intros.posts import plan_posts
from bot.services.intros.rules import (
    JOINED,
    LEFT,
    WELCOME,
    paused,
    zone,
)
from bot.services.intros.starters import starters
from bot.services.preferences import effective_window

# WELCOME is the group post's kind and the newcomer's nudge kind.
WELCOMER = "welcomer"  # the welcomer's private heads-up, a nudge kind
MAX_WELCOMERS = 3
WELCOMER_LOAD_WINDOW = timedelta(days=90)
PRIORITY_ROUNDS = 2  # a newcomer goes first in this many intro rounds
WELCOME_PERIOD = "w"  # a welcome intro's one-off round has a period starting so; a round's, a year


@dataclass(frozen=True)
class Welcome:
    """What `record_join` planned: when, and with whom."""

    user_id: str
    welcome_at: datetime
    welcomers: list[str]


def first_working_morning(person: Person, workspace: Workspace | None, now: datetime) -> datetime:
    """The start of the person's delivery window on their first working day that has not
    started yet, in their own zone (today, when they join before it opens)."""
    start, _ = effective_window(person, workspace)
    tz = zone(person.tz)
    day = now.astimezone(tz).date()
    while True:
        local = datetime(day.year, day.month, day.day, start // 60, start % 60, tzinfo=tz)
        if day.weekday() < 5 and local > now:
            return local.astimezone(now.tzinfo)
        day += timedelta(days=1)


async def pick_welcomers(
    session: AsyncSession, *, team_id: str, newcomer_id: str, now: datetime
) -> list[str]:
    """Up to three volunteers, those who welcomed fewest people lately first, so the same
    kind people are not asked every time; ties settled by a hash of the newcomer's id."""
    recent = (
        select(IntroMatchMember.user_id, func.count().label("n"))
        .join(Newcomer, Newcomer.match_id == IntroMatchMember.match_id)
        .where(
            Newcomer.team_id == team_id,
            Newcomer.joined_at >= now - WELCOMER_LOAD_WINDOW,
            IntroMatchMember.user_id != Newcomer.user_id,
        )
        .group_by(IntroMatchMember.user_id)
        .subquery()
    )
    stmt = (
        select(IntroMember.user_id, IntroMember.paused_until, func.coalesce(recent.c.n, 0))
        .join(
            Person,
            (Person.team_id == IntroMember.team_id) & (Person.user_id == IntroMember.user_id),
        )
        .outerjoin(recent, recent.c.user_id == IntroMember.user_id)
        .where(
            IntroMember.team_id == team_id,
            IntroMember.welcomer.is_(True),
            IntroMember.user_id != newcomer_id,
            Person.deleted.is_(False),
            Person.is_bot.is_(False),
            Person.opted_out.is_(False),
        )
    )
    rows = [(u, n) for u, until, n in await session.execute(stmt) if not paused(until, now)]
    salt = zlib.crc32(newcomer_id.encode())
    rows.sort(key=lambda r: (r[1], zlib.crc32(r[0].encode()) ^ salt))
    return [u for u, _ in rows[:MAX_WELCOMERS]]


async def record_join(
    session: AsyncSession, *, workspace: Workspace, person: Person, now: datetime
) -> Welcome | None:
    """Plan the welcome of someone who just joined, once; None when the workspace turned
    welcomes off, or allybot already knows them as a newcomer."""
    if not workspace.welcome_newcomers or person.is_bot or person.deleted or person.external:
        return None
    welcome_at = first_working_morning(person, workspace, now)
    stmt = (
        insert_for(session, Newcomer)
        .values(
            team_id=workspace.team_id,
            user_id=person.user_id,
            joined_at=now,
            welcome_at=welcome_at,
            status="pending",
            intro_rounds=0,
        )
        .on_conflict_do_nothing(index_elements=["team_id", "user_id"])
        .returning(Newcomer.user_id)
    )
    if (await session.execute(stmt)).scalar_one_or_none() is None:
        return None
    welcomers = await pick_welcomers(
        session, team_id=workspace.team_id, newcomer_id=person.user_id, now=now
    )
    if welcomers:
        match_id = await _welcome_match(
            session,
            workspace=workspace,
            newcomer=person.user_id,
            welcomers=welcomers,
            welcome_at=welcome_at,
            now=now,
        )
        row = await session.get(Newcomer, (workspace.team_id, person.user_id))
        assert row is not None
        row.match_id = match_id
        await session.flush()
    return Welcome(user_id=person.user_id, welcome_at=welcome_at, welcomers=welcomers)


async def known_to_rounds(session: AsyncSession, *, team_id: str, user_id: str) -> bool:
    """Whether someone is already a member of allybot's rounds: they joined or left intros,
    or were placed in a round (a welcome intro is not a round)."""
    chose = select(IntroMember.user_id).where(
        IntroMember.team_id == team_id,
        IntroMember.user_id == user_id,
        IntroMember.status.in_([JOINED, LEFT]),
    )
    placed = (
        select(IntroMatchMember.user_id)
        .join(IntroRound, IntroRound.id == IntroMatchMember.round_id)
        .where(
            IntroMatchMember.team_id == team_id,
            IntroMatchMember.user_id == user_id,
            IntroRound.period.not_like(WELCOME_PERIOD + "%"),
        )
    )
    for stmt in (chose, placed):
        if (await session.execute(stmt.limit(1))).first() is not None:
            return True
    return False


async def record_channel_join(
    session: AsyncSession, *, workspace: Workspace, person: Person, channel_id: str, now: datetime
) -> Welcome | None:
    """Someone new to the intros channel is welcomed like someone new to the workspace,
    once; None for any other channel, or someone the rounds already know."""
    if not workspace.intros_channel_id or channel_id != workspace.intros_channel_id:
        return None
    if await known_to_rounds(session, team_id=workspace.team_id, user_id=person.user_id):
        return None
    return await record_join(session, workspace=workspace, person=person, now=now)


async def _welcome_match(
    session: AsyncSession,
    *,
    workspace: Workspace,
    newcomer: str,
    welcomers: list[str],
    welcome_at: datetime,
    now: datetime,
) -> int:
    """A one-off round holding the welcome group, so its posts, answers and pair history
    work like any intro's."""
    team_id = workspace.team_id
    # A round's period is unique per workspace; a welcome's is "w" and random hex, so
    # nothing in it leads back to the person once they are erased.
    period = WELCOME_PERIOD + secrets.token_hex(4)
    round_id = (
        await session.execute(
            insert(IntroRound)
            .values(
                team_id=team_id,
                period=period,
                channel_id=workspace.intros_channel_id or "",
                group_size=len(welcomers) + 1,
                seed=0,
                status="matched",
                planned_at=now,
                matched_at=now,
                pool_size=len(welcomers) + 1,
                matched=len(welcomers) + 1,
                left_out=0,
                attempts=0,
            )
            .returning(IntroRound.id)
        )
    ).scalar_one()
    library = starters()
    match_id = (
        await session.execute(
            insert(IntroMatch)
            .values(
                round_id=round_id,
                team_id=team_id,
                size=len(welcomers) + 1,
                starter_id=library[zlib.crc32(newcomer.encode()) % len(library)].id,
                created_at=now,
            )
            .returning(IntroMatch.id)
        )
    ).scalar_one()
    group = [newcomer, *welcomers]
    await session.execute(
        insert(IntroMatchMember),
        [
            {"match_id": match_id, "round_id": round_id, "team_id": team_id, "user_id": uid}
            for uid in group
        ],
    )
    await plan_posts(
        session,
        team_id=team_id,
        match_ids=[match_id],
        now=now,
        first=WELCOME,
        due_at=welcome_at,
    )
    await count_pairs(session, team_id=team_id, round_id=round_id, groups=[tuple(group)])
    return match_id


async def in_first_rounds(
    session: AsyncSession, *, team_id: str, people: Sequence[str]
) -> set[str]:
    """Who among `people` is a newcomer still in their first `PRIORITY_ROUNDS` rounds."""
    if not people:
        return set()
    stmt = select(Newcomer.user_id).where(
        Newcomer.team_id == team_id,
        Newcomer.intro_rounds < PRIORITY_ROUNDS,
        Newcomer.user_id.in_(list(people)),
    )
    return set((await session.execute(stmt)).scalars())


async def breadth(session: AsyncSession, *, team_id: str, since: datetime) -> dict[str, int]:
    """How many different people each person recognised since `since` (for newcomers'
    partners: those whose recognition reaches furthest), derived in SQL."""
    stmt = (
        select(Kudos.giver_id, func.count(Kudos.receiver_id.distinct()))
        .where(Kudos.team_id == team_id, Kudos.created_at >= since)
        .group_by(Kudos.giver_id)
    )
    return {giver: int(n) for giver, n in await session.execute(stmt)}


async def count_round(session: AsyncSession, *, team_id: str, people: Sequence[str]) -> None:
    """A round placed these newcomers: one of their first rounds is used."""
    if people:
        await session.execute(
            update(Newcomer)
            .where(Newcomer.team_id == team_id, Newcomer.user_id.in_(list(people)))
            .values(intro_rounds=Newcomer.intro_rounds + 1)
        )


async def newcomer_of(session: AsyncSession, *, match_id: int) -> str | None:
    """Whom a welcome match welcomes, from the newcomer's own record (never the members'
    order); None once they erased their data, so the welcome is not posted."""
    stmt = select(Newcomer.user_id).where(Newcomer.match_id == match_id).limit(1)
    return (await session.execute(stmt)).scalar_one_or_none()
