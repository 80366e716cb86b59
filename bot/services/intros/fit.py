"""What makes an intros group fit its people, read from allybot's records for a round: each
person's working hours in real time (their delivery window in their Slack time zone), their
team or manager and location from the profile fields the admins named (`IntroProfile`,
refreshed by bot/intro_signals.py), how they meet (in person at a place, or remote), and
the slots a group's introduction proposes inside the hours they share."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import hours
from bot.db import insert_for
from bot.fit_models import IntroProfile
from bot.models import Person, Workspace
from bot.pairing import Fit, Pair
from bot.services.intros.meeting import places, same_place
from bot.services.preferences import effective_window

SLOTS = 3  # slots an introduction proposes, when the shared hours allow
PROFILE_TTL = timedelta(days=7)  # a profile value older than this is read again
MAX_VALUE = 200


def _hours(person: Person, workspace: Workspace | None, since: datetime) -> hours.Hours:
    start, end = effective_window(person, workspace)
    return hours.working_hours(person.tz, start, end, since=since)


async def round_fit(
    session: AsyncSession,
    *,
    workspace: Workspace,
    people: Sequence[str],
    now: datetime,
    close: Iterable[Pair] = (),
) -> Fit:
    """The `Fit` of a round at `now`: everyone's working hours over the week ahead, teams
    (when the admins named the field), `close` (pairs sharing many channels) and the places
    of people who meet in person."""
    wanted = set(people)
    rows = await session.execute(
        select(Person.user_id, Person.tz, Person.window_start, Person.window_end).where(
            Person.team_id == workspace.team_id
        )
    )
    shapes: dict[tuple[str, int, int], hours.Hours] = {}
    per_person: dict[str, hours.Hours] = {}
    for user_id, tz, start, end in rows:
        if user_id not in wanted:
            continue
        if start is None or end is None:
            start, end = workspace.window_start, workspace.window_end
        key = (tz or "UTC", start, end)
        if key not in shapes:
            shapes[key] = hours.working_hours(key[0], start, end, since=now)
        per_person[user_id] = shapes[key]
    teams: dict[str, str] = {}
    if workspace.intros_team_field:
        found = await session.execute(
            select(IntroProfile.user_id, IntroProfile.team_value).where(
                IntroProfile.team_id == workspace.team_id, IntroProfile.team_value.is_not(None)
            )
        )
        teams = {u: same_place(v) for u, v in found if u in wanted and v}
    where = await places(session, workspace=workspace, people=people)
    return Fit(
        hours=per_person,
        allow_no_overlap=workspace.intros_without_overlap,
        teams=teams,
        close=frozenset(close),
        places={u: key for u, (key, _) in where.items()},
    )


async def stale_profiles(
    session: AsyncSession, *, team_id: str, people: Sequence[str], now: datetime, limit: int
) -> list[str]:
    """Up to `limit` of `people` whose profile values were never read or are older than
    `PROFILE_TTL`, never-read first, then the oldest."""
    read = dict(
        (
            await session.execute(
                select(IntroProfile.user_id, IntroProfile.read_at).where(
                    IntroProfile.team_id == team_id
                )
            )
        ).all()
    )
    due = [p for p in people if p not in read or read[p] < now - PROFILE_TTL]
    due.sort(key=lambda p: (p in read, read.get(p) or now, p))
    return due[:limit]


@dataclass(frozen=True)
class ProfileValues:
    user_id: str
    team: str | None
    location: str | None


def _value(text: str | None) -> str | None:
    words = " ".join((text or "").split())
    return words[:MAX_VALUE] or None


async def save_profiles(
    session: AsyncSession, *, team_id: str, values: Sequence[ProfileValues], now: datetime
) -> None:
    """The values just read from Slack, replacing the earlier ones."""
    if not values:
        return
    stmt = insert_for(session, IntroProfile).values(
        [
            {
                "team_id": team_id,
                "user_id": v.user_id,
                "team_value": _value(v.team),
                "location_value": _value(v.location),
                "read_at": now,
            }
            for v in values
        ]
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["team_id", "user_id"],
            set_={
                "team_value": stmt.excluded.team_value,
                "location_value": stmt.excluded.location_value,
                "read_at": stmt.excluded.read_at,
            },
        )
    )


def group_slots(
    people: Sequence[Person], workspace: Workspace | None, now: datetime
) -> list[datetime]:
    """Up to `SLOTS` half hours in the week ahead when everyone in the group works; none
    when they share no such time (a group the workspace allowed without overlap)."""
    shared = hours.common_all(_hours(p, workspace, now) for p in people)
    if not shared:
        return []
    return hours.slots(shared, after=now, count=SLOTS)
