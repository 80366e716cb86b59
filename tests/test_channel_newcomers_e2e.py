"""Newcomers to the intros channel end to end: `member_joined_channel` into `allybot serve`
welcomes someone new to allybot's rounds like someone new to the workspace, once, and
nobody else (another channel, a bot, a Slack Connect guest, someone already in rounds)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.db import Database
from bot.models import Inbound, IntroMatchMember, Newcomer, Workspace
from bot.services.intros import rules as intro_rules
from scheduler.planner import run_pass
from tests import payloads
from tests.conftest import Server, Team
from tests.helpers import at, running_bot, set_intros
from tests.slack_double import SlackDouble
from tests.test_allies_e2e import wait_until
from tests.test_commitments_e2e import dms
from tests.test_intros_e2e import BOT_USER, intros_cmd, pass_at
from tests.test_newcomers_e2e import newcomer, wait_newcomer

TOKYO, LONDON = "Asia/Tokyo", "Europe/London"


async def joins_channel(
    server: Server, team: Team, user: str, channel: str, *, retried: bool = True
) -> None:
    """The event as Slack sends it, and its retry (same event id) when `retried`."""
    event = payloads.member_joined_channel_event(user=user, channel=channel, team=team.team_id)
    body = payloads.event_callback(event, team_id=team.team_id)
    for retry in (None, 1) if retried else (None,):
        assert (await server.post(body, retry_num=retry))[0] == 200


async def worked_on(db: Database, team_id: str, kind: str, count: int) -> None:
    """Until `count` deliveries of `kind` are recorded for the team and none is pending."""

    async def done() -> bool:
        async with db.session() as session:
            stmt = select(Inbound.status).where(Inbound.team_id == team_id, Inbound.kind == kind)
            statuses = list((await session.execute(stmt)).scalars())
        return len(statuses) == count and all(s == "done" for s in statuses)

    await wait_until(done)


async def newcomer_count(db: Database, team_id: str) -> int:
    async with db.session() as session:
        stmt = select(func.count()).select_from(Newcomer).where(Newcomer.team_id == team_id)
        return int((await session.execute(stmt)).scalar_one())


async def test_someone_new_to_the_intros_channel_is_welcomed_once(
    server: Server, team: Team, slack: SlackDouble, db: Database, database_url: str
) -> None:
    async with db.session() as session:
        await set_intros(session, team_id=team.team_id, channel_id=team.channel_id)
    # Welcomers whose working hours overlap the newcomer's: intros never group people who
    # share no working hour.
    cy, dee = team.user("cy", tz="Asia/Seoul"), team.user("dee", tz="Asia/Seoul")
    for who in (cy, dee):
        await intros_cmd(server, team, slack, who, "welcome on")
    new = team.user("new", tz=TOKYO)
    await joins_channel(server, team, new, team.channel_id)
    row = await wait_newcomer(db, team.team_id, new)
    await joins_channel(server, team, new, team.channel_id)  # leaves and joins again: once
    await worked_on(db, team.team_id, "member_joined_channel", 2)
    again = await newcomer(db, team.team_id, new)
    assert again is not None and (again.joined_at, again.match_id) == (row.joined_at, row.match_id)
    assert row.match_id is not None
    async with db.session() as session:
        members = set(
            (
                await session.execute(
                    select(IntroMatchMember.user_id).where(
                        IntroMatchMember.match_id == row.match_id
                    )
                )
            ).scalars()
        )
    assert members == {new, cy, dee}
    local = row.welcome_at.astimezone(ZoneInfo(TOKYO))
    assert (local.hour, local.minute) == (9, 0) and local.weekday() < 5
    async with running_bot(database_url, slack) as bot:
        await run_pass(bot, now=row.welcome_at + timedelta(minutes=5), team_id=team.team_id)
        await run_pass(bot, now=row.welcome_at + timedelta(hours=1), team_id=team.team_id)
    assert len(dms(slack, new, "I'm allybot")) == 1

    # In the pool, they are a newcomer for their first two rounds: each round counts one.
    for who in (new, cy, dee):
        assert "You're in intros" in await intros_cmd(server, team, slack, who, "join")
    slack.set_members(team.channel_id, [new, cy, dee, BOT_USER])
    async with db.session() as session:
        workspace = await session.get(Workspace, team.team_id)
        assert workspace is not None
        first = intro_rules.next_round_day(workspace, datetime.now(UTC))
    for day in (first, first + timedelta(days=14)):
        await pass_at(database_url, slack, team, at(f"{day} 09:30", "UTC"))
    again = await newcomer(db, team.team_id, new)
    assert again is not None and again.intro_rounds == 2


async def test_only_people_new_to_the_rounds_of_the_intros_channel(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    async with db.session() as session:
        await set_intros(session, team_id=team.team_id, channel_id=team.channel_id)
    elsewhere = team.user("elsewhere")
    robot = team.user("robot", is_bot=True)
    guest = "U" + team.team_id[1:]  # a Slack Connect member: their own organisation's team
    slack.add_user(guest, team_id="TOTHERORG01", name="guest")
    member = team.user("member")
    assert "You're in intros" in await intros_cmd(server, team, slack, member, "join")
    left = team.user("left")
    await intros_cmd(server, team, slack, left, "join")
    await intros_cmd(server, team, slack, left, "leave")
    looked_up = len(slack.calls_to("users.info"))
    await joins_channel(server, team, elsewhere, "COTHER" + team.team_id[1:6])
    for who in (robot, guest, member, left):
        await joins_channel(server, team, who, team.channel_id, retried=False)
    last = team.user("last")
    await joins_channel(server, team, last, team.channel_id, retried=False)
    await worked_on(db, team.team_id, "member_joined_channel", 6)
    async with db.session() as session:
        found = list(
            (
                await session.execute(
                    select(Newcomer.user_id).where(Newcomer.team_id == team.team_id)
                )
            ).scalars()
        )
    assert found == [last]
    # Someone the rounds know is not even looked up in Slack.
    asked = {c.args.get("user") for c in slack.calls_to("users.info")[looked_up:]}
    assert not asked & {member, left, elsewhere}


async def test_nothing_happens_without_an_intros_channel(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    someone = team.user("someone")
    await joins_channel(server, team, someone, team.channel_id)
    await worked_on(db, team.team_id, "member_joined_channel", 1)
    assert await newcomer_count(db, team.team_id) == 0
