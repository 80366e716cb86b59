"""Intros that fit real teams, end to end: a scheduler pass at a simulated instant matches a
round from the Slack double's channel, and the group DM and notices are checked as sent."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from bot.db import Database
from bot.services import workspace_settings
from bot.services.intros import members as intro_members
from scheduler.planner import run_pass
from tests.helpers import new_id, running_bot, seed_people, set_intros
from tests.slack_double import SlackDouble
from tests.test_commitments_e2e import blocks_of, dms
from tests.test_intros_e2e import BOT_USER, group_posts, groups_of

MONDAY = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)


async def _round(
    db: Database,
    database_url: str,
    slack: SlackDouble,
    zones: list[str],
    *,
    allow_without_overlap: bool = False,
    group_size: int = 2,
) -> tuple[str, list[str]]:
    team, channel = new_id("T"), new_id("C")
    people = await seed_people(db, slack, team_id=team, people=[{"tz": z} for z in zones])
    slack.set_members(channel, [*people, BOT_USER])
    async with db.session() as session:
        await set_intros(session, team_id=team, channel_id=channel, cadence_weeks=1)
        await workspace_settings.apply(
            session,
            team_id=team,
            settings=workspace_settings.validate(
                {
                    "intros_without_overlap": "on" if allow_without_overlap else "off",
                    "intros_group_size": group_size,
                }
            ),
            changed_by="test",
            now=MONDAY,
        )
        for person in people:
            await intro_members.join(
                session, team_id=team, user_id=person, now=MONDAY - timedelta(days=1)
            )
    async with running_bot(database_url, slack) as bot:
        await run_pass(bot, now=MONDAY, team_id=team)
    return team, people


async def test_no_intro_across_hours_that_never_meet(
    db: Database, database_url: str, slack: SlackDouble
) -> None:
    team, (ann, bob, tom) = await _round(
        db, database_url, slack, ["Europe/London", "Europe/London", "Asia/Tokyo"]
    )
    (round_one,) = (await groups_of(db, team)).values()
    assert [members for _, members in round_one] == [{ann, bob}]
    intro = group_posts(slack, {ann, bob}, "Meet each other")
    assert len(intro) == 1
    text = json.dumps(blocks_of(intro[0]))
    assert "Times you all work" in text
    # Three slots on three working days, each a Slack date token with a fallback, and each
    # member's own local time beside it.
    stamps = [int(s) for s in re.findall(r"<!date\^(\d+)\^", text)]
    assert len(stamps) == 3
    days = {datetime.fromtimestamp(s, UTC).date() for s in stamps}
    assert len(days) == 3 and all(d.weekday() < 5 for d in days)
    for stamp in stamps:
        moment = datetime.fromtimestamp(stamp, UTC)
        assert moment >= MONDAY + timedelta(hours=12)
        assert 9 <= moment.hour < 17  # London is on UTC in winter: inside 09:00-17:00
    assert f"<@{ann}> " in text and "UTC>" in text
    # Tokyo's working morning: the notice in tom's daily message says why.
    async with running_bot(database_url, slack) as bot:
        await run_pass(bot, now=MONDAY + timedelta(hours=15), team_id=team)
    told = dms(slack, tom, "works hours that overlap yours")
    assert len(told) == 1
    assert not dms(slack, tom, "nobody left in the pool")


async def test_groups_without_overlap_when_the_workspace_allows_it(
    db: Database, database_url: str, slack: SlackDouble
) -> None:
    team, people = await _round(
        db,
        database_url,
        slack,
        ["Europe/London", "Europe/London", "Asia/Tokyo"],
        allow_without_overlap=True,
    )
    (round_one,) = (await groups_of(db, team)).values()
    assert [members for _, members in round_one] == [set(people)]
    (intro,) = group_posts(slack, set(people), "Meet each other")
    text = json.dumps(blocks_of(intro))
    assert "don't overlap" in text and "<!date^" not in text


async def test_groups_of_three_across_zones_meet_in_shared_hours(
    db: Database, database_url: str, slack: SlackDouble
) -> None:
    zones = ["Europe/London", "America/New_York", "Asia/Tokyo", "Asia/Tokyo", "Asia/Tokyo"]
    zones += ["Europe/Berlin"]
    team, people = await _round(db, database_url, slack, zones, group_size=3)
    (round_one,) = (await groups_of(db, team)).values()
    by_zone = dict(zip(people, zones, strict=True))
    groups = sorted(sorted(by_zone[p] for p in members) for _, members in round_one)
    assert groups == [
        ["America/New_York", "Europe/Berlin", "Europe/London"],
        ["Asia/Tokyo", "Asia/Tokyo", "Asia/Tokyo"],
    ]
    for _, members in round_one:
        (intro,) = group_posts(slack, members, "Meet each other")
        assert "<!date^" in json.dumps(blocks_of(intro))
