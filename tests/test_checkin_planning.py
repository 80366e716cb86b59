"""Planning check-ins: one item a person and day naming their due allies, and each ally it
names moved one rhythm on, on SQLite and PostgreSQL (where both happen in one statement).

Each test plans inside a transaction that is rolled back.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, text

from bot.db import Database
from bot.models import Ally, Nudge
from scheduler.kinds import PlanContext
from scheduler.kinds.allies import ALLIES_SUBJECT, CHECKIN, _many_owners, plan_checkins
from scheduler.zones import clocks_now
from tests.helpers import at, new_id, seed_people

TOKYO, LOS_ANGELES, HONOLULU = "Asia/Tokyo", "America/Los_Angeles", "Pacific/Honolulu"
NOW = at("2026-11-26 10:00", TOKYO)  # Thursday; 17:00 the day before in Los Angeles
TODAY = date(2026, 11, 26)


def ally(team: str, owner: str, other: str, *, cadence: int, due: date, **more: object) -> Ally:
    last = due - timedelta(days=cadence)
    return Ally(
        team_id=team,
        user_id=owner,
        ally_id=other,
        cadence_days=cadence,
        created_at=NOW - timedelta(days=90),
        last_contact_at=datetime.combine(last, datetime.min.time(), UTC),
        last_contact_day=last,
        due_day=due,
        **more,
    )


async def plan(session: object, team: str, now: datetime = NOW) -> int:
    clocks = await clocks_now(session, now, team_id=team)  # type: ignore[arg-type]
    ctx = PlanContext.at(now, clocks, team_id=team)
    return await plan_checkins(session, ctx)  # type: ignore[arg-type]


async def next_days(session: object, team: str) -> dict[tuple[str, str], date | None]:
    rows = await session.execute(select(Ally).where(Ally.team_id == team))  # type: ignore[attr-defined]
    return {(a.user_id, a.ally_id): a.next_nudge_day for a in rows.scalars()}


async def test_one_item_names_the_due_allies_and_moves_only_them(db: Database) -> None:
    team = new_id("T")
    ann, bob, carl, dee, eve, gone = await seed_people(
        db,
        None,
        team_id=team,
        people=[
            {"tz": TOKYO},
            {"tz": LOS_ANGELES},  # outside their window at this instant
            {"tz": TOKYO},
            {"tz": TOKYO},
            {"tz": TOKYO},
            {"tz": TOKYO, "deleted": True},
        ],
    )
    async with db.sessions() as session:
        try:
            session.add_all(
                [
                    ally(team, ann, carl, cadence=14, due=TODAY),
                    ally(team, ann, dee, cadence=7, due=TODAY - timedelta(days=3)),
                    ally(team, ann, eve, cadence=30, due=TODAY + timedelta(days=1)),
                    ally(team, ann, bob, cadence=7, due=TODAY, next_nudge_day=TODAY + timedelta(2)),
                    ally(team, ann, gone, cadence=7, due=TODAY),
                    ally(team, bob, ann, cadence=7, due=TODAY - timedelta(days=1)),
                ]
            )
            await session.flush()
            assert await plan(session, team) == 1
            items = (await session.execute(select(Nudge).where(Nudge.team_id == team))).scalars()
            assert [(n.user_id, n.kind, n.subject, n.period, n.local_day) for n in items] == [
                (ann, CHECKIN, ALLIES_SUBJECT, TODAY.isoformat(), TODAY)
            ]
            moved = await next_days(session, team)
            del moved[(ann, gone)]  # never named; whether its day moves is no matter
            assert moved == {
                (ann, carl): TODAY + timedelta(days=14),
                (ann, dee): TODAY + timedelta(days=7),
                (ann, eve): None,  # not due yet
                (ann, bob): TODAY + timedelta(days=2),  # snoozed
                (bob, ann): None,  # bob may not be messaged now
            }
            # Later the same day: the item is there, nothing is planned or moved again.
            assert await plan(session, team, NOW + timedelta(hours=1)) == 0
            assert (await next_days(session, team))[(ann, carl)] == TODAY + timedelta(days=14)
        finally:
            await session.rollback()


def sent_today(team: str, user_id: str) -> Nudge:
    """Today's check-in item, planned an hour ago and sent."""
    return Nudge(
        team_id=team,
        user_id=user_id,
        kind=CHECKIN,
        subject=ALLIES_SUBJECT,
        period=TODAY.isoformat(),
        local_day=TODAY,
        expires_day=TODAY,
        status="sent",
        planned_at=NOW - timedelta(hours=1),
    )


async def test_an_item_planned_before_keeps_its_allies_where_they_were(db: Database) -> None:
    team = new_id("T")
    ann, carl = await seed_people(db, None, team_id=team, people=[{"tz": TOKYO}, {"tz": TOKYO}])
    async with db.sessions() as session:
        try:
            session.add(ally(team, ann, carl, cadence=14, due=TODAY))
            session.add(sent_today(team, ann))
            await session.flush()
            assert await plan(session, team) == 0
            assert await next_days(session, team) == {(ann, carl): None}
        finally:
            await session.rollback()


async def test_each_owner_is_due_by_their_own_local_day(db: Database) -> None:
    """Two zones inside their window on different local days: the latest of them bounds
    which allies are read, but each owner's allies are due by their own day."""
    team = new_id("T")
    ann, hana, carl, dee = await seed_people(
        db,
        None,
        team_id=team,
        people=[{"tz": TOKYO}, {"tz": HONOLULU}, {"tz": TOKYO}, {"tz": TOKYO}],
    )
    yesterday = TODAY - timedelta(days=1)  # Honolulu's day: 15:00 on Wednesday
    async with db.sessions() as session:
        try:
            session.add_all(
                [
                    ally(team, ann, carl, cadence=7, due=TODAY),
                    ally(team, hana, carl, cadence=7, due=TODAY),  # due tomorrow, for her
                    ally(team, hana, dee, cadence=14, due=yesterday),
                    ally(team, hana, ann, cadence=7, due=yesterday, next_nudge_day=TODAY),
                ]
            )
            await session.flush()
            assert await plan(session, team) == 2
            items = (await session.execute(select(Nudge).where(Nudge.team_id == team))).scalars()
            assert sorted((n.user_id, n.period, n.local_day) for n in items) == sorted(
                [(ann, TODAY.isoformat(), TODAY), (hana, yesterday.isoformat(), yesterday)]
            )
            assert await next_days(session, team) == {
                (ann, carl): TODAY + timedelta(days=7),
                (hana, carl): None,
                (hana, dee): yesterday + timedelta(days=14),
                (hana, ann): TODAY,  # snoozed until her tomorrow
            }
        finally:
            await session.rollback()


async def test_the_join_settings_are_left_as_they_were(db: Database) -> None:
    """PostgreSQL joins the check-ins' statement by hashing only; the statements of the
    pass after it plan with every join again."""
    if db.dialect != "postgresql":
        pytest.skip("a PostgreSQL planner setting")
    team = new_id("T")
    ann, carl = await seed_people(db, None, team_id=team, people=[{"tz": TOKYO}, {"tz": TOKYO}])
    settings = text(
        "SELECT current_setting('enable_nestloop'), current_setting('enable_mergejoin')"
    )
    async with db.sessions() as session:
        try:
            await session.execute(text("SET LOCAL enable_mergejoin = off"))
            session.add(ally(team, ann, carl, cadence=14, due=TODAY))
            await session.flush()
            assert await plan(session, team) == 1
            assert tuple((await session.execute(settings)).one()) == ("on", "off")
        finally:
            await session.rollback()


async def test_few_owners_in_their_window_are_planned_alike(db: Database) -> None:
    """When few of the people may be messaged (a quiet hour), PostgreSQL looks their allies
    up owner by owner: the same items and moves, an item planned before still keeps its
    allies where they were, and the join settings are left alone."""
    team = new_id("T")
    ann, carl, dee, gone, *others = await seed_people(
        db,
        None,
        team_id=team,
        people=[{"tz": TOKYO}, {"tz": TOKYO}, {"tz": TOKYO}]
        + [{"tz": TOKYO, "deleted": True}]
        + [{"tz": LOS_ANGELES}] * 12,  # outside their window at this instant
    )
    bob = others[0]
    async with db.sessions() as session:
        try:
            if db.dialect == "postgresql":
                clocks = await clocks_now(session, NOW, team_id=team)
                assert not await _many_owners(session, PlanContext.at(NOW, clocks, team_id=team))
                await session.execute(text("SET LOCAL enable_mergejoin = off"))
            session.add_all(
                [
                    ally(team, ann, carl, cadence=14, due=TODAY),
                    ally(team, ann, bob, cadence=7, due=TODAY - timedelta(days=3)),
                    ally(team, ann, gone, cadence=7, due=TODAY),
                    ally(team, ann, dee, cadence=7, due=TODAY, next_nudge_day=TODAY + timedelta(2)),
                    ally(team, carl, ann, cadence=30, due=TODAY + timedelta(days=1)),
                    ally(team, dee, ann, cadence=7, due=TODAY),
                    ally(team, bob, ann, cadence=7, due=TODAY - timedelta(days=1)),
                    sent_today(team, dee),
                ]
            )
            await session.flush()
            assert await plan(session, team) == 1
            items = (
                await session.execute(
                    select(Nudge).where(Nudge.team_id == team, Nudge.planned_at == NOW)
                )
            ).scalars()
            assert [(n.user_id, n.period, n.local_day) for n in items] == [
                (ann, TODAY.isoformat(), TODAY)
            ]
            moved = await next_days(session, team)
            del moved[(ann, gone)]  # never named; whether its day moves is no matter
            assert moved == {
                (ann, carl): TODAY + timedelta(days=14),
                (ann, bob): TODAY + timedelta(days=7),
                (ann, dee): TODAY + timedelta(days=2),  # snoozed
                (carl, ann): None,  # not due yet
                (dee, ann): None,  # dee has today's item already
                (bob, ann): None,  # bob may not be messaged now
            }
            assert await plan(session, team, NOW + timedelta(hours=1)) == 0
            if db.dialect == "postgresql":
                settings = text(
                    "SELECT current_setting('enable_nestloop'), current_setting('enable_mergejoin')"
                )
                assert tuple((await session.execute(settings)).one()) == ("on", "off")
        finally:
            await session.rollback()
