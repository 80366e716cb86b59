"""The nudge engine in process against the Slack double: simulated days, bundles, faults."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from bot.db import Database
from bot.models import Person, TipShown
from scheduler import kinds
from scheduler.planner import run_pass
from tests.helpers import (
    at,
    item_kind,
    messages_of,
    new_id,
    nudges_of,
    running_bot,
    seed_people,
)
from tests.slack_double import Call, SlackDouble

TZ = "Europe/London"


@pytest.fixture
async def bot(database_url: str, slack: SlackDouble, db: Database) -> AsyncIterator[object]:
    async with running_bot(database_url, slack) as running:
        yield running
    slack.clear_faults()


def posts_to(slack: SlackDouble, user_id: str) -> list[Call]:
    return [c for c in slack.calls_to("chat.postMessage", channel=user_id) if c.ok]


def blocks_of(call: Call) -> str:
    blocks = call.args.get("blocks")
    return blocks if isinstance(blocks, str) else json.dumps(blocks)


async def test_daily_tips_over_70_days(bot: object, db: Database, slack: SlackDouble) -> None:
    team = new_id("T")
    (person,) = await seed_people(
        db, slack, team_id=team, people=[{"tz": TZ, "tips_cadence": "daily"}]
    )
    start = date(2026, 11, 2)  # a Monday
    pause_from, pause_days = 20, 5
    sent_days: list[date] = []
    for offset in range(70):
        day = start + timedelta(days=offset)
        if offset == pause_from:
            async with db.session() as session:
                await session.execute(
                    update(Person)
                    .where(Person.team_id == team, Person.user_id == person)
                    .values(paused_until=at(f"{day} 08:00", TZ) + timedelta(days=pause_days))
                )
        before = len(posts_to(slack, person))
        # Two passes a day (still one DM a day) for two weeks and around the pause, one after.
        twice = offset < 14 or pause_from - 1 <= offset <= pause_from + pause_days
        for local in ("09:05", "16:55") if twice else ("09:05",):
            await run_pass(bot, now=at(f"{day} {local}", TZ), team_id=team)  # type: ignore[arg-type]
        after = len(posts_to(slack, person))
        assert after - before <= 1, day
        if after > before:
            sent_days.append(day)
    paused = {start + timedelta(days=pause_from + i) for i in range(pause_days)}
    expected = [
        start + timedelta(days=i)
        for i in range(70)
        if (start + timedelta(days=i)).weekday() < 5 and start + timedelta(days=i) not in paused
    ]
    assert sent_days == expected
    async with db.session() as session:
        shown = (
            (
                await session.execute(
                    select(TipShown.tip_id).where(TipShown.team_id == team).order_by(TipShown.id)
                )
            )
            .scalars()
            .all()
        )
    assert len(shown) == len(expected)
    assert len(set(shown)) == len(shown), "no tip repeats before all were seen"
    first = posts_to(slack, person)[0]
    assert "Helpful" in blocks_of(first) and "Not for me" in blocks_of(first)


async def test_a_tip_and_two_other_items_arrive_as_one_message(
    bot: object, db: Database, slack: SlackDouble
) -> None:
    team = new_id("T")
    (person,) = await seed_people(
        db, slack, team_id=team, people=[{"tz": TZ, "tips_cadence": "daily"}]
    )
    kinds.register(item_kind("test_first", 10, team, person, "Reply to Bob"))
    kinds.register(item_kind("test_second", 20, team, person, "Check in with Ann"))
    try:
        await run_pass(bot, now=at("2026-11-26 09:00", TZ), team_id=team)  # type: ignore[arg-type]
        await run_pass(bot, now=at("2026-11-26 09:01", TZ), team_id=team)  # type: ignore[arg-type]
    finally:
        kinds.unregister("test_first")
        kinds.unregister("test_second")
    posts = posts_to(slack, person)
    assert len(posts) == 1
    text = blocks_of(posts[0])
    assert text.index("Reply to Bob") < text.index("Check in with Ann") < text.index("Helpful")
    assert posts[0].args["text"].startswith("allybot: 3 things for today")
    assert {n.status for n in await nudges_of(db, team)} == {"sent"}
    (message,) = await messages_of(db, team)
    assert message.status == "sent" and message.ts == posts[0].args.get("ts", message.ts)


async def test_rate_limited_then_ok_arrives_once(
    bot: object, db: Database, slack: SlackDouble
) -> None:
    team = new_id("T")
    (person,) = await seed_people(
        db, slack, team_id=team, people=[{"tz": TZ, "tips_cadence": "daily"}]
    )
    # Retry-After: 0, the same 429 and retry without a second's wait.
    slack.fail("chat.postMessage", status=429, retry_after=0, times=1)
    await run_pass(bot, now=at("2026-11-26 09:00", TZ), team_id=team)  # type: ignore[arg-type]
    calls = slack.calls_to("chat.postMessage", channel=person)
    assert [c.status for c in calls] == [429, 200]
    assert [m.status for m in await messages_of(db, team)] == ["sent"]


async def test_server_errors_three_times_then_ok_arrives_once(
    bot: object, db: Database, slack: SlackDouble
) -> None:
    team = new_id("T")
    (person,) = await seed_people(
        db, slack, team_id=team, people=[{"tz": TZ, "tips_cadence": "daily"}]
    )
    slack.fail("chat.postMessage", status=500, times=3)
    await run_pass(bot, now=at("2026-11-26 09:00", TZ), team_id=team)  # type: ignore[arg-type]
    calls = slack.calls_to("chat.postMessage", channel=person)
    assert [c.status for c in calls] == [500, 500, 500, 200]
    assert len(posts_to(slack, person)) == 1


async def test_a_message_that_keeps_failing_ends_failed(
    bot: object, db: Database, slack: SlackDouble
) -> None:
    team = new_id("T")
    (person,) = await seed_people(
        db, slack, team_id=team, people=[{"tz": TZ, "tips_cadence": "daily"}]
    )
    slack.fail("chat.postMessage", status=500, times=1000)
    now = at("2026-11-26 09:00", TZ)
    for minute in range(0, 120, 5):  # passes every 5 minutes for two hours
        await run_pass(bot, now=now + timedelta(minutes=minute), team_id=team)  # type: ignore[arg-type]
    slack.clear_faults()
    (message,) = await messages_of(db, team)
    assert message.status == "failed" and message.attempts == 5
    assert message.error == "http_500"
    assert {n.status for n in await nudges_of(db, team)} == {"failed"}
    attempts = len(slack.calls_to("chat.postMessage", channel=person))
    await run_pass(bot, now=now + timedelta(hours=3), team_id=team)  # type: ignore[arg-type]
    assert len(slack.calls_to("chat.postMessage", channel=person)) == attempts


async def test_a_person_who_left_gets_nothing(
    bot: object, db: Database, slack: SlackDouble
) -> None:
    team = new_id("T")
    (person,) = await seed_people(
        db,
        slack,
        team_id=team,
        people=[{"tz": TZ, "tips_cadence": "daily", "profile_refreshed_at": None}],
    )
    slack.add_user(person, team_id=team, tz=TZ, deleted=True)
    await run_pass(bot, now=at("2026-11-26 09:00", TZ), team_id=team)  # type: ignore[arg-type]
    assert posts_to(slack, person) == []
    assert {n.status for n in await nudges_of(db, team)} == {"cancelled"}
