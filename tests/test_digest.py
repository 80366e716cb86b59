"""The weekly kudos digest: once a week, on the digest morning, counts and newcomers only."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import update

from bot.db import Database
from bot.models import Kudos, Workspace
from bot.services.digest import week_in_kudos
from scheduler.planner import run_pass
from tests.helpers import at, new_id, running_bot, seed_people
from tests.slack_double import SlackDouble

TZ = "Europe/London"


async def test_weekly_digest(db: Database, slack: SlackDouble, database_url: str) -> None:
    team, channel = new_id("T"), new_id("C")
    ann, bob, cy, dee = await seed_people(
        db, slack, team_id=team, people=[{"tz": TZ, "tips_cadence": "off"}] * 4
    )
    monday = at("2026-11-30 09:05", TZ)
    async with db.session() as session:
        await session.execute(
            update(Workspace)
            .where(Workspace.team_id == team)
            .values(kudos_channel_id=channel, timezone=TZ)
        )
        for giver, receiver, days_ago, tags in [
            (ann, bob, 2, ["teamwork"]),
            (ann, cy, 3, ["teamwork", "helpful"]),
            (dee, bob, 4, ["helpful"]),
            (ann, dee, 30, []),  # dee was recognised long ago: not a first-timer
            (bob, dee, 1, ["teamwork"]),
        ]:
            session.add(
                Kudos(
                    team_id=team,
                    giver_id=giver,
                    receiver_id=receiver,
                    text="secret reason text",
                    tags=tags,
                    source="command",
                    source_key=new_id("k"),
                    created_at=monday - timedelta(days=days_ago),
                )
            )
    async with running_bot(database_url, slack) as bot:
        await run_pass(bot, now=monday - timedelta(days=3), team_id=team)  # a Friday: no digest
        assert slack.calls_to("chat.postMessage", channel=channel) == []
        await run_pass(bot, now=monday, team_id=team)
        await run_pass(bot, now=monday + timedelta(hours=2), team_id=team)  # the same week
    (post,) = [c for c in slack.calls_to("chat.postMessage", channel=channel) if c.ok]
    text = (
        json.dumps(post.args["blocks"])
        if not isinstance(post.args["blocks"], str)
        else post.args["blocks"]
    )
    assert "4 from 3 people to 3" in text
    assert f"<@{bob}>" in text and f"<@{cy}>" in text and f"<@{dee}>" not in text
    assert "`#teamwork` 3" in text and "`#helpful` 2" in text
    assert "secret reason text" not in text and f"<@{ann}>" not in text


async def test_private_kudos_count_in_totals_only(db: Database) -> None:
    team = new_id("T")
    ann, bob, cy = new_id("U"), new_id("U"), new_id("U")
    now = at("2026-11-30 09:05", TZ)
    async with db.session() as session:
        for receiver, private_by, tags in [
            (bob, "receiver", ["courage"]),
            (cy, "giver", ["listening"]),
            (cy, None, ["teamwork"]),
        ]:
            session.add(
                Kudos(
                    team_id=team,
                    giver_id=ann,
                    receiver_id=receiver,
                    text="x",
                    tags=tags,
                    source="command",
                    source_key=new_id("k"),
                    private_by=private_by,
                    created_at=now - timedelta(days=1),
                )
            )
    async with db.session() as session:
        week = await week_in_kudos(session, team_id=team, now=now)
    assert (week.kudos, week.givers, week.receivers) == (3, 1, 2)
    assert week.first_timers == [cy], "bob's only kudos was private: never named"
    assert week.tags == [("teamwork", 1)]
