"""The heads-up before an intros round end to end: planned in each member's daily message
the working day before, Skip this round / I'm in pressed as Slack sends it (in the message
and on Home), the round made without those who skipped, a late press refused privately,
the next round with everyone again, and the answers in `/ally export` and `/ally forget-me`.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.db import Database
from bot.models import IntroRound, IntroSkip, OutboxMessage, Person, Workspace
from bot.services.intros import members as intro_members
from bot.services.intros import rules as intro_rules
from bot.services.intros import skips
from bot.services.intros.rules import IntrosError
from tests import payloads
from tests.conftest import Server, Team
from tests.helpers import at, set_intros
from tests.slack_double import Call, SlackDouble
from tests.test_allies_e2e import wait_until
from tests.test_commitments_e2e import blocks_of, button, dms
from tests.test_erasure_e2e import forget
from tests.test_home_e2e import open_home, view_of
from tests.test_intros_e2e import BOT_USER, groups_of, intros_cmd, pass_at
from tests.test_privacy_e2e import export_of

LONDON = "Europe/London"
HEADS_UP = "Next intros round"


async def choices(db: Database, team_id: str) -> dict[str, str]:
    async with db.session() as session:
        rows = await session.execute(
            select(IntroSkip.user_id, IntroSkip.choice).where(IntroSkip.team_id == team_id)
        )
        return dict(rows.all())


async def daily_row(db: Database, team_id: str, user: str, day: date) -> OutboxMessage:
    async with db.session() as session:
        row = (
            await session.execute(
                select(OutboxMessage).where(
                    OutboxMessage.team_id == team_id,
                    OutboxMessage.user_id == user,
                    OutboxMessage.local_day == day,
                )
            )
        ).scalar_one()
        assert row.ts is not None and row.channel_id is not None
        return row


def in_message(
    team: Team, slack: SlackDouble, user: str, on: Call, row: OutboxMessage, action_id: str
) -> tuple[str, str]:
    """A press in the daily message, as Slack sends it, and the response_url key it carries."""
    found = button(on, action_id)
    key = f"press-{payloads.fresh_ts()}"
    body = payloads.block_actions(
        user_id=user,
        team_id=team.team_id,
        action_id=action_id,
        value=found["value"],
        block_id=found["block_id"],
        channel_id=str(row.channel_id),
        message_ts=row.ts,
        message={"type": "message", "ts": row.ts, "text": "", "blocks": blocks_of(on)},
        response_url=slack.response_url(key),
    )
    return body, key


async def on_home(
    server: Server, team: Team, slack: SlackDouble, user: str, action_id: str, value: str
) -> dict[str, Any]:
    """A press on Home; the Home republished after it."""
    before = len(slack.calls_to("views.publish", user_id=user))
    press = payloads.block_actions(
        user_id=user,
        team_id=team.team_id,
        action_id=action_id,
        value=value,
        block_id="home_intro_round",
        view={"id": "V1", "type": "home"},
    )
    assert (await server.post(press))[0] == 200
    calls = await slack.wait_for("views.publish", user_id=user, count=before + 1)
    return view_of(calls[-1])


async def intros_every_two_weeks(db: Database, team: Team) -> date:
    """Intros in the team's channel every 2 weeks (so the week of a heads-up has no round
    of its own); the next round's day."""
    async with db.session() as session:
        await set_intros(session, team_id=team.team_id, channel_id=team.channel_id)
        workspace = await session.get(Workspace, team.team_id)
        assert workspace is not None
        return intro_rules.next_round_day(workspace, datetime.now(UTC))


async def test_skip_a_round_from_its_heads_up_or_home(
    server: Server, team: Team, slack: SlackDouble, db: Database, database_url: str
) -> None:
    round_day = await intros_every_two_weeks(db, team)
    ann, bob, cy, dee = (team.user(n, tz=LONDON) for n in ("ann", "bob", "cy", "dee"))
    ivy = team.user("ivy", tz=LONDON)  # in the channel, never joined: no heads-up
    slack.set_members(team.channel_id, [ann, bob, cy, dee, ivy, BOT_USER])
    for who in (ann, bob, cy, dee):
        assert "You're in intros" in await intros_cmd(server, team, slack, who, "join")
    notice = skips.heads_up_day(round_day)  # the Friday before a Monday round
    assert notice.weekday() == 4 and round_day.weekday() == 0

    # The day before that working day: nothing yet; then the heads-up, once.
    await pass_at(database_url, slack, team, at(f"{notice - timedelta(days=1)} 10:00", LONDON))
    assert dms(slack, ann, HEADS_UP) == []
    await pass_at(database_url, slack, team, at(f"{notice} 09:30", LONDON))
    await pass_at(database_url, slack, team, at(f"{notice} 11:30", LONDON))
    for who in (ann, bob, cy, dee):
        (sent,) = dms(slack, who, HEADS_UP)
        text = json.dumps(blocks_of(sent))
        assert "Skip this round" in text and "I'm in" in text and f"<#{team.channel_id}>" in text
    assert dms(slack, ivy, HEADS_UP) == []

    # Skip in the message: recorded, the message confirms it in place; Slack's retry of
    # the same press changes nothing more.
    (sent,) = dms(slack, ann, HEADS_UP)
    row = await daily_row(db, team.team_id, ann, notice)
    body, _ = in_message(team, slack, ann, sent, row, "intro_round_skip")
    for retry in (None, 1):
        assert (await server.post(body, retry_num=retry))[0] == 200
    updated = await slack.wait_for("chat.update", where=lambda c: c.args.get("ts") == row.ts)
    assert "Skipped" in json.dumps(blocks_of(updated[0]))
    assert "intro_round_skip" not in json.dumps(blocks_of(updated[0]))
    (sent_bob,) = dms(slack, bob, HEADS_UP)
    row_bob = await daily_row(db, team.team_id, bob, notice)
    body, _ = in_message(team, slack, bob, sent_bob, row_bob, "intro_round_in")
    assert (await server.post(body))[0] == 200
    updated = await slack.wait_for("chat.update", where=lambda c: c.args.get("ts") == row_bob.ts)
    assert "You're in" in json.dumps(blocks_of(updated[0]))

    async def answered() -> bool:
        return await choices(db, team.team_id) == {ann: "skip", bob: "in"}

    await wait_until(answered)
    assert len(slack.calls_to("chat.update", ts=row.ts)) == 1

    # Home shows the upcoming round and the answer, with the same two buttons.
    home = json.dumps(await open_home(server, team, slack, cy))
    assert f"{round_day:%A, %B} {round_day.day}" in home and "unless you skip it" in home

    async def seen_home() -> bool:  # marked just after the Home is published
        async with db.session() as session:
            person = await session.get(Person, (team.team_id, cy))
            return person is not None and person.home_seen_at is not None

    await wait_until(seen_home)
    value = round_day.isoformat()
    home = json.dumps(await on_home(server, team, slack, cy, "intro_round_skip", value))
    assert "You're skipping the round" in home and "intro_round_in" in home
    home = json.dumps(await on_home(server, team, slack, cy, "intro_round_in", value))
    assert "You're in the round" in home
    await on_home(server, team, slack, cy, "intro_round_skip", value)
    await wait_until(
        lambda: _has(db, team.team_id, {ann: "skip", bob: "in", cy: "skip"}),
    )

    # A day that is no round of the workspace is refused, privately, and changes nothing.
    body, key = in_message(team, slack, dee, sent, row, "intro_round_skip")
    body = body.replace(value, (round_day + timedelta(days=1)).isoformat())
    assert (await server.post(body))[0] == 200
    reply = await slack.wait_for("response_url", _key=key)
    assert "doesn't belong to an intros round" in reply[0].args["text"]

    # The round leaves out those who skipped, silently.
    await pass_at(database_url, slack, team, at(f"{round_day} 09:30", "UTC"))
    (groups,) = (await groups_of(db, team.team_id)).values()
    assert [members for _, members in groups] == [{bob, dee}]
    assert dms(slack, ann, "No intro") == [] and dms(slack, cy, "No intro") == []

    # After the round a press is too late, said privately; nothing changes.
    (sent_dee,) = dms(slack, dee, HEADS_UP)
    row_dee = await daily_row(db, team.team_id, dee, notice)
    body, key = in_message(team, slack, dee, sent_dee, row_dee, "intro_round_skip")
    assert (await server.post(body))[0] == 200
    reply = await slack.wait_for("response_url", _key=key)
    assert "Too late" in reply[0].args["text"]
    assert await choices(db, team.team_id) == {ann: "skip", bob: "in", cy: "skip"}
    assert slack.calls_to("chat.update", ts=row_dee.ts) == []

    # A skip is for that round only: the next one has everyone again.
    nxt = round_day + timedelta(days=14)
    await pass_at(database_url, slack, team, at(f"{skips.heads_up_day(nxt)} 09:30", LONDON))
    assert len(dms(slack, ann, HEADS_UP)) == 2
    await pass_at(database_url, slack, team, at(f"{nxt} 09:30", "UTC"))
    rounds = await groups_of(db, team.team_id)
    placed = {m for _, members in rounds[max(rounds)] for m in members}
    assert placed == {ann, bob, cy, dee}

    # The answers are in the export, and erased with the rest.
    _, data = await export_of(server, team, slack, ann)
    assert data["intro_skips"] == [
        {"round_day": value, "choice": "skip", "chosen_at": data["intro_skips"][0]["chosen_at"]}
    ]
    await forget(server, team, slack, db, ann)
    assert ann not in await choices(db, team.team_id)


async def _has(db: Database, team_id: str, expected: dict[str, str]) -> bool:
    return await choices(db, team_id) == expected


async def test_no_heads_up_for_people_paused_through_the_round(
    server: Server, team: Team, slack: SlackDouble, db: Database, database_url: str
) -> None:
    round_day = await intros_every_two_weeks(db, team)
    ann, bob = team.user("ann", tz=LONDON), team.user("bob", tz=LONDON)
    slack.set_members(team.channel_id, [ann, bob, BOT_USER])
    for who in (ann, bob):
        await intros_cmd(server, team, slack, who, "join")
    assert "paused until" in await intros_cmd(server, team, slack, bob, "pause 4w")
    await pass_at(database_url, slack, team, at(f"{skips.heads_up_day(round_day)} 09:30", LONDON))
    assert len(dms(slack, ann, HEADS_UP)) == 1
    assert dms(slack, bob, HEADS_UP) == []
    home = json.dumps(await open_home(server, team, slack, bob))
    assert "intro_round_skip" not in home


async def test_in_opt_out_mode_those_placed_before_get_it(
    server: Server, team: Team, slack: SlackDouble, db: Database, database_url: str
) -> None:
    """Opt-out pools are the channel's members, which allybot learns from Slack only when it
    makes a round: the heads-up goes to the people it placed before and who did not leave."""
    round_day = await intros_every_two_weeks(db, team)
    async with db.session() as session:
        await session.execute(
            update(Workspace).where(Workspace.team_id == team.team_id).values(intros_mode="opt_out")
        )
    ann, bob, cy = (team.user(n, tz=LONDON) for n in ("ann", "bob", "cy"))
    slack.set_members(team.channel_id, [ann, bob, cy, BOT_USER])
    zed = team.user("zed", tz=LONDON)  # uses allybot, not in the channel
    assert "you're in" in await intros_cmd(server, team, slack, zed, "status")
    await pass_at(database_url, slack, team, at(f"{round_day} 09:30", "UTC"))
    (groups,) = (await groups_of(db, team.team_id)).values()
    assert [members for _, members in groups] == [{ann, bob, cy}]
    assert "You're out of intros" in await intros_cmd(server, team, slack, cy, "leave")
    dee = team.user("dee", tz=LONDON)  # in the channel since, never placed: unknown yet
    slack.set_members(team.channel_id, [ann, bob, cy, dee, BOT_USER])
    nxt = round_day + timedelta(days=14)
    await pass_at(database_url, slack, team, at(f"{skips.heads_up_day(nxt)} 09:30", LONDON))
    assert len(dms(slack, ann, HEADS_UP)) == len(dms(slack, bob, HEADS_UP)) == 1
    assert dms(slack, cy, HEADS_UP) == [] and dms(slack, dee, HEADS_UP) == []
    assert dms(slack, zed, HEADS_UP) == []


async def test_an_answer_while_the_round_is_being_made_is_too_late(
    db: Database, team: Team
) -> None:
    """A round claimed by a scheduler pass is being matched: an answer then could miss its
    pool, so it is refused like one after the round, and nothing is stored."""
    round_day = await intros_every_two_weeks(db, team)
    ann = team.user("ann")
    now = datetime.now(UTC)
    async with db.session() as session:
        await intro_members.join(session, team_id=team.team_id, user_id=ann, now=now)
        assert (
            await skips.choose(
                session, team_id=team.team_id, user_id=ann, round_day=round_day, skip=True, now=now
            )
            == skips.SKIP
        )
        session.add(
            IntroRound(
                team_id=team.team_id,
                period=skips.period_of(round_day),
                channel_id=team.channel_id,
                seed=1,
                status="pending",
                claim_token="someone",
                lease_until=now + timedelta(minutes=5),
            )
        )
    async with db.session() as session:
        with pytest.raises(IntrosError, match="Too late"):
            await skips.choose(
                session, team_id=team.team_id, user_id=ann, round_day=round_day, skip=False, now=now
            )
    assert await choices(db, team.team_id) == {ann: skips.SKIP}


def test_heads_up_day_is_the_working_day_before() -> None:
    assert skips.heads_up_day(date(2026, 12, 7)) == date(2026, 12, 4)  # Monday → Friday
    assert skips.heads_up_day(date(2026, 12, 9)) == date(2026, 12, 8)  # Wednesday → Tuesday
    assert skips.period_of(date(2026, 12, 9)) == "2026-W50"
    workspace = Workspace(team_id="T1", timezone="UTC", intros_cadence_weeks=2, intros_day=2)
    day = intro_rules.next_round_day(workspace, datetime(2026, 12, 1, tzinfo=UTC))
    assert skips.is_round_day(workspace, day)
    assert not skips.is_round_day(workspace, day + timedelta(days=7))  # an off week
    assert not skips.is_round_day(workspace, day + timedelta(days=1))
    start = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=9, minutes=30)
    assert intro_rules.round_period(workspace, start) == skips.period_of(day)
