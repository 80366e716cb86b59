"""Intros end to end: admin setup with `allybot settings apply`, `/ally intros` into
`allybot serve`, rounds and follow-ups from scheduler passes at simulated instants, group
DMs opened at the Slack double, "Did you meet?" pressed as Slack sends it."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from bot.db import Database
from bot.models import (
    IntroMatch,
    IntroMatchMember,
    IntroRound,
    OutboxMessage,
    Person,
    Workspace,
)
from bot.services.intros import figures as intro_figures
from bot.services.intros import members as intro_members
from bot.services.intros import rules as intro_rules
from scheduler.planner import run_pass
from tests import payloads
from tests.conftest import Server, Team
from tests.helpers import new_id, running_bot, seed_people, set_intros
from tests.slack_double import Call, SlackDouble, group_dm_id
from tests.test_allies_e2e import ally_row, set_last_contact, wait_until
from tests.test_commitments_e2e import blocks_of, button, dms
from tests.test_home_e2e import open_home, view_of
from tests.test_settings_apply import run_apply

BOT_USER = "UALLYBOT"


async def intros_cmd(server: Server, team: Team, slack: SlackDouble, user: str, text: str) -> str:
    body, key = team.command("/ally", f"intros {text}".strip(), user_id=user)
    assert (await server.post(body))[0] == 200
    return str((await slack.wait_for("response_url", _key=key))[0].args["text"])


async def pass_at(database_url: str, slack: SlackDouble, team: Team, when: datetime) -> None:
    async with running_bot(database_url, slack) as bot:
        await run_pass(bot, now=when, team_id=team.team_id)


async def groups_of(db: Database, team_id: str) -> dict[int, list[tuple[int, set[str]]]]:
    """Round id → [(match id, members)], from the database."""
    async with db.session() as session:
        rows = await session.execute(
            select(IntroMatchMember.round_id, IntroMatchMember.match_id, IntroMatchMember.user_id)
            .where(IntroMatchMember.team_id == team_id)
            .order_by(IntroMatchMember.id)
        )
        by_match: dict[tuple[int, int], set[str]] = {}
        for round_id, match_id, user_id in rows:
            by_match.setdefault((round_id, match_id), set()).add(user_id)
    out: dict[int, list[tuple[int, set[str]]]] = {}
    for (round_id, match_id), members in by_match.items():
        out.setdefault(round_id, []).append((match_id, members))
    return out


def group_posts(slack: SlackDouble, members: set[str], containing: str) -> list[Call]:
    channel = group_dm_id([*members, BOT_USER])
    return [
        c
        for c in slack.calls_to("chat.postMessage", channel=channel)
        if c.ok and containing in json.dumps(blocks_of(c)) + str(c.args.get("text"))
    ]


async def post_ts(db: Database, match_id: int, kind: str) -> str:
    async with db.session() as session:
        post = (
            await session.execute(
                select(OutboxMessage).where(
                    OutboxMessage.subject == str(match_id), OutboxMessage.kind == kind
                )
            )
        ).scalar_one()
        assert post.ts is not None
        return post.ts


async def press_in_group(
    server: Server, slack: SlackDouble, team: Team, user: str, on: Call, action_id: str, ts: str
) -> str:
    found = button(on, action_id)
    key = f"press-{payloads.fresh_ts()}"
    body = payloads.block_actions(
        user_id=user,
        team_id=team.team_id,
        action_id=action_id,
        value=found["value"],
        block_id=found["block_id"],
        channel_id=str(on.args["channel"]),
        message_ts=ts,
        message={"type": "message", "ts": ts, "text": "", "blocks": blocks_of(on)},
        response_url=slack.response_url(key),
    )
    assert (await server.post(body))[0] == 200
    return key


async def match_row(db: Database, match_id: int) -> IntroMatch:
    async with db.session() as session:
        row = await session.get(IntroMatch, match_id)
        assert row is not None
        return row


async def test_intros_rounds_follow_up_and_answers(
    server: Server,
    team: Team,
    slack: SlackDouble,
    db: Database,
    database_url: str,
    tmp_path: Path,
) -> None:
    # Admin setup: the intros channel, every 2 weeks, on Mondays, opt-in.
    settings = tmp_path / "intros.yaml"
    settings.write_text(
        f"intros_channel: {team.channel_id}\nintros_cadence: every 2 weeks\n"
        "intros_day: monday\nintros_mode: opt-in\n"
    )
    code, _out, err = await run_apply(
        database_url, str(settings), "--team", team.team_id, "--create"
    )
    assert code == 0, err

    ann, bob, cy, dee, eve = (
        team.user(n, tz="Europe/London") for n in ["ann", "bob", "cy", "dee", "eve"]
    )
    fay = team.user("fay", tz="Europe/London")  # joins, but is not in the channel
    gus = team.user("gus", tz="Europe/London")  # joins, then pauses
    hal = team.user("hal", tz="Europe/London")  # joins, then leaves the workspace
    ivy = team.user("ivy", tz="Europe/London")  # in the channel, never joins
    slack.set_members(team.channel_id, [ann, bob, cy, dee, eve, gus, hal, ivy, BOT_USER])

    for person in (ann, bob, cy, dee, eve, gus, hal):
        reply = await intros_cmd(server, team, slack, person, "join")
        assert "You're in intros" in reply and "Join <#" not in reply
    assert f"Join <#{team.channel_id}> too" in await intros_cmd(server, team, slack, fay, "join")
    assert "Intros paused until" in await intros_cmd(server, team, slack, gus, "pause 4w")
    assert "never be paired" in await intros_cmd(server, team, slack, ann, f"never <@{bob}|bob>")
    assert f"<@{bob}>" in await intros_cmd(server, team, slack, ann, "never")
    assert dms(slack, bob) == []  # the never list is confidential
    slack.add_user(hal, team_id=team.team_id, name="hal", deleted=True)
    event = payloads.event_callback(
        payloads.user_change_event(slack.user(hal)), team_id=team.team_id
    )
    assert (await server.post(event))[0] == 200

    async def hal_gone() -> bool:
        async with db.session() as session:
            person = await session.get(Person, (team.team_id, hal))
            return person is not None and person.deleted

    await wait_until(hal_gone)

    # The first round, by a scheduler pass on the pairing day; a second pass adds nothing.
    async with db.session() as session:
        workspace = await session.get(Workspace, team.team_id)
        assert workspace is not None
        first_day = intro_rules.next_round_day(workspace, datetime.now(UTC) + timedelta(days=1))
    first = datetime.combine(first_day, datetime.min.time(), UTC) + timedelta(hours=9, minutes=30)
    await pass_at(database_url, slack, team, first - timedelta(hours=1))  # 08:30: too early
    assert await groups_of(db, team.team_id) == {}
    await pass_at(database_url, slack, team, first)
    await pass_at(database_url, slack, team, first + timedelta(minutes=5))
    rounds = await groups_of(db, team.team_id)
    assert len(rounds) == 1
    (round_one,) = rounds.values()
    placed = [m for _, members in round_one for m in members]
    assert sorted(placed) == sorted([ann, bob, cy, dee, eve])  # each once; not gus, hal, fay
    assert sorted(len(members) for _, members in round_one) == [2, 3]  # odd: one trio
    assert not any({ann, bob} <= members for _, members in round_one)  # never respected

    opened = [set(str(c.args["users"]).split(",")) for c in slack.calls_to("conversations.open")]
    for _, members in round_one:
        assert members in opened
        intro = group_posts(slack, members, "Meet each other")
        assert len(intro) == 1  # once, though the pass ran twice
        text = json.dumps(blocks_of(intro[0]))
        assert "20 minutes" in text and "To get going" in text and "Europe/London" in text
    told = dms(slack, fay, "not in it any more")
    assert len(told) == 1
    assert dms(slack, gus, "No intro") == [] and dms(slack, hal, "No intro") == []

    # A week later, "Did you meet?" to each group, once.
    await pass_at(database_url, slack, team, first + timedelta(days=3))
    assert all(not group_posts(slack, m, "Did you meet?") for _, m in round_one)
    await pass_at(database_url, slack, team, first + timedelta(days=7))
    await pass_at(database_url, slack, team, first + timedelta(days=7, minutes=5))
    for _, members in round_one:
        assert len(group_posts(slack, members, "Did you meet?")) == 1

    # The second round starts before anyone answers the first follow-up.
    await pass_at(database_url, slack, team, first + timedelta(days=14))
    rounds = await groups_of(db, team.team_id)
    assert len(rounds) == 2
    round_two = rounds[max(rounds)]
    assert sorted(m for _, members in round_two for m in members) == sorted(placed)

    # Yes on the first round's question is recorded on that match, not the newer one.
    match_id, members = next((mid, m) for mid, m in round_one if cy in m)
    partner = sorted(members - {cy})[0]
    await intros_cmd(server, team, slack, cy, "status")
    body, key = team.command("/ally", f"add <@{partner}> every week", user_id=cy)
    assert (await server.post(body))[0] == 200
    await slack.wait_for("response_url", _key=key)
    await set_last_contact(db, team.team_id, cy, date.today() - timedelta(days=20))
    outsider = next(p for p in placed if p not in members)
    question = group_posts(slack, members, "Did you meet?")[0]
    ts = await post_ts(db, match_id, intro_rules.FOLLOW_UP)
    key = await press_in_group(server, slack, team, outsider, question, "intro_met_yes", ts)
    reply = await slack.wait_for("response_url", _key=key)
    assert "for the people in that intro" in reply[0].args["text"]
    key = await press_in_group(server, slack, team, partner, question, "intro_met_not_yet", ts)
    assert "No rush" in (await slack.wait_for("response_url", _key=key))[0].args["text"]
    assert (await match_row(db, match_id)).met_at is None
    await press_in_group(server, slack, team, cy, question, "intro_met_yes", ts)

    async def met() -> bool:
        return (await match_row(db, match_id)).met_at is not None

    await wait_until(met)
    assert (await match_row(db, match_id)).met_by == cy
    newer = [mid for mid, m in round_two if cy in m]
    assert (await match_row(db, newer[0])).met_at is None
    assert (await ally_row(db, team.team_id, cy, partner)).last_contact_day >= date.today()
    updated = await slack.wait_for("chat.update", where=lambda c: c.args.get("ts") == ts)
    assert "says you met" in json.dumps(blocks_of(updated[0]))
    key = await press_in_group(server, slack, team, partner, question, "intro_met_yes", ts)
    reply = await slack.wait_for("response_url", _key=key)
    assert "Already noted" in reply[0].args["text"]

    async with db.session() as session:
        figures = await intro_figures.round_figures(
            session, team_id=team.team_id, since=first - timedelta(days=1)
        )
        round_rows = (
            await session.execute(select(IntroRound).where(IntroRound.team_id == team.team_id))
        ).scalars()
        assert {r.status for r in round_rows} == {"matched"}
    assert len(figures.rounds) == 2
    assert figures.groups == 4 and figures.groups_met == 1
    assert figures.rounds[0].new_pairs == figures.rounds[0].pairs == 4


async def test_intros_commands_explain_bad_input(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    ann, bot_user = team.user("ann"), team.user("robot", is_bot=True)
    assert "aren't set up" in await intros_cmd(server, team, slack, ann, "join")
    async with db.session() as session:
        await set_intros(session, team_id=team.team_id, channel_id=team.channel_id)
    for text, fragment in [
        ("pause 4w", "`/ally intros join` first"),
        ("frobnicate", "I don't know `/ally intros frobnicate`"),
        ("never bob", "Mention someone"),
        (f"never <@{ann}>", "someone else"),
        (f"never <@{bot_user}>", "is a bot"),
        ("never <@UNOBODY99>", "couldn't find"),
        ("never remove <@UNOBODY98>", "isn't on your never list"),
        ("never", "Your never list is empty"),
    ]:
        assert fragment in await intros_cmd(server, team, slack, ann, text), text
    await intros_cmd(server, team, slack, ann, "join")
    assert "a length of time" in await intros_cmd(server, team, slack, ann, "pause soon")
    assert "365 days" in await intros_cmd(server, team, slack, ann, "pause 100w")
    status = await intros_cmd(server, team, slack, ann, "")
    assert "you're in" in status and "Next round" in status
    assert "You're out of intros" in await intros_cmd(server, team, slack, ann, "leave")
    assert "you're not in" in await intros_cmd(server, team, slack, ann, "status")


async def test_join_pause_and_leave_from_home(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    ann = team.user("ann")
    async with db.session() as session:
        await set_intros(session, team_id=team.team_id, channel_id=team.channel_id)
    home = await open_home(server, team, slack, ann)
    assert "you're not in" in json.dumps(home)
    for action_id, expected in [
        ("intro_home_join", "Pause 4 weeks"),
        ("intro_home_pause", "Resume intros"),
        ("intro_home_resume", "Pause 4 weeks"),
        ("intro_home_leave", "Join intros"),
    ]:
        before = len(slack.calls_to("views.publish", user_id=ann))
        press = payloads.block_actions(
            user_id=ann,
            team_id=team.team_id,
            action_id=action_id,
            value="x",
            block_id="home_intros",
            view={"id": "V1", "type": "home"},
        )
        assert (await server.post(press))[0] == 200
        after = await slack.wait_for("views.publish", user_id=ann, count=before + 1)
        assert expected in json.dumps(view_of(after[-1])), action_id

    # The never list from Home: a modal prefilled with the list, checked before it closes.
    bob, robot = team.user("bob"), team.user("robot", is_bot=True)
    await intros_cmd(server, team, slack, ann, f"never <@{bob}>")
    opened = len(slack.calls_to("views.open"))
    press = payloads.block_actions(
        user_id=ann,
        team_id=team.team_id,
        action_id="intro_home_never",
        value="edit",
        block_id="home_intros",
        view={"id": "V1", "type": "home"},
    )
    assert (await server.post(press))[0] == 200
    modal = view_of((await slack.wait_for("views.open", count=opened + 1))[-1])
    assert modal["callback_id"] == "intro_never_modal"
    assert modal["blocks"][0]["element"]["initial_users"] == [bob]

    def submit(users: list[str]) -> str:
        state = {"never": {"never": {"type": "multi_users_select", "selected_users": users}}}
        return payloads.view_submission(
            user_id=ann, team_id=team.team_id, callback_id="intro_never_modal", state_values=state
        )

    status, text = await server.post(submit([bob, ann]))
    assert status == 200 and "yourself" in json.loads(text)["errors"]["never"]
    carol = team.user("carol")
    status, text = await server.post(submit([carol, robot]))
    assert status == 200 and text == ""

    async def nevers() -> list[str]:
        async with db.session() as session:
            return await intro_members.nevers_of(session, team_id=team.team_id, user_id=ann)

    async def saved() -> bool:
        return await nevers() == [carol]

    await wait_until(saved)  # bob taken off, carol on, the bot left out
    assert dms(slack, carol) == [] and dms(slack, bob) == []


async def test_group_posts_once_with_429s_and_two_replicas(
    db: Database, database_url: str, slack: SlackDouble
) -> None:
    """Two processes pass at the same instant while Slack rate-limits: one round, and each
    group DM gets its introduction exactly once."""
    team = new_id("T")
    channel = new_id("C")
    people = await seed_people(
        db, slack, team_id=team, people=[{"tz": "Europe/London"} for _ in range(6)]
    )
    slack.set_members(channel, [*people, BOT_USER])
    now = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)  # a Monday in a round week
    async with db.session() as session:
        await set_intros(session, team_id=team, channel_id=channel, cadence_weeks=1)
        for person in people:
            await intro_members.join(session, team_id=team, user_id=person, now=now)
    slack.fail("chat.postMessage", status=429, retry_after=1, times=2)
    try:
        async with running_bot(database_url, slack) as one, running_bot(database_url, slack) as two:
            await asyncio.gather(
                run_pass(one, now=now, team_id=team), run_pass(two, now=now, team_id=team)
            )
    finally:
        slack.clear_faults()
    rounds = await groups_of(db, team)
    assert len(rounds) == 1
    (groups,) = rounds.values()
    assert sorted(len(m) for _, m in groups) == [2, 2, 2]
    for _, members in groups:
        assert len(group_posts(slack, members, "Meet each other")) == 1
    async with db.session() as session:
        statuses = (
            await session.execute(
                select(OutboxMessage.kind, OutboxMessage.status).where(
                    OutboxMessage.team_id == team, OutboxMessage.kind.in_(["intro", "followup"])
                )
            )
        ).all()
    assert sorted(statuses) == [("followup", "pending")] * 3 + [("intro", "sent")] * 3


def test_round_days_follow_the_cadence_in_the_workspace_zone() -> None:
    workspace = Workspace(team_id="T1", timezone="Asia/Tokyo", intros_cadence_weeks=2, intros_day=2)
    wednesday = datetime(2026, 12, 2, 0, 30, tzinfo=UTC)  # 09:30 Wednesday in Tokyo
    assert intro_rules.round_period(workspace, wednesday) == "2026-W49"
    assert intro_rules.round_period(workspace, wednesday - timedelta(hours=1)) is None  # 08:30
    assert intro_rules.round_period(workspace, wednesday + timedelta(days=2)) == "2026-W49"  # late
    assert intro_rules.round_period(workspace, wednesday + timedelta(days=7)) is None  # off week
    assert intro_rules.round_period(workspace, wednesday + timedelta(days=14)) == "2026-W51"
    assert intro_rules.next_round_day(workspace, wednesday - timedelta(days=1)) == date(2026, 12, 2)
    assert intro_rules.next_round_day(workspace, wednesday + timedelta(hours=1)) == date(
        2026, 12, 16
    )


async def test_inactive_and_alone_are_told_why(
    db: Database, database_url: str, slack: SlackDouble
) -> None:
    team, channel = new_id("T"), new_id("C")
    now = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)  # a Monday
    long_ago = now - timedelta(days=40)
    active, idle = await seed_people(
        db,
        slack,
        team_id=team,
        people=[{"tz": "Europe/London"}, {"tz": "Europe/London", "engaged_at": long_ago}],
    )
    slack.set_members(channel, [active, idle, BOT_USER])
    async with db.session() as session:
        await set_intros(session, team_id=team, channel_id=channel, cadence_weeks=1)
        await intro_members.join(session, team_id=team, user_id=active, now=now - timedelta(days=1))
        await intro_members.join(session, team_id=team, user_id=idle, now=long_ago)
    async with running_bot(database_url, slack) as bot:
        await run_pass(bot, now=now, team_id=team)
    assert await groups_of(db, team) == {}
    assert len(dms(slack, idle, "hasn't seen you use it for 30 days")) == 1
    assert len(dms(slack, active, "the only person")) == 1


async def test_a_round_slack_refuses_is_tried_again_later(
    db: Database, database_url: str, slack: SlackDouble
) -> None:
    team, channel = new_id("T"), new_id("C")
    now = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)  # a Monday
    people = await seed_people(db, slack, team_id=team, people=[{"tz": "Europe/London"}] * 2)
    slack.set_members(channel, [*people, BOT_USER])
    async with db.session() as session:
        await set_intros(session, team_id=team, channel_id=channel, cadence_weeks=1)
        for person in people:
            await intro_members.join(session, team_id=team, user_id=person, now=now)
    slack.fail("conversations.members", status=200, error="channel_not_found", times=1)
    try:
        async with running_bot(database_url, slack) as bot:
            await run_pass(bot, now=now, team_id=team)
            assert await groups_of(db, team) == {}
            await run_pass(bot, now=now + timedelta(seconds=30), team_id=team)  # backing off
            assert await groups_of(db, team) == {}
            await run_pass(bot, now=now + timedelta(minutes=2), team_id=team)
    finally:
        slack.clear_faults()
    rounds = await groups_of(db, team)
    assert [members for ((_, members),) in rounds.values()] == [set(people)]
