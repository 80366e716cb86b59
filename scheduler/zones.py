"""Local clocks for every time zone people are in, as a table SQL can join against.

Time zones are few (hundreds) while people are many, so each pass computes the local day,
minute and weekday once per zone in Python and lets the database match people to them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import (
    ARRAY,
    Date,
    Integer,
    String,
    and_,
    bindparam,
    column,
    func,
    literal,
    not_,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.selectable import Subquery
from sqlalchemy.types import TypeEngine

from bot.models import Person, Workspace


@dataclass(frozen=True)
class LocalClock:
    """What time it is for people in one zone."""

    tz: str
    local_day: date
    day: str
    minute: int
    weekday: int
    week: str
    week_end: date
    quarter: str

    @classmethod
    def at(cls, tz: str, now: datetime) -> LocalClock:
        try:
            local = now.astimezone(ZoneInfo(tz))
        except (ZoneInfoNotFoundError, ValueError):
            local = now.astimezone(ZoneInfo("UTC"))
        iso = local.isocalendar()
        day = local.date()
        return cls(
            tz=tz,
            local_day=day,
            day=day.isoformat(),
            minute=local.hour * 60 + local.minute,
            weekday=local.weekday(),
            week=f"{iso.year}-W{iso.week:02d}",
            week_end=day + timedelta(days=6 - local.weekday()),
            quarter=f"{day.year}-Q{(day.month - 1) // 3 + 1}",
        )


def clock_table(clocks: Iterable[LocalClock], *, arrays: bool = False) -> Subquery:
    """A table (tz, local_day, day, minute, weekday, week, week_end, quarter) to join to.

    Built as UNION ALL of one-row selects, which SQLite and PostgreSQL both accept; with
    `arrays` (PostgreSQL) as `unnest` of one array a column, eight parameters whatever the
    number of zones: a statement that joins it compiles in milliseconds and is compiled
    once a process, where a list of 200 rows took 40 ms to compile in every statement of
    every pass (benchmarks/README.md). PostgreSQL counts the rows of the arrays it is
    given only when it plans for their values: statements that join it must be planned
    for each execution (`CUSTOM_PLANS`), not once for any arrays.
    """
    clocks = list(clocks)
    if not clocks:
        raise ValueError("no time zones to plan for")
    columns: tuple[tuple[str, TypeEngine[Any]], ...] = (
        ("tz", String(64)),
        ("local_day", Date()),
        ("day", String(10)),
        ("minute", Integer()),
        ("weekday", Integer()),
        ("week", String(10)),
        ("week_end", Date()),
        ("quarter", String(7)),
    )
    rows = [
        (c.tz, c.local_day, c.day, c.minute, c.weekday, c.week, c.week_end, c.quarter)
        for c in clocks
    ]
    if arrays:
        table = (
            func.unnest(
                *(
                    bindparam(f"clock_{name}", [row[i] for row in rows], ARRAY(type_), unique=True)
                    for i, (name, type_) in enumerate(columns)
                )
            )
            .table_valued(*(column(name, type_) for name, type_ in columns))
            .render_derived(name="zone_clocks")
        )
        return select(table).subquery("clocks")
    selects = [
        select(
            *(
                literal(value, type_).label(name)
                for value, (name, type_) in zip(row, columns, strict=True)
            )
        )
        for row in rows
    ]
    return (selects[0] if len(selects) == 1 else union_all(*selects)).subquery("clocks")


# For a transaction whose statements join `clock_table(…, arrays=True)` on PostgreSQL: each
# statement planned for the arrays it is given. A plan made once for any arrays (what
# PostgreSQL may switch to after five executions of a prepared statement) expects 10 zones.
CUSTOM_PLANS = "SET LOCAL plan_cache_mode = force_custom_plan"


async def clocks_now(
    session: AsyncSession, now: datetime, *, team_id: str | None = None
) -> list[LocalClock]:
    """A clock for each zone that someone allybot knows is in."""
    stmt = select(Person.tz).distinct()
    if team_id:
        stmt = stmt.where(Person.team_id == team_id)
    zones = list((await session.execute(stmt)).scalars())
    return [LocalClock.at(tz, now) for tz in zones]


def in_quiet_hours(minute: ColumnElement[int]) -> ColumnElement[bool]:
    """Quiet hours may cross midnight (18:00-09:00)."""
    start, end = Person.quiet_start, Person.quiet_end
    return and_(
        start.is_not(None),
        end.is_not(None),
        or_(
            and_(start <= end, minute >= start, minute < end),
            and_(start > end, or_(minute >= start, minute < end)),
        ),
    )


def effective_window() -> tuple[ColumnElement[int], ColumnElement[int]]:
    """A person's own delivery window, or their workspace's default when they chose none.

    Use with `people` joined to `workspaces` on the team.
    """
    return (
        func.coalesce(Person.window_start, Workspace.window_start),
        func.coalesce(Person.window_end, Workspace.window_end),
    )


def deliverable(clocks: Subquery, now: datetime) -> ColumnElement[bool]:
    """Who may get a DM right now: a working day and inside their window, outside quiet
    hours, not paused or opted out, a person (not a bot, not from another organisation)
    still in an installed workspace.

    Use with `people` joined to `clocks` on the zone and to `workspaces` on the team.
    """
    minute = clocks.c.minute
    window_start, window_end = effective_window()
    return and_(
        Person.deleted.is_(False),
        Person.is_bot.is_(False),
        Person.external.is_(False),
        Person.opted_out.is_(False),
        or_(Person.paused_until.is_(None), Person.paused_until <= now),
        clocks.c.weekday < 5,
        minute >= window_start,
        minute < window_end,
        not_(in_quiet_hours(minute)),
        Workspace.uninstalled_at.is_(None),
    )
