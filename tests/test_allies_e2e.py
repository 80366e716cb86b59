"""Allies and check-ins end to end: `/ally` into `allybot serve`, scheduler passes over
simulated days, buttons as Slack sends them."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from bot.db import Database
from bot.models import Ally, Person
from bot.workdays import add_working_days
from scheduler.planner import run_pass
from tests import payloads
from tests.conftest import Server, Team
from tests.helpers import a_kudos, at, new_id, running_bot, seed_people
from tests.slack_double import Call, SlackDouble
from tests.test_commitments_e2e import blocks_of, dms, press, tick, today, working_day_on_or_after

TZ = "Europe/London"


async def ally_cmd(server: Server, team: Team, slack: SlackDouble, user: str, text: str) -> str:
    body, key = team.command("/ally", text, user_id=user)
    assert (await server.post(body))[0] == 200
    return str((await slack.wait_for("response_url", _key=key))[0].args["text"])


async def ally_row(db: Database, team_id: str, user: str, ally: str) -> Ally:
    async with db.session() as session:
        stmt = select(Ally).where(
            Ally.team_id == team_id, Ally.user_id == user, Ally.ally_id == ally
        )
        return (await session.execute(stmt)).scalar_one()


async def set_last_contact(db: Database, team_id: str, user: str, day: date) -> None:
    async with db.session() as session:
        rows = (
            await session.execute(select(Ally).where(Ally.team_id == team_id, Ally.user_id == user))
        ).scalars()
        for row in rows:
            row.last_contact_at = datetime.combine(day, datetime.min.time(), UTC)
            row.last_contact_day = day
            row.due_day = day + timedelta(days=row.cadence_days)
            row.next_nudge_day = None


async def wait_until(check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    """Poll a database condition that a delivery handled after the ack will make true."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def contact_today(db: Database, team_id: str, user: str, ally: str) -> bool:
    return (await ally_row(db, team_id, user, ally)).last_contact_day == today()


async def person_deleted(db: Database, team_id: str, user: str) -> bool:
    async with db.session() as session:
        person = await session.get(Person, (team_id, user))
        return person is not None and person.deleted


def checkins(slack: SlackDouble, user: str) -> list[Call]:
    return dms(slack, user, "checkin_talked")


async def nudge_days(
    database_url: str, slack: SlackDouble, team: Team, user: str, days: list[date]
) -> list[date]:
    seen = []
    for day in days:
        before = len(checkins(slack, user))
        await tick(database_url, slack, team, day)
        if len(checkins(slack, user)) > before:
            seen.append(day)
    return seen


async def test_add_list_remove_are_private(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    ann, bob = team.user("ann", tz=TZ), team.user("bob")
    assert "every week" in await ally_cmd(server, team, slack, ann, f"add <@{bob}|bob> every week")
    listing = await ally_cmd(server, team, slack, ann, "list")
    assert f"<@{bob}>: last contact today, every week" in listing
    assert "every month" in await ally_cmd(server, team, slack, ann, f"add <@{bob}> every month")
    assert slack.calls_to("chat.postMessage", channel=bob) == []
    assert "off your ally list" in await ally_cmd(server, team, slack, ann, f"remove <@{bob}>")
    assert "empty" in await ally_cmd(server, team, slack, ann, "list")


async def test_bad_ally_input(server: Server, team: Team, slack: SlackDouble) -> None:
    ann = team.user("ann")
    bot = team.user("bot", is_bot=True)
    for text, fragment in [
        ("add", "Mention someone"),
        (f"add <@{ann}>", "your own side"),
        (f"add <@{bot}>", "is a bot"),
        ("add <@UNOBODY1>", "couldn't find"),
        (f"add <@{team.user('b')}> every blue moon", "how often"),
        (f"add <@{team.user('c')}> every 400 days", "once a year"),
        ("remove <@UNOBODY2>", "isn't on your ally list"),
        (f"resolve <@{team.user('d')}>", "Say what it's about"),
    ]:
        assert fragment in await ally_cmd(server, team, slack, ann, text), text


async def test_cadence_edges_added_today_and_exact_boundary(
    server: Server, team: Team, slack: SlackDouble, db: Database, database_url: str
) -> None:
    ann, bob = team.user("ann", tz=TZ), team.user("bob")
    await ally_cmd(server, team, slack, ann, f"add <@{bob}> every 7 days")
    start = today()
    days = [start + timedelta(days=i) for i in range(0, 12)]
    seen = await nudge_days(database_url, slack, team, ann, days)
    assert seen[0] == working_day_on_or_after(start + timedelta(days=7)), (
        "not before the rhythm has passed"
    )
    (first,) = checkins(slack, ann)
    assert f"since you and <@{bob}> connected" in json.dumps(blocks_of(first))


async def test_a_deleted_ally_is_dropped_from_nudges_and_marked(
    server: Server, team: Team, slack: SlackDouble, db: Database, database_url: str
) -> None:
    ann, bob = team.user("ann", tz=TZ), team.user("bob")
    await ally_cmd(server, team, slack, ann, f"add <@{bob}> every week")
    await set_last_contact(db, team.team_id, ann, today() - timedelta(days=30))
    slack.add_user(bob, team_id=team.team_id, deleted=True)
    event = payloads.event_callback(
        payloads.user_change_event(slack.user(bob)), team_id=team.team_id
    )
    assert (await server.post(event))[0] == 200
    await wait_until(lambda: person_deleted(db, team.team_id, bob))
    assert "left the workspace" in await ally_cmd(server, team, slack, ann, "list")
    assert (
        await nudge_days(database_url, slack, team, ann, [working_day_on_or_after(today())]) == []
    )


async def test_kudos_either_way_resets_the_clock(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    ann, bob = team.user("ann", tz=TZ), team.user("bob", tz=TZ)
    await ally_cmd(server, team, slack, ann, f"add <@{bob}> every 2 weeks")
    await ally_cmd(server, team, slack, bob, f"add <@{ann}> every 2 weeks")
    for giver, receiver in ((bob, ann), (ann, bob)):
        await set_last_contact(db, team.team_id, ann, today() - timedelta(days=20))
        await set_last_contact(db, team.team_id, bob, today() - timedelta(days=20))
        body, _ = team.command(
            "/kudos", f"<@{receiver}> thanks for the pairing session", user_id=giver
        )
        assert (await server.post(body))[0] == 200
        await wait_until(lambda: contact_today(db, team.team_id, ann, bob))
        assert (await ally_row(db, team.team_id, ann, bob)).last_contact_day == today()
        assert (await ally_row(db, team.team_id, bob, ann)).last_contact_day == today()


async def test_checkins_over_30_days_we_talked_resets(
    server: Server, team: Team, slack: SlackDouble, db: Database, database_url: str
) -> None:
    ann, bob = team.user("ann", tz=TZ), team.user("bob")
    await ally_cmd(server, team, slack, ann, f"add <@{bob}> every week")
    await set_last_contact(db, team.team_id, ann, today() - timedelta(days=20))
    d0 = working_day_on_or_after(today())
    assert await nudge_days(database_url, slack, team, ann, [d0]) == [d0]
    (nudge,) = checkins(slack, ann)
    assert f"been {(d0 - today()).days + 20} days" in json.dumps(blocks_of(nudge))
    await press(server, slack, team, ann, nudge, "checkin_talked")
    await wait_until(lambda: contact_today(db, team.team_id, ann, bob))
    days = [d0 + timedelta(days=i) for i in range(1, 30)]
    seen = await nudge_days(database_url, slack, team, ann, days)
    expected_first = working_day_on_or_after(today() + timedelta(days=7))
    assert seen[0] == expected_first
    assert all((b - a).days >= 7 for a, b in itertools.pairwise(seen)), "once per rhythm"


async def test_the_bundle_names_at_most_three_allies(
    server: Server, team: Team, slack: SlackDouble, db: Database, database_url: str
) -> None:
    ann = team.user("ann", tz=TZ)
    friends = [team.user(f"f{i}") for i in range(5)]
    for friend in friends:
        await ally_cmd(server, team, slack, ann, f"add <@{friend}> every week")
    await set_last_contact(db, team.team_id, ann, today() - timedelta(days=10))
    await tick(database_url, slack, team, working_day_on_or_after(today()))
    (message,) = checkins(slack, ann)
    text = json.dumps(blocks_of(message))
    assert sum(f"<@{f}>" in text for f in friends) == 3
    assert "And 2 more" in text
    assert text.count("checkin_talked") == 3


async def test_resolve_guide_and_follow_ups(
    server: Server, team: Team, slack: SlackDouble, db: Database, database_url: str
) -> None:
    ann, bob = team.user("ann", tz=TZ), team.user("bob")
    guide = await ally_cmd(server, team, slack, ann, f"resolve <@{bob}> the release schedule")
    assert "Talk to them, not about them" in guide and "the release schedule" in guide
    assert slack.calls_to("chat.postMessage", channel=bob) == []
    days = [today() + timedelta(days=i) for i in range(0, 8)]
    seen: list[date] = []
    for day in days:
        before = len(dms(slack, ann, "resolve_not_yet"))
        await tick(database_url, slack, team, day)
        if len(dms(slack, ann, "resolve_not_yet")) > before:
            seen.append(day)
    assert seen == [add_working_days(today(), 2)]
    (asked,) = dms(slack, ann, "resolve_not_yet")
    await press(server, slack, team, ann, asked, "resolve_help")
    update_call = (
        await slack.wait_for(
            "chat.update",
            where=lambda c: (
                "neutral" in json.dumps(blocks_of(c)) or "trust" in json.dumps(blocks_of(c))
            ),
        )
    )[0]
    assert update_call


async def test_give_back_and_breadth_fire_at_their_thresholds(
    db: Database, slack: SlackDouble, database_url: str
) -> None:
    team = new_id("T")
    ann, bob, cy, dee, eve = await seed_people(
        db, slack, team_id=team, people=[{"tz": TZ, "tips_cadence": "off"}] * 5
    )
    now = at("2026-11-26 09:00", TZ)

    async def give(giver: str, receiver: str, days_ago: int, n: int = 1) -> None:
        async with db.session() as session:
            for i in range(n):
                session.add(
                    a_kudos(team, giver, receiver, at=now - timedelta(days=days_ago, minutes=i))
                )

    async def kinds_sent(when: datetime) -> list[str]:
        async with running_bot(database_url, slack) as bot:
            result = await run_pass(bot, now=when, team_id=team)
        return [
            k for k, n in result.planned.items() for _ in range(n) if k in ("give_back", "breadth")
        ]

    await give(bob, ann, 5, n=2)
    await give(cy, dee, 5, n=3)
    await give(dee, cy, 200)  # dee recognised cy back long ago: no give-back for dee
    assert await kinds_sent(now) == []
    await give(bob, ann, 1)  # the third in 30 days
    assert await kinds_sent(now + timedelta(days=1)) == ["give_back"]
    assert await kinds_sent(now + timedelta(days=2)) == [], "once per pair per quarter"
    await give(eve, ann, 3, n=2)
    await give(eve, bob, 3, n=2)
    await give(eve, cy, 3, n=1)
    assert await kinds_sent(now + timedelta(days=3)) == []
    await give(eve, cy, 2, n=1)  # six kudos, three people
    assert await kinds_sent(now + timedelta(days=4)) == ["breadth"]
    await give(eve, dee, 1)
    assert await kinds_sent(now + timedelta(days=5)) == []
    sent = [
        c
        for c in slack.calls_to("chat.postMessage")
        if c.ok and c.args.get("channel") in (ann, eve)
    ]
    texts = json.dumps([blocks_of(c) for c in sent])
    assert f"<@{bob}> has recognised you 3 times" in texts
    assert "went to 3 people" in texts
