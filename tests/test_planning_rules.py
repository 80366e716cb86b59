"""Who is due a nudge at an instant: time zones, working days, windows, quiet hours, pauses.

Each test plans inside a transaction that is rolled back, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.db import Database
from bot.models import Nudge
from scheduler.kinds import PlanContext, tips
from scheduler.zones import clock_table, clocks_now
from tests.helpers import at, new_id, seed_people


async def planned_at(db: Database, team_id: str, now: datetime) -> dict[str, Nudge]:
    """Plan tips at `now` for one workspace; return the planned nudges by user, keep none."""
    async with db.sessions() as session:
        try:
            clocks = await clocks_now(session, now, team_id=team_id)
            # The clock table as the planner builds it on this backend (arrays on PostgreSQL).
            arrays = db.dialect == "postgresql"
            ctx = PlanContext(now=now, clocks=clock_table(clocks, arrays=arrays), team_id=team_id)
            await tips.plan(session, ctx)
            rows = await session.execute(select(Nudge).where(Nudge.team_id == team_id))
            planned = {n.user_id: n for n in rows.scalars()}
            session.expunge_all()
            return planned
        finally:
            await session.rollback()


async def team_with(db: Database, people: Sequence[dict[str, Any]]) -> tuple[str, list[str]]:
    team_id = new_id("T")
    return team_id, await seed_people(db, None, team_id=team_id, people=people)


async def test_tokyo_and_los_angeles_at_the_same_instant(db: Database) -> None:
    team, (tokyo, la) = await team_with(
        db,
        [
            {"tz": "Asia/Tokyo", "tips_cadence": "daily"},
            {"tz": "America/Los_Angeles", "tips_cadence": "daily"},
        ],
    )
    # 01:30 UTC Thursday: 10:30 Thursday in Tokyo, 17:30 Wednesday in Los Angeles.
    first = await planned_at(db, team, datetime(2026, 11, 26, 1, 30, tzinfo=UTC))
    assert set(first) == {tokyo}
    assert first[tokyo].local_day.isoformat() == "2026-11-26"
    assert first[tokyo].period == "2026-11-26"
    # 17:00 UTC Thursday: 09:00 in Los Angeles, 02:00 Friday in Tokyo.
    second = await planned_at(db, team, datetime(2026, 11, 26, 17, 0, tzinfo=UTC))
    assert set(second) == {la}
    assert second[la].local_day.isoformat() == "2026-11-26"


async def test_window_start_follows_daylight_saving_in_new_york(db: Database) -> None:
    team, (ny,) = await team_with(db, [{"tz": "America/New_York", "tips_cadence": "daily"}])
    # Friday before the change (EDT, UTC-4): 09:00 local is 13:00 UTC.
    assert ny in await planned_at(db, team, datetime(2026, 10, 30, 13, 0, tzinfo=UTC))
    assert ny not in await planned_at(db, team, datetime(2026, 10, 30, 12, 59, tzinfo=UTC))
    # Sunday 1 November is the change itself, and a weekend: nothing all day.
    for hour in range(24):
        assert ny not in await planned_at(db, team, datetime(2026, 11, 1, hour, tzinfo=UTC))
    # Monday after the change (EST, UTC-5): 13:30 UTC is 08:30 local, 14:00 UTC is 09:00.
    assert ny not in await planned_at(db, team, datetime(2026, 11, 2, 13, 30, tzinfo=UTC))
    assert ny in await planned_at(db, team, datetime(2026, 11, 2, 14, 0, tzinfo=UTC))
    # The spring change: Monday 9 March 2026 is in EDT again.
    assert ny in await planned_at(db, team, datetime(2026, 3, 9, 13, 0, tzinfo=UTC))


async def test_friday_to_monday(db: Database) -> None:
    tz = "Europe/Berlin"
    team, (daily, weekly) = await team_with(
        db, [{"tz": tz, "tips_cadence": "daily"}, {"tz": tz, "tips_cadence": "weekly"}]
    )
    friday = await planned_at(db, team, at("2026-11-27 16:59", tz))
    assert set(friday) == {daily, weekly}
    assert friday[weekly].period == "2026-W48"
    assert friday[weekly].expires_day.isoformat() == "2026-11-29"
    assert await planned_at(db, team, at("2026-11-27 17:00", tz)) == {}
    assert await planned_at(db, team, at("2026-11-28 10:00", tz)) == {}
    assert await planned_at(db, team, at("2026-11-29 10:00", tz)) == {}
    monday = await planned_at(db, team, at("2026-11-30 09:00", tz))
    assert set(monday) == {daily, weekly}
    assert monday[daily].period == "2026-11-30" and monday[weekly].period == "2026-W49"


async def test_quiet_hours_across_midnight(db: Database) -> None:
    tz = "Europe/London"
    team, (night_owl,) = await team_with(
        db,
        [
            {
                "tz": tz,
                "tips_cadence": "daily",
                "window_start": 0,
                "window_end": 24 * 60,
                "quiet_start": 18 * 60,
                "quiet_end": 9 * 60,
            }
        ],
    )
    for local, due in [
        ("2026-11-26 02:00", False),
        ("2026-11-26 08:59", False),
        ("2026-11-26 09:00", True),
        ("2026-11-26 12:00", True),
        ("2026-11-26 17:59", True),
        ("2026-11-26 18:00", False),
        ("2026-11-26 23:30", False),
    ]:
        assert (night_owl in await planned_at(db, team, at(local, tz))) is due, local


async def test_quiet_hours_within_the_day(db: Database) -> None:
    tz = "Europe/London"
    team, (lunch,) = await team_with(
        db, [{"tz": tz, "tips_cadence": "daily", "quiet_start": 12 * 60, "quiet_end": 14 * 60}]
    )
    assert lunch not in await planned_at(db, team, at("2026-11-26 12:30", tz))
    assert lunch in await planned_at(db, team, at("2026-11-26 14:00", tz))


async def test_nobody_paused_opted_out_off_deleted_a_bot_or_new(db: Database) -> None:
    tz = "Europe/London"
    now = at("2026-11-26 10:00", tz)
    team, ids = await team_with(
        db,
        [
            {"tz": tz, "tips_cadence": "daily"},
            {"tz": tz, "tips_cadence": "daily", "paused_until": now + timedelta(days=1)},
            {"tz": tz, "tips_cadence": "daily", "opted_out": True},
            {"tz": tz, "tips_cadence": "off"},
            {"tz": tz, "tips_cadence": "daily", "deleted": True},
            {"tz": tz, "tips_cadence": "daily", "is_bot": True},
            {"tz": tz, "tips_cadence": "daily", "engaged_at": None},
            {"tz": tz, "tips_cadence": "daily", "paused_until": now - timedelta(minutes=1)},
        ],
    )
    assert set(await planned_at(db, team, now)) == {ids[0], ids[7]}


async def test_nothing_for_an_uninstalled_workspace(db: Database) -> None:
    from bot.services.workspaces import mark_uninstalled

    tz = "Europe/London"
    now = at("2026-11-26 10:00", tz)
    team, _ = await team_with(db, [{"tz": tz, "tips_cadence": "daily"}])
    async with db.session() as session:
        await mark_uninstalled(session, team_id=team, now=now)
    assert await planned_at(db, team, now) == {}


async def test_planning_twice_plans_once(db: Database) -> None:
    tz = "Europe/London"
    team, _ = await team_with(db, [{"tz": tz, "tips_cadence": "weekly"}])
    async with db.sessions() as session:
        try:
            for minute in (0, 1, 30):
                now = at(f"2026-11-30 09:{minute:02d}", tz)
                clocks = await clocks_now(session, now, team_id=team)
                await tips.plan(session, PlanContext(now=now, clocks=clock_table(clocks)))
            rows = await session.execute(select(Nudge).where(Nudge.team_id == team))
            assert len(list(rows.scalars())) == 1
        finally:
            await session.rollback()
