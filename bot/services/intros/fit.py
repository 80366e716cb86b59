"""What makes an intros group fit its people, read from allybot's records for a round: each
person's working hours in real time (their delivery window in their Slack time zone), and
the slots a group's introduction proposes inside the hours they share."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import hours
from bot.models import Person, Workspace
from bot.pairing import Fit
from bot.services.preferences import effective_window

SLOTS = 3  # slots an introduction proposes, when the shared hours allow


def _hours(person: Person, workspace: Workspace | None, since: datetime) -> hours.Hours:
    start, end = effective_window(person, workspace)
    return hours.working_hours(person.tz, start, end, since=since)


async def round_fit(
    session: AsyncSession, *, workspace: Workspace, people: Sequence[str], now: datetime
) -> Fit:
    """The `Fit` of a round at `now`: everyone's working hours over the week ahead."""
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
    return Fit(hours=per_person, allow_no_overlap=workspace.intros_without_overlap)


def group_slots(
    people: Sequence[Person], workspace: Workspace | None, now: datetime
) -> list[datetime]:
    """Up to `SLOTS` half hours in the week ahead when everyone in the group works; none
    when they share no such time (a group the workspace allowed without overlap)."""
    shared = hours.common_all(_hours(p, workspace, now) for p in people)
    if not shared:
        return []
    return hours.slots(shared, after=now, count=SLOTS)
